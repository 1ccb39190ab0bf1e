#pragma once
// The reproduction's side of the training engine: a protocol's run (RunSpec) translated into the
// library loop's configuration (catapult/train/trainer.hpp, the only training loop), the
// experiments' hooks run as a controller of that loop (catapult detection, NTK tracking, AdaGrad
// statistics plug in there) and the critical rate η_crit = 1/(c·λmax(K)) of the library's MSE
// (see catapult/nn/loss.hpp for c).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "catapult/core/aligned.hpp"
#include "catapult/core/matrix.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"
#include "catapult/train/trainer.hpp"

namespace catapult::app::reproduce {

/// A cyclic schedule (PyTorch CyclicLR) from the protocol's mode name, base and peak rate,
/// half-cycle length and exp_range γ.
[[nodiscard]] optim::ScheduleConfig cyclic_schedule(const std::string& mode, double base_lr,
                                                    double peak_lr, std::size_t step_size,
                                                    double gamma);
/// A constant schedule at lr.
[[nodiscard]] optim::ScheduleConfig constant_schedule(double lr);

/// AdaGrad's accumulator s (P entries), empty for other optimizers or before the first step.
[[nodiscard]] std::span<const float> adagrad_accumulator(const optim::Optimizer<float>& o);
/// The diagonal preconditioner p_i of the current update (η g_i / p_i): √s_i + ε for AdaGrad
/// (ntk::adagrad_preconditioner with the optimizer's ε). Throws InvalidArgument for other
/// optimizers.
[[nodiscard]] std::vector<double> adagrad_preconditioner(const optim::Optimizer<float>& o);

/// What the hook sees after each step.
struct StepInfo {
  std::size_t step = 0;  ///< 0-based index of the step just taken
  std::size_t epoch = 0;
  double loss = 0.0;  ///< loss of the batch, before the update
  double lr = 0.0;    ///< rate used for this update
};

/// One training run's configuration: a protocol's run, translated by train_config into the
/// library loop's TrainConfig (catapult/train/trainer.hpp).
struct RunSpec {
  nn::MlpConfig model;
  nn::LossConfig loss;
  optim::OptimizerConfig optimizer;  ///< PyTorch's semantics (catapult/optim)
  optim::ScheduleConfig schedule;    ///< may be replaced by the init hook
  std::size_t batch_size = 64;       ///< ≥ train size means full-batch GD (no shuffling)
  std::size_t epochs = 1;
  std::size_t max_steps = 0;  ///< 0 = epochs × batches per epoch
  /// Initialisation Rng(seed) and data order Rng(seed).split(epoch): the library's convention
  /// with init_seed = train.seed = seed.
  std::uint64_t seed = 0;
  std::size_t eval_every = 0;  ///< steps between test evaluations (0 = only at the end)
  /// Progress lines (every 10% of a run of at least 2000 steps) go here when set.
  std::function<void(const std::string&)> log;
  std::string name;  ///< prefix of the progress lines
};

/// The loop options of a run on train_size samples, the reproduction's protocol choices made
/// explicit: batch min(batch_size, n); every batch full (drop_last); shuffled by epoch unless the
/// batch is the whole set (full-batch GD, dataset order); steps = max_steps or epochs × ⌊n/b⌋;
/// evaluations by the engine's observer (eval_every 0 in the loop). `catapult train` with this
/// TrainConfig, the same model/optimizer/schedule and init_seed = seed runs the same steps.
/// Throws InvalidArgument for an empty set or batch_size 0.
[[nodiscard]] catapult::train::TrainConfig train_config(const RunSpec& spec,
                                                        std::size_t train_size);

/// The outcome of a run.
struct RunResult {
  std::vector<double> loss;  ///< per completed step (batch loss before the update)
  std::vector<double> lr;    ///< per completed step
  std::vector<std::size_t> eval_steps;
  std::vector<double> eval_test_accuracy;
  std::vector<double> eval_train_loss;
  std::vector<double> eval_train_accuracy;
  double test_accuracy = 0.0;  ///< at the end, in [0, 1]
  double test_loss = 0.0;
  double train_accuracy = 0.0;
  double train_loss = 0.0;
  bool diverged = false;  ///< a non-finite loss, gradient or parameter stopped the run
  std::size_t steps = 0;  ///< completed steps
  double seconds = 0.0;
};

/// The state a hook may inspect or modify (it may replace `schedule`, e.g. after re-measuring
/// the critical rate; the rate of step t is schedule.lr(t)).
struct TrainState {
  const nn::Mlp<float>& model;
  const optim::Optimizer<float>& optimizer;
  optim::Schedule& schedule;
};

using StepHook = std::function<void(const StepInfo&, TrainState&)>;
using InitHook = std::function<void(TrainState&)>;

/// Trains spec.model on train and evaluates on test, on the library's loop
/// (catapult::train::train with train_config(spec)): the hooks run as a train::Controller, the
/// traces and evaluations are recorded by a train::Observer. on_init runs after initialisation,
/// before the first step (e.g. to set the schedule from a measured critical rate); on_step after
/// every completed step. A non-finite loss, gradient or parameter stops the run with
/// diverged = true (what was recorded is kept).
/// `controllers` run after the hooks (e.g. a train::CriticalPeakController).
RunResult train(const RunSpec& spec, const data::Dataset& train, const data::Dataset& test,
                const InitHook& on_init = {}, const StepHook& on_step = {},
                std::span<catapult::train::Controller* const> controllers = {});

/// λmax of the empirical NTK K = J·Jᵀ (full mode, n·k × n·k) of model on x [n, d_0], by the
/// library's matrix-free ntk::NtkOperator and Lanczos (ntk::largest_eigenpairs) with relative
/// tolerance `tolerance` and at most `max_restarts` restarts. With `warm` non-null the solve
/// starts from *warm when it holds n·k entries (the top eigenvector of an earlier measurement on
/// the same samples) and stores the new top eigenvector there.
struct LambdaMax {
  double value = 0.0;          ///< λmax(K); NaN when the solver did not converge
  std::size_t operations = 0;  ///< NTK products used
  bool converged = false;
};
LambdaMax ntk_lambda_max(const nn::Mlp<float>& model, MatrixView<const float> x,
                         std::vector<double>* warm = nullptr, double tolerance = 1e-4,
                         std::size_t max_restarts = 200);

/// η_crit = 1/(c·λmax(K)) of the run's MSE on n samples × k outputs
/// (nn::mse_critical_learning_rate), or NaN when λmax is not finite and > 0 (no curvature was
/// measured: a dead or diverged network, or a solve that did not converge), which the library
/// would reject; callers record the NaN in traces and use require_rate where a rate is needed.
/// For mini-batch SGD with the Mean reduction this is ≈ batch independent (λmax of a batch's K
/// scales with b). Throws InvalidArgument for a loss other than MSE.
[[nodiscard]] double critical_rate_or_nan(const nn::LossConfig& loss, std::size_t n, std::size_t k,
                                          double lambda_max);
/// `rate` if it is finite and > 0; otherwise throws RuntimeError naming `what`.
double require_rate(double rate, const std::string& what);

/// η_crit at initialisation of a run with this seed: the model initialised from Rng(seed) (the
/// seed convention of RunSpec), λmax of its full NTK on x by ntk_lambda_max, and
/// critical_rate_or_nan for the loss; RuntimeError naming `what` when it cannot be measured.
[[nodiscard]] double initial_critical_rate(const nn::MlpConfig& model, std::uint64_t seed,
                                           MatrixView<const float> x, const nn::LossConfig& loss,
                                           double tolerance, std::size_t max_restarts,
                                           const std::string& what);

/// The critical rate 2/λmax(D·H_GN·D), D = diag(p)^{-1/2}, of a method with the diagonal
/// preconditioner p (update η·g/p) on the run's MSE over the samples x: the preconditioned
/// sharpness of ntk::sharpness on ntk::PreconditionedOperator(ntk::GaussNewtonOperator).
/// NaN when the solve does not converge or λmax ≤ 0. Throws InvalidArgument for a loss other than
/// MSE or a preconditioner of the wrong size or with an entry that is not finite and > 0.
[[nodiscard]] double preconditioned_critical_rate(const nn::Mlp<float>& model,
                                                  MatrixView<const float> x,
                                                  const nn::LossConfig& loss,
                                                  std::span<const double> preconditioner,
                                                  double tolerance = 1e-4,
                                                  std::size_t max_restarts = 200);

/// AdaGrad's critical rate where its linear analysis applies: 2/λmax(D·H_GN·D) over the parameters
/// whose accumulator has filled (ntk::adagrad_filled_preconditioner: s_i ≥ min_ratio·g_i², g the
/// gradient of the run's loss on the samples x with their labels), the others frozen. NaN rate
/// when the solve does not converge, nothing is filled, or λmax ≤ 0.
struct FilledCriticalRate {
  double eta_crit = 0;
  std::size_t active = 0;  ///< parameters with s_i > 0
  std::size_t filled = 0;  ///< of those, the ones with s_i ≥ min_ratio·g_i²
};
[[nodiscard]] FilledCriticalRate filled_preconditioned_critical_rate(
    const nn::Mlp<float>& model, MatrixView<const float> x, std::span<const std::uint8_t> labels,
    const nn::LossConfig& loss, const optim::Optimizer<float>& adagrad, double min_ratio,
    double tolerance = 1e-4, std::size_t max_restarts = 200);

/// The model configuration named in a protocol's "model" object.
nn::MlpConfig model_from_json(const nlohmann::json& j);
/// The loss configuration named in a protocol's "loss" object.
nn::LossConfig loss_from_json(const nlohmann::json& j);

/// The first n rows of d's images as a view (n ≤ d.size()).
MatrixView<const float> first_rows(const data::Dataset& d, std::size_t n);

}  // namespace catapult::app::reproduce
