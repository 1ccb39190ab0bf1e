#pragma once
/// @file The phase map's written rules: how one training run is classified from its loss trace,
/// and how the table's "+ catapult" row is chosen from a map of runs. Both are fixed here, before
/// any result, and the report quotes them.
///
/// Classification of a run from its loss trace, with L_c the loss of the best constant predictor
/// (constant_predictor_mse) and `tail loss` the mean raw loss over the last `tail` steps (in
/// this order; the first rule that holds decides):
///   1. divergence — the run stopped on a non-finite loss, gradient or parameter, or its tail loss
///      is not finite or above collapse_ceiling × L_c (it ends worse than predicting a constant);
///   2. collapse — the tail loss is at least collapse_fraction × L_c: the run ends near a
///      constant predictor (the network has forgotten its inputs);
///   3. divergence — the catapult detector (analysis/catapult_detector.hpp) reports an excursion
///      that did not come back (within max_duration steps, or by the end of the trace);
///   4. catapult — the detector found at least one catapult (a spike that came back);
///   5. none.
/// Catapults per cycle = detected catapults / (steps / cycle length).
///
/// Row selection: among the map's peaks c (in increasing order), the chosen one is the smallest
/// c at which at least min_seed_fraction of the seeds (default 2/3) ran without divergence or
/// collapse AND showed at least min_catapults_per_cycle (default 1) detected catapults per cycle.
/// No such c: nothing is chosen, and the report says so.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/nn/loss.hpp"

namespace catapult::analysis {

enum class RunClass : unsigned char { None, Catapult, Collapse, Divergence };

/// "none", "catapult", "collapse", "divergence".
[[nodiscard]] const char* to_string(RunClass c) noexcept;

struct RunClassOptions {
  /// Collapse: mean tail loss ≥ collapse_fraction × constant-predictor loss (in (0, ∞)).
  double collapse_fraction = 0.9;
  /// Divergence: mean tail loss > collapse_ceiling × constant-predictor loss (≥ collapse_fraction).
  double collapse_ceiling = 1.5;
  /// Steps at the end of the trace averaged for the collapse rule (≥ 1; fewer if the trace is
  /// shorter).
  std::size_t tail = 100;
};

/// A run's class and its catapult statistics.
struct RunClassification {
  RunClass run_class = RunClass::None;
  std::size_t catapults = 0;         ///< detected catapults (before any divergence)
  double catapults_per_cycle = 0.0;  ///< catapults / (steps / cycle_length)
  double mean_height = 0.0;          ///< mean peak/baseline ratio of the catapults (0 if none)
  double max_height = 0.0;           ///< largest peak/baseline ratio (0 if none)
  double tail_loss = 0.0;            ///< mean raw loss over the last `tail` steps (NaN if any
                                     ///< is not finite)
  std::string reason;                ///< one line: which rule decided and with what numbers
};

/// Classifies a run from its per-step loss trace (one value per completed step), the detector's
/// result on that trace, whether the training loop stopped it as diverged, the best constant
/// predictor's loss and the schedule's cycle length in steps. Throws InvalidArgument for an empty
/// trace, cycle_length 0, a constant-predictor loss that is not finite and > 0, or options out of
/// range.
[[nodiscard]] RunClassification classify_run(std::span<const double> loss,
                                             const CatapultDetection& detection, bool diverged,
                                             double constant_predictor_loss,
                                             std::size_t cycle_length,
                                             const RunClassOptions& options = {});

/// The loss of the best constant predictor (each output its target's mean over the set) under the
/// MSE `loss` on a set whose labels are `labels` with `classes` outputs:
///   c(n, k) · n · Σ_j (on − off)² · p_j (1 − p_j),  p_j = fraction of samples of class j,
/// with c = nn::mse_scale(loss.reduction, n, classes). Throws InvalidArgument for an empty set,
/// classes 0, a label ≥ classes, or a loss that is not MSE.
[[nodiscard]] double constant_predictor_mse(std::span<const std::uint8_t> labels,
                                            std::size_t classes, const nn::LossConfig& loss);

/// One seed's run at one point of the map.
struct MapRun {
  RunClass run_class = RunClass::None;
  double catapults_per_cycle = 0.0;
};

/// The selection rule's thresholds.
struct RowRuleOptions {
  double min_catapults_per_cycle = 1.0;
  double min_seed_fraction = 2.0 / 3.0;  ///< in (0, 1]
};

/// True when the runs of one point satisfy the rule (see the file comment).
[[nodiscard]] bool point_qualifies(std::span<const MapRun> seeds,
                                   const RowRuleOptions& options = {});

/// Index of the chosen point among `points` (ordered by increasing peak), or nothing. Throws
/// InvalidArgument for a point without runs or options out of range.
[[nodiscard]] std::optional<std::size_t> select_row(const std::vector<std::vector<MapRun>>& points,
                                                    const RowRuleOptions& options = {});

}  // namespace catapult::analysis
