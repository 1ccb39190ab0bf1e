// Kernels benchmarks: our GEMM variants against OpenBLAS and Eigen in one binary, so ratios come
// from one run, plus an FMA-throughput peak of this machine.
//
// Families (all with a "flops" rate counter, FLOP/s; 2·M·N·K flops per GEMM):
//   BM_Kernels_GemmSquare<T>/n/impl/threads   C[n,n] = A[n,n]·B[n,n]
//   BM_Kernels_GemmMlp<T>/pass/batch/hidden/impl/threads   the MLP's products (784 inputs, 10
//       classes): pass 0 forward Z = X[B,784]·W1[H,784]ᵀ, 1 dW = dHᵀ[H,B]·X[B,784],
//       2 dX = dH[B,H]·W1[H,784], 3 output layer Z2 = A[B,H]·W2[10,H]ᵀ
//   BM_Kernels_FmaPeak<T>/threads   independent xsimd FMAs: the machine's peak
//   BM_Kernels_PairedSquare<T>/n/threads, BM_Kernels_PairedMlp<T>/pass/batch/hidden/threads
//       ours (simd_parallel) and OpenBLAS timed back to back, alternating; counters "ratio"
//       (median of t_openblas / t_ours over the pairs), "ours_flops", "openblas_flops"; squares
//       on one thread also "peak_fraction" (ours against the FMA peak timed in the same pair)
// impl: 0 naive, 1 blocked_scalar, 2 simd, 3 simd_parallel, 4 openblas, 5 eigen.
// threads: 1, or every hardware thread; every benchmark uses real time.
//
// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to a slow generic
// kernel, so main() re-executes the binary with OPENBLAS_CORETYPE set (SkylakeX with AVX-512,
// Haswell with AVX2) unless the caller set it, and with OMP_WAIT_POLICY=passive for Eigen's
// OpenMP threads; the values in use are printed in the benchmark context.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/kernels/gemm.hpp"
#include "peer_environment.hpp"

#ifdef CATAPULT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using catapult::Matrix;
using catapult::kernels::GemmVariant;
using catapult::kernels::Trans;

enum Impl : int { kNaive, kBlockedScalar, kSimd, kSimdParallel, kOpenBlas, kEigen };

const char* impl_name(int impl) {
  switch (impl) {
    case kOpenBlas:
      return "openblas";
    case kEigen:
      return "eigen";
    default:
      return catapult::kernels::to_string(static_cast<GemmVariant>(impl));
  }
}

using catapult::bench::all_threads;
using catapult::bench::thread_counts;

template <class T>
Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  catapult::Rng rng(seed);
  Matrix<T> m(rows, cols);
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform(-1, 1));
  return m;
}

template <class T>
using EigenMap =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using EigenMapMut = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

#ifdef CATAPULT_HAVE_OPENBLAS
void blas_gemm(Trans ta, Trans tb, int m, int n, int k, const float* a, int lda, const float* b,
               int ldb, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta == Trans::N ? CblasNoTrans : CblasTrans,
              tb == Trans::N ? CblasNoTrans : CblasTrans, m, n, k, 1.0F, a, lda, b, ldb, 0.0F, c,
              ldc);
}
void blas_gemm(Trans ta, Trans tb, int m, int n, int k, const double* a, int lda, const double* b,
               int ldb, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta == Trans::N ? CblasNoTrans : CblasTrans,
              tb == Trans::N ? CblasNoTrans : CblasTrans, m, n, k, 1.0, a, lda, b, ldb, 0.0, c,
              ldc);
}
#endif

