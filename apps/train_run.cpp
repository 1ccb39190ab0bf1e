// One training run as `catapult train` does it (see train_run.hpp).
#include "train_run.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/data/fetch.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"
#include "catapult/train/checkpoint.hpp"
#include "catapult/train/npz.hpp"
#include "catapult/train/observers.hpp"

namespace catapult::app {
namespace {

// The configuration a checkpoint was written with must be this run's, except for where the files
// are, the thread count and how long the run goes on. Throws InvalidArgument naming the first key
// that differs.
void check_resume_config(const std::string& resume_path, const std::string& stored,
                         const std::string& current) {
  auto normalize = [](const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return nlohmann::json();
    for (const char* key : {"out_dir", "data_dir", "threads"}) j.erase(key);
    if (j.contains("train")) {
      j["train"].erase("steps");
      j["train"].erase("epochs");
    }
    return j;
  };
  const auto a = normalize(stored), b = normalize(current);
  if (a.is_null())
    throw DataError(str_cat(resume_path, ": the checkpoint's configuration is not valid JSON"));
  if (a == b) return;
  const auto patch = nlohmann::json::diff(a, b);
  const std::string path = patch.empty() ? "" : patch[0].value("path", "");
  const auto pointer = nlohmann::json::json_pointer(path);
  throw InvalidArgument(
      str_cat("train: --resume ", resume_path,
              ": the checkpoint was written by a run with another configuration (", path, ": ",
              a.contains(pointer) ? a.at(pointer).dump() : "absent", " there, ",
              b.contains(pointer) ? b.at(pointer).dump() : "absent", " here)"));
}

// Reads the checkpoint to resume from; a damaged one is refused, pointing at the previous one.
train::Checkpoint read_resume_checkpoint(const std::filesystem::path& path) {
  try {
    return train::read_checkpoint(path);
  } catch (const DataError& e) {
    const auto prev = train::previous_checkpoint_path(path);
    if (!std::filesystem::exists(prev)) throw;
    throw DataError(str_cat(e.what(),
                            "; the previous checkpoint is kept: resume from it with "
                            "--resume ",
                            prev.string()));
  }
}

}  // namespace

train::RunConfig default_run_config() {
  train::RunConfig c;
  c.schedule.lr = 0.1;
  return c;
}

data::Splits load_run_data(const train::RunConfig& c) {
  return c.dataset == "mnist"
             ? data::load_mnist(c.data_dir.empty() ? data::default_mnist_dir()
                                                   : std::filesystem::path(c.data_dir))
             : data::load_fashion_mnist(c.data_dir.empty()
                                            ? std::filesystem::path(data::kFashionMnistDir)
                                            : std::filesystem::path(c.data_dir));
}

train::TrainResult run_training(const train::RunConfig& c, const TrainRunOptions& options) {
  const std::string config_json = train::to_json(c);
  // Build everything that validates the configuration before the data is loaded.
  nn::Mlp<float> model(c.model);
  auto optimizer = optim::make_optimizer<float>(c.optimizer);
  optim::Schedule schedule(c.schedule);
  const std::unique_ptr<train::Controller> controller = train::make_controller(c);
  if (c.train.batch_size == 0) throw InvalidArgument("train: --batch 0");
  if (options.log_every == 0) throw InvalidArgument("train: --log-every 0");
  std::filesystem::path checkpoint_path = options.checkpoint;
  if (checkpoint_path.empty() && !c.out_dir.empty())
    checkpoint_path = std::filesystem::path(c.out_dir) / "checkpoint.ckpt";
  if (options.checkpoint_every > 0 && checkpoint_path.empty())
    throw InvalidArgument(str_cat("train: --checkpoint-every ", options.checkpoint_every,
                                  " needs --checkpoint PATH or --out DIR"));
  std::optional<train::Checkpoint> resume_from;
  if (!options.resume.empty()) {
    resume_from = read_resume_checkpoint(options.resume);
    check_resume_config(options.resume.string(), resume_from->text("config"), config_json);
  }
  std::unique_ptr<ThreadLimit> limit;
  if (c.threads > 0) limit = std::make_unique<ThreadLimit>(c.threads);

  std::optional<data::Splits> loaded;
  if (options.data == nullptr) loaded = load_run_data(c);
  const data::Splits& splits = options.data != nullptr ? *options.data : *loaded;
  Rng rng(c.init_seed);
  model.init(rng);
  // The hooks whose state checkpoints hold: the controller (its measurements and the schedule
  // it set), so a resumed run continues exactly.
  train::CheckpointedHooks stateful;
  if (controller) stateful.controllers.push_back(controller.get());
  std::optional<train::ResumePoint> resume_point;
  if (resume_from)
    resume_point = train::restore_training_checkpoint(*resume_from, model, *optimizer, c.train,
                                                      splits.train.size(), stateful);
  const std::uint64_t resume_step = resume_point ? resume_point->step : 0;

  std::vector<std::unique_ptr<train::Observer>> owned;
  if (options.progress != nullptr)
    owned.push_back(std::make_unique<train::ProgressObserver>(*options.progress, options.tty));
  std::filesystem::path out;
  train::CsvLogger* csv = nullptr;
  if (!c.out_dir.empty()) {
    out = c.out_dir;
    std::filesystem::create_directories(out);
    std::ofstream config_out(out / "config.json");
    config_out << config_json << '\n';
    if (!config_out.flush())
      throw IoError(str_cat("train: cannot write ", (out / "config.json").string()));
    auto logger = std::make_unique<train::CsvLogger>(out / "steps.csv", out / "evals.csv",
                                                     options.log_every, resume_step);
    csv = logger.get();
    owned.push_back(std::move(logger));
    owned.push_back(std::make_unique<train::JsonSummary>(
        out / "summary.json", config_json,
        resume_point ? resume_point->evals : std::vector<train::EvalInfo>{}));
  }
  std::vector<train::Controller*> controllers;
  if (controller) controllers.push_back(controller.get());
  if (options.checkpoint_every > 0) {
    // The logs are flushed before each checkpoint, so after a kill they cover every step the
    // checkpoint holds (a resumed run drops the rows written after it).
    auto checkpoints = std::make_unique<train::CheckpointObserver>(
        checkpoint_path, options.checkpoint_every, c.train, splits.train.size(), config_json,
        [csv] {
          if (csv != nullptr) csv->flush();
        },
        resume_point ? &*resume_point : nullptr);
    // Written after the controller acted: the last controller of the run.
    checkpoints->set_hooks(stateful);
    controllers.push_back(checkpoints.get());
    owned.push_back(std::move(checkpoints));
  }
  std::vector<train::Observer*> observers;
  observers.reserve(owned.size());
  for (auto& o : owned) observers.push_back(o.get());
  observers.insert(observers.end(), options.observers.begin(), options.observers.end());
  if (options.progress != nullptr) {
    auto& p = *options.progress;
    p << "model: " << model.num_params() << " parameters, widths";
    for (auto w : c.model.widths) p << ' ' << w;
    p << "; optimizer " << optimizer->name() << "; schedule " << optim::to_string(c.schedule.kind)
      << "; threads " << max_threads() << '\n';
    if (resume_point)
      p << "resumed from " << options.resume.string() << " after step " << resume_step << '\n';
  }
  const train::TrainResult r =
      train::train(model, *optimizer, schedule, splits.train, &splits.test, c.train,
                   train::Hooks{observers, controllers, options.reducer},
                   resume_point ? &*resume_point : nullptr);
  owned.clear();  // flush and close the logs
  if (!out.empty() && r.status != train::TrainStatus::Diverged)
    train::export_weights_npz(model, out / "weights.npz");
  if (const auto* peak = dynamic_cast<const train::CriticalPeakController*>(controller.get());
      peak != nullptr && !out.empty()) {
    // η_crit at the start and every re-measurement (those before a resume included), exactly.
    auto row = [](std::uint64_t step, double eta, double peak_lr) {
      char line[96];
      std::snprintf(line, sizeof line, "%llu,%.17g,%.17g\n", static_cast<unsigned long long>(step),
                    eta, peak_lr);
      return std::string(line);
    };
    std::string text = "step,eta_crit,peak_lr\n";
    text += row(0, peak->initial_critical_rate(),
                std::max(c.schedule.lr,
                         c.controller.critical_peak.peak_factor * peak->initial_critical_rate()));
    for (const auto& m : peak->measurements()) text += row(m.step, m.eta_crit, m.peak);
    train::write_file_atomically(out / "critical_peak.csv", text);
  }
  return r;
}

}  // namespace catapult::app
