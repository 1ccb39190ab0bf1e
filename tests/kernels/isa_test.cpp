// The ISA dispatch (catapult/kernels/isa.hpp): the default is the best ISA the CPU supports,
// forcing works and is checked, bad names and unsupported ISAs are rejected. The CPU's features
// come from /proc/cpuinfo, not from the code under test.
#include "catapult/kernels/isa.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/kernels/elementwise.hpp"
#include "catapult/kernels/gemm.hpp"
#include "support/reference.hpp"

namespace catapult::kernels {
namespace {

constexpr Isa kAll[] = {Isa::Sse, Isa::Avx2, Isa::Avx512};

// The CPU's features as the Linux kernel reports them (the "flags" line of /proc/cpuinfo), a
// source independent of the library's and the compiler's CPUID queries.
bool cpu_has(Isa isa) {
  static const std::string flags = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("flags", 0) == 0) return line.substr(line.find(':') + 1) + " ";
    ADD_FAILURE() << "no flags line in /proc/cpuinfo";
    return std::string();
  }();
  const auto has = [](const char* flag) {
    return flags.find(std::string(" ") + flag + " ") != std::string::npos;
  };
  switch (isa) {
    case Isa::Sse:
      return has("sse2");
    case Isa::Avx2:
      return has("avx2") && has("fma");
    case Isa::Avx512:
      return has("avx512f") && has("avx512cd") && has("avx512bw") && has("avx512dq") &&
             has("avx512vl") && has("fma");
  }
  return false;
}

// Restores the ISA active at construction.
class IsaGuard {
 public:
  IsaGuard() : saved_(active_isa()) {}
  ~IsaGuard() { set_isa(saved_); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;

 private:
  Isa saved_;
};

TEST(Isa, NamesRoundTripAndUnknownNamesAreRejected) {
  for (const Isa isa : kAll) EXPECT_EQ(parse_isa(to_string(isa)), isa);
  EXPECT_STREQ(to_string(Isa::Avx512), "avx512");
  EXPECT_STREQ(to_string(Isa::Avx2), "avx2");
  EXPECT_STREQ(to_string(Isa::Sse), "sse");
  for (const char* bad : {"", "AVX2", "avx", "avx1024", "sse4.2", "avx512 "}) {
    try {
      (void)parse_isa(bad);
      ADD_FAILURE() << "parse_isa accepted '" << bad << "'";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("unknown ISA"), std::string::npos) << e.what();
    }
  }
}

TEST(Isa, SupportedIsasAreThoseOfTheCpuLowestFirst) {
  std::vector<Isa> expected;
  for (const Isa isa : kAll)
    if (cpu_has(isa)) expected.push_back(isa);
  EXPECT_EQ(supported_isas(), expected);
  ASSERT_FALSE(supported_isas().empty());
  EXPECT_EQ(supported_isas().front(), Isa::Sse);
}

TEST(Isa, DefaultIsTheBestSupportedUnlessTheEnvironmentForcesOne) {
  EXPECT_EQ(detected_isa(), supported_isas().back());
  const char* env = std::getenv("CATAPULT_ISA");
  if (env == nullptr || *env == '\0')
    EXPECT_EQ(active_isa(), detected_isa());
  else
    EXPECT_EQ(active_isa(), parse_isa(env)) << "CATAPULT_ISA=" << env;
}

TEST(Isa, UnsupportedIsasAreRejectedAndLeaveTheActiveOne) {
  const IsaGuard guard;
  const Isa before = active_isa();
  int rejected = 0;
  for (const Isa isa : kAll) {
    if (cpu_has(isa)) continue;
    EXPECT_THROW(set_isa(isa), InvalidArgument) << to_string(isa);
    EXPECT_EQ(active_isa(), before);
    ++rejected;
  }
  if (rejected == 0) GTEST_SKIP() << "this CPU supports every ISA: nothing to reject";
}

// Each supported ISA, forced in turn, is the one reported and computes the exact-tier product
// (small integers: every partial sum exact in any order and with or without FMA) bitwise, and
// the elementwise ops' exact cases.
TEST(Isa, ForcingEachSupportedIsaRunsItsKernels) {
  const IsaGuard guard;
  Rng rng(20);
  Matrix<float> a(37, 53), b(53, 41), c(37, 41);
  test::fill_small_integers(a.view(), rng);
  test::fill_small_integers(b.view(), rng);
  const Matrix<double> ref =
      test::naive_gemm<float>(false, false, 1.0, a.cview(), b.cview(), 0.0, c.cview());
  for (const Isa isa : supported_isas()) {
    set_isa(isa);
    ASSERT_EQ(active_isa(), isa);
    for (const GemmVariant v : {GemmVariant::Simd, GemmVariant::SimdParallel}) {
      gemm<float>(Trans::N, Trans::N, 1.0F, a.view(), b.view(), 0.0F, c.view(), {}, v);
      for (std::size_t i = 0; i < c.rows(); ++i)
        for (std::size_t j = 0; j < c.cols(); ++j)
          ASSERT_EQ(static_cast<double>(c(i, j)), ref(i, j))
              << to_string(isa) << " " << to_string(v) << " i=" << i << " j=" << j;
    }
    std::vector<float> x(67), y(67);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(static_cast<int>(i % 7) - 3);
      y[i] = static_cast<float>(static_cast<int>(i % 5) - 2);
    }
    double s = 0, d = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      s += static_cast<double>(x[i]);
      d += static_cast<double>(x[i]) * static_cast<double>(y[i]);
    }
    EXPECT_EQ(sum(x.data(), x.size()), s) << to_string(isa);
    EXPECT_EQ(dot(x.data(), y.data(), x.size()), d) << to_string(isa);
    EXPECT_EQ(max(x.data(), x.size()), 3.0F) << to_string(isa);
  }
}

}  // namespace
}  // namespace catapult::kernels
