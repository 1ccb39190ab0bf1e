#pragma once
/// @file The one random number generator used everywhere: xoshiro256** (Blackman & Vigna, 2018)
/// seeded through SplitMix64. Every distribution is implemented here (not by <random>, whose
/// distributions differ between standard libraries), so a seed gives the same numbers on every
/// platform and compiler.

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace catapult {

/// xoshiro256** with portable distributions. 256-bit state, period 2^256 − 1.
/// Not thread-safe: give each thread its own generator via split().
class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  /// Seeds the four state words from seed through SplitMix64 (any seed, 0 included, is valid).
  explicit Rng(std::uint64_t seed = 0) noexcept;

  /// The next 64 random bits.
  std::uint64_t next_u64() noexcept;
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept;
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Standard normal N(0, 1) by the Box–Muller transform (two uniforms per draw, no caching,
  /// so the state alone determines the future).
  double normal() noexcept;
  /// Uniform integer in [0, n) without modulo bias (Lemire's method). Requires n > 0.
  std::uint64_t uniform_index(std::uint64_t n) noexcept;

  /// Fisher–Yates shuffle of [first, last) (random-access iterators).
  template <class It>
  void shuffle(It first, It last) noexcept {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) {
      const auto j = uniform_index(i);
      using std::swap;
      swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
    }
  }

  /// An independent generator for stream `stream`, derived from this one's seed material without
  /// advancing it (for per-thread or per-layer generators).
  [[nodiscard]] Rng split(std::uint64_t stream) const noexcept;

  /// The full state, for checkpoints; set_state restores it exactly.
  [[nodiscard]] const State& state() const noexcept { return s_; }
  void set_state(const State& s) noexcept { s_ = s; }

 private:
  State s_{};
};

}  // namespace catapult
