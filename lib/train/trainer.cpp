#include "catapult/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/kernels/elementwise.hpp"
#include "core/parallel.hpp"

namespace catapult::train {
namespace {

void check_dataset(const nn::Mlp<float>& model, const data::Dataset& set, const char* what) {
  if (set.images.rows() != set.labels.size())
    throw InvalidArgument(str_cat("train: ", what, " has ", set.images.rows(), " images and ",
                                  set.labels.size(), " labels"));
  if (set.dim() != model.input_dim())
    throw InvalidArgument(str_cat("train: ", what, " samples have ", set.dim(),
                                  " features, the model takes ", model.input_dim()));
  if (set.num_classes > model.output_dim())
    throw InvalidArgument(str_cat("train: ", what, " has ", set.num_classes,
                                  " classes, the model has ", model.output_dim(), " outputs"));
}

// The loss factor c(n) for n samples: a batch loss L = c(n)·S with S additive over samples.
double loss_factor(const nn::LossConfig& loss, std::size_t n, std::size_t k) {
  if (loss.kind == nn::LossKind::CrossEntropy) return 1.0 / static_cast<double>(n);
  return nn::mse_scale(loss.reduction, n, k);
}

bool finite(double x) { return std::isfinite(x); }

}  // namespace

const char* to_string(TrainStatus status) noexcept {
  switch (status) {
    case TrainStatus::Completed:
      return "completed";
    case TrainStatus::Diverged:
      return "diverged";
    case TrainStatus::Stopped:
      return "stopped";
  }
  return "unknown";
}

std::uint64_t planned_steps(const TrainConfig& config, std::size_t n) {
  if (config.batch_size == 0) throw InvalidArgument("train: batch_size is 0");
  if (n == 0) throw InvalidArgument("train: the training set is empty");
  if (config.steps > 0) return config.steps;
  if (config.epochs == 0) throw InvalidArgument("train: neither epochs nor steps is set");
  const std::uint64_t per_epoch =
      config.drop_last ? n / config.batch_size : (n + config.batch_size - 1) / config.batch_size;
  if (per_epoch == 0)
    throw InvalidArgument(
        str_cat("train: batch_size ", config.batch_size, " > ", n, " samples with drop_last"));
  return per_epoch * config.epochs;
}

Evaluation evaluate(const nn::Mlp<float>& model, const data::Dataset& set,
                    const nn::LossConfig& loss, std::size_t chunk_size) {
  check_dataset(model, set, "the evaluation set");
  if (chunk_size == 0) throw InvalidArgument("evaluate: chunk_size is 0");
  const std::size_t n = set.size(), k = model.output_dim();
  if (n == 0) return {std::numeric_limits<double>::quiet_NaN(), 0.0};
  Matrix<float> out;
  double additive = 0;  // S = Σ over chunks of L_chunk / c(chunk)
  std::size_t correct = 0;
  for (std::size_t r0 = 0; r0 < n; r0 += chunk_size) {
    const std::size_t m = std::min(chunk_size, n - r0);
    out.resize(m, k);
    model.forward(set.images.cview().rows_range(r0, m), out.view());
    const std::span<const std::uint8_t> labels(set.labels.data() + r0, m);
    const double l = nn::evaluate_loss<float>(loss, out.cview(), labels, MatrixView<float>{});
    additive += l / loss_factor(loss, m, k);
    correct += nn::count_correct(out.cview(), labels);
  }
  return {additive * loss_factor(loss, n, k),
          static_cast<double>(correct) / static_cast<double>(n)};
}

TrainResult train(nn::Mlp<float>& model, optim::Optimizer<float>& optimizer,
                  const optim::Schedule& schedule, const data::Dataset& train_set,
                  const data::Dataset* test_set, const TrainConfig& config,
                  std::span<Observer* const> observers, const ResumePoint* resume) {
  optim::Schedule in_use = schedule;
  return train(model, optimizer, in_use, train_set, test_set, config, Hooks{observers, {}}, resume);
}

TrainResult train(nn::Mlp<float>& model, optim::Optimizer<float>& optimizer,
                  optim::Schedule& schedule, const data::Dataset& train_set,
                  const data::Dataset* test_set, const TrainConfig& config, const Hooks& hooks,
                  const ResumePoint* resume) {
  const std::span<Observer* const> observers = hooks.observers;
  GradientReducer* const reducer = hooks.reducer;
  check_dataset(model, train_set, "the training set");
  if (test_set != nullptr) check_dataset(model, *test_set, "the test set");
  const std::size_t n = train_set.size(), d = model.input_dim(), k = model.output_dim();
  const std::size_t p = model.num_params();
  const std::uint64_t total = planned_steps(config, n);
  const std::size_t b = config.batch_size;
  const std::uint64_t per_epoch = config.drop_last ? n / b : (n + b - 1) / b;

  const std::uint64_t t0 = resume != nullptr ? resume->step : 0;
  if (t0 > total)
    throw InvalidArgument(
        str_cat("train: cannot resume after step ", t0, ": the run plans ", total, " steps"));
  if (resume != nullptr && resume->schedule) schedule = optim::Schedule(*resume->schedule);

  const auto start = std::chrono::steady_clock::now();
  TrainResult result;
  const RunInfo info{total, per_epoch, p, n, test_set != nullptr ? test_set->size() : 0, t0};
  for (auto* o : observers) o->on_start(info);

  double loss_since_eval = 0;
  std::uint64_t steps_since_eval = 0;
  std::uint64_t epoch = 0;
  auto run_eval = [&](std::uint64_t step) {
    if (test_set == nullptr) return;
    const Evaluation e = evaluate(model, *test_set, config.loss, config.eval_batch_size);
    const double train_loss = steps_since_eval > 0
                                  ? loss_since_eval / static_cast<double>(steps_since_eval)
                                  : std::numeric_limits<double>::quiet_NaN();
    loss_since_eval = 0;
    steps_since_eval = 0;
    result.test_loss = e.loss;
    result.test_accuracy = e.accuracy;
    const EvalInfo ei{step, epoch, train_loss, e.loss, e.accuracy};
    for (auto* o : observers) o->on_eval(ei);
  };
  auto finish = [&]() -> TrainResult {
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto* o : observers) o->on_end(result);
    return result;
  };

