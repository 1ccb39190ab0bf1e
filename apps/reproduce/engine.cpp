#include "engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/optim/adagrad.hpp"

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
  const auto acc = adagrad_accumulator(o);
  std::vector<double> p(acc.size());
  for (std::size_t i = 0; i < p.size(); ++i)
    p[i] = std::sqrt(static_cast<double>(acc[i])) + a->options().eps;
  return p;
}

MatrixView<const float> first_rows(const data::Dataset& d, std::size_t n) {
  return d.images.cview().rows_range(0, std::min(n, d.size()));
}

Evaluation evaluate(const nn::Mlp<float>& model, const nn::LossConfig& loss,
                    const data::Dataset& d) {
  Evaluation e;
  const std::size_t n = d.size();
  if (n == 0) return e;
  const std::size_t chunk = 1000;
  Matrix<float> out(std::min(chunk, n), model.output_dim());
  double loss_sum = 0.0;
  std::size_t correct = 0;
  for (std::size_t r0 = 0; r0 < n; r0 += chunk) {
    const std::size_t m = std::min(chunk, n - r0);
    auto o = out.view().rows_range(0, m);
    model.forward(d.images.cview().rows_range(r0, m), o);
    const std::span<const std::uint8_t> labels(d.labels.data() + r0, m);
    // evaluate_loss averages over its batch: weight by the chunk size (exact for Mean and CE).
    loss_sum += nn::evaluate_loss<float>(loss, o, labels, {}) * static_cast<double>(m);
    correct += nn::count_correct<float>(o, labels);
  }
  e.loss = loss_sum / static_cast<double>(n);
  e.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return e;
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
      result.eval_test_accuracy.push_back(evaluate(model, spec.loss, test).accuracy);
      const auto tr = evaluate(model, spec.loss, train_set);
      result.eval_train_loss.push_back(tr.loss);
      result.eval_train_accuracy.push_back(tr.accuracy);
    }
  }
  const auto te = evaluate(model, spec.loss, test);
  const auto tr = evaluate(model, spec.loss, train_set);
  result.test_accuracy = te.accuracy;
  result.test_loss = te.loss;
  result.train_accuracy = tr.accuracy;
  result.train_loss = tr.loss;
  if (!std::isfinite(tr.loss)) result.diverged = true;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

LambdaMax ntk_lambda_max(const nn::Mlp<float>& model, MatrixView<const float> x,
                         std::vector<double>* warm, double tolerance, std::size_t max_iterations,
                         const std::vector<double>* scaling) {
  const std::size_t p = model.num_params();
  const std::size_t n = x.rows();
  const std::size_t k = model.output_dim();
  nn::ForwardCache<float> cache;
  Matrix<float> out(n, k);
  model.forward(x, out.view(), &cache);
  Matrix<float> tangent(n, k);
  AlignedVector<float> v(p);
  AlignedVector<float> w(p);
  if (warm != nullptr && warm->size() == p) {
    for (std::size_t i = 0; i < p; ++i) v[i] = static_cast<float>((*warm)[i]);
  } else {
    Rng rng(12345);
    for (auto& e : v) e = static_cast<float>(rng.normal());
  }
  auto normalize = [&](AlignedVector<float>& a) {
    double s = 0.0;
    for (const float e : a) s += double(e) * double(e);
    const double norm = std::sqrt(s);
    for (auto& e : a) e = static_cast<float>(double(e) / norm);
    return norm;
  };
  normalize(v);
  LambdaMax result;
  double previous = 0.0;
  if (scaling != nullptr && scaling->size() != p)
    throw InvalidArgument(str_cat("ntk_lambda_max: scaling of ", scaling->size(), " for P = ", p));
  AlignedVector<float> dv(scaling != nullptr ? p : 0);
  for (std::size_t it = 1; it <= max_iterations; ++it) {
    if (scaling != nullptr) {
      for (std::size_t i = 0; i < p; ++i) dv[i] = static_cast<float>((*scaling)[i] * v[i]);
      model.jvp(x, dv.data(), tangent.view());
      model.backward(cache, tangent.cview(), w.data());
      for (std::size_t i = 0; i < p; ++i) w[i] = static_cast<float>((*scaling)[i] * w[i]);
    } else {
      model.jvp(x, v.data(), tangent.view());
      model.backward(cache, tangent.cview(), w.data());
    }
    double rq = 0.0;
    for (std::size_t i = 0; i < p; ++i) rq += double(v[i]) * double(w[i]);
    result.value = rq;
    result.iterations = it;
    v.swap(w);
    if (normalize(v) == 0.0) break;
    if (it > 1 && std::abs(rq - previous) <= tolerance * std::abs(rq)) {
      result.converged = true;
      break;
    }
    previous = rq;
  }
  if (warm != nullptr) warm->assign(v.begin(), v.end());
  return result;
}

double critical_rate(const nn::LossConfig& loss, std::size_t n, std::size_t k, double lambda_max) {
  if (loss.kind != nn::LossKind::Mse)
    throw InvalidArgument("critical_rate: defined for the MSE loss only");
  return 1.0 / (nn::mse_scale(loss.reduction, n, k) * lambda_max);
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
