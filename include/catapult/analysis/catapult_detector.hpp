#pragma once
/// @file Detection of catapult phases in a loss trace.
///
/// A catapult (Lewkowycz et al. 2020; Zhu et al. 2023) is a loss spike caused by a learning rate
/// above the critical value 2/λmax that *comes back down* without divergence. Given the
/// per-step training loss L_0 … L_{n−1}, the detector works on a trace ℓ_t that is L_t itself or,
/// when `smoothing` > 0, its exponential moving average (to damp mini-batch noise):
///   ℓ_0 = L_0,  ℓ_t = smoothing·ℓ_{t−1} + (1 − smoothing)·L_t.
/// The running level is the *baseline* b_t = min{ℓ_s : max(0, t − baseline_window) ≤ s < t}
/// (all earlier steps when baseline_window = 0). A step t is a *trigger* when
///   ℓ_t > rise_factor · b_t   and   ℓ_t − b_t > min_rise.
/// The phase containing the trigger is the maximal excursion above the band
/// return_factor · b (b frozen at the trigger):
///   start = first step of the contiguous run of steps before the trigger with ℓ > return_factor·b,
///   end   = first step after the trigger with ℓ ≤ return_factor·b (the loss is "back"),
///   peak  = argmax of the raw loss L over [start, end).
/// A phase is a catapult when it ends within max_duration steps of its start. It is reported as a
/// divergence instead when the loss becomes non-finite (NaN or ±Inf, anywhere in the trace), or
/// when the excursion lasts longer than max_duration steps, or the trace ends before it returns.
/// Detection stops at the first divergence (nothing after it is meaningful).
///
/// Mini-batch noise (noise_window > 0). The per-step loss of mini-batch SGD fluctuates around its
/// level with a heavy upper tail; the running minimum of a noisy trace sits at the bottom of the
/// noise, so the ratio rules alone count excursions of noise as spikes (hundreds with batch 16).
/// With noise_window > 0 the detector works on the log scale, where batch-loss noise is roughly
/// multiplicative and symmetric:
///   - the smoothing (when > 0) is geometric, an EMA of log L:
///       ℓ_0 = L_0,  log ℓ_t = smoothing·log ℓ_{t−1} + (1 − smoothing)·log L_t
///     (losses ≤ 0 count as 1e-300);
///   - the noise scale is estimated robustly from the last noise_window *quiet* first differences
///     (steps s with s and s − 1 outside any phase) as their scaled median absolute value,
///       σ_raw = 1.4826 · median{|log L_s − log L_{s−1}|} / √2,
///     (first differences cancel the slow trend of the loss, the median ignores spikes), and
///     carried to the smoothed trace as σ_t = σ_raw · √((1 − smoothing)/(1 + smoothing)), the EMA's
///     reduction of white noise; while fewer than 32 quiet differences are known (the first steps
///     of a trace) there is no estimate and no trigger;
///   - a trigger also needs ℓ_t > b_t · exp(noise_margin · σ_t), i.e. the rise factor grows with
///     the noise;
///   - the band of a phase is b · max(return_factor, exp(return_margin · σ_t)) (σ frozen at the
///     trigger), so a phase ends when the loss is back within the noise of its level.
/// noise_window = 0 (the default) gives exactly the rules above; full-batch GD needs no noise
/// condition (its loss is deterministic, and its oscillations below the critical rate would
/// inflate σ).
///
/// Defaults (rise 2×, return 1.5×, window 200 steps, no smoothing, max 2000 steps, no noise
/// condition) were chosen for full-batch GD. The reproduction's protocols
/// (configs/reproduce_*.json) use smoothing 0.8, rise 1.5×, return 1.2× and, for mini-batch runs,
/// noise_window 200 with noise_margin 8 and return_margin 2. The margin is calibrated on pure-noise
/// controls on MNIST — SGD at the constant rate 0.5·η_crit (below critical), 784-256-10, at
/// several batch sizes — by `catapult reproduce calibrate`, which counts the detections for each
/// margin and with the ratio rules alone (its output is pasted in docs/reproduction.md, section
/// 7); the protocol's margin should give none. On synthetic traces (batch means of 16
/// or 64 log-normal per-sample losses over 5 epochs of 60000 samples, the level falling 10×, 30
/// seeds each) margin 8 leaves 3–6 false detections per 30 runs at σ = 1 and 11–13 at the
/// heavier-tailed σ = 1.5 (margin 10: 0–1), where the ratio rules alone find dozens to hundreds
/// per run (tests/analysis/catapult_detector_test.cpp).

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace catapult::analysis {

/// Thresholds of the detector (see the file comment for the exact rules).
struct CatapultDetectorOptions {
  double rise_factor = 2.0;    ///< trigger: ℓ_t > rise_factor · baseline (must be > 1)
  double return_factor = 1.5;  ///< end: ℓ_t ≤ return_factor · baseline (1 ≤ it < rise_factor)
  double min_rise = 0.0;       ///< trigger also needs ℓ_t − baseline > min_rise (≥ 0)
  std::size_t baseline_window = 200;  ///< trailing steps of the running minimum; 0 = all
  double smoothing = 0.0;             ///< EMA factor in [0, 1) applied to the trace; 0 = raw
  std::size_t max_duration = 2000;    ///< a phase lasting more steps is a divergence (≥ 1)
  /// Quiet steps of the robust noise estimate σ_t; 0 = no noise condition (the default).
  std::size_t noise_window = 0;
  double noise_margin = 8.0;  ///< trigger also needs ℓ_t > b_t · exp(noise_margin · σ_t) (≥ 0)
  double return_margin = 2.0;  ///< band ≥ b · exp(return_margin · σ_t) (0 ≤ it ≤ noise_margin)
};

/// One detected catapult: steps are indices into the trace.
struct CatapultPhase {
  std::size_t start = 0;   ///< first step above return_factor · baseline
  std::size_t peak = 0;    ///< step of the highest raw loss in [start, end)
  std::size_t end = 0;     ///< first step back at or below return_factor · baseline (> peak)
  double baseline = 0.0;   ///< the running level b at the trigger
  double peak_loss = 0.0;  ///< raw loss at peak
  double noise = 0.0;      ///< σ_t (log scale) at the trigger; 0 without a noise window
  /// peak_loss / baseline: the height of the spike relative to the level it left.
  [[nodiscard]] double ratio() const noexcept { return baseline > 0 ? peak_loss / baseline : 0; }
};

/// Why a trace was declared divergent.
enum class DivergenceReason : unsigned char {
  NonFinite,      ///< the loss became NaN or ±Inf at `step`
  NoReturn,       ///< an excursion lasted longer than max_duration steps
  NoReturnByEnd,  ///< the trace ended during an excursion that had not come back
};

/// A divergence: the run blew up instead of catapulting.
struct Divergence {
  DivergenceReason reason = DivergenceReason::NonFinite;
  std::size_t start = 0;  ///< first step of the excursion (or the non-finite step)
  std::size_t step = 0;   ///< step at which divergence was decided
};

/// What the detector found.
struct CatapultDetection {
  std::vector<CatapultPhase> catapults;  ///< in order of start
  std::optional<Divergence> divergence;  ///< set when the trace diverged (detection stopped there)
};

/// Marks the catapult phases of `loss` (one value per step). Cost O(n · baseline_window) worst
/// case, O(n) typical. Throws InvalidArgument for options outside the ranges documented above.
[[nodiscard]] CatapultDetection detect_catapults(std::span<const double> loss,
                                                 const CatapultDetectorOptions& options = {});

/// Human-readable name of a divergence reason ("non-finite", "no-return", "no-return-by-end").
[[nodiscard]] const char* to_string(DivergenceReason reason) noexcept;

/// Per-step 0/1 mask: 1 on steps inside a catapult phase [start, end), 0 elsewhere (n entries).
[[nodiscard]] std::vector<int> catapult_mask(const CatapultDetection& detection, std::size_t n);

}  // namespace catapult::analysis
