#pragma once
// Chunked parallel loops over flat arrays, shared by the elementwise kernels and the optimizers.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>

#include "catapult/core/threading.hpp"
#include "core/tsan_fork_join.hpp"

namespace catapult::detail {

/// Arrays at least this long are split across threads; below it, waking TBB workers costs more
/// than the work (1<<16 floats is ~10 µs of a memory-bound loop).
inline constexpr std::size_t kParallelMin = std::size_t{1} << 16;
/// Grain of the parallel loops (and block of the deterministic reductions in kernels/).
inline constexpr std::size_t kGrain = std::size_t{1} << 14;

/// Runs body(begin, end) over blocks of [0, n), where each of the n items stands for `width`
/// elements of work (a row of a matrix when splitting rows, a column when splitting columns),
/// split across threads (at most max_threads()) when n · width reaches kParallelMin, in blocks of
/// about kGrain elements. Callers whose body computes every element the same way whichever block
/// it falls in get results that do not depend on the split, hence not on the thread count; a
/// body that splits columns and walks every row of its block in order computes a column
/// reduction in the same order whatever the split.
template <class Body>
void for_blocks(std::size_t n, std::size_t width, const Body& body) {
  if (width == 0 || n * width < kParallelMin || max_threads() <= 1) {
    body(std::size_t{0}, n);
    return;
  }
  const std::size_t grain = std::max<std::size_t>(1, kGrain / width);
  const ForkJoin fork_join;  // TSan: the region's fork and join edges (core/tsan_fork_join.hpp)
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, n, grain),
      fork_join.body([&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); }));
}

/// for_blocks over the n elements of a flat array.
template <class Body>
void for_chunks(std::size_t n, const Body& body) {
  for_blocks(n, 1, body);
}

}  // namespace catapult::detail
