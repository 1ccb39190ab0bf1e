#include "catapult/analysis/adagrad_stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"

namespace catapult::analysis {
namespace {

TEST(AdagradStats, MatchesSortedReference) {
  Rng rng(3);
  std::vector<float> acc(1001);
  for (auto& g : acc) g = static_cast<float>(rng.uniform(0.0, 9.0));
  acc[417] = 0.25F;  // the minimum: s_t = 0.5
  for (auto& g : acc) g = std::max(g, 0.25F);
  const std::vector<double> probs = {0.0, 0.1, 0.5, 1.0};
  const auto stats = adagrad_accumulator_stats<float>(acc, probs, 12);

  std::vector<double> roots;
  double sum = 0.0;
  for (const float g : acc) {
    roots.push_back(std::sqrt(static_cast<double>(g)));
    sum += roots.back();
  }
  std::sort(roots.begin(), roots.end());
  EXPECT_EQ(stats.step, 12U);
  EXPECT_DOUBLE_EQ(stats.s_t, 0.5);
  EXPECT_DOUBLE_EQ(stats.max, roots.back());
  EXPECT_NEAR(stats.mean, sum / 1001.0, 1e-12);
  ASSERT_EQ(stats.quantiles.size(), 4U);
  EXPECT_DOUBLE_EQ(stats.quantiles[0], roots[0]);
  EXPECT_DOUBLE_EQ(stats.quantiles[1], roots[100]);  // rank ceil(100.1) = 101
  EXPECT_DOUBLE_EQ(stats.quantiles[2], roots[500]);  // rank ceil(500.5) = 501
  EXPECT_DOUBLE_EQ(stats.quantiles[3], roots[1000]);
}

TEST(AdagradStats, StIsTheMinimumOfTheRootsBitwise) {
  // s_t is computed as √(min G) (ntk::adagrad_min_scale); the oracle takes min √G.
  for (const std::uint64_t seed : {1U, 2U, 3U}) {
    Rng rng(seed);
    std::vector<float> acc(257);
    for (auto& g : acc) g = static_cast<float>(rng.uniform(1e-6, 5.0));
    double oracle = INFINITY;
    for (const float g : acc) oracle = std::min(oracle, std::sqrt(static_cast<double>(g)));
    EXPECT_EQ(adagrad_accumulator_stats<float>(acc, {}).s_t, oracle) << "seed " << seed;
  }
}

TEST(AdagradStats, RecorderKeepsEveryKthStepAndStIsMonotoneForGrowingSums) {
  AdagradStatsRecorder recorder({0.5}, 2);
  std::vector<double> acc = {1.0, 4.0, 9.0};
  for (std::size_t step = 0; step < 6; ++step) {
    for (auto& g : acc) g += 1.0;  // a step adds g² = 1 everywhere
    recorder.record(step, acc);
  }
  const auto& h = recorder.history();
  ASSERT_EQ(h.size(), 3U);
  EXPECT_EQ(h[1].step, 2U);
  EXPECT_DOUBLE_EQ(h[0].s_t, std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(h[2].s_t, std::sqrt(6.0));
  EXPECT_DOUBLE_EQ(h[2].quantiles[0], std::sqrt(9.0));  // median of {6, 9, 14}
  for (std::size_t i = 1; i < h.size(); ++i) EXPECT_GT(h[i].s_t, h[i - 1].s_t);
}

TEST(AdagradStats, InactiveParametersMakeTheBoundZeroButNotTheActiveOne) {
  // A parameter that never receives a gradient (a border pixel's weight) keeps G = 0.
  const std::vector<double> acc = {0.0, 4.0, 0.0, 2.25};
  const std::vector<double> probs = {};
  const auto stats = adagrad_accumulator_stats<double>(acc, probs);
  EXPECT_DOUBLE_EQ(stats.s_t, 0.0);
  EXPECT_DOUBLE_EQ(stats.s_t_active, 1.5);
  EXPECT_EQ(stats.inactive, 2U);
}

TEST(AdagradStats, RejectsBadInput) {
  const std::vector<double> probs = {0.5};
  EXPECT_THROW((void)adagrad_accumulator_stats<double>(std::vector<double>{}, probs),
               InvalidArgument);
  EXPECT_THROW((void)adagrad_accumulator_stats<double>(std::vector<double>{1.0, -1.0}, probs),
               InvalidArgument);
  const std::vector<double> bad = {1.5};
  EXPECT_THROW((void)adagrad_accumulator_stats<double>(std::vector<double>{1.0}, bad),
               InvalidArgument);
  EXPECT_THROW(AdagradStatsRecorder({0.5}, 0), InvalidArgument);
}

}  // namespace
}  // namespace catapult::analysis
