// nn benchmarks: one training step of the poster's network, 784-H-10, against the time its GEMMs
// alone take in OpenBLAS, measured in the same binary and run.
//
// Families (FLOP counters as rates; a step is 2·B·H·(2·784 + 3·10) flops: forward of both layers,
// dW of both layers, dX of the output layer only — the input needs no gradient):
//   BM_Nn_Step/hidden/batch/threads      forward (fused bias + ReLU + derivative) + mean-MSE loss
//       and d_out + backward with the SGD update fused into the weight-gradient GEMMs
//       (Mlp::backward_update): what Trainer does per step when no hook reads the gradient, minus
//       batch gathering and the divergence checks. Every iteration times three samples back to
//       back (the same number of calls each, at least kPairSeconds), in an order that rotates
//       from one iteration to the next: our step, the step's five GEMMs in OpenBLAS, and the same
//       five products with our gemm (without OpenBLAS, the other two). Counters, medians over
//       the iterations:
//       step_efficiency = t(OpenBLAS GEMMs) / t(our step) of the same iteration (target ≥ 0.8 at
//       batch ≥ 128); nn_overhead = 1 − t(our GEMMs) / t(our step), what the nn layer adds
//       (copies, ⊙ act', bias sums, loss, update); step_ms, openblas_gemms_ms, own_gemms_ms per
//       call; flops, the step's FLOP/s at the median step time. Manual time on
//       bench::PairClock: the three samples (CPU time of this thread on one thread).
//   BM_Nn_StepGemmsOpenBlas/hidden/batch/threads   the same five GEMMs with cblas_sgemm only
//       (real time).
//   BM_Nn_TrainStep/opt/hidden/batch/threads/fused   one whole training step as the PyTorch
//       peer times it (scripts/bench_step_vs_torch.sh, scripts/torch_step.py): forward with the
//       cache, mean-MSE loss and d_out, backward, optimizer step; opt 0 SGD, 1 Adam. fused 1: the
//       step as train::train runs it when no hook reads the gradient (Mlp::backward_update with
//       Optimizer::fused_step: the update in the weight-gradient GEMMs' epilogue, ‖g‖² from it);
//       fused 0: backward into the gradient, its norm (as the trainer's divergence check), then
//       Optimizer::step. On bench::PairClock
//       (the thread's CPU time on one thread, else the wall clock; the peer uses the same clocks),
//       samples of at least kTrainSampleSeconds, counter step_ms = the median sample per step.
//   BM_Nn_TrainEpoch/opt/hidden/batch/threads   one epoch of train::train over MNIST's 60000
//       training images (unit interval, reshuffled, the last batch smaller where B does not
//       divide 60000), as `catapult train --epochs 1` runs it without evaluations or logs: batch
//       gathering, the step, and the trainer's checks of the loss, the gradient norm and the
//       parameters on every step. Against scripts/torch_step.py --epoch-data (a PyTorch loop
//       over a shuffled index, reading loss.item() every step). opt 0 SGD at rate 0.1, 1 Adam at
//       1e-3; a fresh network and optimizer per iteration, one epoch per iteration, timed on
//       bench::PairClock; counter epoch_s. MNIST from $CATAPULT_MNIST_DIR or the cache
//       (scripts/test.sh and `catapult fetch-data` fill it); the family is skipped, with that
//       said, when it is missing.
// threads: 1, or every hardware thread.
//
// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its generic kernel,
// so main() re-executes the binary with OPENBLAS_CORETYPE set (SkylakeX with AVX-512, Haswell
// with AVX2; a different inherited value is replaced: the policy of peer_environment.hpp).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "catapult/kernels/elementwise.hpp"
#include "catapult/kernels/gemm.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/optim/adam.hpp"
#include "catapult/optim/sgd.hpp"
#include "catapult/train/trainer.hpp"
#include "peer_environment.hpp"

#ifdef CATAPULT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using catapult::Matrix;
using catapult::Rng;

constexpr std::size_t kInputs = 784;
constexpr std::size_t kClasses = 10;

using catapult::bench::thread_counts;

double step_flops(std::size_t batch, std::size_t hidden) {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(hidden) *
         (2.0 * kInputs + 3.0 * kClasses);
}

// Everything one step touches, built outside the timed loops.
struct StepFixture {
  catapult::nn::Mlp<float> model;
  catapult::optim::Sgd<float> sgd;
  Matrix<float> x, out, d_out, d_hidden;
  std::vector<std::uint8_t> labels;
  catapult::nn::ForwardCache<float> cache;
  catapult::AlignedVector<float> grads;

