// `catapult train`: train an MLP on MNIST (or Fashion-MNIST) from a JSON config and/or flags;
// writes a CSV log, a JSON summary and the weights (.npz) to --out.
// Under mpirun (catapult/dist/data_parallel.hpp): data-parallel, every rank computes its shard of
// every global batch of --batch rows, the gradients are summed with MPI_Allreduce and every rank
// takes the same step; rank 0 writes the logs, weights and checkpoints, every rank resumes from
// --resume (a file every rank can read).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"
#include "catapult/train/checkpoint.hpp"
#include "catapult/train/config.hpp"
#include "catapult/train/npz.hpp"
#include "catapult/train/observers.hpp"
#include "catapult/train/trainer.hpp"
#include "command.hpp"
#include "train_run.hpp"
#ifdef CATAPULT_HAVE_MPI
#include "catapult/dist/data_parallel.hpp"
#include "catapult/dist/mpi.hpp"
#endif

namespace catapult::app {
namespace {

// Every flag, bound to a plain variable; a flag overrides the config file only when given.
struct TrainArgs {
  std::string config_file, data_dir, dataset, out;
  std::vector<std::size_t> widths;
  std::string activation, output_activation, parameterization, loss, reduction;
  bool no_bias = false;
  double target_on = 1, target_off = 0;
  std::string optimizer;
  double momentum = 0, dampening = 0, weight_decay = 0, eps = 0, beta1 = 0, beta2 = 0;
  double initial_accumulator_value = 0, lr_decay = 0;
  bool nesterov = false;
  std::string schedule, cyclic_mode;
  double lr = 0, max_lr = 0, gamma = 0, step_gamma = 0, min_lr = 0, warmup_start_factor = 0;
  std::uint64_t step_size_up = 0, step_size_down = 0, step_size = 0, total_steps = 0;
  std::uint64_t warmup_steps = 0;
  double peak_multiple = 0, base_multiple = 0, critical_lr = 0;
  std::size_t batch = 0, epochs = 0, eval_batch = 0, threads = 0;
  std::uint64_t steps = 0, eval_every = 0, seed = 0, init_seed = 0, log_every = 1;
  bool dump_config = false;
  std::string checkpoint, resume;
  std::uint64_t checkpoint_every = 0;
  std::uint64_t check_every = 50;  // data-parallel: compare the ranks' parameters every N steps
};

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw IoError(str_cat("train: cannot read config '", path, "'"));
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The run configuration: defaults, then the config file, then the flags that were given.
train::RunConfig build_config(const TrainArgs& a, const CLI::App& cmd) {
  train::RunConfig c = default_run_config();
  if (!a.config_file.empty()) train::apply_json(c, read_file(a.config_file));
  auto given = [&](const char* name) { return cmd.count(name) > 0; };
  if (given("--data-dir")) c.data_dir = a.data_dir;
  if (given("--dataset")) c.dataset = a.dataset;
  if (given("--out")) c.out_dir = a.out;
  if (given("--widths")) c.model.widths = a.widths;
  if (given("--activation")) c.model.hidden_activation = nn::parse_activation(a.activation);
  if (given("--output-activation"))
    c.model.output_activation = nn::parse_activation(a.output_activation);
  if (given("--no-bias")) c.model.bias = false;
  if (given("--parameterization"))
    c.model.parameterization = nn::parse_parameterization(a.parameterization);
  if (given("--loss")) c.train.loss.kind = nn::parse_loss_kind(a.loss);
  if (given("--mse-reduction")) c.train.loss.reduction = nn::parse_mse_reduction(a.reduction);
  if (given("--target-on")) c.train.loss.target_on = a.target_on;
  if (given("--target-off")) c.train.loss.target_off = a.target_off;
  auto& o = c.optimizer;
  if (given("--optimizer")) {
    o.kind = optim::parse_optimizer_kind(a.optimizer);
    if (o.kind == optim::OptimizerKind::AdamW && !given("--weight-decay")) o.weight_decay = 0.01;
  }
  if (given("--momentum")) o.momentum = a.momentum;
  if (given("--dampening")) o.dampening = a.dampening;
  if (given("--nesterov")) o.nesterov = a.nesterov;
  if (given("--weight-decay")) o.weight_decay = a.weight_decay;
  if (given("--eps")) o.eps = a.eps;
  if (given("--beta1")) o.beta1 = a.beta1;
  if (given("--beta2")) o.beta2 = a.beta2;
  if (given("--initial-accumulator-value"))
    o.initial_accumulator_value = a.initial_accumulator_value;
  if (given("--lr-decay")) o.lr_decay = a.lr_decay;
  auto& s = c.schedule;
  if (given("--schedule")) s.kind = optim::parse_schedule_kind(a.schedule);
  if (given("--lr")) s.lr = a.lr;
  if (given("--max-lr")) s.max_lr = a.max_lr;
  if (given("--step-size-up")) s.step_size_up = a.step_size_up;
  if (given("--step-size-down")) s.step_size_down = a.step_size_down;
  if (given("--cyclic-mode")) s.mode = optim::parse_cyclic_mode(a.cyclic_mode);
  if (given("--gamma")) s.cyclic_gamma = a.gamma;
  if (given("--step-size")) s.step_size = a.step_size;
  if (given("--step-gamma")) s.step_gamma = a.step_gamma;
  if (given("--total-steps")) s.total_steps = a.total_steps;
  if (given("--min-lr")) s.min_lr = a.min_lr;
  if (given("--warmup-steps")) s.warmup_steps = a.warmup_steps;
  if (given("--warmup-start-factor")) s.warmup_start_factor = a.warmup_start_factor;
  if (given("--peak-multiple-of-critical")) s.peak_multiple_of_critical = a.peak_multiple;
  if (given("--base-multiple-of-critical")) s.base_multiple_of_critical = a.base_multiple;
  auto& t = c.train;
  if (given("--batch")) t.batch_size = a.batch;
  if (given("--epochs")) t.epochs = a.epochs;
  if (given("--steps")) t.steps = a.steps;
  if (given("--eval-every")) t.eval_every = a.eval_every;
  if (given("--seed")) t.seed = a.seed;
  if (given("--eval-batch")) t.eval_batch_size = a.eval_batch;
  if (given("--init-seed")) c.init_seed = a.init_seed;
  if (given("--threads")) c.threads = a.threads;
  if (given("--critical-lr")) {
    if (!s.peak_multiple_of_critical && !s.base_multiple_of_critical)
      throw InvalidArgument("train: --critical-lr given but no *_multiple_of_critical is set");
    s = optim::resolve_critical(s, a.critical_lr);
  }
  if (s.peak_multiple_of_critical || s.base_multiple_of_critical)
    throw InvalidArgument(
        "train: the schedule is given as a multiple of the critical rate; pass --critical-lr "
        "(2/λmax, measured by the ntk module)");
  if (c.dataset != "mnist" && c.dataset != "fashion-mnist")
    throw InvalidArgument(
        str_cat("train: unknown dataset '", c.dataset, "' (expected mnist or fashion-mnist)"));
  return c;
}

#ifdef CATAPULT_HAVE_MPI
// At the end of a data-parallel run: the ranks' final parameters must have the same bits (the
// reducer checks every --check-every steps while the run goes).
class FinalCheck final : public train::Observer {
 public:
  explicit FinalCheck(dist::DataParallel& dp) : dp_(&dp) {}
  void on_step(const train::StepInfo& info) override { model_ = &info.model; }
  [[nodiscard]] bool needs_gradient() const override { return false; }
  void on_end(const train::TrainResult& result) override {
    if (model_ != nullptr) dp_->check(result.steps, {model_->params(), model_->num_params()});
  }

