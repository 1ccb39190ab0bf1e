// The training loop: determinism, divergence handling, evaluation bookkeeping, observers.
#include "catapult/train/trainer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "blobs.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/optim/adagrad.hpp"
#include "catapult/optim/adam.hpp"
#include "catapult/optim/sgd.hpp"
#include "catapult/train/observers.hpp"

namespace catapult::train {
namespace {

// Records everything it is told.
struct Recorder : Observer {
  std::vector<double> losses, lrs, grad_norms;
  std::vector<std::uint64_t> steps, epochs;
  std::vector<std::size_t> gradient_sizes;
  bool wants_gradient = false;
  std::vector<EvalInfo> evals;
  RunInfo info{};
  int ends = 0;
  TrainResult result;
  std::uint64_t stop_after = 0;
  void on_start(const RunInfo& i) override { info = i; }
  void on_step(const StepInfo& s) override {
    losses.push_back(s.loss);
    lrs.push_back(s.lr);
    grad_norms.push_back(s.grad_norm);
    steps.push_back(s.step);
    epochs.push_back(s.epoch);
    gradient_sizes.push_back(s.gradient.size());
  }
  [[nodiscard]] bool needs_gradient() const override { return wants_gradient; }
  void on_eval(const EvalInfo& e) override { evals.push_back(e); }
  void on_end(const TrainResult& r) override {
    ++ends;
    result = r;
  }
  [[nodiscard]] bool should_stop() const override {
    return stop_after > 0 && steps.size() >= stop_after;
  }
};

nn::MlpConfig blob_model() { return nn::MlpConfig{{8, 16, 4}}; }

struct RunRecord {
  TrainResult result;
  Recorder rec;
  std::vector<float> params;
};

RunRecord run(const TrainConfig& tc, double lr, std::uint64_t init_seed = 1,
              Observer* extra = nullptr) {
  const auto train_set = test::make_blobs(200, 8, 4, 0.3, 10);
  const auto test_set = test::make_blobs(100, 8, 4, 0.3, 11);
  nn::Mlp<float> model(blob_model());
  Rng rng(init_seed);
  model.init(rng);
  optim::Sgd<float> sgd(optim::SgdOptions{0.9});
  optim::ScheduleConfig sc;
  sc.lr = lr;
  const optim::Schedule schedule(sc);
  RunRecord r;
  std::vector<Observer*> obs = {&r.rec};
  if (extra != nullptr) obs.push_back(extra);
  r.result = train(model, sgd, schedule, train_set, &test_set, tc, obs);
  r.params.assign(model.params(), model.params() + model.num_params());
  return r;
}

// blob_model() from seed 4 trained with opt for `steps` steps of `batch` rows at rate 0.01, with a
// Recorder that does or does not ask for the gradient: the gradient sizes the steps showed it and
// the final parameters.
std::pair<std::vector<std::size_t>, std::vector<float>> train_recorded(
    optim::Optimizer<float>& opt, const data::Dataset& train_set, std::size_t batch,
    std::size_t steps, bool wants_gradient) {
  nn::Mlp<float> model(blob_model());
  Rng rng(4);
  model.init(rng);
  optim::ScheduleConfig sc;
  sc.lr = 0.01;
  const optim::Schedule schedule(sc);
  TrainConfig tc;
  tc.batch_size = batch;
  tc.steps = steps;
  Recorder rec;
  rec.wants_gradient = wants_gradient;
  std::vector<Observer*> obs = {&rec};
  (void)train(model, opt, schedule, train_set, nullptr, tc, obs);
  return {rec.gradient_sizes,
          std::vector<float>(model.params(), model.params() + model.num_params())};
}

TEST(Trainer, LearnsBlobsAndCountsStepsEpochsEvals) {
  TrainConfig tc;
  tc.batch_size = 16;  // 200 samples → 13 batches per epoch, the last one of 8
  tc.epochs = 5;
  tc.eval_every = 20;
  tc.seed = 3;
  tc.loss.kind = nn::LossKind::CrossEntropy;
  const RunRecord r = run(tc, 0.05);
  EXPECT_EQ(r.result.status, TrainStatus::Completed) << r.result.message;
  EXPECT_EQ(r.result.steps, 65u);
  EXPECT_EQ(r.result.epochs, 5u);
  EXPECT_EQ(r.rec.info.total_steps, 65u);
  EXPECT_EQ(r.rec.info.steps_per_epoch, 13u);
  EXPECT_EQ(r.rec.losses.size(), 65u);
  EXPECT_EQ(r.rec.epochs[12], 0u);
  EXPECT_EQ(r.rec.epochs[13], 1u);
  EXPECT_EQ(r.rec.epochs[64], 4u);
  // Evaluations at 0, 20, 40, 60 and the end (65).
  ASSERT_EQ(r.rec.evals.size(), 5u);
  EXPECT_EQ(r.rec.evals[0].step, 0u);
  EXPECT_TRUE(std::isnan(r.rec.evals[0].train_loss));
  EXPECT_EQ(r.rec.evals[1].step, 20u);
  EXPECT_EQ(r.rec.evals[4].step, 65u);
  double mean = 0;
  for (std::size_t i = 60; i < 65; ++i) mean += r.rec.losses[i];
  EXPECT_NEAR(r.rec.evals[4].train_loss, mean / 5, 1e-12);
  EXPECT_GT(r.result.test_accuracy, 0.95);
  EXPECT_LT(r.result.test_loss, r.rec.evals[0].test_loss);
  EXPECT_EQ(r.rec.ends, 1);
}

TEST(Trainer, SameSeedSameTraceDifferentSeedDifferentTrace) {
  TrainConfig tc;
  tc.batch_size = 10;
  tc.steps = 50;
  tc.seed = 77;
  const RunRecord a = run(tc, 0.5);
  const RunRecord b = run(tc, 0.5);
  ASSERT_EQ(a.rec.losses.size(), 50u);
  for (std::size_t i = 0; i < 50; ++i) ASSERT_EQ(a.rec.losses[i], b.rec.losses[i]) << i;
  EXPECT_EQ(a.params, b.params);
  tc.seed = 78;
  const RunRecord c = run(tc, 0.5);
  EXPECT_NE(a.rec.losses[5], c.rec.losses[5]);  // another shuffle
  EXPECT_EQ(a.rec.losses[0] == c.rec.losses[0], false);
}

// Halves the rate every `every` steps; records what it was shown.
struct Halver : Controller {
  std::uint64_t every = 5;
  std::vector<std::uint64_t> next_steps, last_steps;
  std::uint64_t started_at = 99;
  std::size_t train_size = 0;
  void on_start(const ControlContext& c, optim::Schedule& /*schedule*/) override {
    EXPECT_EQ(c.last, nullptr);
    started_at = c.next_step;
    train_size = c.train_set.size();
  }
  void after_step(const ControlContext& c, optim::Schedule& schedule) override {
    EXPECT_NE(c.last, nullptr);
    EXPECT_EQ(c.last->step + 1, c.next_step);
    EXPECT_EQ(c.model.num_params(), c.last->model.num_params());
    next_steps.push_back(c.next_step);
    last_steps.push_back(c.last->step);
    if (c.next_step % every != 0) return;
    auto sc = schedule.config();
    sc.lr /= 2;
    schedule = optim::Schedule(sc);
  }
};

TEST(Trainer, ControllerChangesTheScheduleBetweenSteps) {
  const auto train_set = test::make_blobs(200, 8, 4, 0.3, 10);
  TrainConfig tc;
  tc.batch_size = 10;
  tc.steps = 12;
  nn::Mlp<float> model(blob_model());
  Rng rng(1);
  model.init(rng);
  optim::Sgd<float> sgd;
  optim::ScheduleConfig sc;
  sc.lr = 0.4;
  optim::Schedule schedule(sc);
  Recorder rec;
  Halver halver;
  Observer* obs[] = {&rec};
  Controller* ctl[] = {&halver};
  const auto r = train(model, sgd, schedule, train_set, nullptr, tc, Hooks{obs, ctl});
  ASSERT_EQ(r.status, TrainStatus::Completed);
  ASSERT_EQ(rec.lrs.size(), 12U);
  for (std::size_t t = 0; t < 12; ++t)
    EXPECT_EQ(rec.lrs[t], 0.4 / double(1U << (t / 5))) << "step " << t;  // 0.4, 0.2, 0.1
  EXPECT_EQ(schedule.config().lr, 0.1);  // the caller's schedule is the last one in use
  EXPECT_EQ(halver.started_at, 0U);
  EXPECT_EQ(halver.train_size, 200U);
  ASSERT_EQ(halver.next_steps.size(), 12U);
  EXPECT_EQ(halver.next_steps.front(), 1U);
  EXPECT_EQ(halver.last_steps.back(), 11U);
}

// Without controllers the schedule-in-place overload is the const one, step for step.
TEST(Trainer, HooksOverloadWithoutControllersIsTheSameRun) {
  TrainConfig tc;
  tc.batch_size = 10;
  tc.steps = 30;
  tc.seed = 5;
  const RunRecord a = run(tc, 0.3);
  const auto train_set = test::make_blobs(200, 8, 4, 0.3, 10);
  const auto test_set = test::make_blobs(100, 8, 4, 0.3, 11);
  nn::Mlp<float> model(blob_model());
  Rng rng(1);
  model.init(rng);
  optim::Sgd<float> sgd(optim::SgdOptions{0.9});
  optim::ScheduleConfig sc;
  sc.lr = 0.3;
  optim::Schedule schedule(sc);
  Recorder rec;
  Observer* obs[] = {&rec};
  const auto r = train(model, sgd, schedule, train_set, &test_set, tc, Hooks{obs, {}});
  EXPECT_EQ(r.steps, a.result.steps);
  EXPECT_EQ(rec.losses, a.rec.losses);
  EXPECT_EQ(std::vector<float>(model.params(), model.params() + model.num_params()), a.params);
}

// A controller never sees a diverged model: the step that diverges ends the run first.
TEST(Trainer, ControllerIsNotCalledAfterDivergence) {
  const auto train_set = test::make_blobs(200, 8, 4, 0.3, 10);
  TrainConfig tc;
  tc.batch_size = 10;
  tc.steps = 50;
  nn::Mlp<float> model(blob_model());
  Rng rng(1);
  model.init(rng);
  optim::Sgd<float> sgd;
  optim::ScheduleConfig sc;
  sc.lr = 1e30;
  optim::Schedule schedule(sc);
  struct Checker : Controller {
    void after_step(const ControlContext& c, optim::Schedule& /*schedule*/) override {
      const auto* p = c.model.params();
      for (std::size_t i = 0; i < c.model.num_params(); ++i) ASSERT_TRUE(std::isfinite(p[i]));
    }
  } checker;
  Controller* ctl[] = {&checker};
  const auto r = train(model, sgd, schedule, train_set, nullptr, tc, Hooks{{}, ctl});
  EXPECT_EQ(r.status, TrainStatus::Diverged);
}

// GEMM never splits K across threads, so one thread and all threads give the same trace.
TEST(Trainer, SameTraceForOneThreadAndAll) {
  TrainConfig tc;
  tc.batch_size = 100;
  tc.steps = 10;
  tc.seed = 5;
  RunRecord one;
  {
    ThreadLimit limit(1);
    one = run(tc, 0.5);
  }
  const RunRecord all = run(tc, 0.5);
  for (std::size_t i = 0; i < 10; ++i) ASSERT_EQ(one.rec.losses[i], all.rec.losses[i]) << i;
  EXPECT_EQ(one.params, all.params);
}

TEST(Trainer, GradientNormAndLrAreReported) {
  TrainConfig tc;
  tc.batch_size = 200;
  tc.steps = 1;
  tc.shuffle = false;
  const RunRecord r = run(tc, 0.25);
  ASSERT_EQ(r.rec.grad_norms.size(), 1u);
  EXPECT_EQ(r.rec.lrs[0], 0.25);
  // Recompute the full-batch gradient norm independently at the initial parameters.
  const auto train_set = test::make_blobs(200, 8, 4, 0.3, 10);
  nn::Mlp<float> model(blob_model());
  Rng rng(1);
  model.init(rng);
  Matrix<float> out(200, 4), d_out(200, 4);
  nn::ForwardCache<float> cache;
  model.forward(train_set.images.cview(), out.view(), &cache);
  (void)nn::evaluate_loss<float>(tc.loss, out.cview(), train_set.labels, d_out.view());
  std::vector<float> g(model.num_params());
  model.backward(cache, d_out.cview(), g.data());
  double sq = 0;
  for (float v : g) sq += static_cast<double>(v) * v;
  EXPECT_NEAR(r.rec.grad_norms[0], std::sqrt(sq), 1e-6 * std::sqrt(sq));
}

// Batches of more than 256 rows take the separate update even when no hook reads the gradient
// (their weight-gradient GEMMs split K = batch into blocks, and fusing measured slower there): the
// gradient is stored and shown, and the parameters are those of a run whose hook asks for it. At
// 256 rows the loop still fuses (no gradient shown), with the stored-gradient run's parameters.
TEST(Trainer, BatchesOverTheFusionLimitStoreTheGradient) {
  const auto train_set = test::make_blobs(600, 8, 4, 0.3, 12);
  const auto run_at = [&](std::size_t batch, bool wants_gradient) {
    optim::Adam<float> adam(optim::AdamOptions{});
    return train_recorded(adam, train_set, batch, 4, wants_gradient);
  };
  const std::size_t p = nn::Mlp<float>(blob_model()).num_params();
  {
    // Adam has state: it fuses on one thread only (see the next test).
    ThreadLimit one(1);
    const auto [fused_sizes, fused_params] = run_at(256, false);
    const auto [stored_sizes, stored_params] = run_at(256, true);
    EXPECT_EQ(fused_sizes, std::vector<std::size_t>(4, 0));
    EXPECT_EQ(stored_sizes, std::vector<std::size_t>(4, p));
    EXPECT_EQ(fused_params, stored_params);
  }
  const auto [large_sizes, large_params] = run_at(257, false);
  const auto [asked_sizes, asked_params] = run_at(257, true);
  EXPECT_EQ(large_sizes, std::vector<std::size_t>(4, p));
  EXPECT_EQ(large_params, asked_params);
}

// On several threads an optimizer with state (here Adam, and SGD with momentum) takes the separate
// update at any batch, plain SGD the fused one; one thread fuses both. The parameters are the same
// bits either way.
TEST(Trainer, OptimizersWithStateFuseOnOneThreadOnly) {
  if (max_threads() < 2) GTEST_SKIP() << "needs at least 2 threads, this machine gives 1";
  const auto train_set = test::make_blobs(300, 8, 4, 0.3, 13);
  const auto run_with = [&](optim::Optimizer<float>& opt, std::size_t threads) {
    ThreadLimit limit(threads);
    return train_recorded(opt, train_set, 32, 3, false);
  };
  const std::size_t p = nn::Mlp<float>(blob_model()).num_params();
  const std::size_t all = max_threads();
  const std::vector<std::size_t> stored(3, p), none(3, 0);
  // Two fresh optimizers of one kind with state: fused on one thread, stored on all, same bits.
  const auto expect_fused_on_one_thread_only = [&](optim::Optimizer<float>& one_thread,
                                                   optim::Optimizer<float>& threads) {
    const auto [one_sizes, one_params] = run_with(one_thread, 1);
    const auto [all_sizes, all_params] = run_with(threads, all);
    EXPECT_EQ(one_sizes, none);
    EXPECT_EQ(all_sizes, stored);
    EXPECT_EQ(one_params, all_params);
  };
  {
    optim::Adam<float> one_thread(optim::AdamOptions{}), threads(optim::AdamOptions{});
    expect_fused_on_one_thread_only(one_thread, threads);
  }
  {
    optim::Sgd<float> one_thread(optim::SgdOptions{0.9}), threads(optim::SgdOptions{0.9});
    expect_fused_on_one_thread_only(one_thread, threads);
  }
  {
    optim::Sgd<float> plain(optim::SgdOptions{});
    const auto [all_sizes, all_params] = run_with(plain, all);
    EXPECT_EQ(all_sizes, none);
  }
}

// Without a hook that reads the gradient the loop fuses the update into the backward pass; with
// one it stores the gradient and steps the optimizer on it. Same run, bitwise: the same kernels
// compute every parameter (nn/mlp_test.cpp checks each optimizer); the gradient norm is summed in
// another order.
TEST(Trainer, FusedUpdateIsTheSameRunAsTheStoredGradient) {
  ThreadLimit one(1);  // run() steps SGD with momentum, which fuses on one thread only
  TrainConfig tc;
  tc.batch_size = 16;
  tc.epochs = 2;
  const RunRecord fused = run(tc, 0.1);
  Recorder reader;
  reader.wants_gradient = true;
  const RunRecord stored = run(tc, 0.1, 1, &reader);
  ASSERT_EQ(fused.rec.losses.size(), stored.rec.losses.size());
  for (std::size_t i = 0; i < fused.rec.losses.size(); ++i) {
    ASSERT_EQ(fused.rec.losses[i], stored.rec.losses[i]) << "step " << i;
    EXPECT_NEAR(fused.rec.grad_norms[i], stored.rec.grad_norms[i], 1e-6 * stored.rec.grad_norms[i]);
    EXPECT_EQ(fused.rec.gradient_sizes[i], 0u);
    EXPECT_EQ(stored.rec.gradient_sizes[i], stored.params.size());
  }
  EXPECT_EQ(fused.params, stored.params);
  EXPECT_EQ(fused.result.test_loss, stored.result.test_loss);
  // A hook that does not say whether it reads the gradient is given it (the default is true).
  struct Unaware : Observer {
    std::size_t seen = 0;
    void on_step(const StepInfo& s) override { seen = s.gradient.size(); }
  } unaware;
  EXPECT_TRUE(unaware.needs_gradient());
  EXPECT_TRUE(Controller().needs_gradient());
  const RunRecord defaulted = run(tc, 0.1, 1, &unaware);
  EXPECT_EQ(unaware.seen, defaulted.params.size());
  EXPECT_EQ(defaulted.params, stored.params);
}

TEST(Trainer, HugeLearningRateDivergesCleanlyWithAFiniteLog) {
  const auto dir = std::filesystem::temp_directory_path() / "catapult_trainer_diverge";
  std::filesystem::create_directories(dir);
  TrainConfig tc;
  tc.batch_size = 20;
  tc.steps = 200;
  tc.eval_every = 5;
  RunRecord r;
  {
    CsvLogger csv(dir / "steps.csv", dir / "evals.csv");
    r = run(tc, 1e6, 1, &csv);
  }
  EXPECT_EQ(r.result.status, TrainStatus::Diverged);
  EXPECT_NE(r.result.message.find("diverged at step"), std::string::npos) << r.result.message;
  EXPECT_LT(r.result.steps, 200u);
  EXPECT_EQ(r.rec.ends, 1);
  for (double l : r.rec.losses) EXPECT_TRUE(std::isfinite(l));
  // The CSV has a header and one finite row per reported step.
  std::ifstream f(dir / "steps.csv");
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "step,epoch,loss,lr,grad_norm");
  std::size_t rows = 0;
  while (std::getline(f, line)) {
    ++rows;
    EXPECT_EQ(line.find("nan"), std::string::npos) << line;
    EXPECT_EQ(line.find("inf"), std::string::npos) << line;
  }
  EXPECT_EQ(rows, r.rec.losses.size());
  std::filesystem::remove_all(dir);
}

// A step whose loss and gradient are finite but whose update is not (lr = 1e300 is finite as a
// double, the float step size is infinite) ends the run at that step, on both update paths:
// the optimizer's update reports it (Optimizer::last_update_finite), nothing reads θ again.
TEST(Trainer, ANonFiniteUpdateEndsTheRunAtThatStep) {
  TrainConfig tc;
  tc.batch_size = 20;
  tc.steps = 10;
  for (bool stored : {false, true}) {
    Recorder reader;
    reader.wants_gradient = stored;
    const RunRecord r = run(tc, 1e300, 1, &reader);
    EXPECT_EQ(r.result.status, TrainStatus::Diverged) << "stored gradient " << stored;
    EXPECT_NE(r.result.message.find("diverged at step 0 (epoch 0): a parameter is not finite"),
              std::string::npos)
        << r.result.message;
    EXPECT_EQ(r.result.steps, 1u);
    ASSERT_EQ(r.rec.losses.size(), 1u);
    EXPECT_TRUE(std::isfinite(r.rec.losses[0]));
    EXPECT_FALSE(
        std::all_of(r.params.begin(), r.params.end(), [](float x) { return std::isfinite(x); }));
  }
}

TEST(Trainer, ObserverCanStopTheRun) {
  Recorder stopper;
  stopper.stop_after = 7;
  TrainConfig tc;
  tc.batch_size = 10;
  tc.steps = 100;
  const RunRecord r = run(tc, 0.1, 1, &stopper);
  EXPECT_EQ(r.result.status, TrainStatus::Stopped);
  EXPECT_EQ(r.result.steps, 7u);
  EXPECT_FALSE(std::isnan(r.result.test_accuracy));
}

TEST(Trainer, ChunkedEvaluationEqualsOneBatch) {
  const auto set = test::make_blobs(103, 8, 4, 0.5, 5);
  nn::Mlp<float> model(blob_model());
  Rng rng(2);
  model.init(rng);
  for (auto red : {nn::MseReduction::Mean, nn::MseReduction::Sum, nn::MseReduction::SampleMean}) {
    for (auto kind : {nn::LossKind::Mse, nn::LossKind::CrossEntropy}) {
      const nn::LossConfig loss{kind, red};
      const Evaluation one = evaluate(model, set, loss, 1000);
      const Evaluation many = evaluate(model, set, loss, 10);
      EXPECT_NEAR(one.loss, many.loss, 1e-9 * std::abs(one.loss));
      EXPECT_EQ(one.accuracy, many.accuracy);
    }
  }
}

TEST(Trainer, RejectsMismatchedDataAndConfig) {
  const auto set = test::make_blobs(10, 5, 4, 0.5, 5);
  nn::Mlp<float> model(blob_model());
  optim::Sgd<float> sgd;
  const optim::Schedule s(optim::ScheduleConfig{});
  TrainConfig tc;
  EXPECT_THROW((void)train(model, sgd, s, set, nullptr, tc), InvalidArgument);
  tc.batch_size = 0;
  EXPECT_THROW((void)planned_steps(tc, 10), InvalidArgument);
}

TEST(Observers, JsonSummaryAndProgress) {
  const auto dir = std::filesystem::temp_directory_path() / "catapult_trainer_json";
  std::filesystem::create_directories(dir);
  std::ostringstream progress_plain, progress_tty;
  TrainConfig tc;
  tc.batch_size = 50;
  tc.steps = 8;
  tc.eval_every = 4;
  {
    JsonSummary summary(dir / "summary.json", R"({"note": "test"})");
    ProgressObserver plain(progress_plain, false, 2);
    ProgressObserver tty(progress_tty, true);
    struct Fanout : Observer {
      std::vector<Observer*> o;
      void on_start(const RunInfo& i) override {
        for (auto* x : o) x->on_start(i);
      }
      void on_step(const StepInfo& s) override {
        for (auto* x : o) x->on_step(s);
      }
      void on_eval(const EvalInfo& e) override {
        for (auto* x : o) x->on_eval(e);
      }
      void on_end(const TrainResult& r) override {
        for (auto* x : o) x->on_end(r);
      }
    } fan;
    fan.o = {&summary, &plain, &tty};
    (void)run(tc, 0.1, 1, &fan);
  }
  std::ifstream f(dir / "summary.json");
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["steps"], 8);
  EXPECT_EQ(j["evals"].size(), 3u);  // steps 0, 4, 8
  EXPECT_EQ(j["config"]["note"], "test");
  EXPECT_TRUE(j["evals"][0]["train_loss"].is_null());
  const std::string plain = progress_plain.str();
  EXPECT_NE(plain.find("step 2/8"), std::string::npos) << plain;
  EXPECT_NE(plain.find("eval at step 4"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\r'), std::string::npos);
  EXPECT_NE(progress_tty.str().find('\r'), std::string::npos);
  EXPECT_NE(progress_tty.str().find("completed"), std::string::npos);
  EXPECT_THROW(JsonSummary(dir / "x.json", "{not json"), InvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace catapult::train