  StepFixture(std::size_t batch, std::size_t hidden)
      : model(catapult::nn::MlpConfig{{kInputs, hidden, kClasses}}),
        x(batch, kInputs),
        out(batch, kClasses),
        d_out(batch, kClasses),
        d_hidden(batch, hidden),
        labels(batch),
        grads(model.num_params()) {
    Rng rng(1);
    model.init(rng);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.uniform());
    for (auto& l : labels) l = static_cast<std::uint8_t>(rng.uniform_index(kClasses));
  }

  // As train::train runs a step when no hook reads the gradient: the SGD update fused into the
  // weight-gradient GEMMs (Mlp::backward_update), ‖g‖² from the same pass.
  void step() {
    model.forward(x.cview(), out.view(), &cache);
    benchmark::DoNotOptimize(
        catapult::nn::mse_loss_labels<float>(out.cview(), labels, d_out.view()));
    benchmark::DoNotOptimize(model.backward_update(
        cache, d_out.cview(), sgd.fused_step(model.params(), model.num_params(), 1e-6)));
    sgd.commit_fused_step();
  }

  // The same five products with our gemm (no epilogue): step − this = the nn layer's overhead.
  void own_gemms() {
    using catapult::kernels::gemm;
    using catapult::kernels::Trans;
    const auto l0 = model.layer(0);
    const auto l1 = model.layer(1);
    auto a1 = cache.inputs[1].view();
    const std::size_t h = d_hidden.cols();
    catapult::MatrixView<float> dw0(grads.data(), h, kInputs);
    catapult::MatrixView<float> dw1(grads.data() + model.weight_offset(1), kClasses, h);
    gemm<float>(Trans::N, Trans::T, 1.0F, x.cview(), l0.weight, 0.0F, a1);
    gemm<float>(Trans::N, Trans::T, 1.0F, catapult::MatrixView<const float>(a1), l1.weight, 0.0F,
                out.view());
    gemm<float>(Trans::T, Trans::N, 1.0F, d_out.cview(), catapult::MatrixView<const float>(a1),
                0.0F, dw1);
    gemm<float>(Trans::N, Trans::N, 1.0F, d_out.cview(), l1.weight, 0.0F, d_hidden.view());
    gemm<float>(Trans::T, Trans::N, 1.0F, d_hidden.cview(), x.cview(), 0.0F, dw0);
    benchmark::ClobberMemory();
  }

#ifdef CATAPULT_HAVE_OPENBLAS
  // The step's five products, in OpenBLAS: Z1 = X·W0ᵀ, Z2 = A1·W1ᵀ, dW1 = dZ2ᵀ·A1,
  // dA1 = dZ2·W1, dW0 = dZ1ᵀ·X (shapes as Mlp uses them; A1, dZ reuse the cache buffers).
  void blas_gemms() {
    const auto b = static_cast<int>(x.rows());
    const auto h = static_cast<int>(d_hidden.cols());
    const int d = static_cast<int>(kInputs), k = static_cast<int>(kClasses);
    const auto l0 = model.layer(0);
    const auto l1 = model.layer(1);
    float* a1 = cache.inputs[1].data();
    float* dw0 = grads.data();
    float* dw1 = grads.data() + model.weight_offset(1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, h, d, 1.0F, x.data(), d,
                l0.weight.data(), d, 0.0F, a1, h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, k, h, 1.0F, a1, h, l1.weight.data(), h,
                0.0F, out.data(), k);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, h, b, 1.0F, d_out.data(), k, a1, h,
                0.0F, dw1, h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, h, k, 1.0F, d_out.data(), k,
                l1.weight.data(), h, 0.0F, d_hidden.data(), h);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, h, d, b, 1.0F, d_hidden.data(), h,
                x.data(), d, 0.0F, dw0, d);
    benchmark::ClobberMemory();
  }
#endif
};

// The samples of one BM_Nn_Step iteration: 0 our step, 1 our GEMMs, 2 OpenBLAS's GEMMs.
#ifdef CATAPULT_HAVE_OPENBLAS
constexpr int kStepSamples = 3;
#else
constexpr int kStepSamples = 2;
#endif

