#pragma once
/// @file The training loop: mini-batch SGD-style training of an Mlp<float> on a labelled dataset,
/// read top to bottom in lib/train/trainer.cpp. Per step t = 0, 1, …:
///   batch ← next b samples of a seeded shuffle, f = model(x), (L, d_out) = loss(f, y),
///   g = J_θᵀ·d_out (Mlp::backward), η = schedule.lr(t), optimizer.step(θ, g, η) — one fused pass
///   (Mlp::backward_update) when no hook reads g (Observer::needs_gradient) and the batch has at
///   most 256 rows (the same parameters either way; see trainer.cpp) — observers.on_step;
///   every eval_every steps the test set is evaluated (observers.on_eval).
/// A non-finite loss, gradient or parameter stops the run with status Diverged; what the
/// observers logged up to there is kept (they are told through on_end).
///
/// This is the repository's only training loop: `catapult train`, every `catapult sweep` point
/// and every `catapult reproduce` experiment run it. Experiments plug in through two hooks:
///   - Observer: sees every event (start, step, evaluation, end) with read-only access;
///   - Controller: may replace the learning-rate schedule before the first step and after any
///     step (e.g. peak = c·η_crit re-measured on a batch every cycle), with read access to the
///     model, the optimizer and the training data.
///
/// Seed convention (the same configuration and seeds give the same run everywhere):
///   - the parameters are initialised by the caller from Rng(init_seed) (nn::Mlp::init), before
///     train() is called; `catapult train` and sweeps take init_seed from the configuration, the
///     reproduction uses its run's seed for both init_seed and TrainConfig::seed;
///   - the data order of epoch e is the shuffle of 0..n−1 drawn from Rng(config.seed).split(e)
///     (identity order when TrainConfig::shuffle is false), so it depends on e alone and a
///     resumed run takes the same batches.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/data/dataset.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"
#include "catapult/train/gradient_reducer.hpp"

namespace catapult::train {

class Checkpoint;  // catapult/train/checkpoint.hpp

/// How a run iterates over the data.
struct TrainConfig {
  std::size_t batch_size = 128;  ///< b > 0; the last batch of an epoch may be smaller
  std::size_t epochs = 1;        ///< passes over the training set (when steps is 0)
  std::uint64_t steps = 0;       ///< if > 0: stop after this many steps (epochs then ignored)
  std::uint64_t eval_every = 0;  ///< evaluate on the test set every this many steps (0: only at
                                 ///< the start and the end)
  std::uint64_t seed = 0;        ///< shuffling seed (epoch e uses Rng(seed).split(e))
  bool shuffle = true;           ///< false: samples in dataset order (for tests)
  bool drop_last = false;        ///< drop the last incomplete batch of each epoch
  std::size_t eval_batch_size = 1000;  ///< chunk size of the evaluation forward passes
  nn::LossConfig loss;                 ///< the loss minimised (and reported on the test set)
};

/// Number of steps a run with this config performs on n training samples.
/// Throws InvalidArgument for batch_size 0, an empty training set, or neither epochs nor steps.
[[nodiscard]] std::uint64_t planned_steps(const TrainConfig& config, std::size_t n);

/// Told once before the first step.
struct RunInfo {
  std::uint64_t total_steps;      ///< planned_steps()
  std::uint64_t steps_per_epoch;  ///< batches per epoch
  std::size_t num_params;         ///< P
  std::size_t train_size;         ///< n
  std::size_t test_size;          ///< 0 without a test set
  std::uint64_t first_step = 0;   ///< t of the first step this run takes (> 0 when resumed)
};

/// One completed optimizer step (the model already holds the updated parameters).
struct StepInfo {
  std::uint64_t step;   ///< t, 0-based (the schedule's index)
  std::uint64_t epoch;  ///< 0-based
  double loss;          ///< loss on the batch, before the update
  double lr;            ///< η(t) used for the update
  double grad_norm;     ///< ‖g‖₂ of the batch gradient (summed in another order, so possibly
                        ///< different in the last bits, when the update was fused)
  std::size_t batch_size;
  const nn::Mlp<float>& model;
  const optim::Optimizer<float>& optimizer;
  /// g (P entries) when the loop stored it: a hook asked for it (needs_gradient()), a gradient
  /// reducer sums it, or the batch has more than 256 rows; otherwise empty: the loop then fuses
  /// the optimizer update into the backward pass (nn::Mlp::backward_update) and g is never
  /// stored.
  std::span<const float> gradient;
};

/// An evaluation on the test set after `step` completed steps.
struct EvalInfo {
  std::uint64_t step;    ///< completed steps (0 = before training)
  std::uint64_t epoch;   ///< epoch of the last step (0 before training)
  double train_loss;     ///< mean batch loss since the previous evaluation (NaN at step 0)
  double test_loss;      ///< loss over the whole test set (same LossConfig)
  double test_accuracy;  ///< fraction in [0, 1]
};

enum class TrainStatus : unsigned char {
  Completed,  ///< all planned steps were taken
  Diverged,   ///< a loss, gradient norm or parameter became NaN/Inf
  Stopped,    ///< an observer asked to stop
};

/// "completed", "diverged", "stopped".
[[nodiscard]] const char* to_string(TrainStatus status) noexcept;

/// Outcome of a run.
struct TrainResult {
  TrainStatus status = TrainStatus::Completed;
  std::string message;       ///< one line; says where and why a run diverged
  std::uint64_t steps = 0;   ///< completed steps
  std::uint64_t epochs = 0;  ///< epochs started
  double last_loss = std::numeric_limits<double>::quiet_NaN();  ///< last finite batch loss
  double test_loss = std::numeric_limits<double>::quiet_NaN();  ///< final evaluation
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;  ///< wall time of the loop
};

/// Receives the run's events. Every method has an empty default.
class Observer {
 public:
  virtual ~Observer() = default;
  Observer() = default;
  Observer(const Observer&) = default;
  Observer& operator=(const Observer&) = default;
  Observer(Observer&&) noexcept = default;
  Observer& operator=(Observer&&) noexcept = default;

