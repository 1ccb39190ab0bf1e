// optim benchmarks: one optimizer update of the poster's networks' flat parameter vectors, against
// OpenBLAS's saxpy on the same vector length, measured in the same binary and run.
//
// An optimizer step is a memory-bound elementwise pass: plain SGD is exactly an axpy (θ ← θ − η·g:
// read 2 floats, write 1), AdaGrad and Adam add their state buffers (and a square root and a
// division per entry). So the peer is cblas_saxpy, the best-tuned memory-bound kernel at hand, and
// the figure of merit is bandwidth: bytes the update must move per second, over saxpy's.
//
// Families (real time; threads: 1, or every hardware thread):
//   BM_Optim_Step/kind/params/threads  kind 0 SGD, 1 SGD + momentum 0.9, 2 AdaGrad, 3 Adam.
//       params: P of 784-H-10 for H ∈ {256, 1024, 4096}. The state is warmed up by 20 steps; a
//       quarter of the gradient entries are 0 (MNIST's never-lit pixels give exact zeros).
//       Counters: bytes (rate: bytes the update reads and writes, 4·P·(2 + 1 + 2·buffers));
//       vs_saxpy = our bandwidth / saxpy's on the same P and threads, both timed after the main
//       loop, interleaved, best of several repetitions.
//   BM_Optim_SaxpyOpenBlas/params/threads  cblas_saxpy alone (bytes = 12·P).
//
// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its generic kernel,
// so main() re-executes the binary with OPENBLAS_CORETYPE set (as kernels_bench and nn_bench do).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catapult/core/aligned.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/optim/optimizer.hpp"
#include "peer_environment.hpp"

#ifdef CATAPULT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using catapult::AlignedVector;
using catapult::optim::OptimizerConfig;
using catapult::optim::OptimizerKind;

using catapult::bench::best_seconds;
using catapult::bench::thread_counts;

// P of the 784-H-10 network with biases.
std::size_t mlp_params(std::size_t hidden) { return 784 * hidden + hidden + hidden * 10 + 10; }

OptimizerConfig config_of(int kind) {
  OptimizerConfig c;
  switch (kind) {
    case 0:
      break;
    case 1:
      c.momentum = 0.9;
      break;
    case 2:
      c.kind = OptimizerKind::AdaGrad;
      break;
    default:
      c.kind = OptimizerKind::Adam;
      break;
  }
  return c;
}

// Floats read + written per entry: θ and g read, θ written, each state buffer read and written.
double floats_moved(int kind) {
  const int buffers = kind == 0 ? 0 : kind == 3 ? 2 : 1;
  return 3.0 + 2.0 * buffers;
}

struct Fixture {
  AlignedVector<float> params, grads, y;
  std::unique_ptr<catapult::optim::Optimizer<float>> opt;

  Fixture(int kind, std::size_t n) : params(n), grads(n), y(n) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto x = static_cast<double>(i);
      params[i] = static_cast<float>(0.03 * std::sin(0.37 * x));
      grads[i] = i % 4 == 0 ? 0.0F : static_cast<float>(1e-3 * std::cos(0.11 * x));
      y[i] = params[i];
    }
    opt = catapult::optim::make_optimizer<float>(config_of(kind));
    for (int s = 0; s < 20; ++s) step();
  }
  void step() {
    opt->step(params.data(), grads.data(), params.size(), 1e-6);
    benchmark::ClobberMemory();
  }
#ifdef CATAPULT_HAVE_OPENBLAS
  void saxpy() {
    cblas_saxpy(static_cast<int>(y.size()), -1e-6F, grads.data(), 1, y.data(), 1);
    benchmark::ClobberMemory();
  }
#endif
};

void BM_Optim_Step(benchmark::State& state) {
  const auto kind = static_cast<int>(state.range(0));
  const auto n = static_cast<std::size_t>(state.range(1));
  const auto threads = static_cast<int>(state.range(2));
  catapult::ThreadLimit limit(static_cast<std::size_t>(threads));
  Fixture f(kind, n);
  for (auto _ : state) f.step();
  const double bytes = 4.0 * floats_moved(kind) * static_cast<double>(n);
  state.counters["bytes"] =
      benchmark::Counter(bytes * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
#ifdef CATAPULT_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
  // Interleave the two timings, best of each, so drifts of the machine affect both alike.
  const double one = best_seconds([&] { f.step(); }, 1);
  const int reps = std::clamp(static_cast<int>(0.1 / std::max(one, 1e-7)), 5, 200);
  double ours = 1e300, blas = 1e300;
  for (int r = 0; r < 3; ++r) {
    ours = std::min(ours, best_seconds([&] { f.step(); }, reps));
    blas = std::min(blas, best_seconds([&] { f.saxpy(); }, reps));
  }
  state.counters["step_us"] = 1e6 * ours;
  state.counters["saxpy_us"] = 1e6 * blas;
  state.counters["vs_saxpy"] = (bytes / ours) / (12.0 * static_cast<double>(n) / blas);
#endif
}

void BM_Optim_SaxpyOpenBlas(benchmark::State& state) {
#ifdef CATAPULT_HAVE_OPENBLAS
  const auto n = static_cast<std::size_t>(state.range(0));
  openblas_set_num_threads(static_cast<int>(state.range(1)));
  Fixture f(0, n);
  for (auto _ : state) f.saxpy();
  state.counters["bytes"] =
      benchmark::Counter(12.0 * static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
#else
  state.SkipWithError("built without OpenBLAS");
#endif
}

void step_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kind", "params", "threads"});
  for (int kind : {0, 1, 2, 3})
    for (std::size_t hidden : {256, 1024, 4096})
      for (int t : thread_counts()) b->Args({kind, static_cast<long>(mlp_params(hidden)), t});
  b->UseRealTime();
}

void saxpy_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"params", "threads"});
  for (std::size_t hidden : {256, 1024, 4096})
    for (int t : thread_counts()) b->Args({static_cast<long>(mlp_params(hidden)), t});
  b->UseRealTime();
}

BENCHMARK(BM_Optim_Step)->Apply(step_args);
BENCHMARK(BM_Optim_SaxpyOpenBlas)->Apply(saxpy_args);

}  // namespace

int main(int argc, char** argv) {
  catapult::bench::restart_with_peer_environment(argv, /*omp_passive=*/false);
  return catapult::bench::run_benchmarks(argc, argv);
}
