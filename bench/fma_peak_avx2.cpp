// The AVX2 + FMA peak loops, compiled with CATAPULT_KERNEL_ISA_FLAGS_avx2 (bench/CMakeLists.txt).
#define CATAPULT_FMA_PEAK_ISA_NS fma_peak_avx2
#include "fma_peak_loop.hpp"

#if !defined(__AVX2__) || !defined(__FMA__) || defined(__AVX512F__)
#error "fma_peak_avx2.cpp must be compiled with its ISA's flags (bench/CMakeLists.txt)"
#endif

namespace catapult::bench {
namespace fma_peak_avx2 {
namespace {
struct F32 {
  using T = float;
  using R = __m256;
  static constexpr int kLanes = 8;
  static constexpr bool kFused = true;
  static R set1(T v) noexcept { return _mm256_set1_ps(v); }
  static R step(R acc, R x, R y) noexcept { return _mm256_fmadd_ps(acc, x, y); }
};
struct F64 {
  using T = double;
  using R = __m256d;
  static constexpr int kLanes = 4;
  static constexpr bool kFused = true;
  static R set1(T v) noexcept { return _mm256_set1_pd(v); }
  static R step(R acc, R x, R y) noexcept { return _mm256_fmadd_pd(acc, x, y); }
};
}  // namespace
}  // namespace fma_peak_avx2

FmaPeakLoop fma_peak_avx2_float() noexcept {
  return fma_peak_avx2::peak_loop<fma_peak_avx2::F32, 12>("avx2", "fma3<avx2>");
}
FmaPeakLoop fma_peak_avx2_double() noexcept {
  return fma_peak_avx2::peak_loop<fma_peak_avx2::F64, 12>("avx2", "fma3<avx2>");
}

}  // namespace catapult::bench
