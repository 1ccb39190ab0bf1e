#include "catapult/analysis/adagrad_stats.hpp"

#include <algorithm>
#include <cmath>

#include "catapult/core/error.hpp"
#include "catapult/ntk/curvature.hpp"

namespace catapult::analysis {

template <class T>
AdagradAccumulatorStats adagrad_accumulator_stats(std::span<const T> accumulator,
                                                  std::span<const double> probs, std::size_t step) {
  if (accumulator.empty()) throw InvalidArgument("adagrad_accumulator_stats: empty accumulator");
  for (const double q : probs)
    if (!(q >= 0.0 && q <= 1.0))
      throw InvalidArgument(str_cat("adagrad_accumulator_stats: probability ", q, " not in [0,1]"));
  const std::size_t n = accumulator.size();
  std::vector<double> roots(n);
  double sum = 0.0;
  bool any_active = false;
  double active_min = 0.0;
  std::size_t inactive = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto g = static_cast<double>(accumulator[i]);
    if (g < 0.0)
      throw InvalidArgument(
          str_cat("adagrad_accumulator_stats: negative accumulator entry ", g, " at ", i));
    roots[i] = std::sqrt(g);
    sum += roots[i];
    if (g == 0.0) {
      ++inactive;
    } else if (!any_active || roots[i] < active_min) {
      active_min = roots[i];
      any_active = true;
    }
  }
  AdagradAccumulatorStats stats;
  stats.step = step;
  // √ is monotone and correctly rounded, so min_i √G_i is √(min_i G_i): the same bits.
  stats.s_t = ntk::adagrad_min_scale(accumulator);
  stats.max = *std::max_element(roots.begin(), roots.end());
  stats.mean = sum / static_cast<double>(n);
  stats.s_t_active = active_min;
  stats.inactive = inactive;
  for (const double q : probs) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    const std::size_t k = rank == 0 ? 0 : rank - 1;
    std::nth_element(roots.begin(), roots.begin() + static_cast<std::ptrdiff_t>(k), roots.end());
    stats.quantiles.push_back(roots[k]);
  }
  return stats;
}

template AdagradAccumulatorStats adagrad_accumulator_stats<float>(std::span<const float>,
                                                                  std::span<const double>,
                                                                  std::size_t);
template AdagradAccumulatorStats adagrad_accumulator_stats<double>(std::span<const double>,
                                                                   std::span<const double>,
                                                                   std::size_t);

AdagradStatsRecorder::AdagradStatsRecorder(std::vector<double> probs, std::size_t every)
    : probs_(std::move(probs)), every_(every) {
  if (every_ == 0) throw InvalidArgument("AdagradStatsRecorder: every must be >= 1");
  for (const double q : probs_)
    if (!(q >= 0.0 && q <= 1.0))
      throw InvalidArgument(str_cat("AdagradStatsRecorder: probability ", q, " not in [0,1]"));
}

void AdagradStatsRecorder::record(std::size_t step, std::span<const float> accumulator) {
  if (step % every_ == 0) history_.push_back(adagrad_accumulator_stats(accumulator, probs_, step));
}

void AdagradStatsRecorder::record(std::size_t step, std::span<const double> accumulator) {
  if (step % every_ == 0) history_.push_back(adagrad_accumulator_stats(accumulator, probs_, step));
}

}  // namespace catapult::analysis
