// Run configuration: JSON in, JSON out, errors naming the key.
#include "catapult/train/config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "catapult/core/error.hpp"

namespace catapult::train {
namespace {

TEST(RunConfig, AppliesJsonAndRoundTrips) {
  RunConfig c;
  apply_json(c, R"({
    "model": {"widths": [784, 512, 10], "hidden_activation": "tanh", "parameterization": "ntk",
              "bias": false},
    "loss": {"kind": "mse", "reduction": "sum"},
    "optimizer": {"kind": "adamw", "beta2": 0.99},
    "schedule": {"kind": "cyclic", "lr": 0.01, "max_lr": 0.5, "step_size_up": 100,
                 "mode": "exp_range", "gamma": 0.999, "peak_multiple_of_critical": 4},
    "train": {"batch_size": 64, "epochs": 3, "eval_every": 100, "seed": 9},
    "threads": 2, "out_dir": "runs/x"})");
  EXPECT_EQ(c.model.widths, (std::vector<std::size_t>{784, 512, 10}));
  EXPECT_EQ(c.model.hidden_activation, kernels::Activation::Tanh);
  EXPECT_EQ(c.model.parameterization, nn::Parameterization::Ntk);
  EXPECT_FALSE(c.model.bias);
  EXPECT_EQ(c.train.loss.reduction, nn::MseReduction::Sum);
  EXPECT_EQ(c.optimizer.kind, optim::OptimizerKind::AdamW);
  EXPECT_EQ(c.optimizer.weight_decay, 0.01);  // AdamW's default when unset
  EXPECT_EQ(c.optimizer.beta2, 0.99);
  EXPECT_EQ(c.schedule.mode, optim::CyclicMode::ExpRange);
  EXPECT_EQ(c.schedule.step_size_up, 100u);
  EXPECT_EQ(*c.schedule.peak_multiple_of_critical, 4.0);
  EXPECT_EQ(c.train.batch_size, 64u);
  EXPECT_EQ(c.train.seed, 9u);
  EXPECT_EQ(c.threads, 2u);
  RunConfig d;
  apply_json(d, to_json(c));
  EXPECT_EQ(to_json(d), to_json(c));
}

TEST(RunConfig, ErrorsNameTheKeyAndValue) {
  RunConfig c;
  auto message = [&](const std::string& json) {
    try {
      apply_json(c, json);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"modle": {}})").find("modle"), std::string::npos);
  EXPECT_NE(message(R"({"train": {"batch": 3}})").find("train.batch"), std::string::npos);
  EXPECT_NE(message(R"({"optimizer": {"kind": "rmsprop"}})").find("rmsprop"), std::string::npos);
  EXPECT_NE(message(R"({"train": {"epochs": -1}})").find("epochs"), std::string::npos);
  EXPECT_NE(message(R"({"train": {"epochs": "two"}})").find("epochs"), std::string::npos);
  EXPECT_NE(message("{oops").find("JSON"), std::string::npos);
}

}  // namespace
}  // namespace catapult::train
