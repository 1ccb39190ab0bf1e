#include "catapult/core/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace catapult {
namespace {

// Reference values of xoshiro256** computed from the published C code (Blackman & Vigna) with the
// state {1, 2, 3, 4}: the first outputs are 11520, 0, 1509978240, 1215971899390074240.
TEST(Rng, MatchesPublishedXoshiro256StarStar) {
  Rng rng;
  rng.set_state({1, 2, 3, 4});
  EXPECT_EQ(rng.next_u64(), 11520ULL);
  EXPECT_EQ(rng.next_u64(), 0ULL);
  EXPECT_EQ(rng.next_u64(), 1509978240ULL);
  EXPECT_EQ(rng.next_u64(), 1215971899390074240ULL);
}

TEST(Rng, SameSeedSameStreamAndStateRoundTrips) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  const auto saved = a.state();
  const double x = a.normal();
  a.set_state(saved);
  EXPECT_EQ(a.normal(), x);
}

TEST(Rng, MomentsOfUniformAndNormal) {
  Rng rng(7);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  // Standard errors: uniform mean 0.5 ± 0.00065, normal mean 0 ± 0.0022, variance 1 ± 0.0032.
  EXPECT_NEAR(su / n, 0.5, 0.004);
  EXPECT_NEAR(sn / n, 0.0, 0.012);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

TEST(Rng, UniformIndexIsInRangeAndCoversIt) {
  Rng rng(3);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto k = rng.uniform_index(7);
    ASSERT_LT(k, 7U);
    ++counts[k];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // ~5 sigma
}

TEST(Rng, ShuffleIsAPermutationAndSplitStreamsDiffer) {
  Rng rng(11);
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  rng.shuffle(v.begin(), v.end());
  EXPECT_FALSE(std::is_sorted(v.begin(), v.end()));
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
  Rng s1 = rng.split(1), s2 = rng.split(2), s1b = rng.split(1);
  EXPECT_NE(s1.next_u64(), s2.next_u64());
  s1 = rng.split(1);
  EXPECT_EQ(s1.next_u64(), s1b.next_u64());
}

}  // namespace
}  // namespace catapult
