#pragma once
/// @file Thread control for everything parallel in catapult (oneTBB underneath, not exposed).

#include <cstddef>
#include <memory>

namespace catapult {

/// The number of threads parallel kernels may use now: the machine's concurrency, or the limit
/// of the innermost live ThreadLimit.
[[nodiscard]] std::size_t max_threads() noexcept;

/// RAII limit on the threads every catapult kernel uses (a tbb::global_control underneath).
/// ThreadLimit(1) makes everything sequential. Throws InvalidArgument for 0.
class ThreadLimit {
 public:
  explicit ThreadLimit(std::size_t threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace catapult
