#include "catapult/train/controllers.hpp"

#include <algorithm>
#include <cmath>

#include "catapult/core/error.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/train/checkpoint.hpp"

namespace catapult::train {

CriticalPeakController::CriticalPeakController(CriticalPeakOptions options,
                                               double initial_critical_rate)
    : options_(options), initial_(initial_critical_rate) {
  if (!(options_.peak_factor > 0.0))
    throw InvalidArgument(
        str_cat("CriticalPeakController: peak_factor ", options_.peak_factor, " is not > 0"));
  if (options_.every == 0) throw InvalidArgument("CriticalPeakController: every is 0");
  if (options_.samples == 0) throw InvalidArgument("CriticalPeakController: samples is 0");
  if (!(options_.max_peak > 0.0))
    throw InvalidArgument(
        str_cat("CriticalPeakController: max_peak ", options_.max_peak, " is not > 0"));
}

double CriticalPeakController::measure(const ControlContext& context) {
  const std::size_t n = std::min(options_.samples, context.train_set.size());
  const ntk::NtkOperator<float> op(context.model, context.train_set.images.cview().rows_range(0, n),
                                   {.mode = ntk::NtkMode::Full});
  ntk::EigenOptions o;
  o.tolerance = options_.tolerance;
  o.max_iterations = options_.max_restarts;
  if (warm_.size() == op.size()) o.start = warm_;
  const auto r = ntk::largest_eigenpairs(op, o);
  if (!r.ok()) return std::nan("");
  warm_.assign(r.eigenvectors.row(0), r.eigenvectors.row(0) + op.size());
  const double lambda_max = r.eigenvalues.front();
  if (!std::isfinite(lambda_max) || !(lambda_max > 0.0)) return std::nan("");
  return nn::mse_critical_learning_rate(lambda_max, context.config.loss.reduction, n,
                                        context.model.output_dim());
}

void CriticalPeakController::on_start(const ControlContext& context, optim::Schedule& schedule) {
  if (context.config.loss.kind != nn::LossKind::Mse)
    throw InvalidArgument("CriticalPeakController: defined for the MSE loss only");
  if (schedule.config().kind != optim::ScheduleKind::Cyclic)
    throw InvalidArgument(str_cat("CriticalPeakController: the schedule is ",
                                  optim::to_string(schedule.config().kind), ", not cyclic"));
  // Resumed with the state of the interrupted run: the schedule in use is the checkpoint's.
  if (restored_ && context.next_step > 0) return;
  if (std::isnan(initial_)) initial_ = measure(context);
  if (!std::isfinite(initial_) || !(initial_ > 0.0))
    throw RuntimeError(
        "CriticalPeakController: no critical rate at the start (λmax of the NTK not finite and "
        "> 0, or the eigensolver did not converge): the network is dead or diverged");
  auto c = schedule.config();
  c.max_lr = std::max(c.lr, std::min(options_.max_peak, options_.peak_factor * initial_));
  schedule = optim::Schedule(c);
}

void CriticalPeakController::after_step(const ControlContext& context, optim::Schedule& schedule) {
  if (context.next_step % options_.every != 0) return;
  const double now = measure(context);
  auto c = schedule.config();
  if (!std::isnan(now)) {
    c.max_lr = std::max(c.lr, std::min(options_.max_peak,
                                       options_.peak_factor *
                                           (options_.only_lower ? std::min(now, initial_) : now)));
    schedule = optim::Schedule(c);
  }
  measurements_.push_back({context.next_step, now, c.max_lr});
}

void CriticalPeakController::save_state(Checkpoint& checkpoint, std::string_view prefix) const {
  const std::string p(prefix);
  checkpoint.put_f64(p + "initial", initial_);
  checkpoint.put_f64s(p + "warm", warm_.data(), warm_.size());
  std::vector<std::uint64_t> steps;
  std::vector<double> values;
  for (const auto& m : measurements_) {
    steps.push_back(m.step);
    values.insert(values.end(), {m.eta_crit, m.peak});
  }
  checkpoint.put_u64s(p + "measurements.step", steps);
  checkpoint.put_f64s(p + "measurements.values", values.data(), values.size());
}

void CriticalPeakController::restore_state(const Checkpoint& checkpoint, std::string_view prefix) {
  const std::string p(prefix);
  const auto steps = checkpoint.u64s(p + "measurements.step");
  const auto values = checkpoint.f64s(p + "measurements.values");
  if (values.size() != 2 * steps.size())
    throw DataError(str_cat(checkpoint.source(), ": ", p, "measurements hold ", steps.size(),
                            " steps and ", values.size(), " values (need twice as many)"));
  initial_ = checkpoint.f64(p + "initial");
  warm_ = checkpoint.f64s(p + "warm");
  measurements_.clear();
  for (std::size_t i = 0; i < steps.size(); ++i)
    measurements_.push_back({steps[i], values[2 * i], values[2 * i + 1]});
  restored_ = true;
}

}  // namespace catapult::train
