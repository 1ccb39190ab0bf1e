// Kernels benchmarks: our GEMM variants against OpenBLAS and Eigen in one binary, so ratios come
// from one run, plus an FMA-throughput peak of this machine.
//
// Families (all with a "flops" rate counter, FLOP/s; 2·M·N·K flops per GEMM):
//   BM_Kernels_GemmSquare<T>/n/impl/threads   C[n,n] = A[n,n]·B[n,n]
//   BM_Kernels_GemmMlp<T>/pass/batch/hidden/impl/threads   the MLP's products (784 inputs, 10
//       classes): pass 0 forward Z = X[B,784]·W1[H,784]ᵀ, 1 dW = dHᵀ[H,B]·X[B,784],
//       2 dX = dH[B,H]·W1[H,784], 3 output layer Z2 = A[B,H]·W2[10,H]ᵀ
//   BM_Kernels_FmaPeak<T>/isa/threads   independent FMA chains in registers (SSE: multiply and
//       add), one family per ISA the CPU has (avx512, avx2, sse; fma_peak_<isa>.cpp, compiled
//       with that ISA's flags in every build): the machine's peak, the active ISA's (the widest
//       unless CATAPULT_ISA forces another) being the reference
//   BM_Kernels_PairedSquare<T>/n/threads, BM_Kernels_PairedMlp<T>/pass/batch/hidden/threads
//       ours (simd_parallel) and OpenBLAS timed back to back, alternating; counters "ratio"
//       (median of t_openblas / t_ours over the pairs), "ours_flops", "openblas_flops"; squares
//       on one thread also "peak_fraction" (ours against the reference FMA peak timed in the
//       same pair), "gemm_peak_fraction_<isa>" and "peak_flops_<isa>" (see run_paired)
// impl: 0 naive, 1 blocked_scalar, 2 simd, 3 simd_parallel, 4 openblas, 5 eigen.
// threads: 1, or every hardware thread; every benchmark uses real time.
//
// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to a slow generic
// kernel, so main() re-executes the binary with OPENBLAS_CORETYPE set (SkylakeX with AVX-512,
// Haswell with AVX2; a different value inherited from the environment is replaced, see
// peer_environment.hpp), and with OMP_WAIT_POLICY=passive for Eigen's OpenMP threads; the values
// in use are printed in the benchmark context.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/kernels/gemm.hpp"
#include "catapult/kernels/isa.hpp"
#include "fma_peak.hpp"
#include "peer_environment.hpp"

#ifdef CATAPULT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using catapult::Matrix;
using catapult::kernels::GemmVariant;
using catapult::kernels::Isa;
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

// The peak loops (PeakKernel) live in fma_peak_<isa>.cpp, each compiled with the flags of the
// library's kernel set for its ISA (fma_peak_loop.hpp: register-only chains, AVX-512 24 FMA, AVX2
// 12 FMA, SSE2 12 multiply + add).
using PeakKernel = catapult::bench::FmaPeakLoop;

template <class T>
PeakKernel peak_kernel(Isa isa) {
  constexpr bool kFloat = sizeof(T) == sizeof(float);
  switch (isa) {
    case Isa::Avx512:
      return kFloat ? catapult::bench::fma_peak_avx512_float()
                    : catapult::bench::fma_peak_avx512_double();
    case Isa::Avx2:
      return kFloat ? catapult::bench::fma_peak_avx2_float()
                    : catapult::bench::fma_peak_avx2_double();
    case Isa::Sse:
      break;
  }
  return kFloat ? catapult::bench::fma_peak_sse_float() : catapult::bench::fma_peak_sse_double();
}

