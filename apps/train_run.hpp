#pragma once
// One training run as `catapult train` does it, shared with `catapult sweep` (each of its runs):
// the resolved configuration in, the logs, summary, weights and checkpoints out.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "catapult/data/dataset.hpp"
#include "catapult/train/config.hpp"
#include "catapult/train/trainer.hpp"

namespace catapult::app {

/// The configuration `catapult train` starts from before its --config file and flags (the
/// library's defaults with a base learning rate of 0.1).
[[nodiscard]] train::RunConfig default_run_config();

/// Loads the configuration's dataset (c.dataset from c.data_dir or the default location).
[[nodiscard]] data::Splits load_run_data(const train::RunConfig& c);

struct TrainRunOptions {
  std::uint64_t log_every = 1;         ///< CSV: every N-th step (>= 1)
  std::uint64_t checkpoint_every = 0;  ///< 0 = no checkpoints
  std::filesystem::path checkpoint;    ///< "" = <out_dir>/checkpoint.ckpt
  std::filesystem::path resume;        ///< checkpoint to resume from ("" = start fresh)
  const data::Splits* data = nullptr;  ///< the data, loaded by the caller (null: load_run_data)
  std::ostream* progress = nullptr;    ///< progress display (null: none)
  bool tty = false;                    ///< the progress stream is a terminal
  /// Data-parallel training (train/gradient_reducer.hpp; null: this process computes every
  /// batch). Every process of the group calls run_training with the same configuration.
  train::GradientReducer* reducer = nullptr;
  /// More observers (not owned), after the run's own.
  std::vector<train::Observer*> observers;
};

/// Trains c's model: writes config.json, steps.csv, evals.csv and summary.json to c.out_dir (if
/// set), checkpoints when asked, and weights.npz unless the run diverged. Everything that
/// validates the configuration runs before the data is touched. Throws InvalidArgument for a bad
/// configuration or options, or a checkpoint of another configuration (naming the first differing
/// key); DataError for a damaged checkpoint (pointing at <path>.prev when it exists); IoError
/// for files that cannot be written. A diverged run is returned, not thrown.
train::TrainResult run_training(const train::RunConfig& c, const TrainRunOptions& options);

}  // namespace catapult::app
