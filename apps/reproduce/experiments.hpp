#pragma once
// The experiments of `catapult reproduce` (see docs/reproduction.md for the protocol).
// Each reads its part of ctx.protocol, writes ctx.out/<name>/ atomically (CSV, meta.json, PNG
// figures, section.md for the report) and reports progress through ctx.log.

#include <utility>
#include <vector>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/matrix.hpp"
#include "catapult/nn/mlp.hpp"
#include "protocol.hpp"

namespace catapult::app::reproduce {

/// The poster's table: SGD, SGD + catapult, AdaGrad, AdaGrad + catapult, Adam over seeds.
void run_table(const Context& ctx);
/// Per-step loss of GD/SGD under the cyclic and cyclic-exponential schedules, with lr and 2/λmax.
void run_dynamics(const Context& ctx);
/// NTK condition number and ‖K‖₂ over training of a smaller model, with catapult phases.
void run_ntk(const Context& ctx);
/// AdaGrad: s_t against step, the bound 2·s_t/λmax against the peak rate, preconditioned
/// sharpness, and AdaGrad + cyclic schedule loss/accuracy.
void run_adagrad(const Context& ctx);
/// Beyond the poster: number of catapults and test accuracy against batch size.
void run_beyond(const Context& ctx);
/// The phase map: cyclic peaks c·η_crit(t) over a grid of c with matched-rate controls, the
/// "+ catapult" peak chosen by the written row rule, and the answer to "spikes or rate?".
void run_phase_map(const Context& ctx);
/// The detector's calibration: detections on pure-noise controls (constant rate below critical)
/// at several batch sizes for several noise margins.
void run_calibrate(const Context& ctx);

/// Shaded intervals [start, end) of the detected catapults, in steps (for figures).
[[nodiscard]] std::vector<std::pair<double, double>> phase_intervals(
    const analysis::CatapultDetection& detection);

}  // namespace catapult::app::reproduce
