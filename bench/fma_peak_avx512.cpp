// The AVX-512 peak loops, compiled with CATAPULT_KERNEL_ISA_FLAGS_avx512 (bench/CMakeLists.txt).
#define CATAPULT_FMA_PEAK_ISA_NS fma_peak_avx512
#include "fma_peak_loop.hpp"

#if !defined(__AVX512F__) || !defined(__FMA__)
#error "fma_peak_avx512.cpp must be compiled with its ISA's flags (bench/CMakeLists.txt)"
#endif

namespace catapult::bench {
namespace fma_peak_avx512 {
namespace {
struct F32 {
  using T = float;
  using R = __m512;
  static constexpr int kLanes = 16;
  static constexpr bool kFused = true;
  static R set1(T v) noexcept { return _mm512_set1_ps(v); }
  static R step(R acc, R x, R y) noexcept { return _mm512_fmadd_ps(acc, x, y); }
};
struct F64 {
  using T = double;
  using R = __m512d;
  static constexpr int kLanes = 8;
  static constexpr bool kFused = true;
  static R set1(T v) noexcept { return _mm512_set1_pd(v); }
  static R step(R acc, R x, R y) noexcept { return _mm512_fmadd_pd(acc, x, y); }
};
}  // namespace
}  // namespace fma_peak_avx512

FmaPeakLoop fma_peak_avx512_float() noexcept {
  return fma_peak_avx512::peak_loop<fma_peak_avx512::F32, 24>("avx512", "avx512f");
}
FmaPeakLoop fma_peak_avx512_double() noexcept {
  return fma_peak_avx512::peak_loop<fma_peak_avx512::F64, 24>("avx512", "avx512f");
}

}  // namespace catapult::bench
