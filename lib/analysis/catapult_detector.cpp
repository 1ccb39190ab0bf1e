#include "catapult/analysis/catapult_detector.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "catapult/core/error.hpp"

namespace catapult::analysis {
namespace {

void check_options(const CatapultDetectorOptions& o) {
  if (!(o.rise_factor > 1.0) || !std::isfinite(o.rise_factor))
    throw InvalidArgument(str_cat("detect_catapults: rise_factor ", o.rise_factor, " must be > 1"));
  if (!(o.return_factor >= 1.0) || !(o.return_factor < o.rise_factor))
    throw InvalidArgument(str_cat("detect_catapults: return_factor ", o.return_factor,
                                  " must be in [1, rise_factor = ", o.rise_factor, ")"));
  if (!(o.min_rise >= 0.0) || !std::isfinite(o.min_rise))
    throw InvalidArgument(str_cat("detect_catapults: min_rise ", o.min_rise, " must be >= 0"));
  if (!(o.smoothing >= 0.0 && o.smoothing < 1.0))
    throw InvalidArgument(
        str_cat("detect_catapults: smoothing ", o.smoothing, " must be in [0, 1)"));
  if (o.max_duration == 0) throw InvalidArgument("detect_catapults: max_duration must be >= 1");
  if (!(o.noise_margin >= 0.0) || !std::isfinite(o.noise_margin))
    throw InvalidArgument(
        str_cat("detect_catapults: noise_margin ", o.noise_margin, " must be >= 0"));
  if (!(o.return_margin >= 0.0) || !(o.return_margin <= o.noise_margin))
    throw InvalidArgument(str_cat("detect_catapults: return_margin ", o.return_margin,
                                  " must be in [0, noise_margin = ", o.noise_margin, "]"));
}

double safe_log(double v) { return std::log(std::max(v, 1e-300)); }

// Fewer quiet first differences than this: no noise estimate yet (σ = 0).
constexpr std::size_t kMinNoiseSamples = 32;

}  // namespace

const char* to_string(DivergenceReason reason) noexcept {
  switch (reason) {
    case DivergenceReason::NonFinite:
      return "non-finite";
    case DivergenceReason::NoReturn:
      return "no-return";
    case DivergenceReason::NoReturnByEnd:
      return "no-return-by-end";
  }
  return "unknown";
}

CatapultDetection detect_catapults(std::span<const double> loss,
                                   const CatapultDetectorOptions& options) {
  check_options(options);
  CatapultDetection result;
  const std::size_t n = loss.size();

  // The trace the rules act on: raw or EMA-smoothed, up to the first non-finite value.
  // Losses ≤ 0 are clamped to 1e-300 where logarithms are taken (noise mode).
  // Noise mode smooths geometrically, ℓ_t = exp(EMA of log L): one outlier batch then moves ℓ by
  // a factor, not by its size (mini-batch losses have a heavy upper tail).
  const bool geometric = options.noise_window > 0 && options.smoothing > 0.0;
  std::size_t finite_end = n;
  std::vector<double> ell(n);
  double acc = 0.0;
  for (std::size_t t = 0; t < n; ++t) {
    if (!std::isfinite(loss[t])) {
      finite_end = t;
      break;
    }
    const double v = geometric ? safe_log(loss[t]) : loss[t];
    acc = (t == 0 || options.smoothing == 0.0)
              ? v
              : options.smoothing * acc + (1.0 - options.smoothing) * v;
    ell[t] = geometric ? std::exp(acc) : acc;
  }
  auto non_finite_at = [&](std::size_t start, std::size_t step) {
    result.divergence = Divergence{DivergenceReason::NonFinite, start, step};
  };

  // Steps outside phases feed the running minimum.
  std::vector<std::size_t> eligible;
  eligible.reserve(n);
  // Quiet first differences |log L_s − log L_{s−1}| (s and s − 1 outside phases), in order.
  std::vector<double> quiet_diffs;
  std::vector<double> scratch;
  const double ema_noise =
      std::sqrt((1.0 - options.smoothing) / (1.0 + options.smoothing));  // 1 without smoothing
  // σ from the last noise_window quiet differences; NaN while fewer than kMinNoiseSamples exist.
  auto noise_estimate = [&]() {
    const std::size_t m = std::min(options.noise_window, quiet_diffs.size());
    if (m < kMinNoiseSamples) return std::nan("");
    scratch.assign(quiet_diffs.end() - static_cast<std::ptrdiff_t>(m), quiet_diffs.end());
    const auto mid = scratch.begin() + static_cast<std::ptrdiff_t>(scratch.size() / 2);
    std::nth_element(scratch.begin(), mid, scratch.end());
    double median = *mid;
    if (scratch.size() % 2 == 0) median = 0.5 * (median + *std::max_element(scratch.begin(), mid));
    // MAD → standard deviation for Gaussian noise; a difference has twice the variance.
    return 1.4826 * median / std::sqrt(2.0) * ema_noise;
  };
  bool have_baseline = false;
  double baseline = 0.0;
  std::size_t last_end = 0;  // a new phase cannot start before this step

  std::size_t t = 0;
  while (t < finite_end) {
    // Running level over the trailing window (the last known one when the window is empty).
    const std::size_t lo = (options.baseline_window == 0 || t < options.baseline_window)
                               ? 0
                               : t - options.baseline_window;
    bool found = false;
    double window_min = 0.0;
    for (auto it = eligible.rbegin(); it != eligible.rend() && *it >= lo; ++it) {
      if (!found || ell[*it] < window_min) window_min = ell[*it];
      found = true;
    }
    if (found) {
      baseline = window_min;
      have_baseline = true;
    }

    const bool ratio_trigger = have_baseline && ell[t] > options.rise_factor * baseline &&
                               ell[t] - baseline > options.min_rise;
    // In noise mode no trigger before a noise estimate exists (NaN fails the comparison).
    const double noise = !ratio_trigger ? 0.0 : options.noise_window == 0 ? 0.0 : noise_estimate();
    if (!ratio_trigger || !(ell[t] > baseline * std::exp(options.noise_margin * noise))) {
      if (options.noise_window > 0 && t > 0 && !eligible.empty() && eligible.back() == t - 1)
        quiet_diffs.push_back(std::abs(safe_log(loss[t]) - safe_log(loss[t - 1])));
      eligible.push_back(t);
      ++t;
      continue;
    }

    const double band =
        baseline * std::max(options.return_factor, std::exp(options.return_margin * noise));
    std::size_t start = t;
    while (start > last_end && ell[start - 1] > band) --start;
    std::size_t u = t + 1;
    for (; u < finite_end; ++u) {
      if (ell[u] <= band) break;
      if (u - start > options.max_duration) {
        result.divergence = Divergence{DivergenceReason::NoReturn, start, u};
        return result;
      }
    }
    if (t - start > options.max_duration) {
      result.divergence = Divergence{DivergenceReason::NoReturn, start, t};
      return result;
    }
    if (u == finite_end) {
      if (finite_end < n) {
        non_finite_at(start, finite_end);
      } else {
        result.divergence = Divergence{DivergenceReason::NoReturnByEnd, start, n - 1};
      }
      return result;
    }
    CatapultPhase phase;
    phase.start = start;
    phase.end = u;
    phase.baseline = baseline;
    phase.noise = noise;
    phase.peak = start;
    for (std::size_t s = start; s < u; ++s)
      if (loss[s] > loss[phase.peak]) phase.peak = s;
    phase.peak_loss = loss[phase.peak];
    result.catapults.push_back(phase);
    last_end = u;
    t = u;  // the return step is processed normally (and joins the baseline)
  }
  if (finite_end < n) non_finite_at(finite_end, finite_end);
  return result;
}

std::vector<int> catapult_mask(const CatapultDetection& detection, std::size_t n) {
  std::vector<int> mask(n, 0);
  for (const auto& phase : detection.catapults)
    for (std::size_t s = phase.start; s < std::min(phase.end, n); ++s) mask[s] = 1;
  return mask;
}

}  // namespace catapult::analysis
