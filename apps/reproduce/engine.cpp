#include "engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

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

RunResult train(const RunSpec& spec, const data::Dataset& train_set, const data::Dataset& test,
                const InitHook& on_init, const StepHook& on_step) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t n = train_set.size();
  if (n == 0) throw InvalidArgument("train: empty training set");
  if (spec.batch_size == 0) throw InvalidArgument("train: batch_size must be >= 1");
  nn::Mlp<float> model(spec.model);
  Rng rng(spec.seed);
  Rng init_rng = rng.split(1);
  Rng shuffle_rng = rng.split(2);
  model.init(init_rng);
  auto optimizer = optim::make_optimizer<float>(spec.optimizer);
  optim::Schedule schedule(spec.schedule);
  TrainState state{model, *optimizer, schedule};
  if (on_init) on_init(state);

  const std::size_t b = std::min(spec.batch_size, n);
  const std::size_t batches = n / b;  // drop the last incomplete batch (PyTorch drop_last)
  const std::size_t total = spec.max_steps > 0 ? spec.max_steps : spec.epochs * batches;
  const std::size_t d = train_set.dim();
  const std::size_t k = model.output_dim();
  Matrix<float> x(b, d);
  std::vector<std::uint8_t> y(b);
  Matrix<float> out(b, k);
  Matrix<float> d_out(b, k);
  AlignedVector<float> grad(model.num_params());
  nn::ForwardCache<float> cache;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});

  RunResult result;
  result.loss.reserve(total);
  result.lr.reserve(total);
  for (std::size_t step = 0; step < total; ++step) {
    const std::size_t epoch = step / batches;
    const std::size_t in_epoch = step % batches;
    if (in_epoch == 0 && b < n) shuffle_rng.shuffle(order.begin(), order.end());
    for (std::size_t i = 0; i < b; ++i) {
      const std::size_t src = order[in_epoch * b + i];
      std::memcpy(x.row(i), train_set.images.row(src), d * sizeof(float));
      y[i] = train_set.labels[src];
    }
    model.forward(x.cview(), out.view(), &cache);
    const double loss = nn::evaluate_loss<float>(spec.loss, out.cview(), y, d_out.view());
    const double lr = schedule.lr(step);
    result.loss.push_back(loss);
    result.lr.push_back(lr);
    result.steps = step + 1;
    if (!std::isfinite(loss)) {
      result.diverged = true;
      break;
    }
    model.backward(cache, d_out.cview(), grad.data());
    optimizer->step(model.params(), grad.data(), model.num_params(), lr);
    if (on_step) on_step(StepInfo{step, epoch, loss, lr}, state);
    if (spec.log && total >= 2000 && (step + 1) % (total / 10) == 0 && step + 1 < total)
      spec.log(str_cat("  ", spec.name, ": step ", step + 1, "/", total, " (",
                       (100 * (step + 1)) / total, "%), batch loss ", loss));
    if (spec.eval_every > 0 && (step + 1) % spec.eval_every == 0) {
      result.eval_steps.push_back(step + 1);
      result.eval_test_accuracy.push_back(
          catapult::train::evaluate(model, test, spec.loss).accuracy);
      const auto tr = catapult::train::evaluate(model, train_set, spec.loss);
      result.eval_train_loss.push_back(tr.loss);
      result.eval_train_accuracy.push_back(tr.accuracy);
    }
  }
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
