#pragma once
// Private to the per-ISA translation units (kernels_<isa>.cpp), in their namespace (see simd.hpp):
// the packed, cache-blocked GEMM driver (the five loops around a micro-kernel, after BLIS) and
// its two micro-kernels: a plain C++ reference kernel, always compiled, and the xsimd
// register-blocked kernel for the unit's ISA.
//
// Layout of the packed panels (the micro-kernel contract):
//   A panel: MR rows of op(A) × kc, stored p-major: ap[p·MR + r] = op(A)(ir + r, pc + p);
//            rows beyond the edge of C are zero.
//   B panel: kc × NR columns of op(B), stored p-major: bp[p·NR + c] = op(B)(pc + p, jr + c);
//            columns beyond the edge of C are zero.
// Both buffers are 64-byte aligned, and every panel starts on a multiple of MR·kc (NR·kc)
// elements, so with NR a multiple of the SIMD width every B load is aligned.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "catapult/kernels/gemm.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/simd.hpp"
#include "kernels/update_simd.hpp"

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

using detail::GemmProblem;

/// What a micro-kernel writes back for one MR × NR tile of C (rows m ≤ MR, cols n ≤ NR valid).
template <class T>
struct TileArgs {
  T* c;  // C(i, j) of the tile's top-left element
  std::size_t ldc;
  std::size_t m, n;  // valid rows / cols of this tile
  T alpha;
  T beta;         // beta for the first K block, 1 for the later ones
  bool read_c;    // false iff beta == 0 on the first K block: C is never read
  bool last;      // last K block: apply bias, activation, derivative
  const T* bias;  // bias + j of the tile, or null
  Activation act;
  T* d;  // derivative at the tile's top-left, or null
  std::size_t ldd;
  const T* next_c;  // top-left of the C tile of the next call (prefetched), or null
};

// Σ g² over a finished m × n gradient tile g (row stride ldg) of a kernel with NR columns, in
// float vectors with a double fallback when that overflows; the same code for every tile of a
// shape, so a tile's sum depends only on its values. Whole-width tiles take a loop with the
// column count fixed at compile time and two sums (even and odd rows): on the 14 × 2-vector
// tiles of dW1 at batch 32, the general loop took 6 % of the fused SGD step's samples, this one
// 4 % (784-1024-10, 1 thread, AVX-512; perf).
template <std::size_t NR, class T>
double tile_squared_norm(const T* g, std::size_t ldg, std::size_t m, std::size_t n) noexcept {
  T s = T(0);
  if constexpr (kHaveSimd) {
    using B = Batch<T>;
    constexpr std::size_t W = B::size;
    B even(T(0)), odd(T(0));
    if (NR % W == 0 && n == NR) {
      std::size_t r = 0;
      for (; r + 2 <= m; r += 2) {
        const T* x = g + r * ldg;
        const T* y = x + ldg;
        for (std::size_t c = 0; c < NR; c += W) {
          const B u = B::load_unaligned(x + c), v = B::load_unaligned(y + c);
          even = fmadd(u, u, even);
          odd = fmadd(v, v, odd);
        }
      }
      if (r < m)
        for (std::size_t c = 0; c < NR; c += W) {
          const B u = B::load_unaligned(g + r * ldg + c);
          even = fmadd(u, u, even);
        }
    } else {
      for (std::size_t r = 0; r < m; ++r) {
        const T* row = g + r * ldg;
        std::size_t c = 0;
        for (; c + W <= n; c += W) {
          const B x = B::load_unaligned(row + c);
          even = fmadd(x, x, even);
        }
        for (; c < n; ++c) s += row[c] * row[c];
      }
    }
    s += xsimd::hadd(even + odd);
  } else {
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t c = 0; c < n; ++c) s += g[r * ldg + c] * g[r * ldg + c];
  }
  if (std::isfinite(s)) return static_cast<double>(s);
  double d = 0.0;  // overflowed in T (or a non-finite gradient, which stays non-finite)
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t c = 0; c < n; ++c)
      d += static_cast<double>(g[r * ldg + c]) * static_cast<double>(g[r * ldg + c]);
  return d;
}

inline constexpr std::size_t ceil_div(std::size_t a, std::size_t b) noexcept {
  return (a + b - 1) / b;
}
inline constexpr std::size_t round_up(std::size_t a, std::size_t b) noexcept {
  return ceil_div(a, b) * b;
}

