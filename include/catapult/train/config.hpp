#pragma once
/// @file A whole training run's configuration (model, loss, optimizer, schedule, loop, paths),
/// read from and written to JSON. Every key is optional; unknown keys are errors. Layout:
///   {"model":     {"widths": [784, 256, 10], "hidden_activation": "relu",
///                  "output_activation": "identity", "bias": true, "parameterization": "standard"},
///    "loss":      {"kind": "mse", "reduction": "mean", "target_on": 1.0, "target_off": 0.0},
///    "optimizer": {"kind": "sgd", "momentum": 0, "dampening": 0, "nesterov": false,
///                  "weight_decay": 0, "eps": 1e-10, "beta1": 0.9, "beta2": 0.999,
///                  "initial_accumulator_value": 0, "lr_decay": 0},
///    "schedule":  {"kind": "cyclic", "lr": 0.01, "max_lr": 0.5, "step_size_up": 200,
///                  "step_size_down": 200, "mode": "triangular", "gamma": 0.999,
///                  "step_size": 1000, "step_gamma": 0.1, "total_steps": 0, "min_lr": 0,
///                  "warmup_steps": 0, "warmup_start_factor": 0.333,
///                  "peak_multiple_of_critical": 4.0, "base_multiple_of_critical": 0.5},
///    "train":     {"batch_size": 128, "epochs": 1, "steps": 0, "eval_every": 0, "seed": 0,
///                  "shuffle": true, "drop_last": false, "eval_batch_size": 1000},
///    "controller": {"kind": "critical_peak", "peak_factor": 3.0, "every": 0, "samples": 64,
///                   "tolerance": 0.001, "max_restarts": 100, "only_lower": true,
///                   "max_peak": null},
///    "data_dir": "", "dataset": "mnist", "out_dir": "", "threads": 0, "init_seed": 0}
/// "controller" (default kind "none") adds a train::CriticalPeakController to the run: the
/// cyclic schedule's peak held at peak_factor·η_crit, η_crit measured at the start and again
/// every `every` steps (0: once per cycle, step_size_up + step_size_down) on the first `samples`
/// training samples, never above max_peak (null: no ceiling). It needs the MSE loss and a
/// cyclic schedule.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"
#include "catapult/train/controllers.hpp"
#include "catapult/train/trainer.hpp"

namespace catapult::train {

/// The run's controller (see the file comment); none by default.
struct ControllerConfig {
  enum class Kind : unsigned char { None, CriticalPeak };
  Kind kind = Kind::None;
  /// For CriticalPeak; `every` 0 means once per cycle of the cyclic schedule.
  CriticalPeakOptions critical_peak{.every = 0};
};

struct RunConfig {
  nn::MlpConfig model{{784, 256, 10}};
  optim::OptimizerConfig optimizer;
  optim::ScheduleConfig schedule;
  TrainConfig train;
  std::string data_dir;           ///< where the dataset's files are ("" = the default cache)
  std::string dataset = "mnist";  ///< "mnist" or "fashion-mnist"
  std::string out_dir;            ///< where logs, summary and weights go ("" = none)
  std::size_t threads = 0;        ///< 0 = all
  std::uint64_t init_seed = 0;    ///< seed of the parameter initialisation
  ControllerConfig controller;
};

/// The controller config.controller describes (null for kind None), its `every` resolved from
/// the schedule's cycle when 0. Throws InvalidArgument for a critical-peak controller on a
/// schedule that is not cyclic or a loss that is not MSE, or bad options.
[[nodiscard]] std::unique_ptr<Controller> make_controller(const RunConfig& config);

/// Applies the keys present in a JSON document onto config (so defaults and CLI flags compose).
/// Throws InvalidArgument naming the key and value for malformed JSON, an unknown key, a value
/// of the wrong type or an unknown enumerator.
void apply_json(RunConfig& config, std::string_view json);

/// The full configuration as a JSON document (every key, layout of the file comment).
[[nodiscard]] std::string to_json(const RunConfig& config);

}  // namespace catapult::train
