#pragma once
// Shared by the benchmark mains that time OpenBLAS (and Eigen's OpenMP) as peers: the environment
// those libraries read when they are loaded, before main, so it is set and the binary restarted;
// the thread counts they run at, the interleaved best-of timing of a peer, the clock of paired
// samples, and the common main.

#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "catapult/kernels/cache.hpp"
#include "catapult/kernels/isa.hpp"

#ifdef CATAPULT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace catapult::bench {

/// Sets the peers' environment, then re-executes the binary once (CATAPULT_BENCH_RESTARTED marks
/// the restart):
///  - OPENBLAS_CORETYPE (when OpenBLAS is linked): Debian's OpenBLAS 0.3.21 does not recognise
///    these CPUs and would run its generic kernel. The core matches the ISA catapult's kernels run
///    on (active_isa(), so CATAPULT_ISA=avx2 on an AVX-512 CPU is compared with OpenBLAS's AVX2
///    kernels): SkylakeX for AVX-512, Haswell for AVX2; for SSE, the CPU's best of the two. A
///    different OPENBLAS_CORETYPE already in the environment is replaced, with a note on stderr
///    and in the run context (openblas_coretype_replaced): a machine whose profile exported
///    OPENBLAS_CORETYPE=Haswell on a Zen 5 with AVX-512 had OpenBLAS at half its speed and every
///    ratio near 2. CATAPULT_BENCH_OPENBLAS_CORETYPE chooses another core on purpose.
///  - OPENBLAS_THREAD_TIMEOUT=20 (when OpenBLAS is linked): OpenBLAS's worker threads spin for
///    2^timeout cycles after each call before they sleep, 2^28 by default (~75 ms at 3.5 GHz).
///    In a pair, which alternates OpenBLAS with our oneTBB workers on the same cores every
///    millisecond, the spinning workers then held a core through our whole next sample: on the
///    2-vCPU Zen 4 VM the 2-thread ratios were bimodal (the forward pass X[128,784]·W1ᵀ at 0.53
///    in half the repetitions, as if ours ran on one thread, 0.9 in the others). 2^20 cycles
///    (~0.3 ms) keeps them spinning between the back-to-back calls of one sample and out of the
///    way of the next; OpenBLAS's own 2-thread figures rose with it (that forward pass: median
///    152 -> 184 GFLOP/s over 5 repetitions), so the peer is not weakened.
///  - OMP_WAIT_POLICY=passive when omp_passive: Eigen's OpenMP threads otherwise spin at every
///    barrier, which on a shared, oversubscribed machine slows Eigen down by orders of magnitude.
/// Returns when nothing needed setting, after a restart, or if execv failed (the run then goes on
/// with the environment as it is).
inline void restart_with_peer_environment(char** argv, bool omp_passive) {
  if (std::getenv("CATAPULT_BENCH_RESTARTED") != nullptr) return;
  bool restart = false;
#ifdef CATAPULT_HAVE_OPENBLAS
  {
    __builtin_cpu_init();
    const kernels::Isa isa = kernels::active_isa();  // throws on a bad CATAPULT_ISA
    const char* core = isa == kernels::Isa::Avx512         ? "SkylakeX"
                       : isa == kernels::Isa::Avx2         ? "Haswell"
                       : __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")    ? "Haswell"
                                                           : nullptr;
    const char* chosen = std::getenv("CATAPULT_BENCH_OPENBLAS_CORETYPE");
    if (chosen != nullptr && *chosen != '\0') core = chosen;
    const char* inherited = std::getenv("OPENBLAS_CORETYPE");
    if (core != nullptr && (inherited == nullptr || std::string(inherited) != core)) {
      if (inherited != nullptr) {
        std::fprintf(stderr,
                     "benchmark: OPENBLAS_CORETYPE=%s in the environment replaced by %s (the core "
                     "for catapult's %s kernels; CATAPULT_BENCH_OPENBLAS_CORETYPE chooses "
                     "another)\n",
                     inherited, core, kernels::to_string(isa));
        setenv("CATAPULT_BENCH_OPENBLAS_CORETYPE_REPLACED", inherited, 1);
      }
      setenv("OPENBLAS_CORETYPE", core, 1);
      restart = true;
    }
  }
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) {
    setenv("OPENBLAS_THREAD_TIMEOUT", "20", 1);
    restart = true;
  }
#endif
  if (omp_passive && std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    restart = true;
  }
  if (restart) {
    setenv("CATAPULT_BENCH_RESTARTED", "1", 1);
    execv("/proc/self/exe", argv);
  }
}

/// Every hardware thread (at least 1): the "all threads" of every benchmark family.
inline int all_threads() {
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

/// The thread counts every family runs at: 1, and every hardware thread when that is more.
inline std::vector<int> thread_counts() {
  std::vector<int> t = {1};
  if (all_threads() > 1) t.push_back(all_threads());
  return t;
}

/// The shortest wall time of reps calls of f, in seconds.
template <class F>
double best_seconds(F&& f, int reps) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

/// The length of one sample of a pair: long enough for the clock, short enough that both samples
/// of a pair see the same moment of the machine.
inline constexpr double kPairSeconds = 1e-3;

/// The clock of paired samples (ours and a peer timed back to back, at the same moment of the
/// machine's other load). On one thread both run on the calling thread, and its CPU time leaves
/// out the time that load kept it descheduled, which a sample of tens of milliseconds rarely
/// escapes; with more threads, wall-clock time.
class PairClock {
 public:
  explicit PairClock(int threads)
      : clock_(threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC) {}

  double now() const {
    timespec ts{};
    clock_gettime(clock_, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }

  /// Seconds for calls calls of f, memory clobbered after each.
  template <class F>
  double time(int calls, F&& f) const {
    const double t0 = now();
    for (int i = 0; i < calls; ++i) {
      f();
      benchmark::ClobberMemory();
    }
    return now() - t0;
  }

 private:
  clockid_t clock_;
};

/// The median of v (the upper one for an even size); v is reordered.
inline double median(std::vector<double>& v) {
  if (v.empty()) return 0.0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

/// What every benchmark main records in its run context (also those without peers): catapult's
/// kernel ISA (detected and active: CATAPULT_ISA may force a lower one), the "all threads" count,
/// the cache sizes (cache.hpp) and the GEMM blocking derived from them.
inline void add_catapult_context() {
  benchmark::AddCustomContext("catapult_isa_detected", kernels::to_string(kernels::detected_isa()));
  benchmark::AddCustomContext("catapult_isa", kernels::to_string(kernels::active_isa()));
  benchmark::AddCustomContext("threads_all", std::to_string(all_threads()));
  benchmark::AddCustomContext("catapult_caches", kernels::describe(kernels::cache_sizes()));
  benchmark::AddCustomContext("catapult_gemm_blocking", kernels::describe_gemm_blocking());
}

/// The rest of a benchmark main, after restart_with_peer_environment and any context of its own:
/// records add_catapult_context() and the OpenBLAS core in use in the run context, then runs Google
/// Benchmark with the command line. Returns main's exit status.
inline int run_benchmarks(int argc, char** argv) {
  add_catapult_context();
#ifdef CATAPULT_HAVE_OPENBLAS
  benchmark::AddCustomContext("openblas_corename", openblas_get_corename());
  if (const char* replaced = std::getenv("CATAPULT_BENCH_OPENBLAS_CORETYPE_REPLACED"))
    benchmark::AddCustomContext("openblas_coretype_replaced", replaced);
  const char* timeout = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  benchmark::AddCustomContext("openblas_thread_timeout", timeout != nullptr ? timeout : "");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace catapult::bench
