#pragma once
/// @file The seam through which the training loop runs data-parallel: a GradientReducer decides
/// which rows of every global batch this process computes and sums the partial gradients of all
/// processes (dist/data_parallel.hpp implements it with MPI_Allreduce). The core library knows
/// only this interface; without one (Hooks::reducer null) the loop computes whole batches.
///
/// Contract with train::train (lib/train/trainer.cpp), per step t with a global batch of m rows:
///   [lo, hi) = shard(m)                 rows of the batch this process computes (may be empty);
///   L_r, g_r = loss and gradient of those rows, both scaled to the global batch (L_r·c(m)/c(m_r)
///              with c the loss factor, so Σ_r L_r is the loss of the whole batch, Σ_r g_r its
///              gradient);
///   reduce(g, L)                        g ← Σ_r g_r, L ← Σ_r L_r, the same bits on every process;
///   optimizer step on every process, then after_update(t + 1, θ) (e.g. a cross-process check).
/// Every process must call reduce and after_update the same number of times (collective calls).

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace catapult::train {

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  GradientReducer() = default;
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;
  GradientReducer(GradientReducer&&) = delete;
  GradientReducer& operator=(GradientReducer&&) = delete;

  /// The rows [first, second) of a global batch of m rows that this process computes.
  [[nodiscard]] virtual std::pair<std::size_t, std::size_t> shard(std::size_t m) const = 0;
  /// Sums the processes' gradients (P entries, in place) and batch losses (in place).
  virtual void reduce(std::span<float> gradient, double& loss) = 0;
  /// After the optimizer step that completed `steps` steps; `params` is θ (P entries).
  /// May throw (e.g. when the processes' parameters differ): the run then stops on every process.
  virtual void after_update(std::uint64_t steps, std::span<const float> params) = 0;
};

}  // namespace catapult::train