// c = alpha·acc (+ beta·c); on the last K block also + bias, act, derivative; acc is a t.m × t.n
// tile with row stride acc_ld. The scalar form of SimdKernel::write_back.
template <class T>
void scalar_write_back(const T* acc, std::size_t acc_ld, const TileArgs<T>& t) noexcept {
  if (!t.last || (t.bias == nullptr && t.d == nullptr && t.act == Activation::Identity)) {
    // No epilogue: the same arithmetic as below, without its per-element tests.
    for (std::size_t r = 0; r < t.m; ++r) {
      T* crow = t.c + r * t.ldc;
      const T* arow = acc + r * acc_ld;
      if (t.read_c)
        for (std::size_t cc = 0; cc < t.n; ++cc)
          crow[cc] = std::fma(t.beta, crow[cc], t.alpha * arow[cc]);
      else
        for (std::size_t cc = 0; cc < t.n; ++cc) crow[cc] = t.alpha * arow[cc];
    }
    return;
  }
  for (std::size_t r = 0; r < t.m; ++r) {
    T* crow = t.c + r * t.ldc;
    for (std::size_t cc = 0; cc < t.n; ++cc) {
      T z = t.alpha * acc[r * acc_ld + cc];
      if (t.read_c) z = std::fma(t.beta, crow[cc], z);
      if (t.last) {
        if (t.bias != nullptr) z += t.bias[cc];
        switch (t.act) {
          case Activation::Relu:
            if (t.d != nullptr) t.d[r * t.ldd + cc] = z > T(0) ? T(1) : T(0);
            z = z > T(0) ? z : T(0);
            break;
          case Activation::Tanh:
            z = std::tanh(z);
            if (t.d != nullptr) t.d[r * t.ldd + cc] = T(1) - z * z;
            break;
          case Activation::Identity:
            if (t.d != nullptr) t.d[r * t.ldd + cc] = T(1);
            break;
        }
      }
      crow[cc] = z;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar reference micro-kernel.
// Assumes: packed panels as above; any kc (0 included); tile rows/cols within MR/NR.

template <class T>
struct ScalarKernel {
  static constexpr std::size_t MR = 6;
  static constexpr std::size_t NR = 8;
  // Small fixed blocks, whatever the caches: this kernel is the portable reference, not tuned
  // (and its tests cross blocks).
  static constexpr std::size_t KC = 256;
  static constexpr GemmKernelShape shape() noexcept { return {MR, NR, KC, sizeof(T)}; }
  static constexpr std::size_t mc() noexcept { return 96; }
  static constexpr std::size_t nc() noexcept { return 256; }

  static void run(std::size_t kc, const T* ap, const T* bp, const TileArgs<T>& t) noexcept {
    T acc[MR][NR] = {};
    for (std::size_t p = 0; p < kc; ++p) {
      for (std::size_t r = 0; r < MR; ++r) {
        const T av = ap[p * MR + r];
        for (std::size_t cc = 0; cc < NR; ++cc) acc[r][cc] += av * bp[p * NR + cc];
      }
    }
    scalar_write_back(&acc[0][0], NR, t);
  }
};

// ---------------------------------------------------------------------------------------------
// xsimd micro-kernel: an MR × NR block of C held in MR·NV registers (NV = NR / W vectors per row).
// AVX-512 (32 zmm registers): MR = 14, NR = 2 vectors (32 floats / 16 doubles): 28 accumulators,
// 2 B vectors and 1 broadcast A value. 16-register ISAs (AVX2, SSE): MR = 6, NR = 2 vectors.
// A second shape, MR = 8 × 3 vectors (24 accumulators), serves problems whose row count fills
// 8-row tiles better than 14-row ones (M = 32, 128: see SmallMKernel).
// Assumes: packed panels as above, bp 64-byte aligned; C, bias, d unaligned with any ld.

// The write-back arithmetic of every GEMM path on one vector of C, so that an element comes out
// the same whichever path summed it: z = alpha·acc (+ beta·C, with load_c() called only when
// read_c: C is never read with beta = 0), then, when `epilogue`, (+ *bias, when bias is
// non-null) and the activation, with act'(z) into *dz when dz is non-null.
template <class B, class LoadC>
[[gnu::always_inline]] inline B finish_vector(const B& acc, const B& alpha, const B& beta,
                                              bool read_c, const LoadC& load_c, bool epilogue,
                                              const B* bias, Activation act, B* dz) noexcept {
  B z = alpha * acc;
  if (read_c) z = fmadd(beta, load_c(), z);
  if (!epilogue) return z;
  if (bias != nullptr) z = z + *bias;
  if (dz != nullptr) return activate_batch<true>(act, z, *dz);
  B unused;
  return activate_batch<false>(act, z, unused);
}

template <class T, std::size_t MR_ = (sizeof(Batch<T>) >= 64 ? 14 : 6), std::size_t NV_ = 2,
          std::size_t KC_ = 2048 / sizeof(T), bool SmallM_ = false>
struct SimdKernel {
  using B = Batch<T>;
  static constexpr std::size_t W = B::size;
  static constexpr std::size_t NV = NV_;
  static constexpr std::size_t MR = MR_;
  static constexpr std::size_t NR = NV * W;
  // Cache blocking. The loops (gemm_region): MC rows of op(A), KC of K and NC columns of op(B)
  // at a time; inside, each MR × KC micro-panel of A stays in L1 while the NR-column
  // micro-panels of the KC × NC block of op(B) stream past it from L2.
  //   KC: fixed at compile time, 2 KiB of every row of op(A) per K block, KC = 512 floats (256
  //       doubles); the 8 × 48 shape takes 1 KiB (see SmallMKernel). KC alone decides how K is
  //       split (balanced_kc) and so the rounding of every element of C: fixed, a product gives
  //       bitwise the same result on every machine with this ISA (cache.hpp). Each K block reads
  //       and writes all of C once more, so fewer, longer blocks save C traffic. The A
  //       micro-panel is then 28 KiB (fits the 32 KiB L1d of Zen and the 48 KiB of recent Xeons);
  //       the B micro-panels, 64 KiB for float, stream from L2, which L2's bandwidth sustains.
  //       Against KC = 256 floats, KC = 512 measured 0.81 -> 0.91 of OpenBLAS on square 2048
  //       (Xeon, 1 thread, 21 interleaved repetitions, best of each), the MLP shapes within
  //       noise. The K loop is split into equal blocks of at most KC, see balanced_kc.
  //   NC, MC: from this machine's caches, once, at the first GEMM (mc(), nc(); the rules are
  //       derive_gemm_blocking's in cache.hpp). NC: the KC × NC block of op(B) fills half of L2,
  //       leaving room for the A micro-panels coming in and for C (a 2 MiB L2: 512 columns of
  //       2 KiB; Zen 3's 512 KiB: 128). MC: the MC × KC block of op(A) lives in L3, half this
  //       core's share of it, at least L2 and at most 4 MiB. Every block of op(B) is packed once
  //       per MC block, so MC is large; on the Xeon (2 MiB), 1 and 8 MiB measured the same.
  //       Neither changes the arithmetic on any element of C.
  // Until this order, the MC × KC block of A (672 KiB) stayed in L2 and the B micro-panel in L1,
  // and the KC × NC block of B (NC = 4096, 8 MiB) streamed from L3 once per MC block. On one
  // thread, against OpenBLAS (Xeon, interleaved, best of 11): dgemm 512 × 4096 × 2048 0.78-0.83
  // -> 0.92-0.94, 2048³ 0.87-0.91 -> 0.93-0.97; sgemm X[1024,784]·W1[4096,784]ᵀ 0.87-0.93 ->
  // 0.97-0.99, the other MLP shapes within noise.
  static constexpr std::size_t KC = KC_;
  static constexpr GemmKernelShape shape() noexcept { return {MR, NR, KC, sizeof(T), SmallM_}; }
  // Derived at the first call, from cache_sizes(), which kernels::gemm has read (and checked)
  // before any driver runs, so this never throws.
  static const GemmBlocking& blocking() noexcept {
    static const GemmBlocking b = derive_gemm_blocking(cache_sizes(), shape());
    return b;
  }
  static std::size_t mc() noexcept { return blocking().mc; }
  static std::size_t nc() noexcept { return blocking().nc; }
  static constexpr std::size_t kPrefetchSteps = 8;
  static constexpr std::size_t kShortK = 64;

  // Edge tiles of at most 4 (or 8) valid rows (the last row panel of C when M is not a multiple
  // of MR) run a 4-row (8-row) copy of the kernel on the same packed panels: for M = 256 with 14
  // rows, 4 of the last tile's 14 rows hold C, and the full kernel spent 10 / 266 of the
  // product's FMAs on rows that are never stored. Each element of C goes through the same FMAs
  // in the same order either way. Paired with OpenBLAS (Zen 5, AVX-512, 1 thread, three
  // alternations): square 256 0.98 -> 1.02, dW1 at H = 256 0.95-0.97 -> 0.99-1.01 (batch 128,
  // 1024), 0.99-1.05 -> 1.09-1.10 (batch 32); the rest level or up. AVX2 (6 rows): level.
  static void run(std::size_t kc, const T* ap, const T* bp, const TileArgs<T>& t) noexcept {
    if constexpr (MR > 4)
      if (t.m <= 4) return run_rows<4>(kc, ap, bp, t);
    if constexpr (MR > 8)
      if (t.m <= 8) return run_rows<8>(kc, ap, bp, t);
    run_rows<MR>(kc, ap, bp, t);
  }

 private:
  // The kernel on the first R rows of the MR-row A micro-panel (R = MR: the whole tile).
  template <std::size_t R>
  static void run_rows(std::size_t kc, const T* ap, const T* bp, const TileArgs<T>& t) noexcept {
    B acc[R][NV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) acc[r][v] = B(T(0));

    // The first MR k steps also prefetch the next tile's C rows, one row per step: C rows are
    // ldc apart (a page or more for large N), so they miss the caches and the TLB, and the
    // write-back of the next call would otherwise wait for them. (The next tile is usually the
    // next NR columns of the same rows, see block_tiles.)
    const std::size_t c_steps = t.next_c != nullptr ? std::min(kc, MR) : 0;
    // The B micro-panel (kc·NR, 32 KiB and more) streams from L2, and the A micro-panel comes
    // from L2 or L3 in the first tile of its row: prefetch both 8 k steps ahead, as many lines
    // of each per step as the step reads: two of B's, and one of A's for float (56 B a step),
    // two for double (112 B). (Measured when both streamed from L2 in every tile: square 1024
    // and 2048 on one thread about +5 % against no prefetch, 25 interleaved repetitions; double
    // squares 512-2048 +3-5 % on medians with the second A line, 31 repetitions. With the A
    // micro-panel in L1, dropping A's prefetch measured within noise.)
    // A short K block (a weight gradient at a small batch: K = B) finds both micro-panels in L1
    // after the first tile of its row and column: no prefetches, whose loads would take the load
    // ports the broadcasts need.
    const bool prefetch_panels = kc > kShortK;
    // One loop, whatever the prefetches: while acc had a home on the stack (see below), GCC
    // kept it there between loops, and as three loops in a row (C prefetch, short K, long K) it
    // stored and reloaded all the accumulators twice more per tile, 16 % of the 14 × 32
    // kernel's samples at K = 32 (dW1 at batch 32 on a Zen 5, 1 thread: 146-156 -> 166-173
    // GFLOP/s over three alternations; paired with OpenBLAS 0.87-0.91 -> 0.93-0.98 at H = 256
    // and 1024).
    for (std::size_t p = 0; p < kc; ++p) {
      if (p < c_steps) {
        __builtin_prefetch(t.next_c + p * t.ldc, 1, 3);
        __builtin_prefetch(t.next_c + p * t.ldc + NR - 1, 1, 3);
      }
      if (prefetch_panels) {
        for (std::size_t line = 0; line < NR * sizeof(T); line += 64)
          __builtin_prefetch(bp + kPrefetchSteps * NR + line / sizeof(T), 0, 3);
        for (std::size_t line = 0; line < MR * sizeof(T); line += 64)
          __builtin_prefetch(ap + kPrefetchSteps * MR + line / sizeof(T), 0, 3);
      }
      step<R>(ap, bp, acc);
      ap += MR;
      bp += NR;
    }

    const bool full = R == MR && t.m == MR && t.n == NR;
    if constexpr (R == MR) {
      if (full && !t.read_c && !has_epilogue(t, t.bias, t.d)) {
        store_plain(acc, t.c, t.ldc, t.alpha);
        return;
      }
    }
    // The other cases index the accumulators with run-time rows: they read a copy, so that acc
    // is only ever indexed by constants and GCC keeps it in registers instead of giving it a
    // home on the stack, which every tile zeroed before its k loop and stored after it (28 + 28
    // stores, ~6 % of the kernel's samples at K = 32). Paired with OpenBLAS (Zen 5, AVX-512, 1
    // thread, two alternations): dW1 at batch 32 0.93-0.98 -> 1.05-1.11 (H = 256, 1024), at
    // batch 128 0.94-0.97 -> 0.97-1.00; the other MLP products and the squares level or better.
    B out[MR][NV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) out[r][v] = r < R ? acc[r][v] : B(T(0));
    if (full) {
      write_back(out, t.c, t.ldc, t.d, t.ldd, t.bias, t);
      return;
    }
    // Edge tile: run the same vector write-back on a staged copy, so an element of C is
    // computed identically wherever its tile falls.
    alignas(64) T cbuf[MR * NR] = {};
    alignas(64) T dbuf[MR * NR];
    alignas(64) T bbuf[NR] = {};
    if (t.read_c)
      for (std::size_t r = 0; r < t.m; ++r)
        std::copy(t.c + r * t.ldc, t.c + r * t.ldc + t.n, cbuf + r * NR);
    const T* bias = nullptr;
    if (t.last && t.bias != nullptr) {
      std::copy(t.bias, t.bias + t.n, bbuf);
      bias = bbuf;
    }
    write_back(out, cbuf, NR, t.d != nullptr ? dbuf : nullptr, NR, bias, t);
    for (std::size_t r = 0; r < t.m; ++r) {
      std::copy(cbuf + r * NR, cbuf + r * NR + t.n, t.c + r * t.ldc);
      if (t.last && t.d != nullptr) std::copy(dbuf + r * NR, dbuf + r * NR + t.n, t.d + r * t.ldd);
    }
  }

  // One k step: acc += ap[0:R] ⊗ bp[0:NR].
  template <std::size_t R>
  static void step(const T* ap, const T* bp, B (&acc)[R][NV]) noexcept {
    B bv[NV];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < NV; ++v) bv[v] = B::load_aligned(bp + v * W);
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r) {
      const B av(ap[r]);
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) acc[r][v] = fmadd(av, bv[v], acc[r][v]);
    }
  }

  static bool has_epilogue(const TileArgs<T>& t, const T* bias, const T* d) noexcept {
    return t.last && (bias != nullptr || d != nullptr || t.act != Activation::Identity);
  }

  // c = alpha·acc, every index a constant once unrolled.
  [[gnu::always_inline]] static void store_plain(const B (&acc)[MR][NV], T* c, std::size_t ldc,
                                                 T alpha) noexcept {
    if (alpha == T(1)) {
#pragma GCC unroll 16
      for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_unaligned(c + r * ldc + v * W);
    } else {
      const B a(alpha);
#pragma GCC unroll 16
      for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) (a * acc[r][v]).store_unaligned(c + r * ldc + v * W);
    }
  }

  // c = alpha·acc (+ beta·c); on the last K block also + bias, act, derivative.
  // Inlined, with the plain case (no C read, no epilogue: every tile of a weight gradient) taken
  // first and unrolled, so the accumulators are stored from their registers: as a call with the
  // tests inside the loop, the accumulators went through the stack and the write-back took about
  // a tenth of the 14 × 32 kernel's time at K = 32 (dW1 at batch 32). alpha = 1 skips the
  // multiplication, which changes no bit.
  [[gnu::always_inline]] static void write_back(const B (&acc)[MR][NV], T* c, std::size_t ldc, T* d,
                                                std::size_t ldd, const T* bias,
                                                const TileArgs<T>& t) noexcept {
    const B alpha(t.alpha);
    const B beta(t.beta);
    const bool epilogue = has_epilogue(t, bias, d);
    if (!t.read_c && !epilogue) {
      store_plain(acc, c, ldc, t.alpha);
      return;
    }
    for (std::size_t r = 0; r < MR; ++r) {
      T* crow = c + r * ldc;
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) {
        const B b = epilogue && bias != nullptr ? B::load_unaligned(bias + v * W) : B(T(0));
        B dz;
        const B z = finish_vector(
            acc[r][v], alpha, beta, t.read_c, [&] { return B::load_unaligned(crow + v * W); },
            epilogue, bias != nullptr ? &b : nullptr, t.act,
            epilogue && d != nullptr ? &dz : nullptr);
        if (epilogue && d != nullptr) dz.store_unaligned(d + r * ldd + v * W);
        z.store_unaligned(crow + v * W);
      }
    }
  }
};

