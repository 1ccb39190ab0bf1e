// The phase map's written rules: the run classifier on synthetic loss traces of each class (with
// the catapult detector as the experiments configure it), the constant-predictor loss against the
// library's MSE of a constant prediction, and the row-selection rule on synthetic maps.
#include "catapult/analysis/phase_map.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"

namespace catapult::analysis {
namespace {

constexpr std::size_t kSteps = 1000;
constexpr std::size_t kCycle = 100;
constexpr double kConstant = 0.09;  // 10 balanced classes, mean MSE: (1/k)·Σ p(1 − p)

// A smoothly falling loss from half the constant predictor's to 1/100 of it.
std::vector<double> falling() {
  std::vector<double> l(kSteps);
  for (std::size_t t = 0; t < kSteps; ++t)
    l[t] = kConstant * (0.5 * std::exp(-double(t) / 300.0) + 0.01);
  return l;
}

// Multiplies l by a spike of `height` starting at `start`: 4 steps up, 6 steps down.
void add_spike(std::vector<double>& l, std::size_t start, double height) {
  const double up[] = {1.5, 2.5, 4.0, height, 0.6 * height, 0.35 * height, 2.5, 1.6, 1.2, 1.05};
  for (std::size_t i = 0; i < std::size(up) && start + i < l.size(); ++i) l[start + i] *= up[i];
}

RunClassification classify(const std::vector<double>& l, bool diverged = false) {
  return classify_run(l, detect_catapults(l), diverged, kConstant, kCycle);
}

TEST(RunClassifier, SmoothTraceIsNone) {
  const auto r = classify(falling());
  EXPECT_EQ(r.run_class, RunClass::None) << r.reason;
  EXPECT_EQ(r.catapults, 0U);
  EXPECT_EQ(r.catapults_per_cycle, 0.0);
}

TEST(RunClassifier, SpikesThatComeBackAreCatapultsCountedPerCycle) {
  auto l = falling();
  for (std::size_t m = 0; m < 10; ++m) add_spike(l, 50 + 100 * m, 6.0);
  const auto r = classify(l);
  EXPECT_EQ(r.run_class, RunClass::Catapult) << r.reason;
  EXPECT_EQ(r.catapults, 10U);
  EXPECT_DOUBLE_EQ(r.catapults_per_cycle, 1.0);
  // Height = peak / the running minimum just before the spike: 6 × l(t)/l(t − 1) ≈ 6.
  EXPECT_NEAR(r.mean_height, 6.0, 0.1);
  EXPECT_NEAR(r.max_height, 6.0, 0.1);
  // Half as many spikes: half a catapult per cycle.
  auto half = falling();
  for (std::size_t m = 0; m < 5; ++m) add_spike(half, 50 + 200 * m, 6.0);
  EXPECT_DOUBLE_EQ(classify(half).catapults_per_cycle, 0.5);
}

TEST(RunClassifier, EndingAtTheConstantPredictorIsCollapse) {
  auto l = falling();
  for (std::size_t t = 500; t < kSteps; ++t) l[t] = 0.97 * kConstant;
  const auto r = classify(l);
  EXPECT_EQ(r.run_class, RunClass::Collapse) << r.reason;
  EXPECT_NEAR(r.tail_loss, 0.97 * kConstant, 1e-15);
  // 0.85 of the constant predictor's loss is below the rule's 0.9: not a collapse.
  for (std::size_t t = 500; t < kSteps; ++t) l[t] = 0.85 * kConstant;
  EXPECT_NE(classify(l).run_class, RunClass::Collapse);
}

TEST(RunClassifier, DivergenceByEachRule) {
  // The loop stopped the run.
  EXPECT_EQ(classify(falling(), true).run_class, RunClass::Divergence);
  // A non-finite loss in the tail.
  auto nan = falling();
  nan.back() = std::nan("");
  EXPECT_EQ(classify(nan).run_class, RunClass::Divergence);
  // Ending far above the constant predictor (1.5× is the ceiling).
  auto high = falling();
  for (std::size_t t = 700; t < kSteps; ++t) high[t] = 3.0 * kConstant;
  EXPECT_EQ(classify(high).run_class, RunClass::Divergence);
  // A spike that has not come back by the end, below the constant predictor's level.
  auto open = falling();
  for (std::size_t t = 950; t < kSteps; ++t) open[t] *= 10.0;
  const auto r = classify(open);
  EXPECT_EQ(r.run_class, RunClass::Divergence) << r.reason;
  EXPECT_LT(r.tail_loss, 0.9 * kConstant);
}

TEST(RunClassifier, RefusesBadInput) {
  const auto l = falling();
  const auto d = detect_catapults(l);
  EXPECT_THROW((void)classify_run({}, d, false, kConstant, kCycle), InvalidArgument);
  EXPECT_THROW((void)classify_run(l, d, false, kConstant, 0), InvalidArgument);
  EXPECT_THROW((void)classify_run(l, d, false, 0.0, kCycle), InvalidArgument);
  EXPECT_THROW((void)classify_run(l, d, false, std::nan(""), kCycle), InvalidArgument);
  EXPECT_THROW((void)classify_run(l, d, false, kConstant, kCycle, {.collapse_fraction = 0}),
               InvalidArgument);
  EXPECT_THROW((void)classify_run(l, d, false, kConstant, kCycle,
                                  {.collapse_fraction = 0.9, .collapse_ceiling = 0.5}),
               InvalidArgument);
  EXPECT_THROW((void)classify_run(l, d, false, kConstant, kCycle, {.tail = 0}), InvalidArgument);
}

// The closed form against the library's MSE of the constant prediction ȳ (the column means of the
// targets), for each reduction and for centred targets; moving the constant only raises the loss.
TEST(ConstantPredictor, MatchesTheMseOfTheMeanTarget) {
  Rng rng(4);
  std::vector<std::uint8_t> labels(500);
  for (auto& l : labels) l = static_cast<std::uint8_t>(rng.uniform_index(7) % 5);  // unbalanced
  const std::size_t k = 6;  // class 5 never occurs
  for (const auto reduction :
       {nn::MseReduction::Mean, nn::MseReduction::Sum, nn::MseReduction::HalfSampleMean}) {
    for (const double off : {0.0, -0.2}) {
      nn::LossConfig loss;
      loss.reduction = reduction;
      loss.target_off = off;
      loss.target_on = 1.0 + off;
      std::vector<double> mean(k, 0.0);
      for (const auto l : labels)
        for (std::size_t j = 0; j < k; ++j) mean[j] += (l == j ? loss.target_on : off);
      for (auto& m : mean) m /= double(labels.size());
      auto loss_of = [&](double shift) {
        Matrix<float> out(labels.size(), k);
        for (std::size_t i = 0; i < labels.size(); ++i)
          for (std::size_t j = 0; j < k; ++j) out(i, j) = static_cast<float>(mean[j] + shift);
        return nn::evaluate_loss<float>(loss, out.cview(), labels, MatrixView<float>{});
      };
      const double closed = constant_predictor_mse(labels, k, loss);
      EXPECT_NEAR(closed, loss_of(0.0), 1e-6 * closed);
      EXPECT_GT(loss_of(0.01), closed);
      EXPECT_GT(loss_of(-0.01), closed);
    }
  }
  nn::LossConfig ce;
  ce.kind = nn::LossKind::CrossEntropy;
  EXPECT_THROW((void)constant_predictor_mse(labels, k, ce), InvalidArgument);
  EXPECT_THROW((void)constant_predictor_mse(labels, 4, {}), InvalidArgument);  // label 4 ≥ 4
  EXPECT_THROW((void)constant_predictor_mse({}, k, {}), InvalidArgument);
}

MapRun run(RunClass c, double per_cycle) { return {c, per_cycle}; }

TEST(RowRule, SmallestPeakWithCatapultsInTwoThirdsOfSeeds) {
  using enum RunClass;
  const std::vector<std::vector<MapRun>> map = {
      {run(None, 0), run(None, 0), run(None, 0)},                      // c = 0.5
      {run(Catapult, 1.2), run(None, 0), run(Catapult, 0.4)},          // 1 of 3 ≥ 1/cycle
      {run(Catapult, 1.0), run(Catapult, 2.0), run(Divergence, 3.0)},  // 2 of 3: chosen
      {run(Catapult, 3.0), run(Catapult, 3.0), run(Catapult, 3.0)},
  };
  EXPECT_EQ(select_row(map), std::optional<std::size_t>(2));
  // Collapse and divergence never count, however many spikes they had.
  const std::vector<std::vector<MapRun>> broken = {
      {run(Collapse, 5.0), run(Divergence, 5.0), run(Catapult, 1.0)},
      {run(Collapse, 5.0), run(Collapse, 5.0), run(Collapse, 5.0)},
  };
  EXPECT_EQ(select_row(broken), std::nullopt);
  // The thresholds are the rule's parameters.
  EXPECT_EQ(select_row(map, {.min_catapults_per_cycle = 0.4, .min_seed_fraction = 2.0 / 3.0}),
            std::optional<std::size_t>(1));
  EXPECT_EQ(select_row(map, {.min_catapults_per_cycle = 1.0, .min_seed_fraction = 1.0}),
            std::optional<std::size_t>(3));
  EXPECT_THROW((void)select_row({{}}), InvalidArgument);
  EXPECT_THROW((void)select_row(map, {.min_seed_fraction = 0.0}), InvalidArgument);
}

}  // namespace
}  // namespace catapult::analysis
