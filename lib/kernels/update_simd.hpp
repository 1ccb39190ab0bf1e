#pragma once
// Private to the per-ISA translation units (kernels_<isa>.cpp), in their namespace (see simd.hpp):
// the elementwise optimizer updates of catapult/kernels/update.hpp. One definition of each rule,
// used by apply_update (flat ranges) and by the GEMM's update epilogue (rows of a finished tile),
// so both give the same bits for the same gradient.

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "catapult/kernels/update.hpp"
#include "kernels/simd.hpp"

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

// a·b + c: one rounding for batches where the ISA has FMA (see fmadd); scalars (no SIMD) as
// written.
template <class V>
inline V mul_add(const V& a, const V& b, const V& c) noexcept {
  if constexpr (std::is_floating_point_v<V>)
    return a * b + c;
  else
    return fmadd(a, b, c);
}

// x, or 0 when x is subnormal. Optimizer state that decays geometrically (Adam's moments, SGD's
// momentum buffer) under a zero gradient walks down through the subnormal range for ~150 steps
// before it reaches 0, and x86 cores take a microcode assist on every subnormal operand: on MNIST,
// where border pixels are rarely lit, 8 % of Adam's first moments are subnormal after 800 steps
// and the optimizer step gets ~18x slower on them. Flushing such state to zero is invisible in the
// parameters: an update built from a subnormal moment is below 2^-126·η/ε in magnitude (Adam) or
// 2^-126·η (momentum), less than half an ulp of any parameter larger than ~1e-25 in magnitude.
template <class V, class T>
inline V flush_subnormal(const V& x) noexcept {
  if constexpr (std::is_floating_point_v<V>)
    return std::abs(x) < std::numeric_limits<T>::min() ? V(0) : x;
  else
    return xsimd::select(xsimd::abs(x) < V(std::numeric_limits<T>::min()), V(T(0)), x);
}

template <class V>
inline V square_root(const V& x) noexcept {
  if constexpr (std::is_floating_point_v<V>)
    return std::sqrt(x);
  else
    return xsimd::sqrt(x);
}

// One entry (or one batch of entries) of rule K: p, s0, s1 updated in place from g.
template <UpdateKind K, class T, class V>
inline void update_one(const UpdateRule<T>& r, const V& g, V& p, V& s0, V& s1) noexcept {
  if constexpr (K == UpdateKind::Adam) {
    const V pp = p * V(r.shrink);
    const V gp = r.weight_decay != T(0) ? mul_add(V(r.weight_decay), pp, g) : g;
    s0 = flush_subnormal<V, T>(mul_add(V(r.beta1), s0, V(r.c1) * gp));
    s1 = flush_subnormal<V, T>(mul_add(V(r.beta2), s1, (V(r.c2) * gp) * gp));
    p = pp - (V(r.eta) * s0) / (square_root(s1) / V(r.sqrt_bc2) + V(r.eps));
  } else {
    const V gp = r.weight_decay != T(0) ? mul_add(V(r.weight_decay), p, g) : g;
    if constexpr (K == UpdateKind::Sgd) {
      p = mul_add(V(-r.eta), gp, p);
    } else if constexpr (K == UpdateKind::SgdMomentum) {
      const V b = r.first ? gp : flush_subnormal<V, T>(mul_add(V(r.mu), s0, V(r.keep) * gp));
      s0 = b;
      p = mul_add(V(-r.eta), r.nesterov ? mul_add(V(r.mu), b, gp) : b, p);
    } else {
      s0 = mul_add(gp, gp, s0);
      p = p - (V(r.eta) * gp) / (square_root(s0) + V(r.eps));
    }
    (void)s1;
  }
}

// Records in *nonfinite (when non-null) that an updated parameter is not finite: ParamUpdate's
// flag, shared by the threads that update disjoint ranges, so written atomically.
inline void flag_nonfinite(bool* nonfinite) noexcept {
  if (nonfinite != nullptr)
    std::atomic_ref<bool>(*nonfinite).store(true, std::memory_order_relaxed);
}

