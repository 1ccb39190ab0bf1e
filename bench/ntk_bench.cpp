// NTK benchmarks: the dense structured kernel (build + top eigenvalue), the GEMM of the same
// shape as its dominant Gram product (the peer for "fraction of GEMM speed"), and λmax of the
// matrix-free traced kernel. Inputs are synthetic MNIST-sized rows (784 uniform [0, 1) pixels) on
// a 784-width-k ReLU network with PyTorch's default initialisation.
//
// Families (float; every benchmark uses real time and all threads):
//   BM_Ntk_DenseBuild/n/width/k/mode   empirical_ntk + Lanczos λmax; mode 0 full, 1 traced.
//       Counters: build_flops (FLOP/s of the build, dense_ntk_flops / build time), build_s, eig_s,
//       peak_MiB (VmHWM after resetting it to the current RSS at the benchmark's start: an upper
//       bound, since the allocator may still hold memory of earlier benchmarks), lambda_max.
//   BM_Ntk_GramGemm/rows/depth   C[rows, rows] = A[rows, depth]·Aᵀ through kernels::gemm: the
//       full-mode signal Gram of n = 1000, k = 10 is rows = 10000 in blocks of 2048, depth = width.
//   BM_Ntk_MatrixFreeLambdaMax/n/width   traced NtkOperator + Lanczos λmax (k = 10).
//       Counters: s_per_matvec, matvecs, matvec_flops (FLOP/s of one product), peak_MiB.
// Heavy cases (n = 4000 dense, n = 60000 matrix-free) are registered only with
// CATAPULT_NTK_BENCH_HEAVY=1 in the environment.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/kernels/gemm.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "peer_environment.hpp"

namespace {

using catapult::Matrix;
using clock_type = std::chrono::steady_clock;

// Resets the peak resident set size (VmHWM) of this process; Linux ≥ 4.0.
void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

Matrix<float> pixels(std::size_t n, std::uint64_t seed) {
  catapult::Rng rng(seed);
  Matrix<float> x(n, 784);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.uniform());
  return x;
}

catapult::nn::Mlp<float> network(std::size_t width, std::size_t k) {
  catapult::nn::Mlp<float> model({{784, width, k}});
  catapult::Rng rng(1);
  model.init(rng);
  return model;
}

void BM_Ntk_DenseBuild(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto width = static_cast<std::size_t>(state.range(1));
  const auto k = static_cast<std::size_t>(state.range(2));
  const catapult::ntk::NtkOptions o{.mode = state.range(3) == 0 ? catapult::ntk::NtkMode::Full
                                                                : catapult::ntk::NtkMode::Traced};
  const auto model = network(width, k);
  const Matrix<float> x = pixels(n, 2);
  reset_peak_rss();
  double build_s = 0, eig_s = 0, lambda = 0;
  for (auto _ : state) {
    const auto t0 = clock_type::now();
    const Matrix<float> kernel = catapult::ntk::empirical_ntk(model, x.cview(), o);
    const auto t1 = clock_type::now();
    const catapult::ntk::DenseSymmetricOperator<float> op(kernel.cview());
    const catapult::ntk::EigenResult r =
        catapult::ntk::largest_eigenpairs(op, {.tolerance = 1e-6, .compute_eigenvectors = false});
    build_s += std::chrono::duration<double>(t1 - t0).count();
    eig_s += std::chrono::duration<double>(clock_type::now() - t1).count();
    lambda = r.eigenvalues.empty() ? 0.0 : r.eigenvalues.front();
  }
  const auto iters = static_cast<double>(state.iterations());
  state.counters["build_flops"] =
      catapult::ntk::dense_ntk_flops(model.config(), n, o) * iters / build_s;
  state.counters["build_s"] = build_s / iters;
  state.counters["eig_s"] = eig_s / iters;
  state.counters["peak_MiB"] = peak_rss_mib();
  state.counters["lambda_max"] = lambda;
}

void BM_Ntk_GramGemm(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto depth = static_cast<std::size_t>(state.range(1));
  catapult::Rng rng(3);
  Matrix<float> a(rows, depth), c(rows, rows);
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>(rng.uniform(-1, 1));
  for (auto _ : state) {
    catapult::kernels::gemm<float>(catapult::kernels::Trans::N, catapult::kernels::Trans::T, 1.0F,
                                   a.cview(), a.cview(), 0.0F, c.view());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["flops"] = benchmark::Counter(
      2.0 * static_cast<double>(rows * rows * depth) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void BM_Ntk_MatrixFreeLambdaMax(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto width = static_cast<std::size_t>(state.range(1));
  const auto model = network(width, 10);
  const Matrix<float> x = pixels(n, 4);
  reset_peak_rss();
  double matvecs = 0, seconds = 0, flops = 0;
  for (auto _ : state) {
    const catapult::ntk::NtkOperator<float> op(model, x.cview(),
                                               {.mode = catapult::ntk::NtkMode::Traced});
    const auto t0 = clock_type::now();
    const catapult::ntk::EigenResult r =
        catapult::ntk::largest_eigenpairs(op, {.tolerance = 1e-6, .compute_eigenvectors = false});
    seconds += std::chrono::duration<double>(clock_type::now() - t0).count();
    matvecs += static_cast<double>(r.operations);
    flops = op.flops_per_apply();
  }
  state.counters["s_per_matvec"] = seconds / matvecs;
  state.counters["matvecs"] = matvecs / static_cast<double>(state.iterations());
  state.counters["matvec_flops"] = flops * matvecs / seconds;
  state.counters["peak_MiB"] = peak_rss_mib();
}

bool heavy() {
  const char* v = std::getenv("CATAPULT_NTK_BENCH_HEAVY");
  return v != nullptr && std::string(v) == "1";
}

void register_all() {
  for (const std::int64_t n : {256, 1000, 2000, 4000}) {
    if (n == 4000 && !heavy()) continue;
    for (const std::int64_t width : {256, 1024})
      for (const std::int64_t k : {1, 10})
        for (const std::int64_t mode : {0, 1}) {
          if (mode == 0 && k == 1) continue;         // full == traced for one output
          if (mode == 0 && n * k > 10000) continue;  // (n·k)² floats: 400 MB at n·k = 10000
          benchmark::RegisterBenchmark("BM_Ntk_DenseBuild", BM_Ntk_DenseBuild)
              ->ArgNames({"n", "width", "k", "mode"})
              ->Args({n, width, k, mode})
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime()
              ->Iterations(n >= 2000 ? 1 : 2);
        }
  }
  for (const std::int64_t depth : {256, 1024})
    benchmark::RegisterBenchmark("BM_Ntk_GramGemm", BM_Ntk_GramGemm)
        ->ArgNames({"rows", "depth"})
        ->Args({2048, depth})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  for (const std::int64_t n : {10000, 60000}) {
    if (n == 60000 && !heavy()) continue;
    benchmark::RegisterBenchmark("BM_Ntk_MatrixFreeLambdaMax", BM_Ntk_MatrixFreeLambdaMax)
        ->ArgNames({"n", "width"})
        ->Args({n, 1024})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  catapult::bench::add_catapult_context();
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