  virtual void on_start(const RunInfo& /*info*/) {}
  virtual void on_step(const StepInfo& /*info*/) {}
  virtual void on_eval(const EvalInfo& /*info*/) {}
  /// Called once, for every outcome (also after divergence).
  virtual void on_end(const TrainResult& /*result*/) {}
  /// Polled after each step; true stops the run with status Stopped.
  [[nodiscard]] virtual bool should_stop() const { return false; }
  /// Whether on_step reads StepInfo::gradient. Asked once per run; if no hook does, the loop
  /// fuses the optimizer update into the backward pass and the gradient is never stored (about a
  /// pass over the parameters and one over the gradient less per step), and StepInfo::gradient
  /// is empty (grad_norm is always given). Default true, so a hook written without knowing this
  /// still sees the gradient; every hook of the library that does not read it says false.
  [[nodiscard]] virtual bool needs_gradient() const { return true; }

  /// Checkpoint support for observers that carry state across steps (counters, running sums,
  /// recorded traces): save_state adds entries whose names start with `prefix` to a training
  /// checkpoint, restore_state reads them back before a resumed run starts, so the resumed run
  /// continues exactly where the checkpoint was taken (see make_training_checkpoint). The
  /// defaults hold no state.
  virtual void save_state(Checkpoint& /*checkpoint*/, std::string_view /*prefix*/) const {}
  virtual void restore_state(const Checkpoint& /*checkpoint*/, std::string_view /*prefix*/) {}
};

/// What a controller sees: the run, the state of the loop and read access to everything a
/// measurement needs (e.g. λmax of the NTK on the first b training samples, ntk/).
struct ControlContext {
  const RunInfo& run;
  std::uint64_t next_step;  ///< t of the next step (0 in on_start of a fresh run)
  std::uint64_t epoch;      ///< epoch of the last step taken (0 before the first)
  const nn::Mlp<float>& model;
  const optim::Optimizer<float>& optimizer;
  const data::Dataset& train_set;
  const TrainConfig& config;
  const StepInfo* last;  ///< the step just taken (after_step), null in on_start
};

/// Changes the learning-rate schedule while a run goes: the rate of step t is schedule.lr(t) of
/// the schedule in place when step t starts. Controllers run in order after the observers (so an
/// observer's on_step sees the rate that step used) and never see a diverged model: a step whose
/// loss, gradient or parameters are not finite ends the run before after_step. Every method has
/// an empty default.
///
/// Resume: a training checkpoint holds the schedule in use and every controller's state
/// (save_state, make_training_checkpoint); a resumed run restores both (restore_state,
/// restore_training_checkpoint), starts with that schedule, and calls on_start with next_step =
/// t0 > 0, where a controller whose state was restored keeps the schedule as it is. The resumed
/// run then takes bit-identically the steps the uninterrupted one would have taken.
class Controller {
 public:
  virtual ~Controller() = default;
  Controller() = default;
  Controller(const Controller&) = default;
  Controller& operator=(const Controller&) = default;
  Controller(Controller&&) noexcept = default;
  Controller& operator=(Controller&&) noexcept = default;