// One problem C = op(A)·op(B) (alpha 1, beta 0) with its operands, run by any implementation.
template <class T>
struct GemmCase {
  Trans ta, tb;
  std::size_t m, n, k;
  Matrix<T> a, b, c;
  GemmCase(Trans ta_, Trans tb_, std::size_t m_, std::size_t n_, std::size_t k_)
      : ta(ta_),
        tb(tb_),
        m(m_),
        n(n_),
        k(k_),
        a(ta == Trans::N ? random_matrix<T>(m, k, 1) : random_matrix<T>(k, m, 1)),
        b(tb == Trans::N ? random_matrix<T>(k, n, 2) : random_matrix<T>(n, k, 2)),
        c(m, n) {}
  double flops() const {
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  }
  void ours(GemmVariant variant) {
    catapult::kernels::gemm<T>(ta, tb, T(1), a.cview(), b.cview(), T(0), c.view(), {}, variant);
  }
#ifdef CATAPULT_HAVE_OPENBLAS
  void openblas() {
    blas_gemm(ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a.data(),
              static_cast<int>(a.cols()), b.data(), static_cast<int>(b.cols()), c.data(),
              static_cast<int>(n));
  }
#endif
  void eigen() {
    const EigenMap<T> ea(a.data(), static_cast<Eigen::Index>(a.rows()),
                         static_cast<Eigen::Index>(a.cols()));
    const EigenMap<T> eb(b.data(), static_cast<Eigen::Index>(b.rows()),
                         static_cast<Eigen::Index>(b.cols()));
    EigenMapMut<T> ec(c.data(), static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(n));
    if (ta == Trans::N && tb == Trans::N)
      ec.noalias() = ea * eb;
    else if (ta == Trans::N)
      ec.noalias() = ea * eb.transpose();
    else if (tb == Trans::N)
      ec.noalias() = ea.transpose() * eb;
    else
      ec.noalias() = ea.transpose() * eb.transpose();
  }
};

