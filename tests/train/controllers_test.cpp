// train::CriticalPeakController: the peak it sets is peak_factor·η_crit with η_crit from an
// independent dense NTK (λmax of empirical_ntk by a dense eigensolver), it re-measures on its
// period, only lowers the peak when asked to, and refuses what it cannot control; a run resumed
// from a checkpoint holding the controller's state continues bit-identically.
#include "catapult/train/controllers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "blobs.hpp"
#include "catapult/core/error.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/optim/sgd.hpp"
#include "catapult/train/checkpoint.hpp"

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

// The sub-critical control: peak = min(max_peak, 0.9·η_crit(t)), re-measured, both ways.
TEST(CriticalPeakController, CeilingHoldsThePeakBelowBoth) {
  CriticalPeakOptions o;
  o.peak_factor = 0.9;
  o.every = 5;
  o.samples = 16;
  o.only_lower = false;
  const PeakRun free = run(o, std::nan(""));
  ASSERT_FALSE(free.measurements.empty());
  // A ceiling between the smallest and the largest uncapped peak: some measurements are capped.
  double lo = INFINITY, hi = 0;
  for (const auto& m : free.measurements) {
    lo = std::min(lo, m.peak);
    hi = std::max(hi, m.peak);
  }
  ASSERT_LT(lo, hi);
  o.max_peak = 0.5 * (lo + hi);
  const PeakRun capped = run(o, std::nan(""));
  EXPECT_EQ(capped.initial, free.initial);
  bool some_capped = false;
  for (const auto& m : capped.measurements) {
    EXPECT_EQ(m.peak, std::max(0.01, std::min(o.max_peak, 0.9 * m.eta_crit))) << m.step;
    some_capped |= m.peak == o.max_peak;
  }
  EXPECT_TRUE(some_capped);
  for (const double lr : capped.lrs) EXPECT_LE(lr, o.max_peak);
  EXPECT_THROW(CriticalPeakController({.max_peak = 0.0}), InvalidArgument);
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

// A run with a controller that moves the peak both ways (so every measurement matters), SGD with
// momentum (optimizer state) and a shuffled data order, checkpointed every 15 steps.
class ControllerResume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("catapult_ctl_resume_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    options_.every = 10;
    options_.samples = 16;
    options_.tolerance = 1e-6;
    options_.max_restarts = 300;
    options_.only_lower = false;
    options_.peak_factor = 1.0;
    config_.batch_size = 20;
    config_.steps = 40;
    config_.seed = 3;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // An observer with state: the trace so far goes into the checkpoint, so a resumed run's trace
  // is the whole run's.
  struct Trace : Observer {
    std::vector<double> loss, lr;
    void on_step(const StepInfo& s) override {
      loss.push_back(s.loss);
      lr.push_back(s.lr);
    }
    void save_state(Checkpoint& c, std::string_view prefix) const override {
      c.put_f64s(std::string(prefix) + "loss", loss.data(), loss.size());
      c.put_f64s(std::string(prefix) + "lr", lr.data(), lr.size());
    }
    void restore_state(const Checkpoint& c, std::string_view prefix) override {
      loss = c.f64s(std::string(prefix) + "loss");
      lr = c.f64s(std::string(prefix) + "lr");
    }
  };
  struct Result {
    Trace trace;
    std::vector<CriticalMeasurement> measurements;
    std::vector<float> params;
  };

  // Trains from init seed `init` (or from `resume_from`, restoring model, optimizer and, with
  // restore_controller, the controller's state), checkpointing into dir_ when `checkpoint`.
  Result run(std::uint64_t init, const std::filesystem::path* resume_from, bool restore_controller,
             bool checkpoint) {
    nn::Mlp<float> model(nn::MlpConfig{{8, 16, 4}});
    Rng rng(init);
    model.init(rng);
    optim::Sgd<float> sgd({.momentum = 0.5});
    auto schedule = cyclic(0.01, 0.01);
    CriticalPeakController peak(options_);
    Result r;
    CheckpointedHooks stateful{{&peak}, {&r.trace}};
    std::optional<ResumePoint> point;
    if (resume_from != nullptr)
      point = restore_training_checkpoint(read_checkpoint(*resume_from), model, sgd, config_,
                                          set_.size(),
                                          restore_controller ? stateful : CheckpointedHooks{});
    CheckpointObserver writer(dir_ / "run.ckpt", 15, config_, set_.size(), "{}", {},
                              point ? &*point : nullptr);
    writer.set_hooks(stateful);
    std::vector<Observer*> obs = {&r.trace};
    std::vector<Controller*> ctl = {&peak};
    if (checkpoint) {
      obs.push_back(&writer);
      ctl.push_back(&writer);
    }
    const auto status = train(model, sgd, schedule, set_, nullptr, config_, Hooks{obs, ctl},
                              point ? &*point : nullptr);
    EXPECT_EQ(status.status, TrainStatus::Completed);
    r.measurements = peak.measurements();
    r.params.assign(model.params(), model.params() + model.num_params());
    return r;
  }

  std::filesystem::path dir_;
  data::Dataset set_ = test::make_blobs(200, 8, 4, 0.3, 10);
  CriticalPeakOptions options_;
  TrainConfig config_;
};

TEST_F(ControllerResume, ResumedRunIsBitIdenticalToTheUninterruptedOne) {
  const Result full = run(1, nullptr, false, true);
  ASSERT_EQ(full.trace.loss.size(), 40U);
  ASSERT_EQ(full.measurements.size(), 4U);  // after steps 10, 20, 30, 40
  // The peak moved: the measurements after the checkpoint differ from η_crit(0)'s peak.
  EXPECT_NE(full.measurements[1].peak, full.measurements[0].peak);
  // run.ckpt holds step 30, run.ckpt.prev step 15 (mid-cycle, after the first measurement).
  const auto at15 = previous_checkpoint_path(dir_ / "run.ckpt");
  ASSERT_EQ(read_checkpoint(at15).u64("step"), 15U);
  // Another initialisation: everything must come from the checkpoint.
  const Result resumed = run(99, &at15, true, false);
  // The trace observer restored its first 15 steps and recorded the other 25.
  ASSERT_EQ(resumed.trace.loss.size(), 40U);
  for (std::size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(resumed.trace.loss[i], full.trace.loss[i]) << "step " << i;
    EXPECT_EQ(resumed.trace.lr[i], full.trace.lr[i]) << "step " << i;
  }
  ASSERT_EQ(resumed.measurements.size(), full.measurements.size());
  for (std::size_t i = 0; i < full.measurements.size(); ++i) {
    EXPECT_EQ(resumed.measurements[i].step, full.measurements[i].step);
    EXPECT_EQ(resumed.measurements[i].eta_crit, full.measurements[i].eta_crit) << i;
    EXPECT_EQ(resumed.measurements[i].peak, full.measurements[i].peak) << i;
  }
  ASSERT_EQ(resumed.params.size(), full.params.size());
  EXPECT_EQ(std::memcmp(resumed.params.data(), full.params.data(), full.params.size() * 4), 0);
}

TEST_F(ControllerResume, WithoutTheControllersStateTheRunDiffersOrIsRefused) {
  (void)run(1, nullptr, false, true);
  const auto at15 = previous_checkpoint_path(dir_ / "run.ckpt");
  // The checkpoint holds one controller's and one observer's state: a run that restores none is
  // refused.
  EXPECT_THROW((void)run(1, &at15, false, false), DataError);
  // Restored without its state (the schedule and measurements of the interrupted run dropped),
  // the controller measures afresh at step 15 and the rates differ: the state is what makes the
  // resume exact.
  Checkpoint c = read_checkpoint(at15);
  Checkpoint stripped;
  for (const auto& name : c.names()) {
    if (name.rfind("controller.", 0) == 0 || name.rfind("observer.", 0) == 0 ||
        name.rfind("schedule.", 0) == 0 || name.rfind("hooks.", 0) == 0)
      continue;
    if (name == "kind" || name == "config" || name == "optimizer.name")
      stripped.put_text(name, c.text(name));
    else if (name == "params" || (name.rfind("optimizer.", 0) == 0 && name != "optimizer.steps")) {
      const auto v = c.f32s(name);
      stripped.put_f32s(name, v.data(), v.size());
    } else if (name == "loss_since_eval" || name == "last_loss" || name == "evals.values") {
      const auto v = c.f64s(name);
      stripped.put_f64s(name, v.data(), v.size());
    } else {
      stripped.put_u64s(name, c.u64s(name));
    }
  }
  stripped.put_u64("schedule.step", 15);
  const auto path = dir_ / "stripped.ckpt";
  write_checkpoint(stripped, path);
  const Result full = run(1, nullptr, false, false);
  const Result fresh = run(1, &path, false, false);
  ASSERT_EQ(fresh.trace.lr.size(), 25U);
  bool differs = false;
  for (std::size_t i = 0; i < 25; ++i) differs |= fresh.trace.lr[i] != full.trace.lr[15 + i];
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace catapult::train
