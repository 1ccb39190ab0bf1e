#pragma once
/// @file Ready-made observers: CSV logs, a JSON summary, a progress display. None prints to the
/// terminal by itself: the progress observer writes to the std::ostream it is given.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iosfwd>
#include <string>
#include <vector>

#include "catapult/train/trainer.hpp"

namespace catapult::train {

/// Writes two CSV files, flushed at every evaluation and at the end (so a diverged or killed run
/// keeps its log):
///   steps file:  step,epoch,loss,lr,grad_norm          (one row per logged step)
///   evals file:  step,epoch,train_loss,test_loss,test_accuracy
/// Numbers are written with 9 significant digits (%.9g); NaN as "nan".
class CsvLogger final : public Observer {
 public:
  /// Opens (truncates) both files; log_every > 1 keeps every log_every-th step only.
  /// resume_step > 0 continues the logs of a run resumed after that many steps instead: the
  /// files' rows for steps ≥ resume_step (written after its checkpoint, possibly cut short by a
  /// kill) are dropped and new rows appended, so the logs read as if the run was never stopped.
  /// Throws IoError naming a path that cannot be opened, InvalidArgument for log_every 0.
  CsvLogger(const std::filesystem::path& steps_path, const std::filesystem::path& evals_path,
            std::uint64_t log_every = 1, std::uint64_t resume_step = 0);
  void on_step(const StepInfo& info) override;
  void on_eval(const EvalInfo& info) override;
  /// Flushes; throws IoError if a write failed (e.g. no space left on the device).
  void on_end(const TrainResult& result) override;
  [[nodiscard]] bool needs_gradient() const override { return false; }
  /// Writes the buffered rows to the files; throws IoError naming the file if a write failed.
  void flush();

 private:
  std::filesystem::path steps_path_;
  std::filesystem::path evals_path_;
  std::ofstream steps_;
  std::ofstream evals_;
  std::uint64_t log_every_;
};

/// Keeps the evaluations and writes one JSON file at the end:
///   {"status", "message", "steps", "epochs", "seconds", "last_loss", "test_loss",
///    "test_accuracy", "num_params", "evals": [{"step", "epoch", "train_loss", "test_loss",
///    "test_accuracy"}, …], "config": <config_json as given>}
/// Non-finite numbers are written as null.
class JsonSummary final : public Observer {
 public:
  /// config_json: the run's configuration as a JSON document (embedded as is; "" for none).
  /// earlier_evals: the evaluations of a resumed run made before it was resumed
  /// (ResumePoint::evals), listed before the new ones so the summary covers the whole run.
  /// Throws InvalidArgument if config_json is not valid JSON.
  JsonSummary(std::filesystem::path path, std::string config_json = "",
              std::vector<EvalInfo> earlier_evals = {});
  void on_start(const RunInfo& info) override;
  void on_eval(const EvalInfo& info) override;
  /// Writes the file; throws IoError if it cannot be written.
  void on_end(const TrainResult& result) override;
  [[nodiscard]] bool needs_gradient() const override { return false; }

 private:
  std::filesystem::path path_;
  std::string config_json_;
  std::size_t num_params_ = 0;
  std::vector<EvalInfo> evals_;
};

/// Progress on a stream. On a terminal (tty = true) one line redrawn with '\r':
///   [=========>          ] 45%  step 450/1000  epoch 1  loss 0.01234  lr 0.1
/// otherwise plain lines every `every` steps. Evaluations and the final status are printed as
/// lines in both modes.
class ProgressObserver final : public Observer {
 public:
  /// every: steps between plain lines (0: about 20 lines per run). The stream must outlive this.
  ProgressObserver(std::ostream& out, bool tty, std::uint64_t every = 0);
  void on_start(const RunInfo& info) override;
  void on_step(const StepInfo& info) override;
  void on_eval(const EvalInfo& info) override;
  void on_end(const TrainResult& result) override;
  [[nodiscard]] bool needs_gradient() const override { return false; }

 private:
  std::ostream& out_;
  bool tty_;
  std::uint64_t every_;
  std::uint64_t total_ = 0;
  bool line_open_ = false;
};

}  // namespace catapult::train