/// 8 × 3 vectors on AVX-512 (4 × 3 on 16-register ISAs): 24 (12) accumulators, 3 B vectors, 1 A.
/// KC = 1 KiB of each row of A (256 floats, 48 KiB B micro-panels): this shape serves small M
/// (32 or 128 rows), where each B micro-panel feeds only M / 8 tiles. With KC = 512 floats,
/// dX = dH·W1 at batch 32 (C[32,784], K = H = 1024 or 4096) fell from 1.10-1.13 to 0.96-0.99 of
/// OpenBLAS, while the forward pass at batch 128 gained less (0.97-0.99 -> 1.01-1.03; 1 thread,
/// 11-15 interleaved repetitions); the same trade-off held after the loops were reordered
/// (A micro-panel in L1, see SimdKernel): 1.07-1.12 -> 0.97-1.05 and 0.94-0.96 -> 1.00-1.03.
/// Its block of op(B) takes all of L2 but two A micro-panels (GemmKernelShape::small_m).
template <class T>
using SmallMKernel = SimdKernel<T, (sizeof(Batch<T>) >= 64 ? 8 : 4), 3, 1024 / sizeof(T), true>;

// ---------------------------------------------------------------------------------------------
// Packing. op(A)(i, p) is a(i, p) for N and a(p, i) for T; likewise for B.

// k-steps per block of the scalar transposing copies: one 64-byte line of float source per row.
inline constexpr std::size_t kPackBlock = 16;

#if defined(__AVX512F__)
// AVX-512 packing primitives. Every load and store is masked to the valid lanes, so nothing
// outside the source rows or the destination panel is touched (masked-off lanes never fault).
namespace avx512 {

inline __mmask16 lane_mask(std::size_t n, float /*tag*/) noexcept {
  return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1U << n) - 1U);
}
inline __mmask8 lane_mask(std::size_t n, double /*tag*/) noexcept {
  return n >= 8 ? __mmask8(0xFF) : static_cast<__mmask8>((1U << n) - 1U);
}
inline __m512 load(__mmask16 m, const float* p) noexcept { return _mm512_maskz_loadu_ps(m, p); }
inline __m512d load(__mmask8 m, const double* p) noexcept { return _mm512_maskz_loadu_pd(m, p); }
inline void store(float* p, __mmask16 m, __m512 v) noexcept { _mm512_mask_storeu_ps(p, m, v); }
inline void store(double* p, __mmask8 m, __m512d v) noexcept { _mm512_mask_storeu_pd(p, m, v); }

// The unmasked unpack and shuffle intrinsics start from _mm512_undefined_*(), which GCC 12 flags
// with -Wuninitialized once inlined; their all-lanes masked forms are the same instructions.
inline __m512 unpacklo(__m512 a, __m512 b) noexcept {
  return _mm512_mask_unpacklo_ps(a, 0xFFFF, a, b);
}
inline __m512 unpackhi(__m512 a, __m512 b) noexcept {
  return _mm512_mask_unpackhi_ps(a, 0xFFFF, a, b);
}
inline __m512d unpacklo(__m512d a, __m512d b) noexcept {
  return _mm512_mask_unpacklo_pd(a, 0xFF, a, b);
}
inline __m512d unpackhi(__m512d a, __m512d b) noexcept {
  return _mm512_mask_unpackhi_pd(a, 0xFF, a, b);
}
// 128-bit lanes: Imm 0x88 takes lanes 0, 2 of a then 0, 2 of b; 0xDD lanes 1, 3 of each.
template <int Imm>
inline __m512 shuffle_lanes(__m512 a, __m512 b) noexcept {
  return _mm512_mask_shuffle_f32x4(a, 0xFFFF, a, b, Imm);
}
template <int Imm>
inline __m512d shuffle_lanes(__m512d a, __m512d b) noexcept {
  return _mm512_mask_shuffle_f64x2(a, 0xFF, a, b, Imm);
}
// Lanes Shift … Shift + W − 1 of the concatenation lo, hi (lo first).
template <std::size_t Shift>
inline __m512 align_lanes(__m512 hi, __m512 lo) noexcept {
  const __m512i h = _mm512_castps_si512(hi), l = _mm512_castps_si512(lo);
  return _mm512_castsi512_ps(_mm512_mask_alignr_epi32(l, 0xFFFF, h, l, Shift));
}
template <std::size_t Shift>
inline __m512d align_lanes(__m512d hi, __m512d lo) noexcept {
  const __m512i h = _mm512_castpd_si512(hi), l = _mm512_castpd_si512(lo);
  return _mm512_castsi512_pd(_mm512_mask_alignr_epi64(l, 0xFF, h, l, Shift));
}

