#pragma once
// Private to lib/kernels: the table of kernel entry points each per-ISA translation unit fills
// (kernels_avx512.cpp, kernels_avx2.cpp, kernels_sse.cpp, see sources.cmake), and the one
// selection every public entry point goes through. ISA-independent: no xsimd, no intrinsics,
// and nothing here is compiled into code that differs between the ISA translation units.

#include <cstddef>

#include "catapult/core/matrix.hpp"
#include "catapult/kernels/cache.hpp"
#include "catapult/kernels/gemm.hpp"
#include "catapult/kernels/isa.hpp"
#include "catapult/kernels/update.hpp"

namespace catapult::kernels::detail {

/// Everything the driver needs about one gemm call, validated by the caller (kernels::gemm).
template <class T>
struct GemmProblem {
  Trans trans_a;
  Trans trans_b;
  T alpha;
  T beta;
  MatrixView<const T> a;
  MatrixView<const T> b;
  MatrixView<T> c;
  std::size_t m, n, k;
  const T* bias;   // length n or null
  Activation act;  // applied after the last K block
  T* d;            // derivative output (m × n, row stride ldd) or null
  std::size_t ldd;
  const ParamUpdate<T>* update = nullptr;  // the update epilogue (C is then scratch), or null
  std::size_t update_ld = 0;
  double* squared_norm = nullptr;  // Σ g² of the update epilogue's gradient, or null
  // Set by the ISA's driver: one double per register tile of C, row-major over the tile grid
  // (sq_cols tiles per row), receiving that tile's Σ g²; null when squared_norm is.
  double* sq_partials = nullptr;
  std::size_t sq_cols = 0;
};

/// Packing buffers of at least `elements` elements, 64-byte aligned: grown on demand, owned by the
/// calling thread, reused across calls and kernel sets (a fresh multi-megabyte allocation would
/// page-fault on every call). Called before any TBB body runs, never inside one. Compiled once,
/// with the baseline flags (gemm.cpp), so no ISA's copy of std::vector can be merged into another.
template <class T>
[[nodiscard]] T* gemm_workspace(std::size_t elements);
/// Like gemm_workspace, a second per-thread buffer of doubles (the per-tile partial sums of
/// GemmEpilogue::squared_norm), never the same memory as gemm_workspace's.
[[nodiscard]] double* gemm_norm_workspace(std::size_t elements);

/// oneTBB for the kernel sets, compiled once with the baseline flags (parallel.cpp). The ISA
/// units never instantiate oneTBB's templates themselves: its shared inline code (range
/// splitting, task-group teardown) would otherwise be emitted by every unit with its own
/// instructions, and the linker could keep an AVX-512 copy for all callers.
using RangeFn = void (*)(const void* body, std::size_t begin, std::size_t end) noexcept;
/// body(begin, end) over blocks of [0, n), each of at least `grain` indices when n allows, in
/// parallel (honouring ThreadLimit); `simple`: tbb::simple_partitioner (blocks of exactly `grain`
/// split down to), else tbb's auto partitioner. With TSan fork/join edges (core/tsan_fork_join).
void parallel_ranges_erased(std::size_t n, std::size_t grain, bool simple, RangeFn fn,
                            const void* body);
template <class Body>
void parallel_ranges(std::size_t n, std::size_t grain, bool simple, const Body& body) {
  parallel_ranges_erased(
      n, grain, simple,
      [](const void* b, std::size_t lo, std::size_t hi) noexcept {
        (*static_cast<const Body*>(b))(lo, hi);
      },
      &body);
}
/// fn() inside tbb::this_task_arena::isolate: while it waits, this thread runs only the tasks
/// fn spawns, never an outer task that could call a kernel again and reuse its buffers.
void isolated_erased(void (*fn)(const void* body) noexcept, const void* body);
template <class Body>
void isolated(const Body& body) {
  isolated_erased([](const void* b) noexcept { (*static_cast<const Body*>(b))(); }, &body);
}
/// tbb::this_task_arena::max_concurrency() and current_thread_index(): the slots of per-thread
/// buffers and the slot of the calling thread (< arena_slots()).
[[nodiscard]] std::size_t arena_slots() noexcept;
[[nodiscard]] std::size_t arena_slot() noexcept;

/// The entry points of one kernel set for one scalar type: the public functions of gemm.hpp
/// (after validation; variant ≠ Naive) and elementwise.hpp, with the same contracts.
template <class T>
struct KernelTable {
  void (*gemm)(const GemmProblem<T>& g, GemmVariant variant);
  void (*apply_activation)(Activation act, const T* x, T* y, std::size_t n) noexcept;
  void (*activation_derivative)(Activation act, const T* z, T* d, std::size_t n) noexcept;
  void (*axpy)(std::size_t n, T alpha, const T* x, T* y) noexcept;
  void (*scale)(std::size_t n, T alpha, T* x) noexcept;
  void (*multiply)(std::size_t n, const T* a, const T* b, T* out) noexcept;
  double (*sum)(const T* x, std::size_t n) noexcept;
  double (*squared_norm)(const T* x, std::size_t n) noexcept;
  double (*dot)(const T* x, const T* y, std::size_t n) noexcept;
  T (*max)(const T* x, std::size_t n) noexcept;
  void (*argmax_rows)(MatrixView<const T> x, std::size_t* out) noexcept;
  void (*softmax_rows)(MatrixView<const T> x, MatrixView<T> out) noexcept;
  void (*log_softmax_rows)(MatrixView<const T> x, MatrixView<T> out) noexcept;
  void (*apply_update)(const ParamUpdate<T>& u, const T* grads, std::size_t n) noexcept;
};

/// A packed GEMM micro-kernel of a set, for reports (describe_gemm_blocking).
struct NamedGemmShape {
  const char* name;  // "f32", "f32 small M", ...
  GemmKernelShape shape;
};

/// One ISA's kernels for float and double.
struct KernelSet {
  Isa isa;
  const char* arch;  // xsimd's name of the architecture the set was compiled for
  KernelTable<float> f32;
  KernelTable<double> f64;
  NamedGemmShape gemm_shapes[4];  // f32, f32 small M, f64, f64 small M
};

/// The active set (see isa.hpp): chosen on first use, changed only by set_isa.
[[nodiscard]] const KernelSet& active_kernels();

template <class T>
[[nodiscard]] const KernelTable<T>& kernels() {
  if constexpr (sizeof(T) == sizeof(float))
    return active_kernels().f32;
  else
    return active_kernels().f64;
}

/// The set of each ISA translation unit (defined there, static storage). Calling one only reads
/// its table; running the kernels of a set needs a CPU with its ISA (isa.cpp checks).
const KernelSet& kernel_set_sse() noexcept;
const KernelSet& kernel_set_avx2() noexcept;
const KernelSet& kernel_set_avx512() noexcept;

}  // namespace catapult::kernels::detail
