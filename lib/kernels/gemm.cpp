#include "catapult/kernels/gemm.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "catapult/core/aligned.hpp"
#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "core/tsan_fork_join.hpp"
#include "kernels/gemm_blocked.hpp"

namespace catapult::kernels {
namespace {

template <class T>
std::size_t op_rows(Trans t, const MatrixView<const T>& x) {
  return t == Trans::N ? x.rows() : x.cols();
}
template <class T>
std::size_t op_cols(Trans t, const MatrixView<const T>& x) {
  return t == Trans::N ? x.cols() : x.rows();
}

// Whether two views share an element. Views with the same leading dimension (blocks of one
// matrix, e.g. side-by-side column blocks) are compared exactly as rectangles on that row grid;
// otherwise the address ranges they span are compared (conservative).
template <class T>
bool overlaps(const MatrixView<const T>& x, const MatrixView<const T>& c) {
  if (x.empty() || c.empty()) return false;
  const T* x0 = x.data();
  const T* x1 = x.row(x.rows() - 1) + x.cols();
  const T* c0 = c.data();
  const T* c1 = c.row(c.rows() - 1) + c.cols();
  if (!(x0 < c1 && c0 < x1)) return false;
  if (x.ld() != c.ld()) return true;
  // Same ld: place c on x's grid. c(i, j) sits at x's (i + q, j + r) for j + r < ld, else at
  // (i + q + 1, j + r − ld), where c0 − x0 = q·ld + r with 0 ≤ r < ld.
  const auto ld = static_cast<std::ptrdiff_t>(x.ld());
  const std::ptrdiff_t offset = c0 - x0;
  std::ptrdiff_t q = offset / ld;
  std::ptrdiff_t r = offset % ld;
  if (r < 0) {
    r += ld;
    --q;
  }
  const auto mx = static_cast<std::ptrdiff_t>(x.rows()), nx = static_cast<std::ptrdiff_t>(x.cols());
  const auto mc = static_cast<std::ptrdiff_t>(c.rows()), nc = static_cast<std::ptrdiff_t>(c.cols());
  // Rectangle [row0, row0 + rows) × [col0, col1) against x's [0, mx) × [0, nx).
  const auto hits = [&](std::ptrdiff_t row0, std::ptrdiff_t col0, std::ptrdiff_t col1) {
    return col0 < col1 && row0 < mx && row0 + mc > 0 && col0 < nx && col1 > 0;
  };
  const std::ptrdiff_t first_part = std::min(nc, ld - r);  // columns that stay on row i + q
  return hits(q, r, r + first_part) || hits(q + 1, 0, nc - first_part);
}

// Elements of T in whole cache lines covering n elements (keeps every buffer 64-byte aligned).
template <class T>
constexpr std::size_t round_up_to_line(std::size_t n) noexcept {
  return detail::round_up(n, kAlignment / sizeof(T));
}

template <class T>
T activate(Activation act, T z, T& derivative) noexcept {
  switch (act) {
    case Activation::Relu:
      derivative = z > T(0) ? T(1) : T(0);
      return z > T(0) ? z : T(0);
    case Activation::Tanh: {
      const T t = std::tanh(z);
      derivative = T(1) - t * t;
      return t;
    }
    case Activation::Identity:
      break;
  }
  derivative = T(1);
  return z;
}

// Reference: one dot product per element of C, accumulated in T.
template <class T>
void gemm_naive(Trans ta, Trans tb, T alpha, const MatrixView<const T>& a,
                const MatrixView<const T>& b, T beta, const MatrixView<T>& c, std::size_t k,
                const GemmEpilogue<T>& ep) noexcept {
  const bool want_d = !ep.derivative.empty();
  for (std::size_t i = 0; i < c.rows(); ++i) {
    for (std::size_t j = 0; j < c.cols(); ++j) {
      T acc = T(0);
      for (std::size_t p = 0; p < k; ++p) {
        const T av = ta == Trans::N ? a(i, p) : a(p, i);
        const T bv = tb == Trans::N ? b(p, j) : b(j, p);
        acc += av * bv;
      }
      T z = alpha * acc;
      if (beta != T(0)) z += beta * c(i, j);
      if (ep.bias != nullptr) z += ep.bias[j];
      T d;
      c(i, j) = activate(ep.activation, z, d);
      if (want_d) ep.derivative(i, j) = d;
    }
  }
}

// Below this many flops (2·M·N·K) a product runs on the calling thread: a 64³ product takes a
// few microseconds, the order of the cost of waking TBB workers.
constexpr double kParallelMinFlops = 4.0e6;

// Packing buffers: grown on demand, owned by the calling thread, reused across calls (a fresh
// multi-megabyte allocation would page-fault on every call). Allocated here, before any TBB
// body runs, never inside one.
template <class T>
T* workspace(std::size_t elements) {
  thread_local AlignedVector<T> buffer;
  if (buffer.size() < elements) {
    buffer = AlignedVector<T>();
    buffer.resize(elements);
  }
  return buffer.data();
}

template <class T>
using Problem = detail::GemmProblem<T>;

// The micro-kernel the Simd variants use: the xsimd one when xsimd found an ISA, else the
// reference kernel, so dispatch never fails.
template <class T>
using FastKernel =
    std::conditional_t<detail::kHaveSimd, detail::SimdKernel<T>, detail::ScalarKernel<T>>;

// A·Bᵀ with both operands along K and one side tiny (the 10-class output layer A[B,H]·W2[10,H]ᵀ):
// the dot-product driver reads both in place. The packed path would waste most of its 32-column
// (or 8-row) tiles there. Above 16 the packed path wins now that its transposing packs are
// vectorized: for the forward pass X[B,784]·W1[H,784]ᵀ at B = 32 and 128 it measured 1.1-1.7x
// faster than this driver (bench/kernels_bench.cpp, pass 0).
constexpr std::size_t kDotMaxSide = 16;
template <class T>
bool use_dot_driver(const Problem<T>& g) noexcept {
  return g.trans_a == Trans::N && g.trans_b == Trans::T && g.k >= 16 &&
         std::min(g.m, g.n) <= kDotMaxSide;
}

// Fraction of the micro-kernel's work that lands inside C for tiles of MR × NR.
constexpr double tile_fill(std::size_t m, std::size_t n, std::size_t mr, std::size_t nr) noexcept {
  return (static_cast<double>(m) / static_cast<double>(detail::round_up(m, mr))) *
         (static_cast<double>(n) / static_cast<double>(detail::round_up(n, nr)));
}

// Whether the Second tile shape wastes clearly less of its tiles than the First: e.g. the 8-row
// kernel for small M that is not a multiple of 14 (M = 32: 14 + 14 + 4 fills 76 % of the 14-row
// tiles, 100 % of 8-row ones). From the shape only, so Simd, SimdParallel and every thread count
// agree bitwise.
template <class First, class Second, class T>
bool prefer_second_shape(const Problem<T>& g) noexcept {
  return tile_fill(g.m, g.n, Second::MR, Second::NR) >
         1.05 * tile_fill(g.m, g.n, First::MR, First::NR);
}

// Runs Driver::region over all of C on the calling thread.
template <class Driver, class T>
void gemm_sequential(const Problem<T>& g) {
  const std::size_t a_size = round_up_to_line<T>(Driver::a_size(g.m));
  const std::size_t b_size = round_up_to_line<T>(Driver::b_size(g.n));
  T* ap = a_size + b_size > 0 ? workspace<T>(a_size + b_size) : nullptr;
  Driver::region(g, 0, g.m, 0, g.n, ap, ap == nullptr ? nullptr : ap + a_size);
}

// 2D partition of C into row_tiles × col_tiles tiles of whole MR × NR panels, enough to keep every
// thread busy. Only the tiling depends on the thread count; the arithmetic on each element of C
// does not (K is never split), so results are bitwise independent of it.
template <class Driver, class T>
void gemm_parallel(const Problem<T>& g, std::size_t threads) {
  using detail::ceil_div;
  const std::size_t max_row_tiles = ceil_div(g.m, Driver::MR);
  const std::size_t max_col_tiles = ceil_div(g.n, Driver::NR);
  // Each tile packs its own panels (A once per column of tiles, B once per row of tiles), so
  // more tiles cost more packing; two per thread leave room for dynamic balance when a core is
  // busy with something else. Tiles larger than MC × NC are blocked inside the region.
  std::size_t row_tiles = 1;
  std::size_t col_tiles = 1;
  const std::size_t target = 2 * threads;
  while (row_tiles * col_tiles < target) {
    const bool can_rows = row_tiles < max_row_tiles;
    const bool can_cols = col_tiles < max_col_tiles;
    if (!can_rows && !can_cols) break;
    // Split the longer tile edge: square-ish tiles pack the least data per flop.
    const double height = static_cast<double>(g.m) / static_cast<double>(row_tiles);
    const double width = static_cast<double>(g.n) / static_cast<double>(col_tiles);
    if (can_rows && (!can_cols || height >= width))
      ++row_tiles;
    else
      ++col_tiles;
  }
  if (row_tiles * col_tiles == 1) {
    gemm_sequential<Driver>(g);
    return;
  }
  // Tile r of row_tiles spans the MR-row panels [r·P / row_tiles, (r + 1)·P / row_tiles) of the
  // P = ceil(M / MR) panels, so tiles differ by at most one panel; likewise for columns. (Tiles
  // of ceil(N / col_tiles) columns rounded up to NR left a short last one: N = 784 in 4 tiles of
  // 48-column panels was 240 + 240 + 240 + 64, and 2 threads then took 480 and 304 columns.)
  const auto edge = [](std::size_t tile, std::size_t tiles, std::size_t extent, std::size_t step) {
    return std::min(tile * ceil_div(extent, step) / tiles * step, extent);
  };
  const std::size_t mt = ceil_div(max_row_tiles, row_tiles) * Driver::MR;
  const std::size_t nt = ceil_div(max_col_tiles, col_tiles) * Driver::NR;

  // One slot of packing buffers per thread of the arena, indexed by its thread index.
  const std::size_t a_size = round_up_to_line<T>(Driver::a_size(mt));
  const std::size_t b_size = round_up_to_line<T>(Driver::b_size(nt));
  const auto slots = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  T* buffers = a_size + b_size > 0 ? workspace<T>(slots * (a_size + b_size)) : nullptr;

  // isolate: while it waits, this thread runs only our tiles, never an outer task that could
  // call gemm again and reuse this thread's buffers.
  tbb::this_task_arena::isolate([&] {
    const catapult::detail::ForkJoin fork_join;  // TSan: the region's fork and join edges
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, row_tiles * col_tiles, 1),
                      fork_join.body([&](const tbb::blocked_range<std::size_t>& range) noexcept {
                        T* ap = nullptr;
                        T* bp = nullptr;
                        if (buffers != nullptr) {
                          const auto slot = static_cast<std::size_t>(
                              tbb::this_task_arena::current_thread_index());
                          ap = buffers + slot * (a_size + b_size);
                          bp = ap + a_size;
                        }
                        for (std::size_t tile = range.begin(); tile != range.end(); ++tile) {
                          const std::size_t r = tile / col_tiles, c = tile % col_tiles;
                          Driver::region(g, edge(r, row_tiles, g.m, Driver::MR),
                                         edge(r + 1, row_tiles, g.m, Driver::MR),
                                         edge(c, col_tiles, g.n, Driver::NR),
                                         edge(c + 1, col_tiles, g.n, Driver::NR), ap, bp);
                        }
                      }),
                      tbb::simple_partitioner());
  });
}