// Times C = op(A)·op(B) with the given implementation and thread count.
template <class T>
void run_gemm(benchmark::State& state, Trans ta, Trans tb, std::size_t m, std::size_t n,
              std::size_t k, int impl, int threads) {
  GemmCase<T> g(ta, tb, m, n, k);
  state.SetLabel(impl_name(impl));
  catapult::ThreadLimit limit(static_cast<std::size_t>(threads));
  if (impl == kOpenBlas) {
#ifdef CATAPULT_HAVE_OPENBLAS
    openblas_set_num_threads(threads);
    for (auto _ : state) {
      g.openblas();
      benchmark::ClobberMemory();
    }
#else
    state.SkipWithError("built without OpenBLAS");
    return;
#endif
  } else if (impl == kEigen) {
    Eigen::setNbThreads(threads);
    for (auto _ : state) {
      g.eigen();
      benchmark::ClobberMemory();
    }
  } else {
    const auto variant = static_cast<GemmVariant>(impl);
    for (auto _ : state) {
      g.ours(variant);
      benchmark::ClobberMemory();
    }
  }
  state.counters["flops"] = benchmark::Counter(g.flops() * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

// Peak FMA throughput: kAcc independent accumulator registers, each updated by one FMA per step
// (enough to cover the FMA latency on two ports), nothing loaded from memory.
template <class T>
struct FmaChains {
  using B = xsimd::batch<T, xsimd::default_arch>;
  static constexpr int kAcc = 16;
  static constexpr int kInner = 256;
  static constexpr double kFlopsPerRound = 2.0 * kAcc * kInner * static_cast<double>(B::size);
  B acc[kAcc];
  FmaChains() {
    for (int i = 0; i < kAcc; ++i) acc[i] = B(static_cast<T>(i) * T(0.01));
  }
  // kInner steps of every chain, `rounds` times.
  void run(long rounds) {
    const B x(T(0.999));
    const B y(T(0.001));
    for (long r = 0; r < rounds; ++r) {
      for (int it = 0; it < kInner; ++it)
#pragma GCC unroll 16
        for (int i = 0; i < kAcc; ++i) acc[i] = xsimd::fma(acc[i], x, y);
      benchmark::DoNotOptimize(acc);
    }
  }
};

// Ours (simd_parallel) and OpenBLAS back to back on one problem. Each iteration times one sample
// of each (the same number of calls, enough for kPairSeconds), alternating which goes first, so
// both see the same moment of the machine's other load: the ratio of a pair is far steadier than
// the ratio of two benchmarks' medians, whose repetitions ran minutes apart. Counters: "ratio",
// the median over the iterations of t_openblas / t_ours (> 1: ours is faster); "ours_flops" and
// "openblas_flops", FLOP/s over all the samples of each. Manual time: the two samples together,
// on PairClock (CPU time of this thread on one thread).
// With peak (one thread only), every pair also times a sample of FmaChains between the two, and
// "peak_fraction" is the median of ours' FLOP/s over the FMA peak's in the same pair: the
// fraction of the peak measured at the same moment, where the separate BM_Kernels_FmaPeak
// benchmark ran at another.
using catapult::bench::kPairSeconds;

template <class T>
void run_paired(benchmark::State& state, Trans ta, Trans tb, std::size_t m, std::size_t n,
                std::size_t k, int threads, bool peak = false) {
#ifdef CATAPULT_HAVE_OPENBLAS
  GemmCase<T> g(ta, tb, m, n, k);
  catapult::ThreadLimit limit(static_cast<std::size_t>(threads));
  openblas_set_num_threads(threads);
  const catapult::bench::PairClock clock(threads);
  const auto timed = [&clock](int calls, auto&& call) { return clock.time(calls, call); };
  const auto ours = [&] { g.ours(GemmVariant::SimdParallel); };
  const auto peer = [&] { g.openblas(); };
  timed(1, peer);
  timed(1, ours);  // first calls: workspace allocation, thread start-up
  const double once = timed(1, ours);
  const int calls = static_cast<int>(std::clamp(std::ceil(kPairSeconds / once), 1.0, 1e5));
  peak = peak && threads == 1;
  FmaChains<T> chains;
  const auto fma_sample = [&](long rounds) { return timed(1, [&] { chains.run(rounds); }); };
  const long rounds =
      peak ? static_cast<long>(std::ceil(kPairSeconds / std::max(fma_sample(1), 1e-9))) : 0;
  std::vector<double> ratios, fractions;
  double t_ours = 0, t_peer = 0;
  bool ours_first = true;
  for (auto _ : state) {
    double to = 0, tp = 0, tf = 0;
    if (ours_first) {
      to = timed(calls, ours);
      if (peak) tf = fma_sample(rounds);
      tp = timed(calls, peer);
    } else {
      tp = timed(calls, peer);
      if (peak) tf = fma_sample(rounds);
      to = timed(calls, ours);
    }
    ours_first = !ours_first;
    ratios.push_back(tp / to);
    if (peak)
      fractions.push_back((g.flops() * calls / to) /
                          (FmaChains<T>::kFlopsPerRound * static_cast<double>(rounds) / tf));
    t_ours += to;
    t_peer += tp;
    state.SetIterationTime(to + tp + tf);
  }
  const double work = g.flops() * calls * static_cast<double>(state.iterations());
  state.counters["ratio"] = catapult::bench::median(ratios);
  if (peak) state.counters["peak_fraction"] = catapult::bench::median(fractions);
  state.counters["ours_flops"] = work / t_ours;
  state.counters["openblas_flops"] = work / t_peer;
  state.SetLabel("simd_parallel vs openblas");
#else
  state.SkipWithError("built without OpenBLAS");
  static_cast<void>(ta), static_cast<void>(tb), static_cast<void>(m), static_cast<void>(n);
  static_cast<void>(k), static_cast<void>(threads), static_cast<void>(peak);
#endif
}

// The MLP's products: pass 0 forward, 1 dW1, 2 dX, 3 output layer (see the header comment).
template <class T, class Run>
void mlp_pass(int pass, std::size_t batch, std::size_t hidden, Run&& run) {
  constexpr std::size_t kInputs = 784, kClasses = 10;
  switch (pass) {
    case 0:  // Z[B,H] = X[B,784]·W1[H,784]ᵀ
      run(Trans::N, Trans::T, batch, hidden, kInputs);
      break;
    case 1:  // dW[H,784] = dH[B,H]ᵀ·X[B,784]
      run(Trans::T, Trans::N, hidden, kInputs, batch);
      break;
    case 2:  // dX[B,784] = dH[B,H]·W1[H,784]
      run(Trans::N, Trans::N, batch, kInputs, hidden);
      break;
    default:  // Z2[B,10] = A[B,H]·W2[10,H]ᵀ
      run(Trans::N, Trans::T, batch, kClasses, hidden);
      break;
  }
}

template <class T>
void BM_Kernels_GemmSquare(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run_gemm<T>(state, Trans::N, Trans::N, n, n, n, static_cast<int>(state.range(1)),
              static_cast<int>(state.range(2)));
}

template <class T>
void BM_Kernels_GemmMlp(benchmark::State& state) {
  const int impl = static_cast<int>(state.range(3));
  const int threads = static_cast<int>(state.range(4));
  mlp_pass<T>(static_cast<int>(state.range(0)), static_cast<std::size_t>(state.range(1)),
              static_cast<std::size_t>(state.range(2)),
              [&](Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k) {
                run_gemm<T>(state, ta, tb, m, n, k, impl, threads);
              });
}

template <class T>
void BM_Kernels_PairedSquare(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run_paired<T>(state, Trans::N, Trans::N, n, n, n, static_cast<int>(state.range(1)),
                /*peak=*/true);
}

template <class T>
void BM_Kernels_PairedMlp(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(3));
  mlp_pass<T>(static_cast<int>(state.range(0)), static_cast<std::size_t>(state.range(1)),
              static_cast<std::size_t>(state.range(2)),
              [&](Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k) {
                run_paired<T>(state, ta, tb, m, n, k, threads);
              });
}

template <class T>
void BM_Kernels_FmaPeak(benchmark::State& state) {
  FmaChains<T> chains;
  for (auto _ : state) chains.run(1);
  state.counters["flops"] =
      benchmark::Counter(FmaChains<T>::kFlopsPerRound * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.SetLabel(xsimd::default_arch::name());
}

// The fastest repetition ("min" aggregate, of the real and CPU times): the other load on a shared
// machine only ever slows a run down, so with interleaved repetitions the fastest of each is a
// second estimate of what the code can do, beside the median; scripts/bench_table.py checks the
// targets on both. (Google Benchmark applies the statistic to the flops counter too, where the
// minimum of a rate means nothing: the script derives the rate from the time.)
double fastest(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// Naive and blocked-scalar only on small sizes (they are 10-100x slower).
void square_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "impl", "threads"});
  for (const int n : {64, 128, 256, 512, 1024, 2048}) {
    if (n <= 256) {
      b->Args({n, kNaive, 1});
      b->Args({n, kBlockedScalar, 1});
    }
    b->Args({n, kSimd, 1});
    for (const int threads : thread_counts()) {
      b->Args({n, kSimdParallel, threads});
      b->Args({n, kOpenBlas, threads});
      b->Args({n, kEigen, threads});
    }
  }
  b->UseRealTime()->ComputeStatistics("min", fastest);
}

