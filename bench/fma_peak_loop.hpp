// The register-only peak loop, included only by fma_peak_<isa>.cpp after
//   #define CATAPULT_FMA_PEAK_ISA_NS isa_<name>
// so that each ISA's instantiations, compiled with that ISA's flags, have their own names (no
// inline function of this header is emitted under one name with different flags). No include
// guard: one inclusion per translation unit.
//
// Peak floating-point throughput of one ISA: the denominator of "% of FMA peak".
//
// Assumes: kAcc + 2 vector registers are free (the accumulators are locals and, with the two
// constants, stay in registers: the loop body has no load or store; objdump -d of the object
// shows it). AVX2 and SSE have 16 registers, AVX-512 32. kAcc independent chains cover latency ×
// pipes with margin: an FMA takes 4 cycles on Zen 3/4 and Skylake-X and issues on two pipes, so 8
// must be in flight; AVX-512 runs 24 chains, AVX2 12. (Until issue 16 a single loop kept 16
// accumulators in a member array: on an AVX2-only CPU 16 + 2 > 16 ymm registers, so chains went
// through memory and store-to-load forwarding, and the "peak" on Zen 3 was 46 GFLOP/s where
// OpenBLAS's SGEMM reached 79.)
// SSE has no FMA: a step is a multiply then an add, counted as 2 flops per lane like an FMA (both
// are real floating-point operations). 3 + 3 cycles of latency on Zen, two multiply and two add
// pipes: 12 chains. The product passes through an empty asm so that the compiler cannot fuse the
// pair into an FMA (GCC does under -ffp-contract=fast where FMA is enabled).
#ifndef CATAPULT_FMA_PEAK_ISA_NS
#error "define CATAPULT_FMA_PEAK_ISA_NS before including fma_peak_loop.hpp"
#endif

#include <immintrin.h>

#include <utility>

#include "fma_peak.hpp"

namespace catapult::bench::CATAPULT_FMA_PEAK_ISA_NS {

// Makes r opaque to the optimiser (it can neither fold nor drop what produced it) without moving
// it out of its vector register: no instruction is emitted.
template <class R>
inline void opaque(R& r) noexcept {
  asm volatile("" : "+v"(r));
}
// The same, not volatile: only a data dependence, which keeps a product from being fused with
// the add that uses it.
template <class R>
inline void unfused(R& r) noexcept {
  asm("" : "+v"(r));
}

/// V: the ISA's vector of one element type: T, R (the register type), kLanes, set1(T), and
/// step(acc, x, y) = acc·x + y.
template <class V, int kAcc>
struct PeakChains {
  using T = typename V::T;
  using R = typename V::R;
  static constexpr int kInner = 256;
  static constexpr double kFlopsPerRound = 2.0 * kAcc * kInner * V::kLanes;

  /// kInner steps of every chain, rounds times.
  static void run(long rounds) noexcept { run(rounds, std::make_integer_sequence<int, kAcc>{}); }

 private:
  // One local per chain, indexed by constants only (the fold expressions), so each lives in a
  // register. acc ← acc·0.999 + 0.001 stays in [0.01, 1]: no overflow, no subnormals.
  template <int... I>
  static void run(long rounds, std::integer_sequence<int, I...> /*chains*/) noexcept {
    R x = V::set1(T(0.999));
    R y = V::set1(T(0.001));
    opaque(x);
    opaque(y);
    R acc[kAcc] = {V::set1(static_cast<T>(I + 1) * T(0.01))...};
    (opaque(acc[I]), ...);
    for (long r = 0; r < rounds; ++r) {
      for (int it = 0; it < kInner; ++it) ((acc[I] = V::step(acc[I], x, y)), ...);
      (opaque(acc[I]), ...);
    }
  }
};

template <class V, int kAcc>
FmaPeakLoop peak_loop(const char* isa, const char* instructions) noexcept {
  using C = PeakChains<V, kAcc>;
  return {isa, instructions, kAcc, V::kFused, C::kFlopsPerRound, &C::run};
}

}  // namespace catapult::bench::CATAPULT_FMA_PEAK_ISA_NS
