// Cache sizes and the GEMM blocking derived from them (catapult/kernels/cache.hpp): the rules on
// given machines' caches, the detection's sanity, and the environment overrides (the suite runs
// once more per ISA with tiny caches, see CMakeLists.txt: there the GEMM tests cross many MC and
// NC blocks).
#include "catapult/kernels/cache.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/kernels/gemm.hpp"

namespace catapult::kernels {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;

// Zen 3 (EPYC 7003 / Ryzen 5000): 32 KiB L1d and 512 KiB L2 per core, 32 MiB of L3 per CCD of 8.
CacheSizes zen3() {
  CacheSizes c;
  c.l1d = 32 * kKiB;
  c.l2 = 512 * kKiB;
  c.l3 = 32 * kMiB;
  c.l3_sharing = 8;
  return c;
}

// An Ice Lake-SP Xeon: 48 KiB L1d and 2 MiB L2 per core, 60 MiB of L3 for 40 cores (1.5 MiB each).
CacheSizes xeon() {
  CacheSizes c;
  c.l1d = 48 * kKiB;
  c.l2 = 2 * kMiB;
  c.l3 = 60 * kMiB;
  c.l3_sharing = 40;
  return c;
}

// The packed kernels' shapes (lib/kernels/gemm_blocked.hpp): float and double, KC 2 KiB of a row.
constexpr GemmKernelShape kAvx512F32{14, 32, 512, 4};
constexpr GemmKernelShape kAvx512F64{14, 16, 256, 8};
constexpr GemmKernelShape kAvx2F32{6, 16, 512, 4};
constexpr GemmKernelShape kAvx2F64{6, 8, 256, 8};
constexpr GemmKernelShape kAvx512SmallMF32{8, 48, 256, 4, true};  // KC 1 KiB of a row

TEST(GemmBlocking, Zen3) {
  // NC: half of 512 KiB in rows of 2 KiB = 128 columns. MC: half of the 4 MiB L3 share, 2 MiB,
  // 1024 rows of 2 KiB, rounded down to MR.
  const GemmBlocking f32 = derive_gemm_blocking(zen3(), kAvx2F32);
  EXPECT_EQ(f32.kc, 512U);
  EXPECT_EQ(f32.nc, 128U);
  EXPECT_EQ(f32.mc, 1020U);
  EXPECT_TRUE(f32.a_panel_fits_l1);  // 6 × 2 KiB
  const GemmBlocking f64 = derive_gemm_blocking(zen3(), kAvx2F64);
  EXPECT_EQ(f64.kc, 256U);
  EXPECT_EQ(f64.nc, 128U);
  EXPECT_EQ(f64.mc, 1020U);
  const GemmBlocking avx512 = derive_gemm_blocking(zen3(), kAvx512F32);
  EXPECT_EQ(avx512.nc, 128U);
  EXPECT_EQ(avx512.mc, 1022U);
  EXPECT_TRUE(avx512.a_panel_fits_l1);  // 14 × 2 KiB = 28 KiB
}

TEST(GemmBlocking, XeonKeepsTheBlocksItWasTunedWith) {
  // The main kernel's compile-time blocks before cache detection: NC = 1 MiB / (KC · sizeof(T))
  // and MC = 2 MiB / (KC · sizeof(T)), rounded down to NR and MR. The L3 share (1.5 MiB) is below
  // L2, so the A block takes L2's size.
  const GemmBlocking f32 = derive_gemm_blocking(xeon(), kAvx512F32);
  EXPECT_EQ(f32.nc, 512U);
  EXPECT_EQ(f32.mc, 1022U);
  EXPECT_TRUE(f32.a_panel_fits_l1);
  const GemmBlocking f64 = derive_gemm_blocking(xeon(), kAvx512F64);
  EXPECT_EQ(f64.nc, 512U);
  EXPECT_EQ(f64.mc, 1022U);
  // The small-M kernel's block of op(B) takes L2 but two A micro-panels (2 MiB − 16 KiB).
  const GemmBlocking small = derive_gemm_blocking(xeon(), kAvx512SmallMF32);
  EXPECT_EQ(small.kc, 256U);
  EXPECT_EQ(small.nc, 2016U);
  EXPECT_EQ(small.mc, 2048U);
}

TEST(GemmBlocking, Zen4SmallM) {
  // 1 MiB L2: 1008 columns of 1 KiB for the small-M kernel (measured against 480, see cache.hpp),
  // 256 of 2 KiB for the main one.
  CacheSizes c = zen3();
  c.l2 = 1 * kMiB;
  EXPECT_EQ(derive_gemm_blocking(c, kAvx512SmallMF32).nc, 1008U);
  EXPECT_EQ(derive_gemm_blocking(c, kAvx512F32).nc, 256U);
}

TEST(GemmBlocking, LargeL3ShareIsCappedAndTinyCachesGiveOneTilePerBlock) {
  CacheSizes big = zen3();
  big.l3_sharing = 1;  // 32 MiB for one core: the A block stops at 4 MiB
  EXPECT_EQ(derive_gemm_blocking(big, kAvx2F32).mc, 2046U);
  CacheSizes tiny;
  tiny.l1d = 4 * kKiB;
  tiny.l2 = 16 * kKiB;
  tiny.l3 = 64 * kKiB;
  const GemmBlocking b = derive_gemm_blocking(tiny, kAvx512F32);
  EXPECT_EQ(b.kc, 512U);  // KC never follows the caches
  EXPECT_EQ(b.nc, 32U);
  EXPECT_EQ(b.mc, 14U);
  EXPECT_FALSE(b.a_panel_fits_l1);
  // Unknown sizes fall back to 32 KiB, 1 MiB, no L3.
  const GemmBlocking unknown = derive_gemm_blocking(CacheSizes{}, kAvx2F32);
  EXPECT_EQ(unknown.nc, 256U);
  EXPECT_EQ(unknown.mc, 510U);
}

TEST(CacheSizes, DetectedSizesAreSane) {
  const CacheSizes c = detected_cache_sizes();
  EXPECT_GE(c.l1d, 4 * kKiB);
  EXPECT_LE(c.l1d, 1 * kMiB);
  EXPECT_GE(c.l2, c.l1d);
  EXPECT_GE(c.l3_sharing, 1U);
  EXPECT_FALSE(c.source.empty());
  EXPECT_NE(describe(c).find("L1d"), std::string::npos) << describe(c);
}

TEST(CacheSizes, EnvironmentOverridesApply) {
  // Under CATAPULT_CACHE_L2 etc. (the tiny-cache runs), cache_sizes() carries those values.
  const CacheSizes& c = cache_sizes();
  const char* l2 = std::getenv("CATAPULT_CACHE_L2");
  if (l2 == nullptr || *l2 == '\0') {
    EXPECT_EQ(c.l2, detected_cache_sizes().l2);
    return;
  }
  EXPECT_EQ(std::to_string(c.l2), l2) << describe(c);
  EXPECT_NE(c.source.find("+env"), std::string::npos) << describe(c);
  // The active kernels block for them.
  EXPECT_FALSE(describe_gemm_blocking().empty());
}

// The bits of a few products whose M and N span many MC and NC blocks under tiny caches, written
// to the file CATAPULT_GEMM_BITS names (nothing to do without it). compare_blocking_bits.cmake
// runs this test with the detected caches and with tiny ones and requires the same bytes: MC and
// NC, which follow the caches, never change a result (KC, which fixes the K split, does not
// follow them).
// DISABLED_: run only by that script (--gtest_also_run_disabled_tests), not as a test of its own.
TEST(GemmBlockingBits, DISABLED_ProductsWrittenForTheCrossBlockingComparison) {
  const char* path = std::getenv("CATAPULT_GEMM_BITS");
  ASSERT_TRUE(path != nullptr && *path != '\0')
      << "CATAPULT_GEMM_BITS must name the output file (compare_blocking_bits.cmake sets it)";
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(out) << path;
  Rng rng(77);
  auto write = [&](auto tag, std::size_t m, std::size_t n, std::size_t k, Trans ta, Trans tb) {
    using T = decltype(tag);
    Matrix<T> a(ta == Trans::N ? m : k, ta == Trans::N ? k : m);
    Matrix<T> b(tb == Trans::N ? k : n, tb == Trans::N ? n : k);
    Matrix<T> c(m, n);
    for (std::size_t i = 0; i < a.rows(); ++i)
      for (std::size_t j = 0; j < a.cols(); ++j) a(i, j) = static_cast<T>(rng.uniform(-1.0, 1.0));
    for (std::size_t i = 0; i < b.rows(); ++i)
      for (std::size_t j = 0; j < b.cols(); ++j) b(i, j) = static_cast<T>(rng.uniform(-1.0, 1.0));
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c(i, j) = static_cast<T>(rng.uniform(-1.0, 1.0));
    gemm<T>(ta, tb, T(0.75), a.cview(), b.cview(), T(0.5), c.view());
    for (std::size_t i = 0; i < m; ++i)
      out.write(reinterpret_cast<const char*>(c.row(i)), std::streamsize(n * sizeof(T)));
  };
  // Square-ish, a small-M (batch) shape, a K beyond one KC block, transposes.
  write(float{}, 301, 517, 1100, Trans::N, Trans::N);
  write(float{}, 32, 1024, 784, Trans::N, Trans::T);
  write(float{}, 784, 256, 64, Trans::T, Trans::N);
  write(double{}, 203, 331, 600, Trans::N, Trans::N);
  ASSERT_TRUE(out.good());
}

}  // namespace
}  // namespace catapult::kernels
