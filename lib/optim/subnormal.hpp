#pragma once
// Optimizer state that decays geometrically (Adam's moments, SGD's momentum buffer) under a zero
// gradient walks down through the subnormal range for ~150 steps before it reaches 0, and x86
// cores take a microcode assist on every subnormal operand: on MNIST, where border pixels are
// rarely lit, 8 % of Adam's first moments are subnormal after 800 steps and the optimizer step
// gets ~18× slower on them. Flushing such state to zero is invisible in the parameters: an update
// built from a subnormal moment is below 2^-126·η/ε in magnitude (Adam) or 2^-126·η (momentum),
// less than half an ulp of any parameter larger than ~1e-25 in magnitude.
#include <cmath>
#include <limits>

namespace catapult::optim::detail {

/// x, or exactly 0 when x is subnormal (|x| < the smallest normal number of T). Written as a
/// compare-and-select so that the loops around it still vectorize.
template <class T>
[[nodiscard]] inline T flush_subnormal(T x) noexcept {
  return std::abs(x) < std::numeric_limits<T>::min() ? T(0) : x;
}

}  // namespace catapult::optim::detail
