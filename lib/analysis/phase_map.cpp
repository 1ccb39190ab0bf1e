#include "catapult/analysis/phase_map.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "catapult/core/error.hpp"

namespace catapult::analysis {

const char* to_string(RunClass c) noexcept {
  switch (c) {
    case RunClass::None:
      return "none";
    case RunClass::Catapult:
      return "catapult";
    case RunClass::Collapse:
      return "collapse";
    case RunClass::Divergence:
      return "divergence";
  }
  return "unknown";
}

RunClassification classify_run(std::span<const double> loss, const CatapultDetection& detection,
                               bool diverged, double constant_predictor_loss,
                               std::size_t cycle_length, const RunClassOptions& options) {
  if (loss.empty()) throw InvalidArgument("classify_run: empty loss trace");
  if (cycle_length == 0) throw InvalidArgument("classify_run: cycle_length is 0");
  if (!std::isfinite(constant_predictor_loss) || !(constant_predictor_loss > 0.0))
    throw InvalidArgument(str_cat("classify_run: constant-predictor loss ", constant_predictor_loss,
                                  " is not finite and > 0"));
  if (!std::isfinite(options.collapse_fraction) || !(options.collapse_fraction > 0.0))
    throw InvalidArgument(
        str_cat("classify_run: collapse_fraction ", options.collapse_fraction, " is not > 0"));
  if (!(options.collapse_ceiling >= options.collapse_fraction))
    throw InvalidArgument(str_cat("classify_run: collapse_ceiling ", options.collapse_ceiling,
                                  " < collapse_fraction ", options.collapse_fraction));
  if (options.tail == 0) throw InvalidArgument("classify_run: tail is 0");

  RunClassification r;
  r.catapults = detection.catapults.size();
  r.catapults_per_cycle = static_cast<double>(r.catapults) * static_cast<double>(cycle_length) /
                          static_cast<double>(loss.size());
  for (const auto& c : detection.catapults) {
    r.mean_height += c.ratio();
    r.max_height = std::max(r.max_height, c.ratio());
  }
  if (r.catapults > 0) r.mean_height /= static_cast<double>(r.catapults);
  const std::size_t tail = std::min(options.tail, loss.size());
  double sum = 0.0;
  for (std::size_t i = loss.size() - tail; i < loss.size(); ++i) sum += loss[i];
  r.tail_loss = std::isfinite(sum) ? sum / static_cast<double>(tail)
                                   : std::numeric_limits<double>::quiet_NaN();

  const double ceiling = options.collapse_ceiling * constant_predictor_loss;
  if (diverged || !std::isfinite(r.tail_loss) || r.tail_loss > ceiling) {
    r.run_class = RunClass::Divergence;
    r.reason = diverged ? "the training loop stopped on a non-finite value"
               : !std::isfinite(r.tail_loss)
                   ? "non-finite loss in the tail"
                   : str_cat("tail loss ", r.tail_loss, " > ", options.collapse_ceiling,
                             " x constant-predictor loss ", constant_predictor_loss);
  } else if (r.tail_loss >= options.collapse_fraction * constant_predictor_loss) {
    r.run_class = RunClass::Collapse;
    r.reason = str_cat("tail loss ", r.tail_loss, " >= ", options.collapse_fraction,
                       " x constant-predictor loss ", constant_predictor_loss);
  } else if (detection.divergence) {
    r.run_class = RunClass::Divergence;
    r.reason = str_cat("detector: ", to_string(detection.divergence->reason), " from step ",
                       detection.divergence->start);
  } else if (r.catapults > 0) {
    r.run_class = RunClass::Catapult;
    r.reason = str_cat(r.catapults, " catapult(s), ", r.catapults_per_cycle, " per cycle");
  } else {
    r.run_class = RunClass::None;
    r.reason = "no catapult detected";
  }
  return r;
}

double constant_predictor_mse(std::span<const std::uint8_t> labels, std::size_t classes,
                              const nn::LossConfig& loss) {
  if (loss.kind != nn::LossKind::Mse)
    throw InvalidArgument("constant_predictor_mse: the loss is not MSE");
  if (labels.empty()) throw InvalidArgument("constant_predictor_mse: empty set");
  if (classes == 0) throw InvalidArgument("constant_predictor_mse: 0 classes");
  std::vector<double> count(classes, 0.0);
  for (const auto l : labels) {
    if (l >= classes)
      throw InvalidArgument(
          str_cat("constant_predictor_mse: label ", int(l), " >= ", classes, " classes"));
    count[l] += 1.0;
  }
  const double n = static_cast<double>(labels.size());
  const double gap = loss.target_on - loss.target_off;
  double variance = 0.0;  // Σ_j (on − off)² p_j (1 − p_j)
  for (const double c : count) variance += gap * gap * (c / n) * (1.0 - c / n);
  return nn::mse_scale(loss.reduction, labels.size(), classes) * n * variance;
}

bool point_qualifies(std::span<const MapRun> seeds, const RowRuleOptions& options) {
  if (seeds.empty()) throw InvalidArgument("point_qualifies: a point without runs");
  if (!(options.min_seed_fraction > 0.0) || options.min_seed_fraction > 1.0)
    throw InvalidArgument(str_cat("point_qualifies: min_seed_fraction ", options.min_seed_fraction,
                                  " is not in (0, 1]"));
  std::size_t good = 0;
  for (const auto& s : seeds)
    if (s.run_class != RunClass::Divergence && s.run_class != RunClass::Collapse &&
        s.catapults_per_cycle >= options.min_catapults_per_cycle)
      ++good;
  return static_cast<double>(good) >=
         options.min_seed_fraction * static_cast<double>(seeds.size()) - 1e-12;
}

std::optional<std::size_t> select_row(const std::vector<std::vector<MapRun>>& points,
                                      const RowRuleOptions& options) {
  for (std::size_t i = 0; i < points.size(); ++i)
    if (point_qualifies(points[i], options)) return i;
  return std::nullopt;
}

}  // namespace catapult::analysis