void mlp_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"pass", "batch", "hidden", "impl", "threads"});
  for (const int pass : {0, 1, 2, 3})
    for (const int batch : {32, 128, 1024})
      for (const int hidden : {256, 1024, 4096})
        for (const int threads : thread_counts()) {
          for (const int impl : {kSimdParallel, kOpenBlas, kEigen})
            b->Args({pass, batch, hidden, impl, threads});
        }
  b->UseRealTime()->ComputeStatistics("min", fastest);
}

BENCHMARK_TEMPLATE(BM_Kernels_FmaPeak, float)
    ->Threads(1)
    ->UseRealTime()
    ->ComputeStatistics("min", fastest);
BENCHMARK_TEMPLATE(BM_Kernels_FmaPeak, float)
    ->Threads(all_threads())
    ->UseRealTime()
    ->ComputeStatistics("min", fastest);
BENCHMARK_TEMPLATE(BM_Kernels_FmaPeak, double)
    ->Threads(1)
    ->UseRealTime()
    ->ComputeStatistics("min", fastest);
BENCHMARK_TEMPLATE(BM_Kernels_GemmSquare, float)->Apply(square_args);
BENCHMARK_TEMPLATE(BM_Kernels_GemmSquare, double)->Apply(square_args);
BENCHMARK_TEMPLATE(BM_Kernels_GemmMlp, float)->Apply(mlp_args);

