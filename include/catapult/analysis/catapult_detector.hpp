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
/// Defaults (rise 2×, return 1.5×, window 200 steps, no smoothing, max 2000 steps) were chosen for
/// full-batch GD and for per-step mini-batch losses of the experiments in docs/reproduction.md:
/// a 2× rise is far above mini-batch noise once smoothed, and returning within 1.5× of the
/// pre-spike level means the loss is back on its descending trend.

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
};

/// One detected catapult: steps are indices into the trace.
struct CatapultPhase {
  std::size_t start = 0;   ///< first step above return_factor · baseline
  std::size_t peak = 0;    ///< step of the highest raw loss in [start, end)
  std::size_t end = 0;     ///< first step back at or below return_factor · baseline (> peak)
  double baseline = 0.0;   ///< the running level b at the trigger
  double peak_loss = 0.0;  ///< raw loss at peak
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
