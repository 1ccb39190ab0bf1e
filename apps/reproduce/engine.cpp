#include "engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/ntk/curvature.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/optim/adagrad.hpp"
#include "catapult/train/trainer.hpp"

namespace catapult::app::reproduce {

optim::ScheduleConfig cyclic_schedule(const std::string& mode, double base_lr, double peak_lr,
                                      std::size_t step_size, double gamma) {
  optim::ScheduleConfig c;
  c.kind = optim::ScheduleKind::Cyclic;
  c.mode = optim::parse_cyclic_mode(mode);
  c.lr = base_lr;
  c.max_lr = std::max(peak_lr, base_lr);
  c.step_size_up = step_size;
  c.cyclic_gamma = gamma;
  return c;
}

optim::ScheduleConfig constant_schedule(double lr) {
  optim::ScheduleConfig c;
  c.kind = optim::ScheduleKind::Constant;
  c.lr = lr;
  return c;
}

std::span<const float> adagrad_accumulator(const optim::Optimizer<float>& o) {
  const auto* a = dynamic_cast<const optim::AdaGrad<float>*>(&o);
  if (a == nullptr || a->accumulator() == nullptr) return {};
  return {a->accumulator(), a->num_params()};
}

std::vector<double> adagrad_preconditioner(const optim::Optimizer<float>& o) {
  const auto* a = dynamic_cast<const optim::AdaGrad<float>*>(&o);
  if (a == nullptr) throw InvalidArgument("adagrad_preconditioner: not an AdaGrad optimizer");
  return ntk::adagrad_preconditioner<float>(adagrad_accumulator(o), a->options().eps);
}

MatrixView<const float> first_rows(const data::Dataset& d, std::size_t n) {
  return d.images.cview().rows_range(0, std::min(n, d.size()));
}

catapult::train::TrainConfig train_config(const RunSpec& spec, std::size_t train_size) {
  if (train_size == 0) throw InvalidArgument("train: empty training set");
  if (spec.batch_size == 0) throw InvalidArgument("train: batch_size must be >= 1");
  catapult::train::TrainConfig c;
  c.batch_size = std::min(spec.batch_size, train_size);
  c.epochs = spec.epochs;
  c.steps = spec.max_steps;
  c.eval_every = 0;  // the engine's observer evaluates (test and training set), not the loop
  c.seed = spec.seed;
  c.shuffle = c.batch_size < train_size;  // full-batch GD takes the samples in dataset order
  c.drop_last = true;                     // every step sees b samples (PyTorch drop_last)
  c.loss = spec.loss;
  return c;
}

namespace {

// The run's record: per-step loss and rate, evaluations every eval_every steps and progress lines.
class Recorder final : public catapult::train::Observer {
 public:
  Recorder(const RunSpec& spec, const data::Dataset& train_set, const data::Dataset& test,
           RunResult& result)
      : spec_(spec), train_(train_set), test_(test), result_(result) {}

  void on_start(const catapult::train::RunInfo& info) override {
    total_ = info.total_steps;
    result_.loss.reserve(total_);
    result_.lr.reserve(total_);
  }
  [[nodiscard]] bool needs_gradient() const override { return false; }
  void on_step(const catapult::train::StepInfo& info) override {
    result_.loss.push_back(info.loss);
    result_.lr.push_back(info.lr);
    const std::uint64_t done = info.step + 1;
    if (spec_.log && total_ >= 2000 && done % (total_ / 10) == 0 && done < total_)
      spec_.log(str_cat("  ", spec_.name, ": step ", done, "/", total_, " (", (100 * done) / total_,
                        "%), batch loss ", info.loss));
    if (spec_.eval_every > 0 && done % spec_.eval_every == 0) {
      result_.eval_steps.push_back(done);
      result_.eval_test_accuracy.push_back(
          catapult::train::evaluate(info.model, test_, spec_.loss).accuracy);
      const auto tr = catapult::train::evaluate(info.model, train_, spec_.loss);
      result_.eval_train_loss.push_back(tr.loss);
      result_.eval_train_accuracy.push_back(tr.accuracy);
    }
  }

