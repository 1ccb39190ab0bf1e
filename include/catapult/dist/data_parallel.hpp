#pragma once
/// @file Data-parallel training over MPI ranks: the GradientReducer of train/gradient_reducer.hpp
/// with MPI_Allreduce. Every rank runs the same train::train with the same configuration, data
/// and seeds; each computes rows [m·r/N, m·(r+1)/N) of every global batch of m rows, the shard
/// gradients (scaled to the global batch) are summed with one MPI_Allreduce over the flat P-float
/// buffer, and every rank takes the same optimizer step. A global batch of b gives the run of
/// one process with batch b, up to the order of the sums: float addition is not associative, so
/// the N partial sums differ from the single sum by rounding (the bound tested in
/// tests/mpi/data_parallel_test.cpp: per step, |L_N − L_1| ≤ 1e-5·|L_1| over a short run).
///
/// The ranks must hold the same parameters at every step. Every `check_every` steps the reducer
/// compares a 64-bit fingerprint of each rank's parameters (one MPI_Allgather of 8 bytes; the
/// hash reads P floats, about the cost of one elementwise pass): any difference throws a
/// CollectiveError on every rank naming the step and the ranks (drift is an error).

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "catapult/train/gradient_reducer.hpp"

namespace catapult::dist {

/// Rows [first, second) of n items that rank r of `size` holds: the balanced split
/// [n·r/size, n·(r+1)/size).
[[nodiscard]] std::pair<std::size_t, std::size_t> shard_range(std::size_t n, int rank, int size);

class DataParallel final : public train::GradientReducer {
 public:
  /// check_every = 0 checks only when check() is called. Requires an active Session.
  explicit DataParallel(std::uint64_t check_every = 50);

  [[nodiscard]] std::pair<std::size_t, std::size_t> shard(std::size_t m) const override;
  void reduce(std::span<float> gradient, double& loss) override;
  void after_update(std::uint64_t steps, std::span<const float> params) override;

  /// Collective: throws CollectiveError unless every rank's params have the same fingerprint.
  void check(std::uint64_t steps, std::span<const float> params);

  /// Seconds spent in MPI_Allreduce so far (for the benchmark's communication fraction).
  [[nodiscard]] double allreduce_seconds() const noexcept { return allreduce_seconds_; }
  /// Parameter checks made so far.
  [[nodiscard]] std::uint64_t checks() const noexcept { return checks_; }

 private:
  std::uint64_t check_every_;
  double allreduce_seconds_ = 0;
  std::uint64_t checks_ = 0;
};

}  // namespace catapult::dist
