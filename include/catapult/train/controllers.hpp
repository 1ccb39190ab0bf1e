#pragma once
/// @file Controllers of the library's training loop (catapult/train/trainer.hpp) that experiments
/// share: the cyclic peak held at a multiple of the critical rate, re-measured during the run.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "catapult/train/trainer.hpp"

namespace catapult::train {

struct CriticalPeakOptions {
  double peak_factor = 3.0;  ///< peak = peak_factor·η_crit (> 0)
  /// Re-measure after every this many steps (> 0), e.g. one cycle of a cyclic schedule
  /// (step_size_up + step_size_down).
  std::uint64_t every = 1;
  std::size_t samples = 64;        ///< η_crit on the first min(samples, n) training samples (> 0)
  double tolerance = 1e-3;         ///< Lanczos relative tolerance of λmax (ntk::EigenOptions)
  std::size_t max_restarts = 100;  ///< Lanczos restarts (ntk::EigenOptions::max_iterations)
  /// Only ever lower the peak: peak = factor·min(η_crit(t), η_crit(0)). Catapults flatten the
  /// landscape; a peak that follows η_crit up feeds back (docs/reproduction.md, Deviations).
  bool only_lower = true;
  /// A ceiling on the peak: peak = min(max_peak, factor·η_crit). With factor < 1 and
  /// only_lower = false this is the sub-critical control of a catapult schedule: the same cycle
  /// with its peak held below the tracked critical rate (and never above the catapult
  /// schedule's own peak, max_peak).
  double max_peak = std::numeric_limits<double>::infinity();
};

/// One measurement: η_crit after `step` completed steps and the peak it set.
struct CriticalMeasurement {
  std::uint64_t step;
  double eta_crit;  ///< NaN when nothing was measured (the peak is then kept)
  double peak;
};

/// Holds a Cyclic schedule's peak (max_lr) at peak_factor·η_crit, η_crit = 1/(c·λmax(K)) of the
/// run's MSE (nn::mse_critical_learning_rate) with K the full empirical NTK of the current model
/// on the first `samples` training samples, λmax by the matrix-free ntk::NtkOperator and Lanczos
/// (warm-started from the previous measurement's top eigenvector). on_start takes η_crit(0) from
/// the constructor when given, measures it otherwise, and sets the peak; after every `every`
/// steps the rate is re-measured and the peak moved (never below the base rate). Cost per
/// measurement: Lanczos iterations × one NTK product (a JVP and a VJP on the samples). on_start
/// throws InvalidArgument for a loss other than MSE or a schedule that is not Cyclic, and
/// RuntimeError when η_crit(0) cannot be measured (λmax not finite and > 0: a dead network).
/// Its state (η_crit(0), the measurements, the Lanczos warm-start vector) goes into training
/// checkpoints, so a resumed run measures and moves the peak exactly as the uninterrupted one:
/// after restore_state, on_start of a resumed run (next_step > 0) keeps the restored schedule.
class CriticalPeakController final : public Controller {
 public:
  /// Throws InvalidArgument for peak_factor ≤ 0, every = 0 or samples = 0.
  explicit CriticalPeakController(
      CriticalPeakOptions options,
      double initial_critical_rate = std::numeric_limits<double>::quiet_NaN());

  void on_start(const ControlContext& context, optim::Schedule& schedule) override;
  void after_step(const ControlContext& context, optim::Schedule& schedule) override;
  [[nodiscard]] bool needs_gradient() const override { return false; }
  /// Entries prefix + "initial" (f64), "warm" (f64s), "measurements.step" (u64s) and
  /// "measurements.values" (f64s: η_crit, peak per measurement).
  void save_state(Checkpoint& checkpoint, std::string_view prefix) const override;
  /// Throws DataError (naming the checkpoint) for missing or inconsistent entries.
  void restore_state(const Checkpoint& checkpoint, std::string_view prefix) override;

  [[nodiscard]] const CriticalPeakOptions& options() const noexcept { return options_; }
  /// η_crit(0) (NaN before on_start).
  [[nodiscard]] double initial_critical_rate() const noexcept { return initial_; }
  /// The re-measurements made after on_start, in order.
  [[nodiscard]] const std::vector<CriticalMeasurement>& measurements() const noexcept {
    return measurements_;
  }

 private:
  double measure(const ControlContext& context);
  CriticalPeakOptions options_;
  double initial_;
  std::vector<double> warm_;
  std::vector<CriticalMeasurement> measurements_;
  bool restored_ = false;
};

}  // namespace catapult::train