  /// Before the first step (after the observers' on_start), e.g. to set the rates from a
  /// critical rate measured at initialisation.
  virtual void on_start(const ControlContext& /*context*/, optim::Schedule& /*schedule*/) {}
  /// After step context.last->step completed (the model holds the updated parameters) and before
  /// step context.next_step.
  virtual void after_step(const ControlContext& /*context*/, optim::Schedule& /*schedule*/) {}
  /// Whether after_step reads context.last->gradient (see Observer::needs_gradient; default
  /// true).
  [[nodiscard]] virtual bool needs_gradient() const { return true; }

  /// The controller's state as checkpoint entries named prefix + "…" (measurements so far, a
  /// solver's warm start, …), and its restoration before a resumed run. Defaults: no state.
  virtual void save_state(Checkpoint& /*checkpoint*/, std::string_view /*prefix*/) const {}
  virtual void restore_state(const Checkpoint& /*checkpoint*/, std::string_view /*prefix*/) {}
};

/// The hooks of a run: observers and controllers, called in order.
struct Hooks {
  std::span<Observer* const> observers;
  std::span<Controller* const> controllers;
  /// Data-parallel training (train/gradient_reducer.hpp): null computes every batch here.
  GradientReducer* reducer = nullptr;
};

/// Where a resumed run continues: the loop's own state at the moment a checkpoint was taken (the
/// caller restores the model's parameters and the optimizer's state itself). Everything else the
/// loop needs is a function of `step`: the schedule's index is t, and the data order of epoch e is
/// the shuffle drawn from Rng(seed).split(e), so a resumed run takes exactly the batches, rates and
/// updates the uninterrupted run would have taken.
struct ResumePoint {
  std::uint64_t step = 0;              ///< completed steps t0; the run continues with step t0
  double loss_since_eval = 0;          ///< sum of the batch losses since the last evaluation
  std::uint64_t steps_since_eval = 0;  ///< how many steps that sum holds
  double last_loss = std::numeric_limits<double>::quiet_NaN();  ///< loss of step t0 − 1
  /// The evaluations made before step t0, in order (the run's record for its summary; the loop
  /// itself does not read them).
  std::vector<EvalInfo> evals;
  /// The schedule in use after step t0 − 1 when controllers may have replaced the caller's
  /// (absent: the caller's schedule is the one in use). train() starts with it.
  std::optional<optim::ScheduleConfig> schedule;
};

/// Loss and accuracy of model over a whole dataset (forward passes in chunks of chunk_size).
struct Evaluation {
  double loss;
  double accuracy;
};
/// Throws InvalidArgument if the dataset's dimension differs from the model's input or the
/// classes from its outputs, or chunk_size is 0.
[[nodiscard]] Evaluation evaluate(const nn::Mlp<float>& model, const data::Dataset& set,
                                  const nn::LossConfig& loss, std::size_t chunk_size = 1000);

/// Trains model in place. test_set may be null (no evaluations). The observers are called in
/// order. With `resume`, the run continues after resume->step completed steps (no evaluation at
/// step 0; the evaluation due at resume->step, if any, is made before the first step).
/// Throws InvalidArgument for mismatched shapes, a bad config or a resume step beyond the planned
/// steps; numerical failure is reported in the result (status Diverged), never thrown.
[[nodiscard]] TrainResult train(nn::Mlp<float>& model, optim::Optimizer<float>& optimizer,
                                const optim::Schedule& schedule, const data::Dataset& train_set,
                                const data::Dataset* test_set, const TrainConfig& config,
                                std::span<Observer* const> observers = {},
                                const ResumePoint* resume = nullptr);

/// The same loop with controllers: `schedule` is the one in use and the controllers may replace
/// it between steps (it holds the last schedule when train returns). train() above is this with a
/// copy of its schedule and no controllers.
[[nodiscard]] TrainResult train(nn::Mlp<float>& model, optim::Optimizer<float>& optimizer,
                                optim::Schedule& schedule, const data::Dataset& train_set,
                                const data::Dataset* test_set, const TrainConfig& config,
                                const Hooks& hooks, const ResumePoint* resume = nullptr);

}  // namespace catapult::train
