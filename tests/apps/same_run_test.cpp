// Same seed, same run: one configuration trained by `catapult train --config`, as a
// `catapult sweep` point and by the reproduction's engine (apps/reproduce/engine.hpp) gives the
// same loss and rate trace, step for step, because all three drive the one loop of
// catapult/train/trainer.hpp with its seed convention (init from Rng(init_seed), data order of
// epoch e from Rng(seed).split(e)). The CLI's steps.csv prints 9 significant digits, so the
// files of train and sweep are compared byte for byte and the engine's doubles at that precision;
// the engine against the library in process is compared bit for bit.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../reliability/subprocess.hpp"
#include "../reliability/synthetic_data.hpp"
#include "../reliability/temp_dir.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/train/trainer.hpp"
#include "engine.hpp"

namespace catapult::app::reproduce {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kSeed = 7;

// One configuration, as the reproduction states it and as a `catapult train` JSON file.
struct Case {
  const char* name;
  std::size_t batch_size;  // 300 = the whole training set: full-batch GD, dataset order
  std::size_t epochs;
  std::size_t steps;
  const char* optimizer;
};

RunSpec spec_of(const Case& c) {
  RunSpec s;
  s.model = nn::MlpConfig{{64, 16, 10}};
  s.optimizer.kind = optim::parse_optimizer_kind(c.optimizer);
  s.schedule.kind = optim::ScheduleKind::Cyclic;
  s.schedule.lr = 0.02;
  s.schedule.max_lr = 0.3;
  s.schedule.step_size_up = 4;
  s.batch_size = c.batch_size;
  s.epochs = c.epochs;
  s.max_steps = c.steps;
  s.seed = kSeed;
  return s;
}

// The `catapult train` configuration of the same run: train_config(spec) and init_seed = seed.
nlohmann::json config_of(const Case& c, std::size_t train_size) {
  const RunSpec s = spec_of(c);
  const auto tc = train_config(s, train_size);
  return {{"dataset", "fashion-mnist"},
          {"model", {{"widths", s.model.widths}}},
          {"optimizer", {{"kind", c.optimizer}}},
          {"schedule",
           {{"kind", "cyclic"},
            {"lr", s.schedule.lr},
            {"max_lr", s.schedule.max_lr},
            {"step_size_up", s.schedule.step_size_up}}},
          {"train",
           {{"batch_size", tc.batch_size},
            {"epochs", tc.epochs},
            {"steps", tc.steps},
            {"seed", tc.seed},
            {"shuffle", tc.shuffle},
            {"drop_last", tc.drop_last}}},
          {"init_seed", kSeed},
          {"threads", 1}};
}

std::string g9(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

// steps.csv rows "step,epoch,loss,lr,grad_norm" → "loss,lr" per step.
std::vector<std::string> loss_lr_of(const std::string& csv) {
  std::vector<std::string> rows;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() >= 4) rows.push_back(f[2] + "," + f[3]);
  }
  return rows;
}

class SameRun : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    fs::create_directories(data());
    test::write_synthetic_dataset(data(), kTrain, 50);
  }
  fs::path data() const { return dir_.path() / "data"; }
  static constexpr std::size_t kTrain = 300;
  test::TempDir dir_;
};

TEST_P(SameRun, TrainSweepAndReproduceGiveTheSameTrace) {
  const Case c = GetParam();
  const auto config = config_of(c, kTrain);
  std::ofstream(dir_.path() / "config.json") << config.dump(2);
  nlohmann::json sweep = {{"base", config}, {"grid", {{"init_seed", {kSeed}}}}};
  std::ofstream(dir_.path() / "sweep.json") << sweep.dump(2);

  const auto t =
      test::run_cli({"train", "--config", (dir_.path() / "config.json").string(), "--data-dir",
                     data().string(), "--out", (dir_.path() / "train").string()},
                    dir_.path(), "train");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto s = test::run_cli({"sweep", (dir_.path() / "sweep.json").string(), "--data-dir",
                                data().string(), "--out", (dir_.path() / "sweep").string()},
                               dir_.path(), "sweep");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const std::string train_csv = test::slurp(dir_.path() / "train" / "steps.csv");
  const std::string sweep_csv = test::slurp(dir_.path() / "sweep" / "run-0000" / "steps.csv");
  EXPECT_EQ(train_csv, sweep_csv) << "train and sweep differ";

  const auto splits = data::load_fashion_mnist(data());
  const RunResult r = train(spec_of(c), splits.train, splits.test);
  ASSERT_FALSE(r.diverged);
  const auto cli = loss_lr_of(train_csv);
  const std::size_t expected = c.steps > 0 ? c.steps : c.epochs * (kTrain / c.batch_size);
  ASSERT_EQ(cli.size(), expected);
  ASSERT_EQ(r.loss.size(), expected);
  for (std::size_t i = 0; i < expected; ++i)
    ASSERT_EQ(g9(r.loss[i]) + "," + g9(r.lr[i]), cli[i]) << "step " << i << " (" << c.name << ")";
}

// The engine in process against the library's loop set up by hand with the convention written
// in trainer.hpp: bit-identical losses.
TEST_P(SameRun, EngineIsTheLibraryLoopBitForBit) {
  const Case c = GetParam();
  const auto splits = data::load_fashion_mnist(data());
  const RunSpec spec = spec_of(c);
  const RunResult r = train(spec, splits.train, splits.test);

  nn::Mlp<float> model(spec.model);
  Rng rng(kSeed);
  model.init(rng);
  auto optimizer = optim::make_optimizer<float>(spec.optimizer);
  const optim::Schedule schedule(spec.schedule);
  struct Losses : catapult::train::Observer {
    std::vector<double> loss;
    void on_step(const catapult::train::StepInfo& s) override { loss.push_back(s.loss); }
  } losses;
  catapult::train::Observer* obs[] = {&losses};
  const auto lr = catapult::train::train(model, *optimizer, schedule, splits.train, &splits.test,
                                         train_config(spec, kTrain), obs);
  ASSERT_EQ(lr.status, catapult::train::TrainStatus::Completed);
  EXPECT_EQ(r.loss, losses.loss);
  EXPECT_EQ(r.test_accuracy, lr.test_accuracy);
}

INSTANTIATE_TEST_SUITE_P(Configurations, SameRun,
                         ::testing::Values(Case{"sgd_minibatch", 32, 3, 0, "sgd"},
                                           Case{"adagrad_minibatch", 32, 0, 20, "adagrad"},
                                           Case{"gd_full_batch", 300, 0, 15, "sgd"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace catapult::app::reproduce
