// Run configuration: JSON in, JSON out, errors naming the key.
#include "catapult/train/config.hpp"

#include <gtest/gtest.h>

#include <cmath>
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

TEST(RunConfig, ControllerObjectRoundTripsAndBuildsTheController) {
  RunConfig c;
  EXPECT_EQ(make_controller(c), nullptr);  // none by default
  apply_json(c, R"({"loss": {"kind": "mse"},
    "schedule": {"kind": "cyclic", "lr": 0.01, "max_lr": 0.1, "step_size_up": 30,
                 "step_size_down": 20},
    "controller": {"kind": "critical_peak", "peak_factor": 0.9, "samples": 48,
                   "tolerance": 1e-5, "max_restarts": 7, "only_lower": false, "max_peak": 0.2}})");
  RunConfig d;
  apply_json(d, to_json(c));
  EXPECT_EQ(to_json(d), to_json(c));
  const auto ctl = make_controller(d);
  const auto* peak = dynamic_cast<const CriticalPeakController*>(ctl.get());
  ASSERT_NE(peak, nullptr);
  EXPECT_EQ(peak->options().peak_factor, 0.9);
  EXPECT_EQ(peak->options().every, 50U);  // 0: one cycle, 30 up + 20 down
  EXPECT_EQ(peak->options().samples, 48U);
  EXPECT_EQ(peak->options().tolerance, 1e-5);
  EXPECT_EQ(peak->options().max_restarts, 7U);
  EXPECT_FALSE(peak->options().only_lower);
  EXPECT_EQ(peak->options().max_peak, 0.2);
  apply_json(d, R"({"controller": {"every": 9, "max_peak": null}})");
  const auto ctl2 = make_controller(d);
  const auto* peak2 = dynamic_cast<const CriticalPeakController*>(ctl2.get());
  EXPECT_EQ(peak2->options().every, 9U);
  EXPECT_TRUE(std::isinf(peak2->options().max_peak));
  // What it cannot control, and bad values.
  RunConfig e = d;
  apply_json(e, R"({"schedule": {"kind": "constant"}})");
  EXPECT_THROW((void)make_controller(e), InvalidArgument);
  e = d;
  apply_json(e, R"({"loss": {"kind": "cross_entropy"}})");
  EXPECT_THROW((void)make_controller(e), InvalidArgument);
  e = d;
  EXPECT_THROW(apply_json(e, R"({"controller": {"kind": "pid"}})"), InvalidArgument);
  EXPECT_THROW(apply_json(e, R"({"controller": {"peak": 2}})"), InvalidArgument);
  apply_json(e, R"({"controller": {"peak_factor": -1}})");
  EXPECT_THROW((void)make_controller(e), InvalidArgument);
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
