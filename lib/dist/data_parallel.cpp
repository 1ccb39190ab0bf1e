#include "catapult/dist/data_parallel.hpp"

#include <chrono>

#include "catapult/dist/mpi.hpp"

namespace catapult::dist {

std::pair<std::size_t, std::size_t> shard_range(std::size_t n, int rank, int size) {
  if (size <= 0 || rank < 0 || rank >= size)
    throw InvalidArgument(str_cat("dist::shard_range: rank ", rank, " of ", size));
  const auto r = static_cast<std::size_t>(rank), s = static_cast<std::size_t>(size);
  // ⌊n·q/s⌋ without overflow: with n = a·s + b, it is a·q + ⌊b·q/s⌋ (b, q ≤ s).
  auto at = [&](std::size_t q) { return (n / s) * q + (n % s) * q / s; };
  return {at(r), at(r + 1)};
}

DataParallel::DataParallel(std::uint64_t check_every) : check_every_(check_every) {
  if (!Session::active())
    throw InvalidArgument("dist::DataParallel: no MPI session (create a dist::Session first)");
}

std::pair<std::size_t, std::size_t> DataParallel::shard(std::size_t m) const {
  return shard_range(m, rank(), size());
}

void DataParallel::reduce(std::span<float> gradient, double& loss) {
  const auto t0 = std::chrono::steady_clock::now();
  allreduce_sum(gradient);
  double l = loss;
  allreduce_sum(std::span<double>(&l, 1));
  loss = l;
  allreduce_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void DataParallel::after_update(std::uint64_t steps, std::span<const float> params) {
  if (check_every_ > 0 && steps % check_every_ == 0) check(steps, params);
}

void DataParallel::check(std::uint64_t steps, std::span<const float> params) {
  ++checks_;
  require_same_fingerprint(str_cat("data-parallel training: the parameters after step ", steps,
                                   " (the ranks must stay bit-identical)"),
                           fingerprint(std::as_bytes(params)));
}

}  // namespace catapult::dist
