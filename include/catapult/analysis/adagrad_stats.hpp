#pragma once
/// @file Statistics of AdaGrad's accumulator, for the poster's argument that catapults die out
/// under AdaGrad.
///
/// AdaGrad keeps, per parameter i, the accumulator G_i(t) = G_i(0) + Σ_{p ≤ t} g_{p,i}² (the sum of
/// the squared gradients of every step p so far) and updates θ_i −= η · g_i / (√G_i + ε). The
/// poster defines s_t = min_i √(Σ_p g_{p,i}²) = min_i √G_i(t) (with G(0) = 0): every parameter's
/// effective rate is at most η/s_t, which gives the bound η_crit,AdaGrad(t) ≥ 2·s_t/λmax(t).
/// Since G only grows, s_t is non-decreasing, and a fixed peak rate eventually falls below the
/// bound: catapults die out.
///
/// Caveat (measured on MNIST): parameters whose gradient is always exactly zero (weights from the
/// border pixels, which are 0 in every image; units that never activate) keep G_i = 0, so the
/// poster's s_t is exactly 0 for the whole run. We therefore also report s_t over the *active*
/// parameters (G_i > 0) and the number of inactive ones; the bound is only informative with the
/// former.

#include <cstddef>
#include <span>
#include <vector>

namespace catapult::analysis {

/// Summary of r_i = √G_i over the P parameters at one step.
struct AdagradAccumulatorStats {
  std::size_t step = 0;
  double s_t = 0.0;               ///< min_i √G_i, the poster's s_t (ntk::adagrad_min_scale)
  double max = 0.0;               ///< max_i √G_i
  double mean = 0.0;              ///< mean_i √G_i
  std::vector<double> quantiles;  ///< √G at the requested probabilities (nearest-rank)
  double s_t_active = 0.0;   ///< min_i √G_i over the entries with G_i > 0 (0 if there are none)
  std::size_t inactive = 0;  ///< number of entries with G_i = 0
};

/// Computes the statistics of √G for an accumulator of P ≥ 1 entries (the optimizer's state, in
/// the flat parameter layout). Quantile probabilities must lie in [0, 1]; quantile q is the value
/// of rank ⌈q·P⌉ (1-based, rank 1 for q = 0) of the sorted √G. Cost O(P · #quantiles) expected.
/// Throws InvalidArgument for an empty accumulator, a negative entry or a probability outside
/// [0,1].
template <class T>
[[nodiscard]] AdagradAccumulatorStats adagrad_accumulator_stats(std::span<const T> accumulator,
                                                                std::span<const double> probs,
                                                                std::size_t step = 0);

/// Records AdaGrad accumulator statistics along a run: call record() after each optimizer step
/// (or every `every` steps) with the accumulator; history() holds one entry per recorded step.
class AdagradStatsRecorder {
 public:
  /// probs: quantile probabilities (default: 0.01, 0.5, 0.99); every ≥ 1.
  explicit AdagradStatsRecorder(std::vector<double> probs = {0.01, 0.5, 0.99},
                                std::size_t every = 1);

  /// Records the statistics of `accumulator` at `step` if step % every == 0.
  void record(std::size_t step, std::span<const float> accumulator);
  void record(std::size_t step, std::span<const double> accumulator);

  [[nodiscard]] const std::vector<double>& probabilities() const noexcept { return probs_; }
  [[nodiscard]] const std::vector<AdagradAccumulatorStats>& history() const noexcept {
    return history_;
  }

 private:
  std::vector<double> probs_;
  std::size_t every_;
  std::vector<AdagradAccumulatorStats> history_;
};

}  // namespace catapult::analysis