// In-register transpose of a 16 × 16 float block: v[r] holds row r on entry, column r on exit.
[[gnu::always_inline]] inline void transpose(__m512 (&v)[16]) noexcept {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = unpacklo(v[i], v[i + 1]);  // per 128-bit lane: a0 b0 a1 b1
    t[i + 1] = unpackhi(v[i], v[i + 1]);
  }
  // u[4i + j]: rows 4i … 4i + 3, columns j, j + 4, j + 8, j + 12 in its four 128-bit lanes.
  __m512 u[16];
  for (int i = 0; i < 16; i += 4) {
    const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
    const __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
    u[i] = _mm512_castpd_ps(unpacklo(t0, t2));
    u[i + 1] = _mm512_castpd_ps(unpackhi(t0, t2));
    u[i + 2] = _mm512_castpd_ps(unpacklo(t1, t3));
    u[i + 3] = _mm512_castpd_ps(unpackhi(t1, t3));
  }
  // Column j + 4L is 128-bit lane L of u[j], u[4 + j], u[8 + j], u[12 + j].
  for (int j = 0; j < 4; ++j) {
    const __m512 w0 = shuffle_lanes<0x88>(u[j], u[4 + j]);
    const __m512 w1 = shuffle_lanes<0xDD>(u[j], u[4 + j]);
    const __m512 x0 = shuffle_lanes<0x88>(u[8 + j], u[12 + j]);
    const __m512 x1 = shuffle_lanes<0xDD>(u[8 + j], u[12 + j]);
    v[j] = shuffle_lanes<0x88>(w0, x0);
    v[j + 4] = shuffle_lanes<0x88>(w1, x1);
    v[j + 8] = shuffle_lanes<0xDD>(w0, x0);
    v[j + 12] = shuffle_lanes<0xDD>(w1, x1);
  }
}

// In-register transpose of an 8 × 8 double block.
[[gnu::always_inline]] inline void transpose(__m512d (&v)[8]) noexcept {
  __m512d t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = unpacklo(v[i], v[i + 1]);  // per 128-bit lane L: a(2L) b(2L)
    t[i + 1] = unpackhi(v[i], v[i + 1]);
  }
  // Column j + 2L is 128-bit lane L of t[j], t[2 + j], t[4 + j], t[6 + j].
  for (int j = 0; j < 2; ++j) {
    const __m512d w0 = shuffle_lanes<0x88>(t[j], t[2 + j]);
    const __m512d w1 = shuffle_lanes<0xDD>(t[j], t[2 + j]);
    const __m512d x0 = shuffle_lanes<0x88>(t[4 + j], t[6 + j]);
    const __m512d x1 = shuffle_lanes<0xDD>(t[4 + j], t[6 + j]);
    v[j] = shuffle_lanes<0x88>(w0, x0);
    v[j + 2] = shuffle_lanes<0x88>(w1, x1);
    v[j + 4] = shuffle_lanes<0xDD>(w0, x0);
    v[j + 6] = shuffle_lanes<0xDD>(w1, x1);
  }
}

// Horizontal sums of 16 float vectors: lane i of the result is the sum of the lanes of v[i]. A
// fixed tree (neighbouring lanes, then 64-bit pairs, then 128-bit lanes), so every element goes
// through the same additions wherever its tile falls. 45 instructions against 16 × 7 for
// 16 separate horizontal adds. Only the first Live vectors may be nonzero: the parts of the tree
// that see nothing else are skipped (the 4 × 5 dot tile's second group has 4 of 16), which
// leaves every sum bitwise the same.
template <std::size_t Live = 16>
[[gnu::always_inline]] inline __m512 sum_lanes(const __m512 (&v)[16]) noexcept {
  static_assert(Live >= 1 && Live <= 16);
  const __m512 zero = _mm512_setzero_ps();
  __m512 s[8];  // s[i], per 128-bit lane: partial sums of v[2i], v[2i + 1], v[2i], v[2i + 1]
  for (std::size_t i = 0; i < 8; ++i)
    s[i] = 2 * i < Live
               ? _mm512_add_ps(unpacklo(v[2 * i], v[2 * i + 1]), unpackhi(v[2 * i], v[2 * i + 1]))
               : zero;
  __m512 q[4];  // q[i], per 128-bit lane: partial sums of v[4i] … v[4i + 3]
  for (std::size_t i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(s[2 * i]), b = _mm512_castps_pd(s[2 * i + 1]);
    q[i] = 4 * i < Live
               ? _mm512_add_ps(_mm512_castpd_ps(unpacklo(a, b)), _mm512_castpd_ps(unpackhi(a, b)))
               : zero;
  }
  const __m512 r01 =
      _mm512_add_ps(shuffle_lanes<0x88>(q[0], q[1]), shuffle_lanes<0xDD>(q[0], q[1]));
  const __m512 r23 =
      Live > 8 ? _mm512_add_ps(shuffle_lanes<0x88>(q[2], q[3]), shuffle_lanes<0xDD>(q[2], q[3]))
               : zero;
  return _mm512_add_ps(shuffle_lanes<0x88>(r01, r23), shuffle_lanes<0xDD>(r01, r23));
}

// Horizontal sums of 8 double vectors, the same tree.
template <std::size_t Live = 8>
[[gnu::always_inline]] inline __m512d sum_lanes(const __m512d (&v)[8]) noexcept {
  static_assert(Live >= 1 && Live <= 8);
  const __m512d zero = _mm512_setzero_pd();
  __m512d s[4];  // s[i], per 128-bit lane: partial sums of v[2i], v[2i + 1]
  for (std::size_t i = 0; i < 4; ++i)
    s[i] = 2 * i < Live
               ? _mm512_add_pd(unpacklo(v[2 * i], v[2 * i + 1]), unpackhi(v[2 * i], v[2 * i + 1]))
               : zero;
  const __m512d r01 =
      _mm512_add_pd(shuffle_lanes<0x88>(s[0], s[1]), shuffle_lanes<0xDD>(s[0], s[1]));
  const __m512d r23 =
      Live > 4 ? _mm512_add_pd(shuffle_lanes<0x88>(s[2], s[3]), shuffle_lanes<0xDD>(s[2], s[3]))
               : zero;
  return _mm512_add_pd(shuffle_lanes<0x88>(r01, r23), shuffle_lanes<0xDD>(r01, r23));
}

// The register type of T (a specialisation, not std::conditional: __m512 as a template argument
// loses its attributes).
template <class T>
struct Reg;
template <>
struct Reg<float> {
  using type = __m512;
};
template <>
struct Reg<double> {
  using type = __m512d;
};
template <class T>
inline constexpr std::size_t kLanes = 64 / sizeof(T);

// src[0:n] into the first lanes, zeros beyond (n = 0: no load); the first n lanes of v to
// dst[0:n]. Masked, so nothing outside those entries is touched.
template <class T>
[[gnu::always_inline]] inline typename Reg<T>::type load_first(const T* src,
                                                               std::size_t n) noexcept {
  return load(lane_mask(n, T()), src);
}
template <class T, class V>
[[gnu::always_inline]] inline void store_first(T* dst, V v, std::size_t n) noexcept {
  store(dst, lane_mask(n, T()), v);
}

}  // namespace avx512

// Whether the AVX-512 packing primitives serve T (xsimd chose AVX-512 and T is float or double).
template <class T>
inline constexpr bool kAvx512Pack = std::is_base_of_v<xsimd::avx512f, Arch> &&
                                    (std::is_same_v<T, float> || std::is_same_v<T, double>);
#else
template <class T>
inline constexpr bool kAvx512Pack = false;
#endif

#if defined(__AVX2__) && !defined(__AVX512F__)
// AVX2 packing primitives, with the same contract as avx512's (Reg, kLanes, load_first,
// store_first, transpose; transpose_tile and copy_pad below are built on either set). AVX2's
// masked stores are slow on Zen (microcoded), so stores of fewer than W lanes are split into
// 128-, 64- and 32-bit stores; masked loads (vmaskmov, which never faults on a masked-off lane)
// read only the edges of the source.
namespace avx2 {

template <class T>
struct Reg;
template <>
struct Reg<float> {
  using type = __m256;
};
template <>
struct Reg<double> {
  using type = __m256d;
};
template <class T>
inline constexpr std::size_t kLanes = 32 / sizeof(T);

// The first n lanes of x (n < kLanes) as a vmaskmov mask.
inline __m256i lane_mask(std::size_t n, float /*tag*/) noexcept {
  alignas(32) static constexpr std::int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                          0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(kTable + 8 - std::min<std::size_t>(n, 8)));
}
inline __m256i lane_mask(std::size_t n, double /*tag*/) noexcept {
  alignas(32) static constexpr std::int64_t kTable[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
  return _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(kTable + 4 - std::min<std::size_t>(n, 4)));
}

// src[0:n] into the first lanes, zeros beyond.
[[gnu::always_inline]] inline __m256 load_first(const float* src, std::size_t n) noexcept {
  if (n >= 8) return _mm256_loadu_ps(src);
  return n == 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(src, lane_mask(n, float()));
}
[[gnu::always_inline]] inline __m256d load_first(const double* src, std::size_t n) noexcept {
  if (n >= 4) return _mm256_loadu_pd(src);
  return n == 0 ? _mm256_setzero_pd() : _mm256_maskload_pd(src, lane_mask(n, double()));
}

