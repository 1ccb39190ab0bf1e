#pragma once
/// @file The CPU's data caches as the GEMM kernels see them, and the cache blocking of a packed
/// GEMM micro-kernel derived from them. The sizes are read once, at the first use, from Linux's
/// sysfs (/sys/devices/system/cpu/cpu0/cache), else from glibc's sysconf, else fallbacks; the
/// environment variables CATAPULT_CACHE_L1D, CATAPULT_CACHE_L2 and CATAPULT_CACHE_L3 (bytes, an
/// optional K or M suffix for KiB or MiB) replace any of them, e.g. for tests that force tiny
/// blocks or to emulate another machine's blocking.
///
/// Reproducibility: only MC and NC (how many rows of op(A) and columns of op(B) are packed at a
/// time) follow the caches; KC, the length of the K blocks, is fixed per micro-kernel at compile
/// time. The sequence of floating-point operations on every element of C depends on KC alone, so
/// a product gives bitwise the same result on every machine running the same ISA's kernels, for
/// any cache sizes and any thread count. (A cache-derived KC would change how K is split, see
/// balanced_kc in lib/kernels/gemm_blocked.hpp, and with it the rounding from one machine to the
/// next.) Different ISAs still round differently (isa.hpp).

#include <cstddef>
#include <string>

namespace catapult::kernels {

/// Sizes in bytes of the data caches one core uses. 0 means the level is absent or unknown.
struct CacheSizes {
  std::size_t l1d = 0;         ///< L1 data cache of one core
  std::size_t l2 = 0;          ///< L2 of one core (per core on every x86 part catapult targets)
  std::size_t l3 = 0;          ///< the whole last-level L3, shared by l3_sharing logical CPUs
  std::size_t l3_sharing = 1;  ///< logical CPUs sharing that L3 (1 when unknown)
  std::string source;          ///< where the sizes came from: "sysfs", "sysconf", "fallback",
                               ///< with "+env" when an environment variable replaced one

  /// This core's share of L3: l3 / l3_sharing.
  [[nodiscard]] std::size_t l3_share() const noexcept {
    return l3 / (l3_sharing == 0 ? 1 : l3_sharing);
  }
};

/// The sizes this CPU reports, ignoring the environment: sysfs first (it also says how many CPUs
/// share L3; glibc's sysconf reports 320 MiB of L3 on a Zen 4 VM whose sysfs says 32 MiB), then
/// sysconf, then, per level, the fallbacks 32 KiB L1d, 1 MiB L2, 8 MiB L3 shared by 1.
[[nodiscard]] CacheSizes detected_cache_sizes();

/// The sizes the kernels block for: detected_cache_sizes() with CATAPULT_CACHE_L1D, _L2 and _L3
/// applied, read once, at the first call (the first GEMM calls it). Throws InvalidArgument, at
/// every call until it is fixed, naming the variable when one is not a positive size.
[[nodiscard]] const CacheSizes& cache_sizes();

/// A packed micro-kernel's register tile and K block: MR × NR tiles of C, K blocks of at most KC,
/// elements of element_size bytes.
struct GemmKernelShape {
  std::size_t mr = 0;
  std::size_t nr = 0;
  std::size_t kc = 0;
  std::size_t element_size = 0;
  /// A kernel for products of few rows (M up to a few hundred: the MLP's batches), whose whole
  /// A block is small: its block of op(B) may take all of L2 but two A micro-panels.
  bool small_m = false;
};

/// The cache blocking of a packed GEMM (the BLIS loops, in catapult's order: MC rows of op(A),
/// K blocks, NC columns of op(B), MR rows, NR columns). kc is the kernel's; mc a multiple of MR,
/// nc of NR.
struct GemmBlocking {
  std::size_t mc = 0;
  std::size_t kc = 0;
  std::size_t nc = 0;
  bool a_panel_fits_l1 = false;  ///< whether MR × KC of op(A) (one micro-panel) fits L1d
};

/// The blocking for a kernel on caches c, from the rules:
///  - KC is the kernel's (fixed: see the file comment); the MR × KC micro-panel of op(A) is meant
///    to stay in L1 while the B micro-panels stream past it (a_panel_fits_l1 says if it does).
///  - NC: the KC × NC block of op(B) fills half of L2, leaving room for the A micro-panels
///    coming in and for C: NC = ⌊(L2 / 2) / (KC · element_size)⌋ rounded down to NR, at least NR.
///    A small_m kernel's block of op(B) fills L2 but two MR × KC micro-panels of op(A): on a Zen 4
///    (1 MiB L2, AVX-512 8 × 48 floats, KC 256) NC 1008 against 480 took dX = dH·W1 at batch 32
///    and 128 (H = 4096) from 0.92-1.01 and 0.96-0.97 of OpenBLAS to 1.05-1.11 and 0.99-1.02
///    (1 thread, 3 alternating runs of 3 repetitions each, a loaded machine).
///  - MC: the MC × KC block of op(A) is read from L3 once per NC block and B is packed once per
///    MC block, so MC is large: MC · KC · element_size ≈ half this core's share of L3, at least
///    all of L2 and at most 4 MiB, rounded down to MR, at least MR. (On a Xeon with a 2 MiB L2,
///    1, 2 and 8 MiB measured the same.)
/// Unknown (0) sizes are treated as 32 KiB L1d, 1 MiB L2 and no L3.
/// E.g. float, KC = 512 (2 KiB of a row): Zen 3 (32 KiB, 512 KiB, 32 MiB shared by 8) gives
/// NC = 128, MC = 1024 rows before rounding; a Xeon with 48 KiB, 2 MiB and 1.5 MiB of L3 per core
/// NC = 512, MC = 1024 rows before rounding (the compile-time blocks it was tuned with).
[[nodiscard]] GemmBlocking derive_gemm_blocking(const CacheSizes& c,
                                                const GemmKernelShape& kernel) noexcept;

/// One line for logs and benchmark contexts, e.g. "L1d 32 KiB, L2 1 MiB, L3 32 MiB shared by 2
/// (sysfs)".
[[nodiscard]] std::string describe(const CacheSizes& c);

/// The blocking the active ISA's packed GEMM kernels use on cache_sizes(), one entry per kernel,
/// e.g. "f32 14x32: MC 1022, KC 512, NC 512; ..." (the SSE and AVX2 sets have 6-row tiles).
/// Throws what cache_sizes() and active_isa() throw.
[[nodiscard]] std::string describe_gemm_blocking();

}  // namespace catapult::kernels