/// The peak loops of the ISAs this CPU supports (catapult::kernels::supported_isas(): what the
/// library itself may dispatch to; every build has them all). The first is the reference, the
/// peak of "% of FMA peak" and "peak_fraction": the active ISA's (active_isa(), the ISA our GEMM
/// runs on: the best supported one unless CATAPULT_ISA forces a lower one, so that a forced run is
/// measured against its own ISA's peak); the others follow, widest first.
template <class T>
const std::vector<PeakKernel>& peak_kernels() {
  static const std::vector<PeakKernel> kernels = [] {
    std::vector<Isa> isas = catapult::kernels::supported_isas();  // lowest first
    std::reverse(isas.begin(), isas.end());
    const Isa active = catapult::kernels::active_isa();
    std::stable_partition(isas.begin(), isas.end(), [active](Isa i) { return i == active; });
    std::vector<PeakKernel> k;
    for (const Isa isa : isas) k.push_back(peak_kernel<T>(isa));
    return k;
  }();
  return kernels;
}

// Ours (simd_parallel) and OpenBLAS back to back on one problem. Each iteration times one sample
// of each (the same number of calls, enough for kPairSeconds), alternating which goes first, so
// both see the same moment of the machine's other load: the ratio of a pair is far steadier than
// the ratio of two benchmarks' medians, whose repetitions ran minutes apart. Counters: "ratio",
// the median over the iterations of t_openblas / t_ours (> 1: ours is faster); "ours_flops" and
// "openblas_flops", FLOP/s over all the samples of each. Manual time: the two samples together,
// on PairClock (CPU time of this thread on one thread).
// With peak (one thread only), every pair also times, between the two, a sample of the peak
// loop of the reference ISA (the active one, peak_kernels().front()) and of every other FMA ISA
// (AVX2 beside AVX-512): "peak_fraction" is the median of ours' FLOP/s over the reference peak's
// in the same pair, the fraction of the peak measured at the same moment, where the separate
// BM_Kernels_FmaPeak benchmarks ran at another; for each such ISA, "gemm_peak_fraction_<isa>" is
// the median of the faster GEMM's FLOP/s (ours or OpenBLAS) over that ISA's peak in the same pair,
// and "peak_flops_<isa>" its FLOP/s over all the samples. A fraction above 1 beyond the noise
// means the peak loop is wrong (scripts/bench_table.py and bench/check_fma_peak.py check it).
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
  // The peak loops timed in every pair, the reference first, each with enough rounds for
  // kPairSeconds.
  struct PeakSample {
    const PeakKernel* kernel;
    long rounds;
    double seconds = 0;  // over all the pairs
    std::vector<double> gemm_fractions;
  };
  std::vector<PeakSample> peaks;
  const auto peak_time = [&timed](const PeakKernel& p, long rounds) {
    return timed(1, [&] { p.run(rounds); });
  };
  if (peak && threads == 1) {
    for (const PeakKernel& p : peak_kernels<T>())
      if (peaks.empty() || p.fused) {
        const double once_peak = std::max(peak_time(p, 1), 1e-9);
        peaks.push_back({&p, static_cast<long>(std::ceil(kPairSeconds / once_peak)), 0, {}});
      }
  }
  std::vector<double> ratios, fractions;
  double t_ours = 0, t_peer = 0;
  bool ours_first = true;
  std::vector<double> tf(peaks.size());
  for (auto _ : state) {
    double to = 0, tp = 0;
    const auto time_peaks = [&] {
      for (std::size_t i = 0; i < peaks.size(); ++i)
        tf[i] = peak_time(*peaks[i].kernel, peaks[i].rounds);
    };
    if (ours_first) {
      to = timed(calls, ours);
      time_peaks();
      tp = timed(calls, peer);
    } else {
      tp = timed(calls, peer);
      time_peaks();
      to = timed(calls, ours);
    }
    ours_first = !ours_first;
    ratios.push_back(tp / to);
    double elapsed = to + tp;
    for (std::size_t i = 0; i < peaks.size(); ++i) {
      const double peak_rate =
          peaks[i].kernel->flops_per_round * static_cast<double>(peaks[i].rounds) / tf[i];
      if (i == 0) fractions.push_back(g.flops() * calls / to / peak_rate);
      peaks[i].gemm_fractions.push_back(g.flops() * calls / std::min(to, tp) / peak_rate);
      peaks[i].seconds += tf[i];
      elapsed += tf[i];
    }
    t_ours += to;
    t_peer += tp;
    state.SetIterationTime(elapsed);
  }
  const double work = g.flops() * calls * static_cast<double>(state.iterations());
  state.counters["ratio"] = catapult::bench::median(ratios);
  for (PeakSample& p : peaks) {
    const std::string isa = p.kernel->isa;
    state.counters["gemm_peak_fraction_" + isa] = catapult::bench::median(p.gemm_fractions);
    state.counters["peak_flops_" + isa] = p.kernel->flops_per_round *
                                          static_cast<double>(p.rounds) *
                                          static_cast<double>(state.iterations()) / p.seconds;
  }
  if (!peaks.empty()) state.counters["peak_fraction"] = catapult::bench::median(fractions);
  state.counters["ours_flops"] = work / t_ours;
  state.counters["openblas_flops"] = work / t_peer;
  state.SetLabel(peaks.empty() ? "simd_parallel vs openblas"
                               : std::string("simd_parallel vs openblas, FMA peak ") +
                                     peaks.front().kernel->isa);
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