void BM_Nn_Step(benchmark::State& state) {
  const auto hidden = static_cast<std::size_t>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const auto threads = static_cast<int>(state.range(2));
  catapult::ThreadLimit limit(static_cast<std::size_t>(threads));
#ifdef CATAPULT_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  StepFixture f(batch, hidden);
  const catapult::bench::PairClock clock(threads);
  const auto sample = [&](int which, int calls) {
    switch (which) {
      case 0:
        return clock.time(calls, [&] { f.step(); });
      case 1:
        return clock.time(calls, [&] { f.own_gemms(); });
      default:
#ifdef CATAPULT_HAVE_OPENBLAS
        return clock.time(calls, [&] { f.blas_gemms(); });
#else
        return 0.0;
#endif
    }
  };
  for (int which = 0; which < kStepSamples; ++which) sample(which, 1);  // sizes the buffers
  const double once = sample(0, 1);
  const int calls =
      static_cast<int>(std::clamp(std::ceil(catapult::bench::kPairSeconds / once), 1.0, 1e5));
  std::vector<double> efficiency, overhead, t_step, t_own, t_blas;
  int first = 0;
  for (auto _ : state) {
    double t[3] = {};
    for (int i = 0; i < kStepSamples; ++i) {
      const int which = (first + i) % kStepSamples;
      t[which] = sample(which, calls) / calls;
    }
    first = (first + 1) % kStepSamples;
    overhead.push_back(1.0 - t[1] / t[0]);
    efficiency.push_back(t[2] / t[0]);
    t_step.push_back(t[0]);
    t_own.push_back(t[1]);
    t_blas.push_back(t[2]);
    state.SetIterationTime(calls * (t[0] + t[1] + t[2]));
  }
  using catapult::bench::median;
  const double step = median(t_step);
  state.counters["step_ms"] = 1e3 * step;
  state.counters["flops"] = step_flops(batch, hidden) / step;
  state.counters["own_gemms_ms"] = 1e3 * median(t_own);
  state.counters["nn_overhead"] = median(overhead);
  if (kStepSamples == 3) {
    state.counters["openblas_gemms_ms"] = 1e3 * median(t_blas);
    state.counters["step_efficiency"] = median(efficiency);
  }
}

void BM_Nn_StepGemmsOpenBlas(benchmark::State& state) {
#ifdef CATAPULT_HAVE_OPENBLAS
  const auto hidden = static_cast<std::size_t>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const auto threads = static_cast<int>(state.range(2));
  openblas_set_num_threads(threads);
  StepFixture f(batch, hidden);
  f.step();
  for (auto _ : state) f.blas_gemms();
  state.counters["flops"] =
      benchmark::Counter(step_flops(batch, hidden) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
#else
  state.SkipWithError("built without OpenBLAS");
#endif
}

void step_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"hidden", "batch", "threads"});
  for (int hidden : {256, 1024, 4096})
    for (int batch : {32, 128, 1024})
      for (int t : thread_counts()) b->Args({hidden, batch, t});
}

// One sample of BM_Nn_TrainStep: long enough for the wall clock and for a descheduling to show
// up in few samples only (the median drops them); the PyTorch side uses the same length.
constexpr double kTrainSampleSeconds = 5e-3;

void BM_Nn_TrainStep(benchmark::State& state) {
  const auto opt = static_cast<int>(state.range(0));
  const auto hidden = static_cast<std::size_t>(state.range(1));
  const auto batch = static_cast<std::size_t>(state.range(2));
  const auto threads = static_cast<int>(state.range(3));
  const bool fused = state.range(4) != 0;
  catapult::ThreadLimit limit(static_cast<std::size_t>(threads));
  StepFixture f(batch, hidden);
  std::unique_ptr<catapult::optim::Optimizer<float>> optimizer;
  if (opt == 0)
    optimizer = std::make_unique<catapult::optim::Sgd<float>>();
  else
    optimizer = std::make_unique<catapult::optim::Adam<float>>();
  const auto step = [&] {
    f.model.forward(f.x.cview(), f.out.view(), &f.cache);
    benchmark::DoNotOptimize(
        catapult::nn::mse_loss_labels<float>(f.out.cview(), f.labels, f.d_out.view()));
    const std::size_t p = f.model.num_params();
    if (fused) {
      benchmark::DoNotOptimize(f.model.backward_update(
          f.cache, f.d_out.cview(), optimizer->fused_step(f.model.params(), p, 1e-6)));
      optimizer->commit_fused_step();
    } else {
      f.model.backward(f.cache, f.d_out.cview(), f.grads.data());
      benchmark::DoNotOptimize(catapult::kernels::squared_norm(f.grads.data(), p));
      optimizer->step(f.model.params(), f.grads.data(), p, 1e-6);
    }
  };
  const catapult::bench::PairClock clock(threads);
  for (int i = 0; i < 3; ++i) step();  // sizes the buffers, warms the caches
  const double once = clock.time(1, step);
  const int calls = static_cast<int>(std::clamp(std::ceil(kTrainSampleSeconds / once), 1.0, 1e5));
  std::vector<double> per_step;
  for (auto _ : state) {
    const double t = clock.time(calls, step);
    per_step.push_back(t / calls);
    state.SetIterationTime(t);
  }
  state.counters["step_ms"] = 1e3 * catapult::bench::median(per_step);
  state.counters["flops"] = step_flops(batch, hidden) / catapult::bench::median(per_step);
}

