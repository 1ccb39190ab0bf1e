#pragma once
// Shared by the benchmark mains that time OpenBLAS (and Eigen's OpenMP) as peers: the environment
// those libraries read when they are loaded, before main, so it is set and the binary restarted.

#include <unistd.h>

#include <cstdlib>

namespace catapult::bench {

/// Sets what the caller left unset, then re-executes the binary once (CATAPULT_BENCH_RESTARTED
/// marks the restart):
///  - OPENBLAS_CORETYPE (when OpenBLAS is linked): Debian's OpenBLAS 0.3.21 does not recognise
///    these CPUs and would run its generic kernel; SkylakeX with AVX-512, Haswell with AVX2.
///  - OMP_WAIT_POLICY=passive when omp_passive: Eigen's OpenMP threads otherwise spin at every
///    barrier, which on a shared, oversubscribed machine slows Eigen down by orders of magnitude.
/// Returns when nothing needed setting, after a restart, or if execv failed (the run then goes on
/// with the environment as it is).
inline void restart_with_peer_environment(char** argv, bool omp_passive) {
  if (std::getenv("CATAPULT_BENCH_RESTARTED") != nullptr) return;
  bool restart = false;
#ifdef CATAPULT_HAVE_OPENBLAS
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    __builtin_cpu_init();
    const char* core = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : nullptr;
    if (core != nullptr) {
      setenv("OPENBLAS_CORETYPE", core, 1);
      restart = true;
    }
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

}  // namespace catapult::bench
