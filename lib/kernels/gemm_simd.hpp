#pragma once
// Private to the per-ISA translation units (kernels_<isa>.cpp): the drivers around
// gemm_blocked.hpp's micro-kernels (sequential, 2D-parallel, shared-A parallel) and the choice of
// driver from the shape. Everything lives in the ISA's namespace, CATAPULT_KERNELS_ISA_NS; oneTBB
// is reached only through kernels/dispatch.hpp's parallel_ranges (see there why).

#include <algorithm>
#include <type_traits>

#include "catapult/core/aligned.hpp"
#include "catapult/core/threading.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/gemm_blocked.hpp"
#include "kernels/gemm_transposed.hpp"

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

// Elements of T in whole cache lines covering n elements (keeps every buffer 64-byte aligned).
template <class T>
constexpr std::size_t round_up_to_line(std::size_t n) noexcept {
  return round_up(n, kAlignment / sizeof(T));
}

// Below this many flops (2·M·N·K) a product runs on the calling thread: a 64³ product takes a
// few microseconds, the order of the cost of waking TBB workers.
constexpr double kParallelMinFlops = 4.0e6;

template <class T>
using Problem = GemmProblem<T>;

// The micro-kernel the Simd variants use: the xsimd one when xsimd found an ISA, else the
// reference kernel, so dispatch never fails.
template <class T>
using FastKernel = std::conditional_t<kHaveSimd, SimdKernel<T>, ScalarKernel<T>>;
// The small-M shape, likewise.
template <class T>
using SmallKernel = std::conditional_t<kHaveSimd, SmallMKernel<T>, ScalarKernel<T>>;

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
  return (static_cast<double>(m) / static_cast<double>(round_up(m, mr))) *
         (static_cast<double>(n) / static_cast<double>(round_up(n, nr)));
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

// The first index of part `part` of `parts` when [0, extent) is split into parts of whole
// panels of `panel` indices, as evenly as panels allow: part p spans the panels
// [p·P / parts, (p + 1)·P / parts) of the P = ceil(extent / panel), so parts differ by at most
// one panel. part = parts gives extent.
constexpr std::size_t panel_edge(std::size_t part, std::size_t parts, std::size_t extent,
                                 std::size_t panel) noexcept {
  return std::min(part * ceil_div(extent, panel) / parts * panel, extent);
}

// Runs Driver::region over all of C on the calling thread.
template <class Driver, class T>
void gemm_sequential(const Problem<T>& g) {
  const std::size_t a_size = round_up_to_line<T>(Driver::a_size(g.m));
  const std::size_t b_size = round_up_to_line<T>(Driver::b_size(g.n));
  T* ap = a_size + b_size > 0 ? detail::gemm_workspace<T>(a_size + b_size) : nullptr;
  Driver::region(g, 0, g.m, 0, g.n, ap, ap == nullptr ? nullptr : ap + a_size);
}

