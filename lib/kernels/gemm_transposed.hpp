#pragma once
// Private to the per-ISA translation units (kernels_<isa>.cpp), in their namespace (see simd.hpp):
// the transposed path for C = A·op(B) (trans_a = N) with few rows of A and many columns of C:
// the forward pass X[batch, d_in]·W[d_out, d_in]ᵀ of a layer at a small batch (op(B) = Bᵀ), and
// the input gradient dH[batch, d_out]·W[d_out, d_in] (op(B) = B).
//
// The packed path needs op(B) = Wᵀ in K × NR panels, a transposing copy of all of W in every
// call: at batch 32 and 128 that pack took 6-11 % of a whole training step of 784-1024-10
// (profile of nn_bench's step, 1 thread, AVX-512), as much as the update. Here the product runs
// as its transpose, Cᵀ = op(B)ᵀ·Aᵀ: each register tile is MR rows of op(B)ᵀ read in place (their
// entries broadcast from B itself, so B is never copied: along MR rows of B for op(B) = Bᵀ, along
// MR adjacent entries of each row of B for op(B) = B) times NR columns of Aᵀ, i.e. NR rows of A,
// which are packed instead, once per call, as K × NR panels (the same layout and the same
// in-register transposes as pack_b's). A is the small operand: batch × K against the K × N of
// op(B). The input gradient's packed path packs all of W as well (its B pack, K × N), where the
// transposed path packs only dH.
// K is not blocked: every element of C is one FMA chain over k = 0 … K−1, and C is written once.
// The MR × NR result of a tile is Cᵀ's: it is transposed through two small buffers in L1 and
// written to C as NR rows of MR entries, with the arithmetic of the packed kernels' write-back
// (alpha, beta, bias, activation and derivative lane by lane), so only the order of the sum over
// K differs from the packed path. Chosen from the shape only (use_transposed_driver).

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/dispatch.hpp"
#include "kernels/gemm_blocked.hpp"

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

#if defined(__AVX2__)

template <class T, Trans kTransB>
struct TransposedDriver {
  using B = Batch<T>;
  using Kernel = SimdKernel<T>;
  static constexpr std::size_t W = B::size;
  // Rows of B (columns of C) per tile, and vectors of packed Aᵀ columns (rows of C): the packed
  // kernel's register tile, 14 × 2 vectors on AVX-512, 6 × 2 on AVX2.
  static constexpr std::size_t TR = Kernel::MR;
  static constexpr std::size_t NV = Kernel::NV;
  static constexpr std::size_t TC = NV * W;
  // A tile's rows of Cᵀ rounded up to whole vectors: the width of a transposed row.
  static constexpr std::size_t TRV = round_up(TR, W);
  // op(B) = Bᵀ: every kLine k steps (one line of a row of B), a line of each of the TR rows of B
  // is requested kAheadLines lines ahead. op(B) = B: every k step reads TR adjacent entries of a
  // new row of B, requested kAheadRows rows ahead.
  static constexpr std::size_t kLine = 64 / sizeof(T);
  static constexpr std::size_t kAheadLines = 4;
  static constexpr std::size_t kAheadRows = 32;
  // Packed panels of Aᵀ prefetched this many k steps ahead (they stream from L2).
  static constexpr std::size_t kPrefetchSteps = 8;

  // Elements of the packed Aᵀ: ceil(M / TC) panels of K × TC.
  static std::size_t packed_size(std::size_t m, std::size_t k) noexcept {
    return round_up(m, TC) * k;
  }

  // Panel q of Aᵀ (rows [q·TC, q·TC + TC) of A; rows past M as zeros), its k steps [p0, p1):
  // ap[q·TC·K + p·TC + c] = A(q·TC + c, p). This is pack_b's panel of op(B) = Bᵀ for B = A, of
  // TC columns from q·TC and the K block [p0, p1), so pack_b writes it.
  static void pack(const GemmProblem<T>& g, std::size_t q, std::size_t p0, std::size_t p1,
                   T* ap) noexcept {
    GemmProblem<T> as_b = g;
    as_b.trans_b = Trans::T;
    as_b.b = g.a;
    const std::size_t i0 = q * TC;
    pack_b<TC>(as_b, p0, p1 - p0, i0, std::min(TC, g.m - i0), ap + i0 * g.k + p0 * TC);
  }