// Large problems with enough columns, on several threads: the BLIS scheme. For each MC × KC
// block of op(A) the threads first pack its MR-row panels into one shared buffer, then share
// out chunks of columns of C, each packing its own KC × chunk block of op(B) (in its L2) and
// running the chunk's tiles. Every element of op(A) and op(B) is packed once per block, as on
// one thread, however many chunks there are, so the chunks can be small (four per thread) and
// balance the load when a core is busy with something else; the 2D partition of gemm_parallel
// packs op(A) once per column of tiles and op(B) once per row of tiles. The price is two
// fork-joins per block, hence the size thresholds. The kernel calls, and so the results, are
// those of gemm_sequential.
//
// Every chunk streams the whole packed A block from L3, sizeof(T) / (2·cols) bytes per flop, so
// chunks must not be thin: at least kSharedAMinCols columns each (1/32 byte per flop for float).
// (With the roles the other way round, chunks of 16 rows sharing a packed block of op(B) ran the
// forward pass X[128,784]·W1ᵀ on 2 threads at 0.65 of OpenBLAS, slower than one thread.)
constexpr std::size_t kSharedAMinCols = 64;
template <class Kernel, class T>
bool use_shared_a(const Problem<T>& g, std::size_t threads) noexcept {
  const double block_flops = 2.0 * static_cast<double>(std::min(g.m, Kernel::MC)) *
                             static_cast<double>(g.n) *
                             static_cast<double>(detail::balanced_kc<Kernel>(g.k));
  return g.n >= 4 * threads * kSharedAMinCols && block_flops >= 16.0e6;
}

