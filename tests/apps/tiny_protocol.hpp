#pragma once
// The tiny reproduction protocol of the reproduce tests: every experiment in a few hundred steps
// of small networks on a synthetic set.
#include <cstddef>
#include <nlohmann/json.hpp>

namespace catapult::app::reproduce {

// A tiny protocol: `dim`-dimensional data, `classes` classes, small nets, few steps.
inline nlohmann::json tiny_protocol(std::size_t dim, std::size_t classes) {
  auto p = nlohmann::json::parse(R"({
    "protocol": "tiny", "label": "tiny test protocol", "summary": "unit test",
    "data": {"train_size": 96, "test_size": 48, "subset_seed": 1},
    "model": {"widths": [16, 24, 3], "activation": "relu"},
    "loss": {"kind": "mse", "reduction": "mean"},
    "critical": {"samples": 16, "tolerance": 1e-3, "max_iterations": 50, "adagrad_filled_ratio": 10},
    "detector": {"rise_factor": 1.5, "return_factor": 1.2, "baseline_window": 50, "smoothing": 0.5,
                 "max_duration": 500, "noise_window": 20, "noise_margin": 10.0, "return_margin": 2.0},
    "table": {"seeds": [0, 1], "epochs": 2, "batch_size": 16, "sgd_lr_fraction": 0.5,
              "catapult": {"mode": "triangular", "peak_factor": 3.0, "step_size": 3, "remeasure": true},
              "adagrad_lr": 0.01,
              "adagrad_catapult": {"mode": "triangular", "peak_multiple_of_base": 8.0, "step_size": 3},
              "adam_lr": 0.001},
    "dynamics": {"seed": 0, "train_size": 32, "batch_size": 32, "steps": 20, "lambda_every": 5,
                 "schedules": [{"name": "cyclic", "mode": "triangular", "base_fraction": 0.5,
                                "peak_factor": 3.0, "step_size": 5},
                               {"name": "cyclic_exp", "mode": "exp_range", "base_fraction": 0.5,
                                "peak_factor": 3.0, "step_size": 5, "gamma": 0.99}]},
    "ntk": {"seeds": [0, 1], "train_size": 24, "widths": [16, 8, 3], "steps": 20, "track_every": 5, "top_k": 4,
            "schedule": {"mode": "triangular", "base_fraction": 0.5, "peak_factor": 1.5, "step_size": 5}},
    "adagrad": {"seeds": [0, 1], "train_size": 64, "batch_size": 16, "epochs": 2, "base_lr": 0.01,
                "peak_multiple_of_base": 8.0, "measure_step": 2, "step_size": 3, "stats_every": 1,
                "lambda_every": 4, "eval_every": 4},
    "beyond": {"seed": 0, "train_size": 64, "epochs": 1, "batch_sizes": [8, 32], "peak_factor": 3.0,
               "base_fraction": 0.5, "cycles_per_epoch": 1,
               "agop": {"samples": 20, "points": 3, "batch_size": 16, "reference_lr": 0.01,
                        "reference_batch_size": 16, "reference_epochs": 2, "reference_seed": 7}},
    "phase_map": {"seeds": [0, 1, 2], "batch_sizes": [16], "modes": ["triangular"],
                  "peak_factors": [0.5, 4.0], "epochs": 2, "step_size": 3, "base_fraction": 0.5,
                  "adagrad": {"base_lr": 0.01, "mode": "triangular", "multiples_of_base": [2, 8],
                              "multiples_of_critical": [2], "measure_at": 0.5,
                              "rule_early_fraction": 0.5},
                  "control": {"subcritical_factor": 0.9, "measurements_per_cycle": 2},
                  "rule": {"min_catapults_per_cycle": 0.1, "min_seed_fraction": 0.66},
                  "classifier": {"collapse_fraction": 0.9, "collapse_ceiling": 1.5, "tail": 5}},
    "calibrate": {"seeds": [0, 1], "batch_sizes": [16, 32], "epochs": 2, "lr_fraction": 0.5,
                  "noise_margins": [0, 8]}
  })");
  p["model"]["widths"] = {dim, 24, classes};
  p["ntk"]["widths"] = {dim, 8, classes};
  return p;
}

}  // namespace catapult::app::reproduce