  std::vector<std::size_t> order(n);
  std::size_t pos = n;  // position in the current epoch's order; n forces a new epoch
  bool started = false;
  auto context = [&](std::uint64_t next, const StepInfo* last) {
    return ControlContext{info, next, epoch, model, optimizer, train_set, config, last};
  };
  if (t0 == 0) {
    run_eval(0);
  } else {
    // Step t0 is batch t0 % per_epoch of epoch t0 / per_epoch. At an epoch boundary the loop
    // opens the next epoch itself (and an evaluation due at t0 reports the finished epoch).
    loss_since_eval = resume->loss_since_eval;
    steps_since_eval = resume->steps_since_eval;
    result.steps = t0;
    result.last_loss = resume->last_loss;
    started = true;
    if (t0 % per_epoch == 0) {
      epoch = t0 / per_epoch - 1;
    } else {
      epoch = t0 / per_epoch;
      std::iota(order.begin(), order.end(), std::size_t{0});
      if (config.shuffle) {
        Rng rng = Rng(config.seed).split(epoch);
        rng.shuffle(order.begin(), order.end());
      }
      pos = static_cast<std::size_t>(t0 % per_epoch) * b;
    }
    result.epochs = epoch + 1;
    if (config.eval_every > 0 && t0 % config.eval_every == 0 && t0 < total) run_eval(t0);
  }
  for (auto* c : hooks.controllers) c->on_start(context(t0, nullptr), schedule);

  Matrix<float> x, out, d_out;
  nn::ForwardCache<float> cache;
  // Unless a hook reads the gradient or a reducer sums it across processes, the update is fused
  // into the backward pass and the gradient never stored (its norm comes from the fused pass),
  // for batches of up to kFusedMaxBatch rows. A larger batch is a K that the weight-gradient
  // GEMMs split into several blocks once it exceeds their KC (256 or 512 floats), so the gradient
  // goes through memory between them anyway, and the fused update measured slower than the
  // separate one: 784-1024-10 at B = 1024, 1 thread, Zen 4, Adam 2-9 % (AVX2 and AVX-512
  // kernels; interleaved nn_bench) and 5-17 % in three runs of scripts/bench_step_vs_torch.sh,
  // SGD level. On several threads an optimizer with state (momentum, AdaGrad's sums, Adam's
  // moments) also takes the separate update: fused, each tile's update reads and writes the state
  // in short row segments, which measured slower than the separate streaming pass once threads
  // share the work (784-1024-10, nn_bench BM_Nn_TrainStep, Adam: B = 32 1.07-1.19 ms fused
  // against 0.64-0.75 separate, B = 128 2.13-2.40 against 1.65-1.70, on 2 threads of a Zen 5;
  // 7-15 % on a 16-core Xeon, docs/node.md; within 3 % when the machine is otherwise quiet; level
  // on one thread). Plain SGD keeps the fused update on any thread count (ahead or level on the
  // 16 cores, 8-10 % behind on 2).
  // The two paths give bitwise the same parameters (nn::Mlp::backward_update).
  constexpr std::size_t kFusedMaxBatch = 256;
  // The state as the first step sizes it, so that state() says whether there is any.
  if (optimizer.num_params() == 0 && optimizer.steps() == 0) optimizer.reset(p);
  const bool stateful = !std::as_const(optimizer).state().empty();
  const bool fused = reducer == nullptr && std::min(config.batch_size, n) <= kFusedMaxBatch &&
                     (!stateful || max_threads() <= 1) &&
                     std::none_of(observers.begin(), observers.end(),
                                  [](const Observer* o) { return o->needs_gradient(); }) &&
                     std::none_of(hooks.controllers.begin(), hooks.controllers.end(),
                                  [](const Controller* c) { return c->needs_gradient(); });
  AlignedVector<float> grads(fused ? 0 : p);
  std::vector<std::uint8_t> labels;

