#include "catapult/analysis/catapult_detector.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"

namespace catapult::analysis {
namespace {

// A smooth decreasing loss: 1/(1 + 0.01 t) + 0.05.
std::vector<double> smooth_trace(std::size_t n) {
  std::vector<double> loss(n);
  for (std::size_t t = 0; t < n; ++t) loss[t] = 1.0 / (1.0 + 0.01 * static_cast<double>(t)) + 0.05;
  return loss;
}

TEST(CatapultDetector, SmoothDecreasingTraceHasNone) {
  const auto result = detect_catapults(smooth_trace(2000));
  EXPECT_TRUE(result.catapults.empty());
  EXPECT_FALSE(result.divergence.has_value());
}

TEST(CatapultDetector, FindsKnownSpikesWithStartPeakEnd) {
  auto loss = smooth_trace(1000);
  // Spike 1: jumps straight over the 2x trigger at 200, peaks at 202, back below 1.5x at 205.
  const double m1[] = {3.0, 6.0, 10.0, 5.0, 2.5};
  for (std::size_t i = 0; i < 5; ++i) loss[200 + i] *= m1[i];
  // Spike 2: step 500 is above the 1.5x band but below the trigger, so the phase starts there
  // although it is detected at 501; peak 501, back at 503.
  const double m2[] = {1.8, 4.0, 2.0};
  for (std::size_t i = 0; i < 3; ++i) loss[500 + i] *= m2[i];

  const auto result = detect_catapults(loss);
  ASSERT_FALSE(result.divergence.has_value());
  ASSERT_EQ(result.catapults.size(), 2U);
  const auto& a = result.catapults[0];
  EXPECT_EQ(a.start, 200U);
  EXPECT_EQ(a.peak, 202U);
  EXPECT_EQ(a.end, 205U);
  EXPECT_DOUBLE_EQ(a.baseline, loss[199]);  // decreasing trace: the running min is the last step
  EXPECT_DOUBLE_EQ(a.peak_loss, loss[202]);
  EXPECT_NEAR(a.ratio(), loss[202] / loss[199], 1e-12);
  const auto& b = result.catapults[1];
  EXPECT_EQ(b.start, 500U);
  EXPECT_EQ(b.peak, 501U);
  EXPECT_EQ(b.end, 503U);

  const auto mask = catapult_mask(result, loss.size());
  for (std::size_t t = 0; t < loss.size(); ++t) {
    const bool inside = (t >= 200 && t < 205) || (t >= 500 && t < 503);
    EXPECT_EQ(mask[t], inside ? 1 : 0) << "t = " << t;
  }
}

TEST(CatapultDetector, NoiseBelowThresholdHasNone) {
  Rng rng(7);
  auto loss = smooth_trace(3000);
  // Multiplicative noise in [0.7, 1.3]: the largest ratio to a running minimum is < 1.3/0.7 < 2.
  for (auto& v : loss) v *= 1.0 + 0.3 * rng.uniform(-1.0, 1.0);
  const auto result = detect_catapults(loss);
  EXPECT_TRUE(result.catapults.empty());
  EXPECT_FALSE(result.divergence.has_value());
}

TEST(CatapultDetector, SmoothingDampsLargerNoiseButKeepsRealSpikes) {
  Rng rng(11);
  auto loss = smooth_trace(3000);
  // Noise up to x3: the raw detector fires, the smoothed one does not.
  for (auto& v : loss) v *= 1.0 + 2.0 * rng.uniform();
  EXPECT_FALSE(detect_catapults(loss).catapults.empty());
  CatapultDetectorOptions smoothed;
  smoothed.smoothing = 0.98;
  EXPECT_TRUE(detect_catapults(loss, smoothed).catapults.empty());
  // A sustained x20 spike over 30 steps is still found, and it contains the injected interval.
  for (std::size_t t = 1500; t < 1530; ++t) loss[t] *= 20.0;
  const auto result = detect_catapults(loss, smoothed);
  ASSERT_EQ(result.catapults.size(), 1U);
  EXPECT_LE(result.catapults[0].start, 1501U);
  EXPECT_GE(result.catapults[0].peak, 1500U);
  EXPECT_LT(result.catapults[0].peak, 1530U);
  EXPECT_GT(result.catapults[0].end, 1530U);
}

TEST(CatapultDetector, ExplodingLossIsDivergenceNotCatapult) {
  auto loss = smooth_trace(1000);
  for (std::size_t t = 400; t < 1000; ++t) loss[t] = loss[399] * std::exp(0.05 * double(t - 399));
  const auto by_end = detect_catapults(loss);
  EXPECT_TRUE(by_end.catapults.empty());
  ASSERT_TRUE(by_end.divergence.has_value());
  EXPECT_EQ(by_end.divergence->reason, DivergenceReason::NoReturnByEnd);
  // exp(0.05 k) > 1.5 first at k = 9: the excursion starts at step 408.
  EXPECT_EQ(by_end.divergence->start, 408U);

  CatapultDetectorOptions short_window;
  short_window.max_duration = 50;
  const auto no_return = detect_catapults(loss, short_window);
  EXPECT_TRUE(no_return.catapults.empty());
  ASSERT_TRUE(no_return.divergence.has_value());
  EXPECT_EQ(no_return.divergence->reason, DivergenceReason::NoReturn);
  EXPECT_EQ(no_return.divergence->step, 408U + 51U);
}

TEST(CatapultDetector, NonFiniteLossIsDivergenceAfterEarlierCatapults) {
  auto loss = smooth_trace(600);
  for (std::size_t t = 100; t < 104; ++t) loss[t] *= 5.0;  // a real catapult first
  for (std::size_t t = 300; t < 310; ++t) loss[t] *= std::pow(3.0, double(t - 299));
  loss[310] = std::numeric_limits<double>::infinity();
  loss[311] = std::numeric_limits<double>::quiet_NaN();
  const auto result = detect_catapults(loss);
  ASSERT_EQ(result.catapults.size(), 1U);
  EXPECT_EQ(result.catapults[0].start, 100U);
  EXPECT_EQ(result.catapults[0].end, 104U);
  ASSERT_TRUE(result.divergence.has_value());
  EXPECT_EQ(result.divergence->reason, DivergenceReason::NonFinite);
  EXPECT_EQ(result.divergence->start, 300U);
  EXPECT_EQ(result.divergence->step, 310U);

  std::vector<double> nan_only = {1.0, 0.9, std::numeric_limits<double>::quiet_NaN()};
  const auto r2 = detect_catapults(nan_only);
  ASSERT_TRUE(r2.divergence.has_value());
  EXPECT_EQ(r2.divergence->step, 2U);
  EXPECT_STREQ(to_string(r2.divergence->reason), "non-finite");
}

TEST(CatapultDetector, MinRiseIgnoresSpikesNearZeroLoss) {
  std::vector<double> loss(300, 1e-6);
  loss[150] = 1e-5;  // 10x, but a negligible absolute rise
  EXPECT_EQ(detect_catapults(loss).catapults.size(), 1U);
  CatapultDetectorOptions o;
  o.min_rise = 1e-3;
  EXPECT_TRUE(detect_catapults(loss, o).catapults.empty());
}

TEST(CatapultDetector, RejectsBadOptions) {
  const std::vector<double> loss = {1.0, 2.0};
  CatapultDetectorOptions o;
  o.rise_factor = 1.0;
  EXPECT_THROW((void)detect_catapults(loss, o), InvalidArgument);
  o = {};
  o.return_factor = 3.0;
  EXPECT_THROW((void)detect_catapults(loss, o), InvalidArgument);
  o = {};
  o.smoothing = 1.0;
  EXPECT_THROW((void)detect_catapults(loss, o), InvalidArgument);
  o = {};
  o.max_duration = 0;
  EXPECT_THROW((void)detect_catapults(loss, o), InvalidArgument);
  o = {};
  o.noise_margin = -1.0;
  EXPECT_THROW((void)detect_catapults(loss, o), InvalidArgument);
  o = {};
  o.return_margin = o.noise_margin + 1.0;
  EXPECT_THROW((void)detect_catapults(loss, o), InvalidArgument);
  EXPECT_TRUE(detect_catapults(std::vector<double>{}).catapults.empty());
}

// Mini-batch losses: the level 0.05 · 0.1^(t/n) times the mean of `batch` per-sample factors
// exp(σ·z − σ²/2), z ~ N(0, 1) (log-normal with mean 1: a heavy upper tail, like per-sample
// squared errors where a few misclassified samples dominate).
std::vector<double> minibatch_noise(std::size_t n, std::size_t batch, double sigma,
                                    std::uint64_t seed, std::vector<double>* level = nullptr) {
  Rng rng(seed);
  std::vector<double> loss(n);
  if (level != nullptr) level->resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    const double lev = 0.05 * std::pow(0.1, static_cast<double>(t) / static_cast<double>(n));
    double s = 0.0;
    for (std::size_t i = 0; i < batch; ++i)
      s += std::exp(sigma * rng.normal() - 0.5 * sigma * sigma);
    loss[t] = lev * s / static_cast<double>(batch);
    if (level != nullptr) (*level)[t] = lev;
  }
  return loss;
}

// The reproduction protocols' detector (configs/reproduce_*.json).
CatapultDetectorOptions protocol_options() {
  CatapultDetectorOptions o;
  o.rise_factor = 1.5;
  o.return_factor = 1.2;
  o.smoothing = 0.8;
  o.noise_window = 200;
  o.noise_margin = 8.0;
  o.return_margin = 2.0;
  return o;
}

TEST(CatapultDetectorNoise, PureMiniBatchNoiseHasNoCatapults) {
  // 5 epochs of 60000 samples at batch 16 and 64. At batch 16 the ratio rules alone count
  // hundreds of noise excursions.
  for (const std::size_t batch : {std::size_t{16}, std::size_t{64}}) {
    const auto loss = minibatch_noise(300000 / batch, batch, 1.0, 100 + batch);
    if (batch == 16) {
      auto ratio_only = protocol_options();
      ratio_only.noise_window = 0;
      EXPECT_GT(detect_catapults(loss, ratio_only).catapults.size(), 100U);
    }
    const auto result = detect_catapults(loss, protocol_options());
    EXPECT_TRUE(result.catapults.empty()) << "batch " << batch << ": " << result.catapults.size();
    EXPECT_FALSE(result.divergence.has_value());
  }
}

TEST(CatapultDetectorNoise, NoisePlusKnownSpikesFindsExactlyThoseSpikes) {
  std::vector<double> level;
  auto loss = minibatch_noise(18750, 16, 1.0, 7, &level);
  // Six catapult-like spikes: a half sine over 30 steps rising to 6x the level.
  const std::vector<std::size_t> spikes = {500, 3600, 6700, 9800, 12900, 16000};
  for (const std::size_t s : spikes)
    for (std::size_t j = 0; j < 30; ++j)
      loss[s + j] += 5.0 * level[s] * std::sin(3.14159265358979 * static_cast<double>(j) / 30.0);
  const auto result = detect_catapults(loss, protocol_options());
  EXPECT_FALSE(result.divergence.has_value());
  ASSERT_EQ(result.catapults.size(), spikes.size());
  for (std::size_t i = 0; i < spikes.size(); ++i) {
    const auto& c = result.catapults[i];
    EXPECT_GE(c.peak, spikes[i]) << i;
    EXPECT_LT(c.peak, spikes[i] + 30) << i;
    EXPECT_LE(c.start, spikes[i] + 15) << i;
    EXPECT_GT(c.end, spikes[i] + 15) << i;
    EXPECT_LT(c.end, spikes[i] + 200) << i;
    EXPECT_GT(c.noise, 0.0) << i;
  }
}

TEST(CatapultDetectorNoise, NoisyDivergenceIsNotACatapult) {
  auto loss = minibatch_noise(4000, 16, 1.0, 9);
  for (std::size_t t = 2000; t < 4000; ++t) loss[t] *= std::exp(0.02 * double(t - 1999));
  const auto by_end = detect_catapults(loss, protocol_options());
  EXPECT_TRUE(by_end.catapults.empty());
  ASSERT_TRUE(by_end.divergence.has_value());
  EXPECT_EQ(by_end.divergence->reason, DivergenceReason::NoReturnByEnd);
  EXPECT_GE(by_end.divergence->start, 1990U);
  EXPECT_LE(by_end.divergence->start, 2300U);

  auto blow_up = minibatch_noise(3000, 64, 1.0, 10);
  for (std::size_t t = 2000; t < 2050; ++t) blow_up[t] *= std::pow(2.0, double(t - 1999));
  blow_up[2050] = std::numeric_limits<double>::quiet_NaN();
  const auto nan = detect_catapults(blow_up, protocol_options());
  EXPECT_TRUE(nan.catapults.empty());
  ASSERT_TRUE(nan.divergence.has_value());
  EXPECT_EQ(nan.divergence->reason, DivergenceReason::NonFinite);
}

TEST(CatapultDetectorNoise, NoiseConditionKeepsCleanSpikes) {
  // The clean trace of FindsKnownSpikesWithStartPeakEnd: its first differences are tiny, so
  // σ ≈ 0 and the noise condition finds the same phases.
  auto loss = smooth_trace(1000);
  const double m1[] = {3.0, 6.0, 10.0, 5.0, 2.5};
  for (std::size_t i = 0; i < 5; ++i) loss[200 + i] *= m1[i];
  const double m2[] = {1.8, 4.0, 2.0};
  for (std::size_t i = 0; i < 3; ++i) loss[500 + i] *= m2[i];
  CatapultDetectorOptions o;
  o.noise_window = 200;
  const auto result = detect_catapults(loss, o);
  ASSERT_EQ(result.catapults.size(), 2U);
  EXPECT_EQ(result.catapults[0].start, 200U);
  EXPECT_EQ(result.catapults[0].peak, 202U);
  EXPECT_EQ(result.catapults[0].end, 205U);
  EXPECT_EQ(result.catapults[1].start, 500U);
  EXPECT_EQ(result.catapults[1].end, 503U);
  EXPECT_LT(result.catapults[0].noise, 0.02);
}

}  // namespace
}  // namespace catapult::analysis
