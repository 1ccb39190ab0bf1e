#include "catapult/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "catapult/core/error.hpp"

namespace catapult::optim {
namespace {

void require_rate(double v, const char* field) {
  if (!std::isfinite(v) || v < 0)
    throw InvalidArgument(str_cat("Schedule: ", field, " = ", v, " is not a finite rate >= 0"));
}

}  // namespace

ScheduleConfig resolve_critical(const ScheduleConfig& config, double eta_crit) {
  if (!std::isfinite(eta_crit) || eta_crit <= 0)
    throw InvalidArgument(str_cat("resolve_critical: critical rate ", eta_crit, " is not > 0"));
  ScheduleConfig c = config;
  if (c.peak_multiple_of_critical) {
    const double m = *c.peak_multiple_of_critical;
    if (!std::isfinite(m) || m <= 0)
      throw InvalidArgument(str_cat("resolve_critical: peak_multiple_of_critical ", m, " <= 0"));
    (c.kind == ScheduleKind::Cyclic ? c.max_lr : c.lr) = m * eta_crit;
  }
  if (c.base_multiple_of_critical) {
    const double m = *c.base_multiple_of_critical;
    if (!std::isfinite(m) || m <= 0)
      throw InvalidArgument(str_cat("resolve_critical: base_multiple_of_critical ", m, " <= 0"));
    c.lr = m * eta_crit;
  }
  c.peak_multiple_of_critical.reset();
  c.base_multiple_of_critical.reset();
  return c;
}

Schedule::Schedule(ScheduleConfig config) : config_(config) {
  const auto& c = config_;
  if (c.peak_multiple_of_critical || c.base_multiple_of_critical)
    throw InvalidArgument(
        "Schedule: a critical-rate multiple is set but not resolved (call resolve_critical with "
        "the measured critical rate)");
  require_rate(c.lr, "lr");
  switch (c.kind) {
    case ScheduleKind::Constant:
      break;
    case ScheduleKind::Step:
      if (c.step_size == 0) throw InvalidArgument("Schedule: step_size = 0");
      require_rate(c.step_gamma, "step_gamma");
      break;
    case ScheduleKind::Cosine:
      if (c.total_steps == 0) throw InvalidArgument("Schedule: cosine needs total_steps > 0");
      require_rate(c.min_lr, "min_lr");
      break;
    case ScheduleKind::Cyclic:
      require_rate(c.max_lr, "max_lr");
      if (c.max_lr < c.lr)
        throw InvalidArgument(str_cat("Schedule: max_lr ", c.max_lr, " < base lr ", c.lr));
      if (c.step_size_up == 0) throw InvalidArgument("Schedule: step_size_up = 0");
      if (c.mode == CyclicMode::ExpRange && !(c.cyclic_gamma > 0 && c.cyclic_gamma <= 1))
        throw InvalidArgument(
            str_cat("Schedule: exp_range gamma ", c.cyclic_gamma, " is not in (0, 1]"));
      break;
  }
  if (!(c.warmup_start_factor >= 0 && c.warmup_start_factor <= 1))
    throw InvalidArgument(
        str_cat("Schedule: warmup_start_factor ", c.warmup_start_factor, " is not in [0, 1]"));
}

double Schedule::lr(std::uint64_t t) const noexcept {
  const auto& c = config_;
  const double td = static_cast<double>(t);
  double eta = c.lr;
  switch (c.kind) {
    case ScheduleKind::Constant:
      break;
    case ScheduleKind::Step:
      eta = c.lr * std::pow(c.step_gamma, static_cast<double>(t / c.step_size));
      break;
    case ScheduleKind::Cosine: {
      const double tt = static_cast<double>(std::min(t, c.total_steps));
      eta = c.min_lr +
            (c.lr - c.min_lr) *
                (1 + std::cos(std::numbers::pi * tt / static_cast<double>(c.total_steps))) / 2;
      break;
    }
    case ScheduleKind::Cyclic: {
      const double up = static_cast<double>(c.step_size_up);
      const double down =
          static_cast<double>(c.step_size_down == 0 ? c.step_size_up : c.step_size_down);
      const double total = up + down;
      const double ratio = up / total;
      const double cycle = std::floor(1 + td / total);
      const double x = 1.0 + td / total - cycle;
      const double f = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
      double scale = 1.0;
      if (c.mode == CyclicMode::Triangular2) scale = 1.0 / std::pow(2.0, cycle - 1);
      if (c.mode == CyclicMode::ExpRange) scale = std::pow(c.cyclic_gamma, td);
      eta = c.lr + (c.max_lr - c.lr) * f * scale;
      break;
    }
  }
  if (c.warmup_steps > 0) {
    const double w = static_cast<double>(c.warmup_steps);
    const double s = c.warmup_start_factor;
    eta *= s + (1 - s) * std::min(td, w) / w;
  }
  return eta;
}

double Schedule::peak() const noexcept {
  return config_.kind == ScheduleKind::Cyclic ? config_.max_lr : config_.lr;
}

const char* to_string(ScheduleKind kind) noexcept {
  switch (kind) {
    case ScheduleKind::Constant:
      return "constant";
    case ScheduleKind::Step:
      return "step";
    case ScheduleKind::Cosine:
      return "cosine";
    case ScheduleKind::Cyclic:
      return "cyclic";
  }
  return "unknown";
}

const char* to_string(CyclicMode mode) noexcept {
  switch (mode) {
    case CyclicMode::Triangular:
      return "triangular";
    case CyclicMode::Triangular2:
      return "triangular2";
    case CyclicMode::ExpRange:
      return "exp_range";
  }
  return "unknown";
}

ScheduleKind parse_schedule_kind(std::string_view name) {
  for (auto k :
       {ScheduleKind::Constant, ScheduleKind::Step, ScheduleKind::Cosine, ScheduleKind::Cyclic})
    if (name == to_string(k)) return k;
  throw InvalidArgument(str_cat("unknown schedule '", std::string(name),
                                "' (expected constant, step, cosine or cyclic)"));
}

CyclicMode parse_cyclic_mode(std::string_view name) {
  for (auto m : {CyclicMode::Triangular, CyclicMode::Triangular2, CyclicMode::ExpRange})
    if (name == to_string(m)) return m;
  throw InvalidArgument(str_cat("unknown cyclic mode '", std::string(name),
                                "' (expected triangular, triangular2 or exp_range)"));
}

}  // namespace catapult::optim
