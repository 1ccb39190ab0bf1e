// oneTBB for the kernel sets (kernels/dispatch.hpp), compiled with the baseline flags.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <cstddef>

#include "core/tsan_fork_join.hpp"
#include "kernels/dispatch.hpp"

namespace catapult::kernels::detail {

void parallel_ranges_erased(std::size_t n, std::size_t grain, bool simple, RangeFn fn,
                            const void* body) {
  const catapult::detail::ForkJoin fork_join;  // TSan: the region's fork and join edges
  const auto run = fork_join.body(
      [&](const tbb::blocked_range<std::size_t>& r) noexcept { fn(body, r.begin(), r.end()); });
  const tbb::blocked_range<std::size_t> range(0, n, grain);
  if (simple)
    tbb::parallel_for(range, run, tbb::simple_partitioner());
  else
    tbb::parallel_for(range, run);
}

void isolated_erased(void (*fn)(const void* body) noexcept, const void* body) {
  tbb::this_task_arena::isolate([&] { fn(body); });
}

std::size_t arena_slots() noexcept {
  return static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
}

std::size_t arena_slot() noexcept {
  return static_cast<std::size_t>(tbb::this_task_arena::current_thread_index());
}

}  // namespace catapult::kernels::detail