  // C[i0:i1, j0:j1] from the packed Aᵀ: tiles of TR columns of C (rows of op(B)ᵀ) outer, so
  // that their entries of B, read from memory once, stay in L1-L2 while the panels of Aᵀ (M·K in
  // all, in L2) pass by. i0 and j0 are multiples of TC and TR.
  static void region(const GemmProblem<T>& g, std::size_t i0, std::size_t i1, std::size_t j0,
                     std::size_t j1, const T* ap) noexcept {
    for (std::size_t j = j0; j < j1; j += TR) {
      const std::size_t n = std::min(TR, j1 - j);
      if constexpr (kTransB == Trans::T) {
        RowStrip strip;
        for (std::size_t r = 0; r < TR; ++r) strip.row[r] = g.b.row(j + std::min(r, n - 1));
        tiles(g, strip, i0, i1, j, n, j1, ap);
      } else if (n == TR) {
        tiles(g, ColumnStrip<true>{g.b.data() + j, g.b.ld(), n - 1, g.k - 1}, i0, i1, j, n, j1, ap);
      } else {
        tiles(g, ColumnStrip<false>{g.b.data() + j, g.b.ld(), n - 1, g.k - 1}, i0, i1, j, n, j1,
              ap);
      }
    }
  }

 private:
  // The TR entries of op(B)ᵀ that a tile broadcasts at k step p, for its columns j … j + n − 1
  // of C. Entries past n repeat the last valid one (their results are dropped), so nothing
  // outside B is read.
  // op(B) = Bᵀ: B(j + r, p), rows of B, one pointer each.
  struct RowStrip {
    const T* row[TR];
    T at(std::size_t r, std::size_t p) const noexcept { return row[r][p]; }
    // One line of every row per line of k steps, kAheadLines ahead: TR short streams, too many
    // for the hardware prefetchers to follow alone. (Past the end of a row the address is the
    // next row's, or past the matrix: a prefetch never faults, and it is formed as an integer.)
    void prefetch_line(std::size_t p0) const noexcept {
#pragma GCC unroll 16
      for (std::size_t r = 0; r < TR; ++r)
        __builtin_prefetch(reinterpret_cast<const char*>(
                               reinterpret_cast<std::uintptr_t>(row[r] + p0) + kAheadLines * 64),
                           0, 3);
    }
    void prefetch_step(std::size_t) const noexcept {}
  };
  // op(B) = B: B(p, j + r), adjacent entries of row p of B (kFull: all TR within the tile).
  template <bool kFull>
  struct ColumnStrip {
    const T* first;  // B(0, j)
    std::size_t ld;
    std::size_t last;       // n − 1
    std::size_t last_step;  // K − 1
    T at(std::size_t r, std::size_t p) const noexcept {
      return first[p * ld + (kFull ? r : std::min(r, last))];
    }
    void prefetch_line(std::size_t) const noexcept {}
    // The strip's entries kAheadRows rows below (one line, or two where they straddle one), or
    // the last row's near the end of K.
    void prefetch_step(std::size_t p) const noexcept {
      const auto ahead =
          reinterpret_cast<std::uintptr_t>(first + std::min(p + kAheadRows, last_step) * ld);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead), 0, 3);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead + (TR - 1) * sizeof(T)), 0, 3);
    }
  };

  // The rows of C (and of the derivative) that the next tile writes: m rows from i, at column j.
  struct Next {
    std::size_t i = 0, m = 0, j = 0;
  };

  // The tiles of columns j … j + n − 1 of C (one strip of op(B)ᵀ), rows i0 … i1 − 1; j1 ends
  // the region (for the prefetch of the next strip's first tile).
  template <class Strip>
  static void tiles(const GemmProblem<T>& g, const Strip& strip, std::size_t i0, std::size_t i1,
                    std::size_t j, std::size_t n, std::size_t j1, const T* ap) noexcept {
    for (std::size_t i = i0; i < i1; i += TC) {
      // The tile after this one: the next TC rows of C, or the first ones of the next TR
      // columns.
      Next next{};
      if (i + TC < i1)
        next = {i + TC, std::min(TC, i1 - i - TC), j};
      else if (j + TR < j1)
        next = {i0, std::min(TC, i1 - i0), j + TR};
      tile(g, strip, ap + i * g.k, i, std::min(TC, i1 - i), j, n, next);
    }
  }

  template <class Strip>
  static void tile(const GemmProblem<T>& g, const Strip& strip, const T* ap, std::size_t i,
                   std::size_t m, std::size_t j, std::size_t n, const Next& next) noexcept {
    B acc[TR][NV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < TR; ++r)
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) acc[r][v] = B(T(0));
    const std::size_t k = g.k;
    std::size_t next_row = 0;
    for (std::size_t p0 = 0; p0 < k; p0 += kLine) {
      // One row of the next tile's C and derivative per line of k steps: its TR entries of each
      // of TC rows lie a row of C apart and are cold (written one step of training ago), and
      // its write-back would otherwise wait for them.
      if (next_row < next.m) {
        const T* c = g.c.data() + (next.i + next_row) * g.c.ld() + next.j;
        __builtin_prefetch(c, 1, 3);
        __builtin_prefetch(c + TR - 1, 1, 3);
        if (g.d != nullptr) {
          const T* d = g.d + (next.i + next_row) * g.ldd + next.j;
          __builtin_prefetch(d, 1, 3);
          __builtin_prefetch(d + TR - 1, 1, 3);
        }
        ++next_row;
      }
      strip.prefetch_line(p0);
      const std::size_t p1 = std::min(k, p0 + kLine);
      for (std::size_t p = p0; p < p1; ++p) {
        for (std::size_t line = 0; line < TC * sizeof(T); line += 64)
          __builtin_prefetch(reinterpret_cast<const char*>(
                                 reinterpret_cast<std::uintptr_t>(ap + kPrefetchSteps * TC) + line),
                             0, 3);
        B bv[NV];
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) bv[v] = B::load_aligned(ap + v * W);
#pragma GCC unroll 16
        for (std::size_t r = 0; r < TR; ++r) {
          const B av(strip.at(r, p));
#pragma GCC unroll 4
          for (std::size_t v = 0; v < NV; ++v) acc[r][v] = fmadd(av, bv[v], acc[r][v]);
        }
        strip.prefetch_step(p);
        ap += TC;
      }
    }
    write_back(g, acc, i, m, j, n);
  }

  // acc[r][v] lane l is Cᵀ(j + r, i + v·W + l) = C(i + v·W + l, j + r). Through tbuf (Cᵀ's tile
  // as it is in the registers, TR × TC) and its in-register transposes into cbuf (C's tile,
  // TC × TRV), then row by row finish_vector, the write-back of every path, each store masked
  // to the tile's n valid columns.
  static void write_back(const GemmProblem<T>& g, const B (&acc)[TR][NV], std::size_t i,
                         std::size_t m, std::size_t j, std::size_t n) noexcept {
    alignas(64) T tbuf[TR * TC];
    alignas(64) T cbuf[TC * TRV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < TR; ++r)
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_aligned(tbuf + r * TC + v * W);
    for (std::size_t c0 = 0; c0 < TC; c0 += W)
      for (std::size_t r0 = 0; r0 < TR; r0 += W)
        transpose_tile<3>(tbuf + r0 * TC + c0, TC, std::min(W, TR - r0), W, cbuf + c0 * TRV + r0,
                          TRV, W, 0);
    constexpr std::size_t V = TRV / W;
    const B alpha(g.alpha);
    const B beta(g.beta);
    const bool read_c = g.beta != T(0);
    const bool epilogue = g.bias != nullptr || g.d != nullptr || g.act != Activation::Identity;
    B bias[V];
    for (std::size_t v = 0; v < V; ++v)
      bias[v] = g.bias != nullptr && lanes(n, v) > 0
                    ? B(vpack::load_first(g.bias + j + v * W, lanes(n, v)))
                    : B(T(0));
    for (std::size_t c = 0; c < m; ++c) {
      T* crow = g.c.data() + (i + c) * g.c.ld() + j;
      T* drow = g.d != nullptr ? g.d + (i + c) * g.ldd + j : nullptr;
#pragma GCC unroll 4
      for (std::size_t v = 0; v < V; ++v) {
        const std::size_t valid = lanes(n, v);
        if (valid == 0) break;
        B dz;
        const B z = finish_vector(
            B::load_aligned(cbuf + c * TRV + v * W), alpha, beta, read_c,
            [&] { return B(vpack::load_first(crow + v * W, valid)); }, epilogue,
            g.bias != nullptr ? &bias[v] : nullptr, g.act, drow != nullptr ? &dz : nullptr);
        if (drow != nullptr)
          vpack::store_first(drow + v * W, typename vpack::Reg<T>::type(dz), valid);
        vpack::store_first(crow + v * W, typename vpack::Reg<T>::type(z), valid);
      }
    }
  }

  // Lanes of vector v of a transposed row of n valid entries.
  static constexpr std::size_t lanes(std::size_t n, std::size_t v) noexcept {
    return n > v * W ? std::min(W, n - v * W) : 0;
  }
};

#endif

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