template <class Kernel, class T>
void gemm_parallel_shared_a(const Problem<T>& g, std::size_t threads) {
  using detail::ceil_div;
  using detail::round_up;
  constexpr std::size_t MR = Kernel::MR, NR = Kernel::NR;
  // Columns per chunk: a multiple of NR, at most NC (ceil(n / NC) chunks at least).
  const std::size_t wanted = std::max(ceil_div(g.n, Kernel::NC), 4 * threads);
  const std::size_t cols = round_up(ceil_div(g.n, wanted), NR);
  const std::size_t chunks = ceil_div(g.n, cols);
  const std::size_t mc_step = detail::balanced_mc<Kernel>(g.m);
  const std::size_t kc_step = detail::balanced_kc<Kernel>(g.k);
  const std::size_t a_size = round_up_to_line<T>(detail::a_buffer_size<Kernel>(g.m));
  const std::size_t b_size = round_up_to_line<T>(cols * Kernel::KC);
  const auto slots = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  T* const ap = workspace<T>(a_size + slots * b_size);
  T* const b_buffers = ap + a_size;

  tbb::this_task_arena::isolate([&] {
    for (std::size_t ic = 0; ic < g.m; ic += mc_step) {
      const std::size_t mc = std::min(mc_step, g.m - ic);
      const std::size_t panels = ceil_div(mc, MR);
      const std::size_t grain = std::max<std::size_t>(1, panels / (4 * threads));
      // K = 0 still makes one pass (kc = 0) so that C = beta·C and the epilogue are applied.
      for (std::size_t pc = 0; pc == 0 || pc < g.k; pc += kc_step) {
        const std::size_t kc = std::min(kc_step, g.k - pc);
        {
          const catapult::detail::ForkJoin fork_join;  // TSan: the region's fork and join edges
          tbb::parallel_for(
              tbb::blocked_range<std::size_t>(0, panels, grain),
              fork_join.body([&](const tbb::blocked_range<std::size_t>& range) noexcept {
                const std::size_t lo = range.begin() * MR;
                const std::size_t hi = std::min(range.end() * MR, mc);
                detail::pack_a<MR>(g, ic + lo, hi - lo, pc, kc, ap + lo * kc);
              }),
              tbb::simple_partitioner());
        }
        const catapult::detail::ForkJoin fork_join;  // TSan: the region's fork and join edges
        tbb::parallel_for(
            tbb::blocked_range<std::size_t>(0, chunks, 1),
            fork_join.body([&](const tbb::blocked_range<std::size_t>& range) noexcept {
              const auto slot =
                  static_cast<std::size_t>(tbb::this_task_arena::current_thread_index());
              T* const bp = b_buffers + slot * b_size;
              for (std::size_t chunk = range.begin(); chunk != range.end(); ++chunk) {
                const std::size_t jc = chunk * cols;
                const std::size_t nc = std::min(cols, g.n - jc);
                detail::pack_b<NR>(g, pc, kc, jc, nc, bp);
                detail::block_tiles<Kernel>(g, ic, mc, jc, nc, pc, kc, ap, bp);
              }
            }),
            tbb::simple_partitioner());
      }
    }
  });
}