// One ISA's peak loop (fma_peak_loop.hpp), one round per iteration.
void BM_Kernels_FmaPeak(benchmark::State& state, const PeakKernel& kernel) {
  for (auto _ : state) kernel.run(1);
  state.counters["flops"] =
      benchmark::Counter(kernel.flops_per_round * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.SetLabel(std::string(kernel.instructions) + ", " + std::to_string(kernel.chains) +
                 (kernel.fused ? " FMA chains" : " mul+add chains"));
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

// BM_Kernels_FmaPeak<T>/isa:<isa>, for every ISA of peak_kernels() (known at run time only), at
// one thread and, with all_threads, at every thread too.
template <class T>
void register_fma_peaks(bool all_threads) {
  for (const PeakKernel& kernel : peak_kernels<T>())
    for (const int threads : all_threads ? thread_counts() : std::vector<int>{1}) {
      benchmark::RegisterBenchmark(
          (std::string("BM_Kernels_FmaPeak<") + type_name<T>() + ">/isa:" + kernel.isa).c_str(),
          [&kernel](benchmark::State& state) { BM_Kernels_FmaPeak(state, kernel); })
          ->Threads(threads)
          ->UseRealTime()
          ->ComputeStatistics("min", fastest);
    }
}

// "avx512 (avx512f, 24 FMA chains), ...": the peak loops of the run, the reference first.
std::string fma_peak_isas() {
  std::string out;
  for (const PeakKernel& kernel : peak_kernels<float>()) {
    if (!out.empty()) out += ", ";
    out += std::string(kernel.isa) + " (" + kernel.instructions + ", " +
           std::to_string(kernel.chains) + (kernel.fused ? " FMA chains)" : " mul+add chains)");
  }
  return out;
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
  benchmark::AddCustomContext("fma_peak_isas", fma_peak_isas());
  // The reference of "% of FMA peak" and "peak_fraction": the active ISA's peak; and the best
  // supported ISA's, the same unless CATAPULT_ISA forces a lower one.
  benchmark::AddCustomContext("fma_peak_reference", peak_kernels<float>().front().isa);
  benchmark::AddCustomContext("fma_peak_best",
                              catapult::kernels::to_string(catapult::kernels::detected_isa()));
  register_fma_peaks<float>(/*all_threads=*/true);
  register_fma_peaks<double>(/*all_threads=*/false);
  register_paired_squares<float>();
  register_paired_squares<double>();
  register_paired_mlp();
  return catapult::bench::run_benchmarks(argc, argv);
}
