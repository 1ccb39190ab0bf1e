// train::CriticalPeakController: the peak it sets is peak_factor·η_crit with η_crit from an
// independent dense NTK (λmax of empirical_ntk by a dense eigensolver), it re-measures on its
// period, only lowers the peak when asked to, and refuses what it cannot control.
#include "catapult/train/controllers.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "blobs.hpp"
#include "catapult/core/error.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/optim/sgd.hpp"

namespace catapult::train {
namespace {

optim::Schedule cyclic(double base, double peak) {
  optim::ScheduleConfig sc;
  sc.kind = optim::ScheduleKind::Cyclic;
  sc.lr = base;
  sc.max_lr = peak;
  sc.step_size_up = 5;
  return optim::Schedule(sc);
}

// η_crit of the model on the first n rows by the dense full NTK.
double dense_critical_rate(const nn::Mlp<float>& model, const data::Dataset& set, std::size_t n) {
  const auto x = set.images.cview().rows_range(0, n);
  const auto k = ntk::empirical_ntk<float>(model, x, {ntk::NtkMode::Full, 0, 0});
  const double lambda = ntk::dense_eigenvalues<float>(k.cview()).front();
  return nn::mse_critical_learning_rate(lambda, nn::MseReduction::Mean, n, model.output_dim());
}

struct PeakRun {
  std::vector<double> lrs;
  double initial = 0;
  std::vector<CriticalMeasurement> measurements;
};

PeakRun run(const CriticalPeakOptions& o, double initial, double* dense_at_start = nullptr) {
  const auto train_set = test::make_blobs(200, 8, 4, 0.3, 10);
  nn::Mlp<float> model(nn::MlpConfig{{8, 16, 4}});
  Rng rng(1);
  model.init(rng);
  if (dense_at_start != nullptr) *dense_at_start = dense_critical_rate(model, train_set, o.samples);
  optim::Sgd<float> sgd;
  auto schedule = cyclic(0.01, 0.01);
  TrainConfig tc;
  tc.batch_size = 20;
  tc.steps = 30;
  CriticalPeakController peak(o, initial);
  struct Lrs : Observer {
    std::vector<double> lr;
    void on_step(const StepInfo& s) override { lr.push_back(s.lr); }
  } lrs;
  Observer* obs[] = {&lrs};
  Controller* ctl[] = {&peak};
  const auto r = train(model, sgd, schedule, train_set, nullptr, tc, Hooks{obs, ctl});
  EXPECT_EQ(r.status, TrainStatus::Completed);
  PeakRun out{lrs.lr, peak.initial_critical_rate(), peak.measurements()};
  return out;
}

TEST(CriticalPeakController, PeakIsFactorTimesTheDenseCriticalRate) {
  CriticalPeakOptions o;
  o.peak_factor = 2.0;
  o.every = 10;
  o.samples = 16;
  o.tolerance = 1e-8;
  o.max_restarts = 500;
  double dense = 0;
  const PeakRun r = run(o, std::nan(""), &dense);
  EXPECT_NEAR(r.initial, dense, 1e-5 * dense);
  // Step 5 is the first peak of the triangle (step_size_up 5): η = max_lr there.
  EXPECT_NEAR(r.lrs[5], 2.0 * r.initial, 1e-12);
  ASSERT_EQ(r.measurements.size(), 3U);  // after steps 10, 20, 30
  EXPECT_EQ(r.measurements[0].step, 10U);
  EXPECT_EQ(r.measurements[2].step, 30U);
  for (const auto& m : r.measurements) {
    EXPECT_TRUE(std::isfinite(m.eta_crit));
    EXPECT_LE(m.peak, 2.0 * r.initial * (1 + 1e-15));  // only lowered
    EXPECT_EQ(m.peak, std::max(0.01, 2.0 * std::min(m.eta_crit, r.initial)));
  }
  // The peak of the second cycle (step 15) is the one set after step 10.
  EXPECT_NEAR(r.lrs[15], r.measurements[0].peak, 1e-12);
}

TEST(CriticalPeakController, FollowsTheRateBothWaysUnlessOnlyLowering) {
  CriticalPeakOptions o;
  o.every = 10;
  o.samples = 16;
  o.only_lower = false;
  const double given = 1e-3;  // far below the true rate: the re-measured peak rises
  const PeakRun r = run(o, given);
  EXPECT_EQ(r.initial, given);
  ASSERT_FALSE(r.measurements.empty());
  EXPECT_GT(r.measurements[0].peak, o.peak_factor * given);
  o.only_lower = true;
  const PeakRun lowered = run(o, given);
  for (const auto& m : lowered.measurements) EXPECT_EQ(m.peak, std::max(0.01, 3.0 * given));
}

TEST(CriticalPeakController, RefusesWhatItCannotControl) {
  EXPECT_THROW(CriticalPeakController({.peak_factor = 0}), InvalidArgument);
  EXPECT_THROW(CriticalPeakController({.every = 0}), InvalidArgument);
  const auto train_set = test::make_blobs(40, 8, 4, 0.3, 10);
  nn::Mlp<float> model(nn::MlpConfig{{8, 16, 4}});
  Rng rng(1);
  model.init(rng);
  optim::Sgd<float> sgd;
  TrainConfig tc;
  tc.batch_size = 20;
  tc.steps = 2;
  CriticalPeakController peak({});
  Controller* ctl[] = {&peak};
  optim::ScheduleConfig constant;
  optim::Schedule schedule(constant);
  EXPECT_THROW((void)train(model, sgd, schedule, train_set, nullptr, tc, Hooks{{}, ctl}),
               InvalidArgument);
  auto cyc = cyclic(0.01, 0.1);
  tc.loss.kind = nn::LossKind::CrossEntropy;
  EXPECT_THROW((void)train(model, sgd, cyc, train_set, nullptr, tc, Hooks{{}, ctl}),
               InvalidArgument);
}

}  // namespace
}  // namespace catapult::train