// The fast path for one problem: the dot-product driver when both operands run along K
// (A·Bᵀ), else the packed xsimd kernel. Chosen from the shape only, so Simd and SimdParallel and
// every thread count compute every element identically.
template <class T>
void gemm_fast(const Problem<T>& g, bool parallel) {
  const double flops =
      2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  // The thread limit is asked for only when the problem is large enough to split: the query
  // (a call into TBB) is a visible part of a call as small as the output layer's (~1.5 µs).
  const std::size_t threads = parallel && flops >= kParallelMinFlops ? max_threads() : 1;
  const bool use_threads = threads > 1;
  const auto run = [&]<class Driver>() {
    if constexpr (requires { typename Driver::Kernel; }) {
      if (use_threads && use_shared_a<typename Driver::Kernel>(g, threads)) {
        gemm_parallel_shared_a<typename Driver::Kernel>(g, threads);
        return;
      }
    }
    if (use_threads)
      gemm_parallel<Driver>(g, threads);
    else
      gemm_sequential<Driver>(g);
  };
  if constexpr (detail::kHaveSimd) {
    if (use_dot_driver(g)) {
      // The 4 × 5 tiles when they fit clearly better (N = 10: 6 × 4 tiles compute 12 columns).
      if (prefer_second_shape<detail::DotDriver<T>, detail::NarrowDotDriver<T>>(g))
        run.template operator()<detail::NarrowDotDriver<T>>();
      else
        run.template operator()<detail::DotDriver<T>>();
      return;
    }
  }
  if constexpr (detail::kHaveSimd) {
    if (prefer_second_shape<detail::SimdKernel<T>, detail::SmallMKernel<T>>(g)) {
      run.template operator()<detail::PackedDriver<detail::SmallMKernel<T>>>();
      return;
    }
  }
  run.template operator()<detail::PackedDriver<FastKernel<T>>>();
}

}  // namespace