 private:
  const RunSpec& spec_;
  const data::Dataset& train_;
  const data::Dataset& test_;
  RunResult& result_;
  std::uint64_t total_ = 0;
};

// An experiment's hooks as a controller of the library's loop.
class HookController final : public catapult::train::Controller {
 public:
  HookController(const InitHook& on_init, const StepHook& on_step)
      : on_init_(on_init), on_step_(on_step) {}

  void on_start(const catapult::train::ControlContext& c, optim::Schedule& schedule) override {
    if (!on_init_) return;
    TrainState s{c.model, c.optimizer, schedule};
    on_init_(s);
  }
  // The experiments' step hooks see the step's loss and rate, never its gradient.
  [[nodiscard]] bool needs_gradient() const override { return false; }
  void after_step(const catapult::train::ControlContext& c, optim::Schedule& schedule) override {
    if (!on_step_) return;
    TrainState s{c.model, c.optimizer, schedule};
    on_step_(StepInfo{c.last->step, c.last->epoch, c.last->loss, c.last->lr}, s);
  }

 private:
  const InitHook& on_init_;
  const StepHook& on_step_;
};

}  // namespace

RunResult train(const RunSpec& spec, const data::Dataset& train_set, const data::Dataset& test,
                const InitHook& on_init, const StepHook& on_step,
                std::span<catapult::train::Controller* const> controllers) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto config = train_config(spec, train_set.size());
  nn::Mlp<float> model(spec.model);
  Rng init_rng(spec.seed);  // the seed convention of catapult/train/trainer.hpp
  model.init(init_rng);
  auto optimizer = optim::make_optimizer<float>(spec.optimizer);
  optim::Schedule schedule(spec.schedule);