// Entries [0, n) of rule K. The tail (n mod W entries) is staged through padded register-sized
// buffers so it goes through the very same vector code: an entry's result does not depend on
// where it falls in a range. Sets *nonfinite (see ParamUpdate) when an updated parameter is not
// finite. Assumes: s0 (s1) non-null when K uses it.
template <UpdateKind K, class T>
void update_range(const UpdateRule<T>& r, const T* g, T* p, T* s0, T* s1, std::size_t n,
                  bool* nonfinite) noexcept {
  constexpr std::size_t S = state_buffers(K);
  if constexpr (kHaveSimd) {
    using B = Batch<T>;
    constexpr std::size_t W = B::size;
    const B zero(T(0));
    // Σ θ·0 over the updated parameters: ±0 while all are finite, NaN from the first infinite or
    // NaN one on; one multiply-add per vector instead of a second pass over the parameters. Two
    // sums (even and odd vectors), so that the loop-carried chain of multiply-adds does not
    // bound a loop that runs from L2.
    B seen[2] = {zero, zero};
    const auto one = [&](std::size_t at, B& sum) {
      B pv = B::load_unaligned(p + at);
      B a = zero, b = zero;
      if constexpr (S >= 1) a = B::load_unaligned(s0 + at);
      if constexpr (S >= 2) b = B::load_unaligned(s1 + at);
      update_one<K>(r, B::load_unaligned(g + at), pv, a, b);
      pv.store_unaligned(p + at);
      sum = mul_add(pv, zero, sum);
      if constexpr (S >= 1) a.store_unaligned(s0 + at);
      if constexpr (S >= 2) b.store_unaligned(s1 + at);
    };
    std::size_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      one(i, seen[0]);
      one(i + W, seen[1]);
    }
    if (i + W <= n) {
      one(i, seen[0]);
      i += W;
    }
    if (xsimd::any(xsimd::isnan(seen[0] + seen[1]))) flag_nonfinite(nonfinite);
    if (i < n) {
      const auto tail = static_cast<std::ptrdiff_t>(n - i);
      alignas(64) std::array<T, W> bg{}, bp{}, ba{}, bb{};
      std::copy(g + i, g + n, bg.begin());
      std::copy(p + i, p + n, bp.begin());
      if constexpr (S >= 1) std::copy(s0 + i, s0 + n, ba.begin());
      if constexpr (S >= 2) std::copy(s1 + i, s1 + n, bb.begin());
      B pv = B::load_aligned(bp.data()), a = B::load_aligned(ba.data()),
        b = B::load_aligned(bb.data());
      update_one<K>(r, B::load_aligned(bg.data()), pv, a, b);
      pv.store_aligned(bp.data());
      a.store_aligned(ba.data());
      b.store_aligned(bb.data());
      std::copy(bp.begin(), bp.begin() + tail, p + i);
      if constexpr (S >= 1) std::copy(ba.begin(), ba.begin() + tail, s0 + i);
      if constexpr (S >= 2) std::copy(bb.begin(), bb.begin() + tail, s1 + i);
      // Only the real entries: the padding's zeros can give 0/0 where eps = 0.
      if (!std::all_of(bp.begin(), bp.begin() + tail, [](T x) { return std::isfinite(x); }))
        flag_nonfinite(nonfinite);
    }
  } else {
    bool finite = true;
    for (std::size_t i = 0; i < n; ++i) {
      T a = S >= 1 ? s0[i] : T(0), b = S >= 2 ? s1[i] : T(0);
      update_one<K>(r, g[i], p[i], a, b);
      finite = finite && std::isfinite(p[i]);
      if constexpr (S >= 1) s0[i] = a;
      if constexpr (S >= 2) s1[i] = b;
    }
    if (!finite) flag_nonfinite(nonfinite);
  }
}

// Rows [0, m) × columns [0, n) of a gradient tile g (row stride ldg) applied to the entries of
// u at row stride ld, starting at (row, col) offset `at` = i·ld + j of the tile's top-left.
template <UpdateKind K, class T>
void update_rows(const ParamUpdate<T>& u, std::size_t at, std::size_t ld, const T* g,
                 std::size_t ldg, std::size_t m, std::size_t n) noexcept {
  constexpr std::size_t S = state_buffers(K);
  for (std::size_t r = 0; r < m; ++r) {
    const std::size_t o = at + r * ld;
    update_range<K>(u.rule, g + r * ldg, u.params + o, S >= 1 ? u.state0 + o : nullptr,
                    S >= 2 ? u.state1 + o : nullptr, n, u.nonfinite);
  }
}

// The rule's kind, decided once per call (never per entry).
template <class T>
void update_tile(const ParamUpdate<T>& u, std::size_t at, std::size_t ld, const T* g,
                 std::size_t ldg, std::size_t m, std::size_t n) noexcept {
  switch (u.rule.kind) {
    case UpdateKind::Sgd:
      update_rows<UpdateKind::Sgd>(u, at, ld, g, ldg, m, n);
      return;
    case UpdateKind::SgdMomentum:
      update_rows<UpdateKind::SgdMomentum>(u, at, ld, g, ldg, m, n);
      return;
    case UpdateKind::AdaGrad:
      update_rows<UpdateKind::AdaGrad>(u, at, ld, g, ldg, m, n);
      return;
    case UpdateKind::Adam:
      update_rows<UpdateKind::Adam>(u, at, ld, g, ldg, m, n);
      return;
  }
}

/// kernels::apply_update on the active ISA.
template <class T>
void apply_update(const ParamUpdate<T>& u, const T* grads, std::size_t n) noexcept {
  update_tile(u, 0, n, grads, n, n == 0 ? 0 : 1, n);
}

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