 private:
  dist::DataParallel* dp_;
  const nn::Mlp<float>* model_ = nullptr;
};

// `catapult train` on more than one rank.
void run_train_data_parallel(const TrainArgs& args, const CLI::App& cmd) {
  const int rank = dist::rank(), nranks = dist::size();
  train::RunConfig c;
  dist::collectively("", [&] {
    c = build_config(args, cmd);
    if (cmd.count("--checkpoint-every") > 0 && args.checkpoint_every == 0)
      throw InvalidArgument("train: --checkpoint-every 0 (must be >= 1)");
    if (args.check_every == 0) throw InvalidArgument("train: --check-every 0 (must be >= 1)");
    if (!args.resume.empty() && !std::filesystem::exists(args.resume))
      throw IoError(str_cat("train: --resume ", args.resume, ": no such file on this rank"));
  });
  if (args.dump_config) {
    if (rank == 0) std::printf("%s\n", train::to_json(c).c_str());
    return;
  }
  // The ranks must train the same run: the configuration (less the thread count) and the options.
  train::RunConfig same = c;
  same.threads = 0;
  dist::require_same("train: the run configuration and options",
                     str_cat(train::to_json(same), '\n', args.checkpoint, '\n', args.resume, '\n',
                             args.checkpoint_every, '\n', args.log_every, '\n', args.check_every));
  if (c.train.batch_size < static_cast<std::size_t>(nranks))
    throw dist::CollectiveError(
        str_cat("train: a batch of ", c.train.batch_size, " samples over ", nranks,
                " ranks: every rank needs at least one sample of every batch (--batch >= ", nranks,
                ")"),
        true);
  if (c.threads == 0) c.threads = dist::layout().threads;
  dist::DataParallel dp(args.check_every);
  FinalCheck final_check(dp);
  TrainRunOptions options;
  options.log_every = args.log_every;
  options.resume = args.resume;
  options.reducer = &dp;
  options.observers = {&final_check};
  if (rank == 0) {  // rank 0 writes the files and the progress
    options.checkpoint_every = args.checkpoint_every;
    options.checkpoint = args.checkpoint;
    options.progress = &std::cout;
    options.tty = isatty(fileno(stdout)) != 0;
    std::cout << "data-parallel: " << nranks << " ranks, global batch " << c.train.batch_size
              << " (about " << c.train.batch_size / static_cast<std::size_t>(nranks)
              << " samples per rank), " << c.threads
              << " threads per rank; parameters compared every " << args.check_every << " steps\n";
  } else {
    c.out_dir.clear();
  }
  train::TrainResult r;
  dist::collectively("", [&] { r = run_training(c, options); });
  if (r.status == train::TrainStatus::Diverged)
    throw dist::CollectiveError(
        str_cat("train: ", r.message, c.out_dir.empty() ? "" : "; logs kept in ", c.out_dir),
        false);
  if (rank == 0) {
    std::cout << "data-parallel: " << dp.checks() << " parameter checks passed; "
              << dp.allreduce_seconds() << " s in MPI_Allreduce of " << r.seconds
              << " s of training on rank 0\n";
    if (!c.out_dir.empty())
      std::cout << "wrote " << (std::filesystem::path(c.out_dir) / "steps.csv").string()
                << ", evals.csv, summary.json, weights.npz\n";
  }
}
#endif

void run_train(const TrainArgs& args, const CLI::App& cmd) {
#ifdef CATAPULT_HAVE_MPI
  if (dist::size() > 1) {
    run_train_data_parallel(args, cmd);
    return;
  }
#endif
  const train::RunConfig c = build_config(args, cmd);
  if (args.dump_config) {
    std::printf("%s\n", train::to_json(c).c_str());
    return;
  }
  if (cmd.count("--checkpoint-every") > 0 && args.checkpoint_every == 0)
    throw InvalidArgument("train: --checkpoint-every 0 (must be >= 1)");
  TrainRunOptions options;
  options.log_every = args.log_every;
  options.checkpoint_every = args.checkpoint_every;
  options.checkpoint = args.checkpoint;
  options.resume = args.resume;
  options.progress = &std::cout;
  options.tty = isatty(fileno(stdout)) != 0;
  const train::TrainResult r = run_training(c, options);
  if (r.status == train::TrainStatus::Diverged)
    throw RuntimeError(
        str_cat("train: ", r.message, c.out_dir.empty() ? "" : "; logs kept in ", c.out_dir));
  if (!c.out_dir.empty())
    std::cout << "wrote " << (std::filesystem::path(c.out_dir) / "steps.csv").string()
              << ", evals.csv, summary.json, weights.npz\n";
}

const CommandRegistrar kTrain{
    30, [](CLI::App& program) {
      auto a = std::make_shared<TrainArgs>();
      auto* cmd = program.add_subcommand(
          "train",
          "Train an MLP on MNIST: flags override --config; writes logs and weights to --out");
      cmd->add_option("--config", a->config_file, "JSON run configuration (see train/config.hpp)")
          ->check(CLI::ExistingFile);
      cmd->add_option("--data-dir", a->data_dir,
                      "Dataset directory (default: the fetch-data cache)");
      cmd->add_option("--dataset", a->dataset, "mnist or fashion-mnist");
      cmd->add_option("--out", a->out,
                      "Output directory: steps.csv, evals.csv, summary.json, weights.npz");
      cmd->add_option("--widths", a->widths, "Layer widths, e.g. 784,256,10")->delimiter(',');
      cmd->add_option("--activation", a->activation, "Hidden activation: relu, tanh, identity");
      cmd->add_option("--output-activation", a->output_activation, "Output activation");
      cmd->add_flag("--no-bias", a->no_bias, "Layers without bias");
      cmd->add_option("--parameterization", a->parameterization, "standard or ntk");
      cmd->add_option("--loss", a->loss, "mse or cross_entropy");
      cmd->add_option("--mse-reduction", a->reduction,
                      "mean (PyTorch), sum, half_sum, sample_mean, half_sample_mean");
      cmd->add_option("--target-on", a->target_on, "MSE target at the true class");
      cmd->add_option("--target-off", a->target_off, "MSE target elsewhere");
      cmd->add_option("--optimizer", a->optimizer, "sgd, adagrad, adam, adamw");
      cmd->add_option("--momentum", a->momentum, "SGD momentum");
      cmd->add_option("--dampening", a->dampening, "SGD dampening");
      cmd->add_flag("--nesterov", a->nesterov, "SGD Nesterov momentum");
      cmd->add_option("--weight-decay", a->weight_decay, "L2 (AdamW: decoupled) weight decay");
      cmd->add_option("--eps", a->eps, "AdaGrad/Adam epsilon (default 1e-10 / 1e-8)");
      cmd->add_option("--beta1", a->beta1, "Adam beta1");
      cmd->add_option("--beta2", a->beta2, "Adam beta2");
      cmd->add_option("--initial-accumulator-value", a->initial_accumulator_value, "AdaGrad s_0");
      cmd->add_option("--lr-decay", a->lr_decay, "AdaGrad lr decay");
      cmd->add_option("--schedule", a->schedule, "constant, step, cosine, cyclic");
      cmd->add_option("--lr", a->lr, "Base learning rate (cyclic: base_lr; default 0.1)");
      cmd->add_option("--max-lr", a->max_lr, "Cyclic peak rate");
      cmd->add_option("--step-size-up", a->step_size_up, "Cyclic: steps from base to peak");
      cmd->add_option("--step-size-down", a->step_size_down, "Cyclic: steps down (0 = up)");
      cmd->add_option("--cyclic-mode", a->cyclic_mode, "triangular, triangular2, exp_range");
      cmd->add_option("--gamma", a->gamma, "Cyclic exp_range gamma");
      cmd->add_option("--step-size", a->step_size, "Step schedule: steps between decays");
      cmd->add_option("--step-gamma", a->step_gamma, "Step schedule: decay factor");
      cmd->add_option("--total-steps", a->total_steps, "Cosine: period T");
      cmd->add_option("--min-lr", a->min_lr, "Cosine: final rate");
      cmd->add_option("--warmup-steps", a->warmup_steps, "Linear warm-up steps");
      cmd->add_option("--warmup-start-factor", a->warmup_start_factor, "Warm-up start factor");
      cmd->add_option("--peak-multiple-of-critical", a->peak_multiple,
                      "Peak rate as a multiple of the critical rate (needs --critical-lr)");
      cmd->add_option("--base-multiple-of-critical", a->base_multiple,
                      "Cyclic base rate as a multiple of the critical rate");
      cmd->add_option("--critical-lr", a->critical_lr, "Measured critical rate 2/λmax");
      cmd->add_option("--batch", a->batch, "Batch size (default 128)");
      cmd->add_option("--epochs", a->epochs, "Epochs (default 1)");
      cmd->add_option("--steps", a->steps, "Steps (overrides epochs)");
      cmd->add_option("--eval-every", a->eval_every, "Evaluate on the test set every N steps");
      cmd->add_option("--eval-batch", a->eval_batch, "Evaluation chunk size");
      cmd->add_option("--seed", a->seed, "Shuffling seed");
      cmd->add_option("--init-seed", a->init_seed, "Initialisation seed");
      cmd->add_option("--threads", a->threads, "Threads (default: all)");
      cmd->add_option("--log-every", a->log_every, "CSV: log every N-th step (default 1)");
      cmd->add_flag("--dump-config", a->dump_config, "Print the resolved configuration and exit");
      cmd->add_option("--checkpoint-every", a->checkpoint_every,
                      "Write a checkpoint every N steps (atomically; the previous one is kept as "
                      "<path>.prev)");
      cmd->add_option("--checkpoint", a->checkpoint,
                      "Checkpoint file (default: <out>/checkpoint.ckpt)");
      cmd->add_option("--resume", a->resume,
                      "Resume from this checkpoint (same configuration; --steps/--epochs may grow)")
          ->check(CLI::ExistingFile);
      cmd->add_option("--check-every", a->check_every,
                      "Under mpirun: check that the ranks' parameters are bit-identical every N "
                      "steps and at the end (default 50)");
      cmd->callback([a, cmd] { run_train(*a, *cmd); });
    }};

}  // namespace
}  // namespace catapult::app
