#pragma once
/// @file The matrix-free empirical NTK with its samples sharded over the MPI ranks. Rank r holds
/// the samples [n·r/N, n·(r+1)/N) of the global set (dist::shard_range) and their forward caches;
/// with J_r the Jacobian of its samples (ntk.hpp's layout, sample-major),
///   K·v = J·(Jᵀv),  Jᵀv = Σ_r J_rᵀ·v_r  (one VJP pass per rank, ONE MPI_Allreduce of P scalars),
///   (K·v)_r = J_r·(Jᵀv)                 (one JVP pass per rank), gathered in rank order.
/// The vectors the eigen-solver sees are replicated: every rank gets the whole K·v with the same
/// bits (the allreduce gives every rank the same sum and the gather concatenates the same
/// blocks), so Spectra takes the same path on every rank and returns the same eigenvalues.
/// Modes: Full and Output cost one VJP + one JVP per apply; Traced (Σ_c J_c·J_cᵀ) needs the k
/// per-output products, k VJPs + k JVPs and an allreduce of k·P scalars (ntk::NtkOperator has a
/// cheaper traced form; this operator keeps to the one that shards).

#include <cstddef>
#include <memory>

#include "catapult/core/matrix.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"

namespace catapult::dist {

template <class T>
class ShardedNtkOperator final : public ntk::LinearOperator {
 public:
  /// x_local: this rank's samples, rows [lo, hi) of the global set with (lo, hi) =
  /// shard_range(n, rank, size). Collective (the global n is summed over the ranks). The model
  /// (the same parameters on every rank) must outlive the operator. Throws InvalidArgument (on
  /// every rank) on a shape mismatch or an output index ≥ k.
  ShardedNtkOperator(const nn::Mlp<T>& model, MatrixView<const T> x_local,
                     const ntk::NtkOptions& options = {});
  ~ShardedNtkOperator() override;
  ShardedNtkOperator(const ShardedNtkOperator&) = delete;
  ShardedNtkOperator& operator=(const ShardedNtkOperator&) = delete;
  ShardedNtkOperator(ShardedNtkOperator&&) = delete;
  ShardedNtkOperator& operator=(ShardedNtkOperator&&) = delete;

  /// ntk_size(mode, n, k) for the global n.
  [[nodiscard]] std::size_t size() const override;
  /// y = K·x (x and y hold size() doubles, the same on every rank). Collective.
  void apply(const double* x, double* y) const override;
  /// Global number of samples.
  [[nodiscard]] std::size_t samples() const noexcept;
  /// Seconds spent in MPI (allreduce + gather) over all applies so far.
  [[nodiscard]] double communication_seconds() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace catapult::dist