  for (std::uint64_t t = t0; t < total; ++t) {
    // Next batch (a new epoch when the current one is used up).
    if (pos >= n || (config.drop_last && n - pos < b)) {
      if (started) ++epoch;
      started = true;
      std::iota(order.begin(), order.end(), std::size_t{0});
      if (config.shuffle) {
        Rng rng = Rng(config.seed).split(epoch);
        rng.shuffle(order.begin(), order.end());
      }
      pos = 0;
      result.epochs = epoch + 1;
    }
    const std::size_t m = std::min(b, n - pos);
    // Data-parallel: this process computes rows [lo, hi) of the batch (all of them without one).
    // Plain variables rather than a structured binding: the gather's lambda captures `lo`, which
    // clang 14 (the fuzzing build) rejects for bindings.
    const std::pair<std::size_t, std::size_t> shard =
        reducer != nullptr ? reducer->shard(m) : std::pair<std::size_t, std::size_t>{0, m};
    const std::size_t lo = shard.first;
    const std::size_t rows = shard.second - lo;
    x.resize(rows, d);
    out.resize(rows, k);
    d_out.resize(rows, k);
    labels.resize(rows);
    // The batch's rows, gathered across threads for large batches (detail::for_blocks).
    detail::for_blocks(rows, d, [&](std::size_t i0, std::size_t i1) {
      for (std::size_t i = i0; i < i1; ++i) {
        const std::size_t src = order[pos + lo + i];
        std::memcpy(x.row(i), train_set.images.row(src), d * sizeof(float));
        labels[i] = train_set.labels[src];
      }
    });
    pos += m;

    double loss = 0;
    if (rows > 0) {
      model.forward(x.cview(), out.view(), &cache);
      loss = nn::evaluate_loss<float>(config.loss, out.cview(), labels, d_out.view());
    }
    if (reducer != nullptr) {
      // The shard's loss and gradient scaled to the global batch, then summed over processes
      // (gradient_reducer.hpp); every process continues with the same loss and gradient.
      const double scale =
          rows > 0 ? loss_factor(config.loss, m, k) / loss_factor(config.loss, rows, k) : 0.0;
      loss *= scale;
      if (rows > 0) {
        if (scale != 1.0) kernels::scale(rows * k, static_cast<float>(scale), d_out.data());
        model.backward(cache, d_out.cview(), grads.data());
      } else {
        std::fill(grads.begin(), grads.end(), 0.0F);
      }
      reducer->reduce({grads.data(), p}, loss);
    }
    const double lr = schedule.lr(t);
    if (!finite(loss)) {
      result.status = TrainStatus::Diverged;
      result.message = str_cat("diverged at step ", t, " (epoch ", epoch, "): loss is ", loss,
                               " at learning rate ", lr);
      return finish();
    }
    double grad_norm = 0;
    if (fused) {
      // A non-finite gradient has updated the parameters by then; the run ends as Diverged
      // all the same (with the unfused loop, before the update).
      grad_norm = std::sqrt(
          model.backward_update(cache, d_out.cview(), optimizer.fused_step(model.params(), p, lr)));
      optimizer.commit_fused_step();
    } else {
      if (reducer == nullptr) model.backward(cache, d_out.cview(), grads.data());
      grad_norm = std::sqrt(kernels::squared_norm(grads.data(), p));
    }
    if (!finite(grad_norm)) {
      result.status = TrainStatus::Diverged;
      result.message = str_cat("diverged at step ", t, " (epoch ", epoch, "): gradient norm is ",
                               grad_norm, " (loss ", loss, ", learning rate ", lr, ")");
      return finish();
    }
    if (!fused) optimizer.step(model.params(), grads.data(), p, lr);
    if (reducer != nullptr) reducer->after_update(t + 1, {model.params(), p});
    result.steps = t + 1;
    result.last_loss = loss;
    loss_since_eval += loss;
    ++steps_since_eval;
    const StepInfo si{
        t, epoch, loss, lr, grad_norm, m, model, optimizer, {grads.data(), grads.size()}};
    for (auto* o : observers) o->on_step(si);
    if (!optimizer.last_update_finite()) {
      result.status = TrainStatus::Diverged;
      result.message = str_cat("diverged at step ", t, " (epoch ", epoch,
                               "): a parameter is not finite after the update (loss ", loss,
                               ", learning rate ", lr, ")");
      return finish();
    }
    for (auto* c : hooks.controllers) c->after_step(context(t + 1, &si), schedule);
    if (config.eval_every > 0 && (t + 1) % config.eval_every == 0 && t + 1 < total) run_eval(t + 1);
    const bool stop = std::any_of(observers.begin(), observers.end(),
                                  [](const Observer* o) { return o->should_stop(); });
    if (stop && t + 1 < total) {
      result.status = TrainStatus::Stopped;
      result.message = str_cat("stopped by an observer after step ", t);
      run_eval(t + 1);
      return finish();
    }
  }
  run_eval(total);
  result.message = str_cat(total, " steps");
  return finish();
}

}  // namespace catapult::train
