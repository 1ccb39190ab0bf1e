// The SSE2 peak loops (multiply and add, no FMA), compiled with CATAPULT_KERNEL_ISA_FLAGS_sse
// (bench/CMakeLists.txt).
#define CATAPULT_FMA_PEAK_ISA_NS fma_peak_sse
#include "fma_peak_loop.hpp"

#if !defined(__SSE2__) || defined(__AVX__)
#error "fma_peak_sse.cpp must be compiled with its ISA's flags (bench/CMakeLists.txt)"
#endif

namespace catapult::bench {
namespace fma_peak_sse {
namespace {
struct F32 {
  using T = float;
  using R = __m128;
  static constexpr int kLanes = 4;
  static constexpr bool kFused = false;
  static R set1(T v) noexcept { return _mm_set1_ps(v); }
  static R step(R acc, R x, R y) noexcept {
    R p = _mm_mul_ps(acc, x);
    unfused(p);
    return _mm_add_ps(p, y);
  }
};
struct F64 {
  using T = double;
  using R = __m128d;
  static constexpr int kLanes = 2;
  static constexpr bool kFused = false;
  static R set1(T v) noexcept { return _mm_set1_pd(v); }
  static R step(R acc, R x, R y) noexcept {
    R p = _mm_mul_pd(acc, x);
    unfused(p);
    return _mm_add_pd(p, y);
  }
};
}  // namespace
}  // namespace fma_peak_sse

FmaPeakLoop fma_peak_sse_float() noexcept {
  return fma_peak_sse::peak_loop<fma_peak_sse::F32, 12>("sse", "sse2");
}
FmaPeakLoop fma_peak_sse_double() noexcept {
  return fma_peak_sse::peak_loop<fma_peak_sse::F64, 12>("sse", "sse2");
}

}  // namespace catapult::bench