template <class T>
void gemm(Trans trans_a, Trans trans_b, T alpha, MatrixView<const T> a, MatrixView<const T> b,
          T beta, MatrixView<T> c, const GemmEpilogue<T>& epilogue, GemmVariant variant) {
  const std::size_t m = op_rows(trans_a, a);
  const std::size_t k = op_cols(trans_a, a);
  const std::size_t n = op_cols(trans_b, b);
  if (op_rows(trans_b, b) != k || c.rows() != m || c.cols() != n)
    throw InvalidArgument(str_cat("gemm: op(A) is ", m, "x", k, ", op(B) is ", op_rows(trans_b, b),
                                  "x", n, ", C is ", c.rows(), "x", c.cols()));
  if (overlaps(a, MatrixView<const T>(c)) || overlaps(b, MatrixView<const T>(c)))
    throw InvalidArgument("gemm: C overlaps A or B");
  if (!epilogue.derivative.empty() &&
      (epilogue.derivative.rows() != m || epilogue.derivative.cols() != n))
    throw InvalidArgument(str_cat("gemm: epilogue derivative is ", epilogue.derivative.rows(), "x",
                                  epilogue.derivative.cols(), ", C is ", m, "x", n));
  const MatrixView<const T> d_view = epilogue.derivative;
  if (overlaps(d_view, MatrixView<const T>(c)) || overlaps(a, d_view) || overlaps(b, d_view))
    throw InvalidArgument("gemm: the epilogue derivative overlaps A, B or C");
  if (m == 0 || n == 0) return;

  if (variant == GemmVariant::Naive) {
    gemm_naive(trans_a, trans_b, alpha, a, b, beta, c, k, epilogue);
    return;
  }
  const Problem<T> g{trans_a,
                     trans_b,
                     alpha,
                     beta,
                     a,
                     b,
                     c,
                     m,
                     n,
                     k,
                     epilogue.bias,
                     epilogue.activation,
                     epilogue.derivative.empty() ? nullptr : epilogue.derivative.data(),
                     epilogue.derivative.ld()};
  switch (variant) {
    case GemmVariant::BlockedScalar:
      gemm_sequential<detail::PackedDriver<detail::ScalarKernel<T>>>(g);
      return;
    case GemmVariant::Simd:
      gemm_fast(g, false);
      return;
    case GemmVariant::SimdParallel:
    case GemmVariant::Naive:
      break;
  }
  gemm_fast(g, true);
}

const char* to_string(GemmVariant variant) noexcept {
  switch (variant) {
    case GemmVariant::Naive:
      return "naive";
    case GemmVariant::BlockedScalar:
      return "blocked_scalar";
    case GemmVariant::Simd:
      return "simd";
    case GemmVariant::SimdParallel:
      return "simd_parallel";
  }
  return "unknown";
}

const char* to_string(Activation activation) noexcept {
  switch (activation) {
    case Activation::Identity:
      return "identity";
    case Activation::Relu:
      return "relu";
    case Activation::Tanh:
      return "tanh";
  }
  return "unknown";
}

template void gemm<float>(Trans, Trans, float, MatrixView<const float>, MatrixView<const float>,
                          float, MatrixView<float>, const GemmEpilogue<float>&, GemmVariant);
template void gemm<double>(Trans, Trans, double, MatrixView<const double>, MatrixView<const double>,
                           double, MatrixView<double>, const GemmEpilogue<double>&, GemmVariant);

}  // namespace catapult::kernels
