#include "catapult/analysis/catapult_detector.hpp"

#include <algorithm>
#include <cmath>

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
}

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
  std::size_t finite_end = n;
  std::vector<double> ell(n);
  for (std::size_t t = 0; t < n; ++t) {
    if (!std::isfinite(loss[t])) {
      finite_end = t;
      break;
    }
    ell[t] = (t == 0 || options.smoothing == 0.0)
                 ? loss[t]
                 : options.smoothing * ell[t - 1] + (1.0 - options.smoothing) * loss[t];
  }
  auto non_finite_at = [&](std::size_t start, std::size_t step) {
    result.divergence = Divergence{DivergenceReason::NonFinite, start, step};
  };

  // Steps outside phases feed the running minimum.
  std::vector<std::size_t> eligible;
  eligible.reserve(n);
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

    const bool trigger = have_baseline && ell[t] > options.rise_factor * baseline &&
                         ell[t] - baseline > options.min_rise;
    if (!trigger) {
      eligible.push_back(t);
      ++t;
      continue;
    }

    const double band = options.return_factor * baseline;
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