// The paired families cover the cases of the targets (docs/benchmarks.md): squares n ≥ 256 and
// the MLP shapes, at 1 thread and at every thread. The spread of the repetitions' ratios is kept
// ("min", "max"). Each case is registered by itself so that it can run long enough for about
// kMinPairs pairs per repetition: a pair of calls at a nominal 100 GFLOP/s per thread (below
// what either side reaches here) takes 2·flops / (threads · 1e11) s, and a case that needs more
// than 0.2 s for kMinPairs of them gets that time (overriding --benchmark_min_time): squares
// 2048 on one thread 2.7 s, the B = 1024, H = 4096 products about 1 s. With 0.2 s a repetition of
// those was one or two pairs, and single repetitions ranged from 0.5 to 1.4.
constexpr int kMinPairs = 8;
double largest(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

template <class T>
const char* type_name() {
  return sizeof(T) == sizeof(float) ? "float" : "double";
}

benchmark::internal::Benchmark* register_paired(const std::string& name,
                                                void (*fn)(benchmark::State&), double flops,
                                                int threads) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), fn);
  const double seconds = kMinPairs * 2.0 * flops / (static_cast<double>(threads) * 1e11);
  if (seconds > 0.2) b->MinTime(seconds);
  b->UseManualTime()->ComputeStatistics("min", fastest)->ComputeStatistics("max", largest);
  return b;
}

template <class T>
void register_paired_squares() {
  for (const int n : {256, 512, 1024, 2048})
    for (const int threads : thread_counts()) {
      register_paired(std::string("BM_Kernels_PairedSquare<") + type_name<T>() + ">",
                      BM_Kernels_PairedSquare<T>, 2.0 * n * n * n, threads)
          ->ArgNames({"n", "threads"})
          ->Args({n, threads});
    }
}

void register_paired_mlp() {
  for (const int pass : {0, 1, 2, 3})
    for (const int batch : {32, 128, 1024})
      for (const int hidden : {256, 1024, 4096})
        for (const int threads : thread_counts()) {
          double flops = 0;
          mlp_pass<float>(pass, batch, hidden,
                          [&](Trans, Trans, std::size_t m, std::size_t n, std::size_t k) {
                            flops = 2.0 * static_cast<double>(m * n * k);
                          });
          register_paired("BM_Kernels_PairedMlp<float>", BM_Kernels_PairedMlp<float>, flops,
                          threads)
              ->ArgNames({"pass", "batch", "hidden", "threads"})
              ->Args({pass, batch, hidden, threads});
        }
}

}  // namespace

int main(int argc, char** argv) {
  catapult::bench::restart_with_peer_environment(argv, /*omp_passive=*/true);
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  benchmark::AddCustomContext("omp_wait_policy", wait_policy != nullptr ? wait_policy : "");
  benchmark::AddCustomContext("xsimd_arch", xsimd::default_arch::name());
  register_paired_squares<float>();
  register_paired_squares<double>();
  register_paired_mlp();
  return catapult::bench::run_benchmarks(argc, argv);
}
