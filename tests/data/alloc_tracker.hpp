#pragma once
// Records the largest single heap allocation made while tracking is on (this test binary
// replaces the global operator new), so tests can prove that a forged header declaring
// gigabytes is refused without a large allocation.

#include <cstddef>

namespace catapult::test {

/// Starts recording; the largest allocation size seen so far is reset to 0.
void start_allocation_tracking() noexcept;
/// Stops recording and returns the largest single allocation (bytes) since the start.
std::size_t stop_allocation_tracking() noexcept;

}  // namespace catapult::test