// The first n lanes of v to dst[0:n].
[[gnu::always_inline]] inline void store_first(float* dst, __m256 v, std::size_t n) noexcept {
  if (n >= 8) {
    _mm256_storeu_ps(dst, v);
    return;
  }
  __m128 x = _mm256_castps256_ps128(v);
  if (n >= 4) {
    _mm_storeu_ps(dst, x);
    dst += 4;
    n -= 4;
    x = _mm256_extractf128_ps(v, 1);
  }
  if (n >= 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(dst), x);
    dst += 2;
    n -= 2;
    x = _mm_movehl_ps(x, x);
  }
  if (n == 1) _mm_store_ss(dst, x);
}
[[gnu::always_inline]] inline void store_first(double* dst, __m256d v, std::size_t n) noexcept {
  if (n >= 4) {
    _mm256_storeu_pd(dst, v);
    return;
  }
  __m128d x = _mm256_castpd256_pd128(v);
  if (n >= 2) {
    _mm_storeu_pd(dst, x);
    dst += 2;
    n -= 2;
    x = _mm256_extractf128_pd(v, 1);
  }
  if (n == 1) _mm_store_sd(dst, x);
}

// In-register transpose of an 8 × 8 float block: v[r] holds row r on entry, column r on exit.
[[gnu::always_inline]] inline void transpose(__m256 (&v)[8]) noexcept {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);  // per 128-bit lane: a0 b0 a1 b1
    t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
  }
  // u[4h + j]: rows 4h … 4h + 3 of columns j (low lane) and j + 4 (high lane).
  __m256 u[8];
  for (int h = 0; h < 8; h += 4) {
    u[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    v[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    v[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

// In-register transpose of a 4 × 4 double block.
[[gnu::always_inline]] inline void transpose(__m256d (&v)[4]) noexcept {
  const __m256d t0 = _mm256_unpacklo_pd(v[0], v[1]);  // a0 b0 | a2 b2
  const __m256d t1 = _mm256_unpackhi_pd(v[0], v[1]);  // a1 b1 | a3 b3
  const __m256d t2 = _mm256_unpacklo_pd(v[2], v[3]);
  const __m256d t3 = _mm256_unpackhi_pd(v[2], v[3]);
  v[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  v[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  v[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  v[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

}  // namespace avx2
#endif

// The vector packing primitives of this unit's ISA, where it has them (AVX-512 or AVX2, T float
// or double): pack_a and pack_b call them through `vpack`.
#if defined(__AVX512F__)
namespace vpack = avx512;
template <class T>
inline constexpr bool kVectorPack = kAvx512Pack<T>;
#elif defined(__AVX2__)
namespace vpack = avx2;
template <class T>
inline constexpr bool kVectorPack = std::is_base_of_v<xsimd::avx2, Arch> &&
                                    (std::is_same_v<T, float> || std::is_same_v<T, double>);
#else
template <class T>
inline constexpr bool kVectorPack = false;
#endif

#if defined(__AVX2__)
// The A pack walks each source row in steps of one line and requests the line kPrefetchLines
// ahead (the B pack prefetches one panel ahead instead, see pack_b).
inline constexpr std::size_t kPrefetchLines = 4;

// dst[p·ld_dst + q] = src[q·ld_src + p] for p < cols and q < lanes, reading rows q < rows only
// (rows ≤ q < lanes come out as zeros), through one in-register transpose of vpack's. Each row
// read also prefetches the line `ahead` bytes past its load address, with __builtin_prefetch's
// Locality (3: prefetcht0, into L1; 2: prefetcht1, into L2). Assumes rows, cols,
// lanes ≤ vpack::kLanes<T>.
template <int Locality, class T>
[[gnu::always_inline]] inline void transpose_tile(const T* src, std::size_t ld_src,
                                                  std::size_t rows, std::size_t cols, T* dst,
                                                  std::size_t ld_dst, std::size_t lanes,
                                                  std::size_t ahead) noexcept {
  constexpr std::size_t W = vpack::kLanes<T>;
  typename vpack::Reg<T>::type v[W];
  for (std::size_t q = 0; q < W; ++q) {
    // The prefetched line may lie past the end of the matrix: a prefetch never faults, and the
    // address is formed as an integer so no pointer leaves its array.
    if (q < rows)
      __builtin_prefetch(
          reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(src + q * ld_src) + ahead),
          0, Locality);
    // Rows past `rows` load nothing, from row 0's address: a fully masked AVX-512 load of a row
    // beyond still cost the forward pass at B = 32, H = 256 about a tenth (0.88 of OpenBLAS
    // against 1.0), presumably for its address translation.
    v[q] = q < rows ? vpack::load_first(src + q * ld_src, cols) : vpack::load_first(src, 0);
  }
  vpack::transpose(v);
  for (std::size_t p = 0; p < cols; ++p) vpack::store_first(dst + p * ld_dst, v[p], lanes);
}

// dst[0:total] = src[0:valid] followed by zeros. Assumes valid ≤ total.
template <class T>
inline void copy_pad(const T* src, std::size_t valid, T* dst, std::size_t total) noexcept {
  constexpr std::size_t W = vpack::kLanes<T>;
  for (std::size_t v = 0; v < total; v += W)
    vpack::store_first(dst + v, vpack::load_first(src + v, valid > v ? valid - v : 0), total - v);
}
#endif

// The packing loops read the source in blocks of a few rows (a few streams for the hardware
// prefetchers) and fill the destination panels block by block, each panel's part contiguous.
template <std::size_t MR, class T>
void pack_a(const GemmProblem<T>& g, std::size_t ic, std::size_t mc, std::size_t pc, std::size_t kc,
            T* ap) noexcept {
#if defined(__AVX2__)
  if constexpr (kVectorPack<T>) {
    constexpr std::size_t W = vpack::kLanes<T>;
    if (g.trans_a == Trans::N) {
      // op(A) rows are rows of a: W × W blocks transposed in registers; panel rows beyond mc
      // come out as zeros from the transpose.
      for (std::size_t ir = 0; ir < mc; ir += MR) {
        const std::size_t mr = std::min(MR, mc - ir);
        T* panel = ap + ir * kc;
        for (std::size_t p0 = 0; p0 < kc; p0 += W)
          for (std::size_t r0 = 0; r0 < MR; r0 += W)
            transpose_tile<3>(g.a.row(ic + ir + std::min(r0, mr - 1)) + pc + p0, g.a.ld(),
                              mr > r0 ? std::min(W, mr - r0) : 0, std::min(W, kc - p0),
                              panel + p0 * MR + r0, MR, std::min(W, MR - r0), kPrefetchLines * 64);
      }
    } else {
      // op(A) rows are columns of a: row pc + p of a holds mc consecutive entries. Blocks of
      // kPackBlock rows, panel by panel, so that each panel is written kPackBlock·MR entries at
      // a time instead of MR (mc / MR streams of one part-line each): dW1 = dHᵀ·X at batch 1024
      // 0.92-0.95 -> 0.95-1.01 of OpenBLAS (Zen 5, 1 thread, AVX-512 and forced AVX2, H = 256,
      // 1024, 4096; three alternations); 8 and 32 rows measured the same as 16.
      for (std::size_t p0 = 0; p0 < kc; p0 += kPackBlock) {
        const std::size_t p1 = std::min(kc, p0 + kPackBlock);
        for (std::size_t ir = 0; ir < mc; ir += MR)
          for (std::size_t p = p0; p < p1; ++p)
            copy_pad(g.a.row(pc + p) + ic + ir, std::min(MR, mc - ir), ap + ir * kc + p * MR, MR);
      }
    }
    return;
  }
#endif
  for (std::size_t ir = 0; ir < mc; ir += MR) {
    const std::size_t mr = std::min(MR, mc - ir);
    T* panel = ap + ir * kc;
    if (g.trans_a == Trans::N) {
      // op(A) rows are rows of a. Blocks of kPackBlock k-steps: each row is read one cache line
      // at a time and the kPackBlock destination lines stay in L1 across the MR rows.
      for (std::size_t p0 = 0; p0 < kc; p0 += kPackBlock) {
        const std::size_t pb = std::min(kPackBlock, kc - p0);
        for (std::size_t r = 0; r < mr; ++r) {
          const T* src = g.a.row(ic + ir + r) + pc + p0;
          T* dst = panel + p0 * MR + r;
          for (std::size_t p = 0; p < pb; ++p) dst[p * MR] = src[p];
        }
      }
    } else {
      // op(A) rows are columns of a: row pc + p of a holds MR consecutive entries.
      for (std::size_t p = 0; p < kc; ++p) {
        const T* src = g.a.row(pc + p) + ic + ir;
        for (std::size_t r = 0; r < mr; ++r) panel[p * MR + r] = src[r];
      }
    }
    if (mr < MR)
      for (std::size_t p = 0; p < kc; ++p)
        for (std::size_t r = mr; r < MR; ++r) panel[p * MR + r] = T(0);
  }
}

// Rows of op(B) per block of the row-major B pack (op(B) = B). One row at a time, each row's
// entries went to nc / NR panels kc·NR apart (often the same offset modulo 4 KiB, and so the same
// L1 sets for every panel); the copy stalled on its loads (perf: 81 % of the pack's samples on the
// store after the first load) and the pack took 7.5 % of dX at B = 128. Measured against
// OpenBLAS, dX = dH[128,H]·W1[H,784] on forced AVX2 (Zen 5, 1 thread, two alternations): 0.92-0.95
// -> 0.99-1.03 with 32 rows (16: 0.95-0.99, 8: the same as 16, 64: 0.92-1.00); squares and the
// other products level or slightly up on AVX-512 and AVX2.
inline constexpr std::size_t kPackBRows = 32;

template <std::size_t NR, class T>
void pack_b(const GemmProblem<T>& g, std::size_t pc, std::size_t kc, std::size_t jc, std::size_t nc,
            T* bp) noexcept {
#if defined(__AVX2__)
  if constexpr (kVectorPack<T> && NR % vpack::kLanes<T> == 0) {
    constexpr std::size_t W = vpack::kLanes<T>;
    if (g.trans_b == Trans::N) {
      // Row pc + p of b holds nc consecutive entries of op(B)'s row p: blocks of kPackBRows
      // rows, panel by panel.
      for (std::size_t p0 = 0; p0 < kc; p0 += kPackBRows) {
        const std::size_t pb = std::min(kPackBRows, kc - p0);
        for (std::size_t jr = 0; jr < nc; jr += NR) {
          const std::size_t nr = std::min(NR, nc - jr);
          T* dst = bp + jr * kc + p0 * NR;
          for (std::size_t p = 0; p < pb; ++p)
            copy_pad(g.b.row(pc + p0 + p) + jc + jr, nr, dst + p * NR, NR);
        }
      }
    } else {
      // op(B) columns are rows of b: the same in-register transposes as for A.
      // Each row's line is prefetched towards L2 one panel ahead (the same line of the row NR
      // rows below), so the rows of the next panel arrive while this one is transposed. A row's
      // segment in one K block is only a few lines, too short for the hardware stream
      // prefetchers. Measured on the forward pass X·W1ᵀ at H = 4096 (W1 12.8 MB, beyond L2),
      // Zen 4, 1 thread, against OpenBLAS: 0.81 → 1.11 (B = 32) and 0.88 → 1.00
      // (B = 128) on AVX-512, 1.01 → 1.24 and 1.04 → 1.10 on AVX2, the rest unchanged, where
      // each row was prefetched four lines ahead into L1 and a panel's first lines one panel
      // ahead. Two panels ahead measured the same as one.
      const std::size_t ahead = NR * g.b.ld() * sizeof(T);
      for (std::size_t jr = 0; jr < nc; jr += NR) {
        const std::size_t nr = std::min(NR, nc - jr);
        T* panel = bp + jr * kc;
        for (std::size_t p0 = 0; p0 < kc; p0 += W)
          for (std::size_t c0 = 0; c0 < NR; c0 += W)
            transpose_tile<2>(g.b.row(jc + jr + std::min(c0, nr - 1)) + pc + p0, g.b.ld(),
                              nr > c0 ? std::min(W, nr - c0) : 0, std::min(W, kc - p0),
                              panel + p0 * NR + c0, NR, W, ahead);
      }
    }
    return;
  }
#endif
  for (std::size_t jr = 0; jr < nc; jr += NR) {
    const std::size_t nr = std::min(NR, nc - jr);
    T* panel = bp + jr * kc;
    if (g.trans_b == Trans::N) {
      for (std::size_t p = 0; p < kc; ++p) {
        const T* src = g.b.row(pc + p) + jc + jr;
        T* dst = panel + p * NR;
        for (std::size_t cc = 0; cc < nr; ++cc) dst[cc] = src[cc];
        for (std::size_t cc = nr; cc < NR; ++cc) dst[cc] = T(0);
      }
    } else {
      // op(B) columns are rows of b: the same blocked transpose as for A.
      for (std::size_t p0 = 0; p0 < kc; p0 += kPackBlock) {
        const std::size_t pb = std::min(kPackBlock, kc - p0);
        for (std::size_t cc = 0; cc < nr; ++cc) {
          const T* src = g.b.row(jc + jr + cc) + pc + p0;
          T* dst = panel + p0 * NR + cc;
          for (std::size_t p = 0; p < pb; ++p) dst[p * NR] = src[p];
        }
      }
      if (nr < NR)
        for (std::size_t p = 0; p < kc; ++p)
          for (std::size_t cc = nr; cc < NR; ++cc) panel[p * NR + cc] = T(0);
    }
  }
}

/// Elements of the A and B packing buffers for a region of at most rows × cols of C.
template <class Kernel>
std::size_t a_buffer_size(std::size_t rows) noexcept {
  return std::min(Kernel::mc(), round_up(rows, Kernel::MR)) * Kernel::KC;
}
template <class Kernel>
std::size_t b_panel_size(std::size_t cols) noexcept {
  return std::min(Kernel::nc(), round_up(cols, Kernel::NR)) * Kernel::KC;
}
/// The B buffer is followed by the update epilogue's stage: one MR-row panel of the gradient, as
/// wide as the region (see gemm_region).
template <class Kernel>
std::size_t b_buffer_size(std::size_t cols) noexcept {
  return b_panel_size<Kernel>(cols) + Kernel::MR * round_up(cols, Kernel::NR);
}

/// The K block actually used: K split into ceil(K / KC) nearly equal blocks (a multiple of 8,
/// at most KC), so that no block is a short remainder. Depends on K only, never on the threads.
template <class Kernel>
constexpr std::size_t balanced_kc(std::size_t k) noexcept {
  if (k <= Kernel::KC) return std::max<std::size_t>(k, 1);
  return std::min(Kernel::KC, round_up(ceil_div(k, ceil_div(k, Kernel::KC)), 8));
}

/// Rows per MC block: rows split into ceil(rows / MC) nearly equal blocks, each a multiple of MR
/// and at most MC.
template <class Kernel>
std::size_t balanced_mc(std::size_t rows) noexcept {
  const std::size_t mc = Kernel::mc();
  if (rows <= mc) return std::max<std::size_t>(rows, 1);
  return std::min(mc, round_up(ceil_div(rows, ceil_div(rows, mc)), Kernel::MR));
}

/// Rows [i, i + rows) × columns [j, j + cols) of the update's parameters and state towards L2: the
/// next row of tiles' share of what its update will read, fetched while this row's tiles
/// compute, so the update's loads overlap with the GEMM instead of waiting in bursts.
template <class T>
void prefetch_update_rows(const GemmProblem<T>& g, std::size_t i, std::size_t j, std::size_t cols,
                          std::size_t rows) noexcept {
  const ParamUpdate<T>& u = *g.update;
  const std::size_t states = state_buffers(u.rule.kind);
  const std::size_t rows_left = std::min(rows, g.m - std::min(i, g.m));
  for (std::size_t r = 0; r < rows_left; ++r) {
    const std::size_t o = (i + r) * g.update_ld + j;
    for (std::size_t c = 0; c < cols; c += 64 / sizeof(T)) {
      __builtin_prefetch(u.params + o + c, 1, 2);
      if (states >= 1) __builtin_prefetch(u.state0 + o + c, 1, 2);
      if (states >= 2) __builtin_prefetch(u.state1 + o + c, 1, 2);
    }
  }
}

/// The micro-kernel over C[ic:ic + mc, jc:jc + nc] for the K block [pc, pc + kc): ap holds the
/// packed mc × kc block of op(A) (MR-row panels kc·MR apart), bp the packed kc × nc block of op(B)
/// (NR-column panels kc·NR apart). Row of tiles after row of tiles, so that an A micro-panel
/// stays in L1 while the B micro-panels stream past it. Whether C is scaled by beta (first K
/// block) and the epilogue applied (last) follow from pc and kc, so every caller computes every
/// element of C identically.
///
/// The update epilogue (g.update) on the last K block: the tiles of one row of tiles write their
/// gradient to `stage` (MR × round_up(nc, NR), from the B buffer; to C in place when earlier K
/// blocks left partial sums there), and once the row is done its Σ g² per tile and the update
/// are taken over its MR rows of nc entries while they are in L1. Row by row, the parameters and
/// the state stream as a few long runs, which the hardware prefetchers follow; updating each
/// register tile as it is finished (14 rows × 3 buffers interleaved, 128 bytes each) left fused
/// Adam at B = 32 at 0.6 of the unfused step, half of its time waiting for the parameters, with
/// software prefetches of the next tile's rows or without (784-1024-10, 1 thread, AVX-512).
template <class Kernel, class T>
void block_tiles(const GemmProblem<T>& g, std::size_t ic, std::size_t mc, std::size_t jc,
                 std::size_t nc, std::size_t pc, std::size_t kc, const T* ap, const T* bp,
                 T* stage) noexcept {
  constexpr std::size_t MR = Kernel::MR, NR = Kernel::NR;
  const bool first = pc == 0;
  const bool last = pc + kc >= g.k;
  const bool update = g.update != nullptr && last;
  const bool staged = update && first;  // else the gradient lands in C
  const std::size_t stage_ld = round_up(nc, NR);
  for (std::size_t ir = 0; ir < mc; ir += MR) {
    const std::size_t mr = std::min(MR, mc - ir);
    for (std::size_t jr = 0; jr < nc; jr += NR) {
      const std::size_t i = ic + ir, j = jc + jr;
      TileArgs<T> t;
      t.c = staged ? stage + jr : g.c.data() + i * g.c.ld() + j;
      t.ldc = staged ? stage_ld : g.c.ld();
      t.m = mr;
      t.n = std::min(NR, nc - jr);
      t.alpha = g.alpha;
      t.beta = first ? g.beta : T(1);
      t.read_c = !first || g.beta != T(0);
      t.last = last;
      t.bias = g.bias != nullptr ? g.bias + j : nullptr;
      t.act = g.act;
      t.d = g.d != nullptr ? g.d + i * g.ldd + j : nullptr;
      t.ldd = g.ldd;
      // The next call's tile: the next NR columns, or the start of the next row of tiles (none
      // in the stage, which is in L1).
      if (staged)
        t.next_c = nullptr;
      else if (jr + NR < nc)
        t.next_c = t.c + NR;
      else if (ir + MR < mc)
        t.next_c = g.c.data() + (i + MR) * g.c.ld() + jc;
      else
        t.next_c = nullptr;
      if (update && ir + MR < mc) prefetch_update_rows(g, i + MR, j, std::min(NR, nc - jr), MR);
      Kernel::run(kc, ap + ir * kc, bp + jr * kc, t);
    }
    if (update) {
      const std::size_t i = ic + ir;
      const T* grad = staged ? stage : g.c.data() + i * g.c.ld() + jc;
      const std::size_t ld = staged ? stage_ld : g.c.ld();
      if (g.sq_partials != nullptr)
        for (std::size_t jr = 0; jr < nc; jr += NR)
          g.sq_partials[(i / MR) * g.sq_cols + (jc + jr) / NR] =
              tile_squared_norm<NR>(grad + jr, ld, mr, std::min(NR, nc - jr));
      update_tile(*g.update, i * g.update_ld + jc, g.update_ld, grad, ld, mr, nc);
    }
  }
}

/// C[i0:i1, j0:j1] for the whole K range: the five loops around the micro-kernel, in the order
/// MC block of op(A) (L3), K block, NC block of op(B) (L2), MR rows, NR columns. (Packing the A
/// micro-panels one at a time, right before their rows of tiles, measured the same for op(A) = A
/// and 5 % slower for op(A) = Aᵀ, whose panels then read MR entries from each of kc rows.)
/// Assumes: ap holds a_buffer_size(i1 − i0) and bp b_buffer_size(j1 − j0) elements, 64-byte
/// aligned. The sequence of operations on any element of C depends only on KC, not on the region,
/// so every partition of C into regions gives bitwise the same result.
template <class Kernel, class T>
void gemm_region(const GemmProblem<T>& g, std::size_t i0, std::size_t i1, std::size_t j0,
                 std::size_t j1, T* ap, T* bp) noexcept {
  constexpr std::size_t NR = Kernel::NR;
  const std::size_t mc_step = balanced_mc<Kernel>(i1 - i0);
  // K = 0 still makes one pass (kc = 0) so that C = beta·C and the epilogue are applied.
  const std::size_t kc_step = balanced_kc<Kernel>(g.k);
  // With the update epilogue, blocks of op(B) as wide as the buffer holds at this kc (all of N
  // for the batches of 32 and 128 of an MLP's weight gradient), so that when the region spans
  // all of C's columns a row of tiles' MR rows of parameters and state are one contiguous run,
  // streamed like the unfused update's. (Columns are blocked without changing any element's
  // arithmetic.)
  const std::size_t nc_block = Kernel::nc();
  const std::size_t nc_step = g.update != nullptr
                                  ? std::max(nc_block, nc_block * Kernel::KC / kc_step / NR * NR)
                                  : nc_block;
  for (std::size_t ic = i0; ic < i1; ic += mc_step) {
    const std::size_t mc = std::min(mc_step, i1 - ic);
    for (std::size_t pc = 0; pc == 0 || pc < g.k; pc += kc_step) {
      const std::size_t kc = std::min(kc_step, g.k - pc);
      pack_a<Kernel::MR>(g, ic, mc, pc, kc, ap);
      for (std::size_t jc = j0; jc < j1; jc += nc_step) {
        const std::size_t nc = std::min(nc_step, j1 - jc);
        pack_b<NR>(g, pc, kc, jc, nc, bp);
        block_tiles<Kernel>(g, ic, mc, jc, nc, pc, kc, ap, bp, bp + b_panel_size<Kernel>(j1 - j0));
      }
    }
  }
}

/// The packed BLIS-style path: Kernel's blocking, packing buffers per region.
template <class Kernel_>
struct PackedDriver {
  using Kernel = Kernel_;
  static constexpr std::size_t MR = Kernel::MR, NR = Kernel::NR;
  static std::size_t a_size(std::size_t rows) noexcept { return a_buffer_size<Kernel>(rows); }
  static std::size_t b_size(std::size_t cols) noexcept { return b_buffer_size<Kernel>(cols); }
  template <class T>
  static void region(const GemmProblem<T>& g, std::size_t i0, std::size_t i1, std::size_t j0,
                     std::size_t j1, T* ap, T* bp) noexcept {
    gemm_region<Kernel>(g, i0, i1, j0, j1, ap, bp);
  }
};

// ---------------------------------------------------------------------------------------------
// Dot-product path for C = A·Bᵀ with A and B both row-major along K (trans_a = N, trans_b = T)
// and one side tiny (the 10-class output layer A[B,H]·W2[10,H]ᵀ). Both operands are read in
// place, with no packing: the packed kernel's 32-column (8-row) tiles would be mostly waste. An
// MR × NR tile of C is MR·NR vector accumulators along K, reduced at the end (see finish).
// Assumes: trans_a = N, trans_b = T; rows of A and B contiguous along K (any ld, any alignment).
template <class T, std::size_t MR_ = (sizeof(Batch<T>) >= 64 ? 6 : 3), std::size_t NR_ = 4>
struct DotDriver {
  using B = Batch<T>;
  static constexpr std::size_t W = B::size;
  // 6 × 4 = 24 accumulators + 4 B vectors + 1 A vector ≤ 32 registers (AVX-512); per vector step
  // 10 loads for 24 FMAs. 16-register ISAs: 3 × 4. A second shape (NarrowDotDriver, 4 × 5) fits
  // the 10-class output layer exactly.
  static constexpr std::size_t MR = MR_;
  static constexpr std::size_t NR = NR_;
  // Columns of C (rows of B) per block: the block of B rows, NC·K·sizeof(T), should stay in L2
  // (sized for K ≈ 1000 floats: 256 rows = 1 MiB); the MR rows of A stay in L1 while it streams.
  static constexpr std::size_t NC = 256;
  static constexpr std::size_t a_size(std::size_t /*rows*/) noexcept { return 0; }
  static constexpr std::size_t b_size(std::size_t /*cols*/) noexcept { return 0; }

  static void region(const GemmProblem<T>& g, std::size_t i0, std::size_t i1, std::size_t j0,
                     std::size_t j1, T* /*ap*/, T* /*bp*/) noexcept {
    for (std::size_t jb = j0; jb < j1; jb += NC) {
      const std::size_t jb_end = std::min(jb + NC, j1);
      for (std::size_t i = i0; i < i1; i += MR) {
        for (std::size_t j = jb; j < jb_end; j += NR) {
          // Edge tiles repeat the last valid row; the duplicates are computed and dropped, so
          // every element of C goes through the same arithmetic.
          const std::size_t m = std::min(MR, i1 - i), n = std::min(NR, jb_end - j);
          const T* ar[MR];
          const T* br[NR];
          for (std::size_t r = 0; r < MR; ++r) ar[r] = g.a.row(i + std::min(r, m - 1));
          for (std::size_t c = 0; c < NR; ++c) br[c] = g.b.row(j + std::min(c, n - 1));
          B acc[MR][NR];
          dot_tile(ar, br, g.k, acc);
          TileArgs<T> t;
          t.c = g.c.data() + i * g.c.ld() + j;
          t.ldc = g.c.ld();
          t.m = m;
          t.n = n;
          t.alpha = g.alpha;
          t.beta = g.beta;
          t.read_c = g.beta != T(0);
          t.last = true;
          t.bias = g.bias != nullptr ? g.bias + j : nullptr;
          t.act = g.act;
          t.d = g.d != nullptr ? g.d + i * g.ldd + j : nullptr;
          t.ldd = g.ldd;
          t.next_c = nullptr;
          finish(acc, t);
        }
      }
    }
  }

 private:
  // acc[r][c] = the lane-wise partial dot products of rows ar[r] and br[c], both of length k.
  static void dot_tile(const T* const (&ar)[MR], const T* const (&br)[NR], std::size_t k,
                       B (&acc)[MR][NR]) noexcept {
    // Every loop over the tile is unrolled completely (unroll 8 ≥ MR, NR), so acc is indexed by
    // constants only and stays in registers. With the 5-column loops unrolled by 4, GCC turned
    // this zeroing into a memset and kept acc on the stack (stored after the main loop, reloaded
    // by finish): about a fifth of the output layer's time at H = 256 on AVX2.
    static_assert(MR <= 8 && NR <= 8);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (std::size_t c = 0; c < NR; ++c) acc[r][c] = B(T(0));
    std::size_t p = 0;
    for (; p + W <= k; p += W) step(ar, br, p, acc);
    if (p == k) return;
#if defined(__AVX512F__)
    if constexpr (kAvx512Pack<T> && W == avx512::kLanes<T>) {
      // The K tail: masked loads of the last k − p entries of every row, zeros beyond.
      const auto mask = avx512::lane_mask(k - p, T());
      B bv[NR];
#pragma GCC unroll 8
      for (std::size_t c = 0; c < NR; ++c) bv[c] = B(avx512::load(mask, br[c] + p));
#pragma GCC unroll 8
      for (std::size_t r = 0; r < MR; ++r) {
        const B av(avx512::load(mask, ar[r] + p));
#pragma GCC unroll 8
        for (std::size_t c = 0; c < NR; ++c) acc[r][c] = fmadd(av, bv[c], acc[r][c]);
      }
      return;
    }
#endif
    // The K tail: zero-padded copies of the last k − p entries of every row.
    alignas(64) T tail_a[MR][W] = {};
    alignas(64) T tail_b[NR][W] = {};
    const T* ta[MR];
    const T* tb[NR];
    for (std::size_t r = 0; r < MR; ++r) {
      std::copy(ar[r] + p, ar[r] + k, tail_a[r]);
      ta[r] = tail_a[r];
    }
    for (std::size_t c = 0; c < NR; ++c) {
      std::copy(br[c] + p, br[c] + k, tail_b[c]);
      tb[c] = tail_b[c];
    }
    step(ta, tb, 0, acc);
  }

  // C = alpha·sums (+ beta·C), + bias, activation, derivative, where sums[r][c] is the sum of
  // the lanes of acc[r][c]: the tile's t.m × t.n corner.
  static void finish(const B (&acc)[MR][NR], const TileArgs<T>& t) noexcept {
#if defined(__AVX512F__)
    if constexpr (kAvx512Pack<T> && W == avx512::kLanes<T>) {
      // Groups of W accumulators, in row-major (r, c) order, summed by one lane tree each (the
      // last group padded with zero vectors), then written back from the registers, one masked
      // vector per row of the tile. The groups and rows are unrolled by index sequences, not by
      // `#pragma GCC unroll`: GCC 12 at -O1 and -O2 miscompiled the unrolled loops of the
      // pragma form (wrong sums for the first group; -O0, -O3 and clang 14 were right), which
      // the tsan preset's kernels tests caught.
      typename avx512::Reg<T>::type sums[kGroups];
      sum_groups(acc, sums, std::make_index_sequence<kGroups>());
      write_rows(sums, t, std::make_index_sequence<MR>());
      return;
    }
#endif
    T sums[MR * NR];
    for (std::size_t r = 0; r < MR; ++r)
      for (std::size_t c = 0; c < NR; ++c) sums[r * NR + c] = xsimd::hadd(acc[r][c]);
    scalar_write_back(sums, NR, t);
  }

#if defined(__AVX512F__)
  using Reg = typename avx512::Reg<T>::type;
  // Groups of W lanes holding the row-major MR × NR tile of sums.
  static constexpr std::size_t kGroups = (MR * NR + W - 1) / W;

  // Accumulator I of the row-major order, or a zero vector past the last one.
  template <std::size_t I>
  static Reg acc_or_zero(const B (&acc)[MR][NR]) noexcept {
    if constexpr (I < MR * NR)
      return acc[I / NR][I % NR];
    else
      return B(T(0));
  }
  template <std::size_t G0, std::size_t... I>
  static Reg sum_group(const B (&acc)[MR][NR], std::index_sequence<I...>) noexcept {
    const Reg v[W] = {acc_or_zero<G0 + I>(acc)...};
    return avx512::sum_lanes<std::min(W, MR * NR - G0)>(v);
  }
  template <std::size_t... G>
  static void sum_groups(const B (&acc)[MR][NR], Reg (&sums)[kGroups],
                         std::index_sequence<G...>) noexcept {
    ((sums[G] = sum_group<G * W>(acc, std::make_index_sequence<W>())), ...);
  }

  // Row R of the tile of sums in lanes 0 … NR − 1: one lane rotation across two groups. Storing
  // the groups and reloading the rows (masked loads at offsets the stores do not match, which
  // cannot be forwarded) cost 4-9 % of the output layer C[32,10] at K = 256 (side runs, best of
  // 21 and 31 interleaved repetitions).
  template <std::size_t R>
  static Reg row_of(const Reg (&sums)[kGroups]) noexcept {
    constexpr std::size_t start = R * NR, g = start / W, shift = start % W;
    if constexpr (shift == 0)
      return sums[g];
    else
      return avx512::align_lanes<shift>(sums[std::min(g + 1, kGroups - 1)], sums[g]);
  }

  // The arithmetic of SimdKernel::write_back (and so the elementwise ops' activations), one
  // masked vector per row. Written out again rather than shared: one helper for both
  // write-backs (built once per tile, loads and stores passed in) left the packed kernel's code
  // as it was but made this path about 3 % slower on C[32,10] and C[128,10] at K = 256 (31
  // interleaved repetitions, both link orders).
  template <std::size_t... R>
  static void write_rows(const Reg (&sums)[kGroups], const TileArgs<T>& t,
                         std::index_sequence<R...>) noexcept {
    static_assert(NR <= W);
    const auto mask = avx512::lane_mask(t.n, T());
    const B alpha(t.alpha);
    const B beta(t.beta);
    const bool epilogue =
        t.last && (t.bias != nullptr || t.d != nullptr || t.act != Activation::Identity);
    const B bias = t.last && t.bias != nullptr ? B(avx512::load(mask, t.bias)) : B(T(0));
    const auto row = [&](std::size_t r, B sum) {
      // Lanes n and beyond hold other rows' sums; they are computed on and never stored.
      T* crow = t.c + r * t.ldc;
      B dz;
      const bool want_d = epilogue && t.d != nullptr;
      const B z = finish_vector(
          sum, alpha, beta, t.read_c, [&] { return B(avx512::load(mask, crow)); }, epilogue,
          t.bias != nullptr ? &bias : nullptr, t.act, want_d ? &dz : nullptr);
      if (want_d) avx512::store(t.d + r * t.ldd, mask, dz);
      avx512::store(crow, mask, z);
    };
    ((R < t.m ? row(R, B(row_of<R>(sums))) : void()), ...);
  }
#endif

  static void step(const T* const (&ar)[MR], const T* const (&br)[NR], std::size_t p,
                   B (&acc)[MR][NR]) noexcept {
    B bv[NR];
#pragma GCC unroll 8
    for (std::size_t c = 0; c < NR; ++c) bv[c] = B::load_unaligned(br[c] + p);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) {
      const B av = B::load_unaligned(ar[r] + p);
#pragma GCC unroll 8
      for (std::size_t c = 0; c < NR; ++c) acc[r][c] = fmadd(av, bv[c], acc[r][c]);
    }
  }
};

/// 4 × 5 on AVX-512 (2 × 5 on 16-register ISAs): 20 accumulators, 9 loads for 20 FMAs per vector
/// step; no wasted column for N = 10 (the 6 × 4 shape computes 12).
template <class T>
using NarrowDotDriver = DotDriver<T, (sizeof(Batch<T>) >= 64 ? 4 : 2), 5>;

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