// 2D partition of C into row_tiles × col_tiles tiles of whole MR × NR panels, enough to keep every
// thread busy. Only the tiling depends on the thread count; the arithmetic on each element of C
// does not (K is never split), so results are bitwise independent of it.
template <class Driver, class T>
void gemm_parallel(const Problem<T>& g, std::size_t threads) {
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
  // Tile r of row_tiles spans rows [panel_edge(r, …), panel_edge(r + 1, …)), and likewise for
  // columns. (Tiles of ceil(N / col_tiles) columns rounded up to NR left a short last one:
  // N = 784 in 4 tiles of 48-column panels was 240 + 240 + 240 + 64, and 2 threads then took 480
  // and 304 columns.)
  const std::size_t mt = ceil_div(max_row_tiles, row_tiles) * Driver::MR;
  const std::size_t nt = ceil_div(max_col_tiles, col_tiles) * Driver::NR;

  // One slot of packing buffers per thread of the arena, indexed by its thread index.
  const std::size_t a_size = round_up_to_line<T>(Driver::a_size(mt));
  const std::size_t b_size = round_up_to_line<T>(Driver::b_size(nt));
  const auto slots = detail::arena_slots();
  T* buffers = a_size + b_size > 0 ? detail::gemm_workspace<T>(slots * (a_size + b_size)) : nullptr;

  // isolated: while it waits, this thread runs only our tiles, never an outer task that could
  // call gemm again and reuse this thread's buffers.
  detail::isolated([&] {
    detail::parallel_ranges(
        row_tiles * col_tiles, 1, true, [&](std::size_t begin, std::size_t end) noexcept {
          T* ap = nullptr;
          T* bp = nullptr;
          if (buffers != nullptr) {
            ap = buffers + detail::arena_slot() * (a_size + b_size);
            bp = ap + a_size;
          }
          for (std::size_t tile = begin; tile != end; ++tile) {
            const std::size_t r = tile / col_tiles, c = tile % col_tiles;
            Driver::region(g, panel_edge(r, row_tiles, g.m, Driver::MR),
                           panel_edge(r + 1, row_tiles, g.m, Driver::MR),
                           panel_edge(c, col_tiles, g.n, Driver::NR),
                           panel_edge(c + 1, col_tiles, g.n, Driver::NR), ap, bp);
          }
        });
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
  const double block_flops = 2.0 * static_cast<double>(std::min(g.m, Kernel::mc())) *
                             static_cast<double>(g.n) *
                             static_cast<double>(balanced_kc<Kernel>(g.k));
  return g.n >= 4 * threads * kSharedAMinCols && block_flops >= 16.0e6;
}

template <class Kernel, class T>
void gemm_parallel_shared_a(const Problem<T>& g, std::size_t threads) {
  constexpr std::size_t MR = Kernel::MR, NR = Kernel::NR;
  // Chunks of whole NR-column panels, as even as panels allow (chunk c: panels
  // [c·P / chunks, (c + 1)·P / chunks) of the P = ceil(N / NR)), at most NC columns each
  // (ceil(N / NC) chunks at least). Chunks of ceil(N / chunks) columns rounded up to NR left a
  // short last one: N = 1024 in 48-column panels was 7 chunks of 144 and one of 16, so on 2
  // threads one took 576 columns and the other 448.
  const std::size_t panels = ceil_div(g.n, NR);
  const std::size_t chunks = std::min(panels, std::max(ceil_div(g.n, Kernel::nc()), 4 * threads));
  const std::size_t cols = ceil_div(panels, chunks) * NR;  // the widest chunk
  const auto chunk_start = [&](std::size_t c) { return panel_edge(c, chunks, g.n, NR); };
  const std::size_t mc_step = balanced_mc<Kernel>(g.m);
  const std::size_t kc_step = balanced_kc<Kernel>(g.k);
  const std::size_t a_size = round_up_to_line<T>(a_buffer_size<Kernel>(g.m));
  // Each slot: the packed block of op(B), then the update epilogue's stage (see block_tiles).
  const std::size_t b_size = round_up_to_line<T>(cols * Kernel::KC + Kernel::MR * cols);
  const auto slots = detail::arena_slots();
  T* const ap = detail::gemm_workspace<T>(a_size + slots * b_size);
  T* const b_buffers = ap + a_size;

  detail::isolated([&] {
    for (std::size_t ic = 0; ic < g.m; ic += mc_step) {
      const std::size_t mc = std::min(mc_step, g.m - ic);
      const std::size_t a_panels = ceil_div(mc, MR);
      const std::size_t grain = std::max<std::size_t>(1, a_panels / (4 * threads));
      // K = 0 still makes one pass (kc = 0) so that C = beta·C and the epilogue are applied.
      for (std::size_t pc = 0; pc == 0 || pc < g.k; pc += kc_step) {
        const std::size_t kc = std::min(kc_step, g.k - pc);
        detail::parallel_ranges(a_panels, grain, true,
                                [&](std::size_t begin, std::size_t end) noexcept {
                                  const std::size_t lo = begin * MR;
                                  const std::size_t hi = std::min(end * MR, mc);
                                  pack_a<MR>(g, ic + lo, hi - lo, pc, kc, ap + lo * kc);
                                });
        detail::parallel_ranges(chunks, 1, true, [&](std::size_t begin, std::size_t end) noexcept {
          T* const bp = b_buffers + detail::arena_slot() * b_size;
          for (std::size_t chunk = begin; chunk != end; ++chunk) {
            const std::size_t jc = chunk_start(chunk);
            const std::size_t nc = chunk_start(chunk + 1) - jc;
            pack_b<NR>(g, pc, kc, jc, nc, bp);
            block_tiles<Kernel>(g, ic, mc, jc, nc, pc, kc, ap, bp, bp + cols * Kernel::KC);
          }
        });
      }
    }
  });
}

#if defined(__AVX2__)
// A·op(B) with few rows of A and many columns of C takes the transposed path of
// gemm_transposed.hpp, which reads B in place instead of packing it (only the small A is packed).
// - op(B) = Bᵀ (a layer's forward pass at a small batch): up to kTransposedMaxRows rows of A;
//   beyond, the pack of B is spread over enough rows of C to be cheap (at M = 1024 the two paths
//   measured level).
// - op(B) = B (the input gradient dH·W at a small batch): one to kTransposedMaxTiles whole tiles
//   of rows of A (32-128 floats on AVX-512, 16-64 on AVX2). Each tile reads its strip of B across
//   K rows again, where the packed path streams a packed copy: on AVX2 the transposed path
//   measured 5 % slower at square 256 and level at 128 × 784 × H (eight tiles), where the packed
//   path's 4 × 24 tiles fit. Fewer rows than a tile would leave most of its lanes empty (the
//   packed path's 8- or 4-row tiles waste less; not measured). K ≥ kTransposedMinKColumns: at
//   square 64 it measured 6-10 % slower, the tile's transposed write-back against too few k steps.
// K at most kTransposedMaxK (K is not blocked; the packed Aᵀ, M·K elements, is 0.1-0.8 MB for the
// forward passes at K = 784 it serves and at most 4 MiB of floats).
constexpr std::size_t kTransposedMaxRows = 256;
constexpr std::size_t kTransposedMaxTiles = 4;
constexpr std::size_t kTransposedMinKColumns = 128;
constexpr std::size_t kTransposedMaxK = 4096;
template <class T>
bool use_transposed_driver(const Problem<T>& g) noexcept {
  const bool rows = g.trans_b == Trans::T;
  constexpr std::size_t tile_rows = SimdKernel<T>::NR;
  const std::size_t min_m = rows ? 1 : tile_rows;
  const std::size_t max_m = rows ? kTransposedMaxRows : kTransposedMaxTiles * tile_rows;
  const std::size_t min_k = rows ? 16 : kTransposedMinKColumns;
  return kVectorPack<T> && g.update == nullptr && g.trans_a == Trans::N && g.k >= min_k &&
         g.k <= kTransposedMaxK && g.m >= min_m && g.m <= max_m && g.n > kDotMaxSide;
}

// The transposed path: Aᵀ packed once into the calling thread's workspace (on several threads,
// in blocks of panels × 256 k steps), then chunks of whole TR-row tiles of op(B)ᵀ (columns of C),
// each against all of Aᵀ. The partition never changes the arithmetic on an element of C.
template <class T, Trans kTransB>
void gemm_transposed(const Problem<T>& g, std::size_t threads) {
  using D = TransposedDriver<T, kTransB>;
  const std::size_t panels = ceil_div(g.m, D::TC);
  T* const ap = detail::gemm_workspace<T>(round_up_to_line<T>(D::packed_size(g.m, g.k)));
  if (threads <= 1) {
    for (std::size_t q = 0; q < panels; ++q) D::pack(g, q, 0, g.k, ap);
    D::region(g, 0, g.m, 0, g.n, ap);
    return;
  }
  constexpr std::size_t kPackSteps = 256;
  const std::size_t k_blocks = ceil_div(g.k, kPackSteps);
  const std::size_t chunks = std::min(ceil_div(g.n, D::TR), 4 * threads);
  detail::isolated([&] {
    detail::parallel_ranges(panels * k_blocks, 1, true,
                            [&](std::size_t begin, std::size_t end) noexcept {
                              for (std::size_t u = begin; u != end; ++u) {
                                const std::size_t p0 = (u % k_blocks) * kPackSteps;
                                D::pack(g, u / k_blocks, p0, std::min(g.k, p0 + kPackSteps), ap);
                              }
                            });
    detail::parallel_ranges(chunks, 1, true, [&](std::size_t begin, std::size_t end) noexcept {
      for (std::size_t c = begin; c != end; ++c)
        D::region(g, 0, g.m, panel_edge(c, chunks, g.n, D::TR),
                  panel_edge(c + 1, chunks, g.n, D::TR), ap);
    });
  });
}
#endif

// The fast path for one problem: the dot-product driver when both operands run along K
// (A·Bᵀ) and one side is tiny, the transposed path for A·op(B) with a small A, else the packed
// xsimd kernel. Chosen from the shape only, so Simd and SimdParallel and every thread count
// compute every element identically.
template <class T>
void gemm_fast(const Problem<T>& g, bool parallel) {
  const double flops =
      2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  // The thread limit is asked for only when the problem is large enough to split: the query
  // (a call into TBB) is a visible part of a call as small as the output layer's (~1.5 µs).
  const std::size_t threads = parallel && flops >= kParallelMinFlops ? max_threads() : 1;
  const bool use_threads = threads > 1;
  const auto run = [&]<class Driver>() {
    // The update epilogue's Σ g²: one partial per register tile of Driver's grid, summed here in
    // the grid's order, so the total does not depend on which thread ran which tile.
    Problem<T> h = g;
    std::size_t tiles = 0;
    if (g.squared_norm != nullptr) {
      h.sq_cols = ceil_div(g.n, Driver::NR);
      tiles = ceil_div(g.m, Driver::MR) * h.sq_cols;
      h.sq_partials = detail::gemm_norm_workspace(tiles);
    }
    const auto go = [&] {
      if constexpr (requires { typename Driver::Kernel; }) {
        if (use_threads && use_shared_a<typename Driver::Kernel>(h, threads)) {
          gemm_parallel_shared_a<typename Driver::Kernel>(h, threads);
          return;
        }
      }
      if (use_threads)
        gemm_parallel<Driver>(h, threads);
      else
        gemm_sequential<Driver>(h);
    };
    go();
    if (h.sq_partials != nullptr) {
      double sq = 0.0;
      for (std::size_t i = 0; i < tiles; ++i) sq += h.sq_partials[i];
      *g.squared_norm = sq;
    }
  };
  if constexpr (kHaveSimd) {
    // The dot-product driver has no update epilogue; the packed path serves those products.
    if (g.update == nullptr && use_dot_driver(g)) {
      // The 4 × 5 tiles when they fit clearly better (N = 10: 6 × 4 tiles compute 12 columns).
      if (prefer_second_shape<DotDriver<T>, NarrowDotDriver<T>>(g))
        run.template operator()<NarrowDotDriver<T>>();
      else
        run.template operator()<DotDriver<T>>();
      return;
    }
  }
#if defined(__AVX2__)
  if (use_transposed_driver(g)) {
    if (g.trans_b == Trans::T)
      gemm_transposed<T, Trans::T>(g, threads);
    else
      gemm_transposed<T, Trans::N>(g, threads);
    return;
  }
#endif
  if constexpr (kHaveSimd) {
    if (prefer_second_shape<SimdKernel<T>, SmallMKernel<T>>(g)) {
      run.template operator()<PackedDriver<SmallMKernel<T>>>();
      return;
    }
  }
  run.template operator()<PackedDriver<FastKernel<T>>>();
}

/// The Simd, SimdParallel and BlockedScalar variants on a validated problem (M, N ≥ 1).
template <class T>
void run_gemm(const GemmProblem<T>& g, GemmVariant variant) {
  switch (variant) {
    case GemmVariant::BlockedScalar:
      if (g.squared_norm != nullptr) {
        Problem<T> h = g;
        using K = ScalarKernel<T>;
        h.sq_cols = ceil_div(g.n, K::NR);
        const std::size_t tiles = ceil_div(g.m, K::MR) * h.sq_cols;
        h.sq_partials = detail::gemm_norm_workspace(tiles);
        gemm_sequential<PackedDriver<K>>(h);
        double sq = 0.0;
        for (std::size_t i = 0; i < tiles; ++i) sq += h.sq_partials[i];
        *g.squared_norm = sq;
        return;
      }
      gemm_sequential<PackedDriver<ScalarKernel<T>>>(g);
      return;
    case GemmVariant::Simd:
      gemm_fast(g, false);
      return;
    case GemmVariant::SimdParallel:
    case GemmVariant::Naive:  // handled by kernels::gemm
      break;
  }
  gemm_fast(g, true);
}

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