  RunResult result;
  Recorder recorder(spec, train_set, test, result);
  HookController hooks(on_init, on_step);
  catapult::train::Observer* observers[] = {&recorder};
  std::vector<catapult::train::Controller*> all = {&hooks};
  all.insert(all.end(), controllers.begin(), controllers.end());
  const auto r = catapult::train::train(model, *optimizer, schedule, train_set, nullptr, config,
                                        {observers, all});
  result.steps = r.steps;
  result.diverged = r.status == catapult::train::TrainStatus::Diverged;
  const auto te = catapult::train::evaluate(model, test, spec.loss);
  const auto tr = catapult::train::evaluate(model, train_set, spec.loss);
  result.test_accuracy = te.accuracy;
  result.test_loss = te.loss;
  result.train_accuracy = tr.accuracy;
  result.train_loss = tr.loss;
  if (!std::isfinite(tr.loss)) result.diverged = true;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

LambdaMax ntk_lambda_max(const nn::Mlp<float>& model, MatrixView<const float> x,
                         std::vector<double>* warm, double tolerance, std::size_t max_restarts) {
  const ntk::NtkOperator<float> op(model, x, {.mode = ntk::NtkMode::Full});
  ntk::EigenOptions o;
  o.tolerance = tolerance;
  o.max_iterations = max_restarts;
  o.compute_eigenvectors = warm != nullptr;
  if (warm != nullptr && warm->size() == op.size()) o.start = *warm;
  const auto r = ntk::largest_eigenpairs(op, o);
  LambdaMax result;
  result.operations = r.operations;
  result.converged = r.ok();
  result.value = r.ok() ? r.eigenvalues.front() : std::nan("");
  if (warm != nullptr && r.ok())
    warm->assign(r.eigenvectors.row(0), r.eigenvectors.row(0) + op.size());
  return result;
}

double critical_rate_or_nan(const nn::LossConfig& loss, std::size_t n, std::size_t k,
                            double lambda_max) {
  if (loss.kind != nn::LossKind::Mse)
    throw InvalidArgument("critical_rate_or_nan: defined for the MSE loss only");
  if (!std::isfinite(lambda_max) || !(lambda_max > 0.0)) return std::nan("");
  return nn::mse_critical_learning_rate(lambda_max, loss.reduction, n, k);
}

double require_rate(double rate, const std::string& what) {
  if (!std::isfinite(rate) || !(rate > 0.0))
    throw RuntimeError(str_cat(what,
                               ": no critical rate (λmax of the NTK not finite and > 0, or "
                               "the eigensolver did not converge): the network is dead or "
                               "diverged"));
  return rate;
}

double initial_critical_rate(const nn::MlpConfig& model, std::uint64_t seed,
                             MatrixView<const float> x, const nn::LossConfig& loss,
                             double tolerance, std::size_t max_restarts, const std::string& what) {
  nn::Mlp<float> m(model);
  Rng rng(seed);
  m.init(rng);
  const auto lm = ntk_lambda_max(m, x, nullptr, tolerance, max_restarts);
  return require_rate(critical_rate_or_nan(loss, x.rows(), m.output_dim(), lm.value), what);
}

double preconditioned_critical_rate(const nn::Mlp<float>& model, MatrixView<const float> x,
                                    const nn::LossConfig& loss,
                                    std::span<const double> preconditioner, double tolerance,
                                    std::size_t max_restarts) {
  if (loss.kind != nn::LossKind::Mse)
    throw InvalidArgument("preconditioned_critical_rate: defined for the MSE loss only");
  const ntk::GaussNewtonOperator<float> gn(model, x, {.reduction = loss.reduction});
  const ntk::PreconditionedOperator op(gn, preconditioner);
  ntk::EigenOptions o;
  o.tolerance = tolerance;
  o.max_iterations = max_restarts;
  const auto r = ntk::sharpness(op, o);
  return r.ok() && r.lambda_max > 0.0 ? r.eta_crit : std::nan("");
}

FilledCriticalRate filled_preconditioned_critical_rate(
    const nn::Mlp<float>& model, MatrixView<const float> x, std::span<const std::uint8_t> labels,
    const nn::LossConfig& loss, const optim::Optimizer<float>& adagrad, double min_ratio,
    double tolerance, std::size_t max_restarts) {
  const auto* a = dynamic_cast<const optim::AdaGrad<float>*>(&adagrad);
  if (a == nullptr)
    throw InvalidArgument("filled_preconditioned_critical_rate: not an AdaGrad optimizer");
  if (labels.size() != x.rows())
    throw InvalidArgument(str_cat("filled_preconditioned_critical_rate: ", x.rows(),
                                  " samples but ", labels.size(), " labels"));
  // The gradient of the run's loss on these samples (what one step on them would add to s).
  nn::ForwardCache<float> cache;
  Matrix<float> out(x.rows(), model.config().widths.back());
  Matrix<float> d_out(out.rows(), out.cols());
  model.forward(x, out.view(), &cache);
  (void)nn::evaluate_loss<float>(loss, out.cview(), labels, d_out.view());
  std::vector<float> g(model.num_params());
  model.backward(cache, d_out.cview(), g.data());
  const auto f = ntk::adagrad_filled_preconditioner<float>(adagrad_accumulator(adagrad), g,
                                                           a->options().eps, min_ratio);
  FilledCriticalRate r{std::nan(""), f.active, f.filled};
  if (f.filled > 0)
    r.eta_crit =
        preconditioned_critical_rate(model, x, loss, f.preconditioner, tolerance, max_restarts);
  return r;
}

nn::MlpConfig model_from_json(const nlohmann::json& j) {
  nn::MlpConfig c;
  c.widths = j.at("widths").get<std::vector<std::size_t>>();
  c.hidden_activation = nn::parse_activation(j.value("activation", std::string("relu")));
  c.parameterization =
      nn::parse_parameterization(j.value("parameterization", std::string("standard")));
  c.bias = j.value("bias", true);
  return c;
}

nn::LossConfig loss_from_json(const nlohmann::json& j) {
  nn::LossConfig c;
  c.kind = nn::parse_loss_kind(j.value("kind", std::string("mse")));
  c.reduction = nn::parse_mse_reduction(j.value("reduction", std::string("mean")));
  c.target_on = j.value("target_on", 1.0);
  c.target_off = j.value("target_off", 0.0);
  return c;
}

}  // namespace catapult::app::reproduce