void train_step_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"opt", "hidden", "batch", "threads", "fused"});
  for (int opt : {0, 1})
    for (int batch : {32, 128, 1024})
      for (int t : thread_counts())
        for (int fused : {1, 0}) b->Args({opt, 1024, batch, t, fused});
}

// MNIST's training set for BM_Nn_TrainEpoch, loaded once; null, with the reason in *why, when
// it cannot be.
const catapult::data::Dataset* mnist_train(std::string* why) {
  static const auto loaded =
      []() -> std::pair<std::unique_ptr<catapult::data::Dataset>, std::string> {
    try {
      const auto dir = catapult::data::default_mnist_dir();
      auto splits = catapult::data::load_mnist(dir);
      return {std::make_unique<catapult::data::Dataset>(std::move(splits.train)), ""};
    } catch (const std::exception& e) {
      return {nullptr, std::string("MNIST is not cached (") + e.what() +
                           "); scripts/test.sh or `catapult fetch-data` fetches it"};
    }
  }();
  *why = loaded.second;
  return loaded.first.get();
}

void BM_Nn_TrainEpoch(benchmark::State& state) {
  const auto opt = static_cast<int>(state.range(0));
  const auto hidden = static_cast<std::size_t>(state.range(1));
  const auto batch = static_cast<std::size_t>(state.range(2));
  const auto threads = static_cast<int>(state.range(3));
  std::string why;
  const catapult::data::Dataset* train_set = mnist_train(&why);
  if (train_set == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  catapult::ThreadLimit limit(static_cast<std::size_t>(threads));
  catapult::train::TrainConfig tc;
  tc.batch_size = batch;
  tc.epochs = 1;
  tc.seed = 1;
  catapult::optim::OptimizerConfig oc;
  oc.kind = opt == 0 ? catapult::optim::OptimizerKind::Sgd : catapult::optim::OptimizerKind::Adam;
  catapult::optim::ScheduleConfig sc;
  sc.lr = opt == 0 ? 0.1 : 1e-3;
  const catapult::bench::PairClock clock(threads);
  std::vector<double> seconds;
  for (auto _ : state) {
    catapult::nn::Mlp<float> model(catapult::nn::MlpConfig{{kInputs, hidden, kClasses}});
    Rng rng(1);
    model.init(rng);
    const auto optimizer = catapult::optim::make_optimizer<float>(oc);
    const catapult::optim::Schedule schedule(sc);
    catapult::train::TrainResult result;
    const double t = clock.time(1, [&] {
      result = catapult::train::train(model, *optimizer, schedule, *train_set, nullptr, tc, {});
    });
    if (result.status != catapult::train::TrainStatus::Completed) {
      state.SkipWithError(("the epoch did not complete: " + result.message).c_str());
      return;
    }
    seconds.push_back(t);
    state.SetIterationTime(t);
  }
  state.counters["epoch_s"] = catapult::bench::median(seconds);
}

void train_epoch_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"opt", "hidden", "batch", "threads"});
  for (int opt : {0, 1})
    for (int batch : {32, 128, 1024})
      for (int t : thread_counts()) b->Args({opt, 1024, batch, t});
}

BENCHMARK(BM_Nn_Step)->Apply(step_args)->UseManualTime();
BENCHMARK(BM_Nn_TrainStep)->Apply(train_step_args)->UseManualTime();
BENCHMARK(BM_Nn_StepGemmsOpenBlas)->Apply(step_args)->UseRealTime();
BENCHMARK(BM_Nn_TrainEpoch)->Apply(train_epoch_args)->UseManualTime()->Iterations(1);

}  // namespace

int main(int argc, char** argv) {
  catapult::bench::restart_with_peer_environment(argv, /*omp_passive=*/false);
  return catapult::bench::run_benchmarks(argc, argv);
}
