#pragma once
// Private to the per-ISA translation units (kernels_<isa>.cpp): the elementwise operations and
// reductions of catapult/kernels/elementwise.hpp (same contracts), in the unit's namespace
// CATAPULT_KERNELS_ISA_NS (see simd.hpp).

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "catapult/core/matrix.hpp"
#include "catapult/core/threading.hpp"
#include "core/parallel.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/simd.hpp"

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

using catapult::detail::kGrain;
using catapult::detail::kParallelMin;

// body(begin, end) over [0, n): in blocks of kGrain on several threads when n is large (the
// split of core/parallel.hpp's for_chunks, through dispatch.hpp's parallel_ranges).
template <class Body>
void for_chunks(std::size_t n, const Body& body) noexcept {
  if (n < kParallelMin || max_threads() <= 1) {
    body(std::size_t{0}, n);
    return;
  }
  detail::parallel_ranges(n, kGrain, false, body);
}

// y[i] = f(x[i]) for i in [0, n) with f a function of one batch. The tail (n mod W elements) is
// staged through a padded register-sized buffer so it goes through the very same f.
// Assumes: x and y are either the same array or do not overlap; any alignment.
template <class T, class F>
void map1(const T* x, T* y, std::size_t n, const F& f) noexcept {
  if constexpr (kHaveSimd) {
    using B = Batch<T>;
    constexpr std::size_t W = B::size;
    std::size_t i = 0;
    for (; i + W <= n; i += W) f(B::load_unaligned(x + i)).store_unaligned(y + i);
    if (i < n) {
      alignas(64) std::array<T, W> buf{};
      std::copy(x + i, x + n, buf.begin());
      f(B::load_aligned(buf.data())).store_aligned(buf.data());
      std::copy(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n - i), y + i);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) y[i] = f(x[i]);
  }
}

// out[i] = f(a[i], b[i]); same staging as map1.
template <class T, class F>
void map2(const T* a, const T* b, T* out, std::size_t n, const F& f) noexcept {
  if constexpr (kHaveSimd) {
    using B = Batch<T>;
    constexpr std::size_t W = B::size;
    std::size_t i = 0;
    for (; i + W <= n; i += W)
      f(B::load_unaligned(a + i), B::load_unaligned(b + i)).store_unaligned(out + i);
    if (i < n) {
      alignas(64) std::array<T, W> ba{}, bb{};
      std::copy(a + i, a + n, ba.begin());
      std::copy(b + i, b + n, bb.begin());
      f(B::load_aligned(ba.data()), B::load_aligned(bb.data())).store_aligned(ba.data());
      std::copy(ba.begin(), ba.begin() + static_cast<std::ptrdiff_t>(n - i), out + i);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  }
}

// Σ f(x[i]) (or Σ f(x[i], y[i])) in double over [0, n) with four vector accumulators, summed in a
// fixed order: the result depends only on n, never on threads.
template <class T, class F>
double reduce_block(const T* x, const T* y, std::size_t n, const F& f) noexcept {
  if constexpr (kHaveSimd) {
    using D = Batch<double>;
    constexpr std::size_t W = D::size;
    D acc[4] = {D(0.0), D(0.0), D(0.0), D(0.0)};
    std::size_t i = 0;
    // batch<double>::load_unaligned(const float*) converts on load (xsimd 8.1).
    for (; i + 4 * W <= n; i += 4 * W)
      for (std::size_t u = 0; u < 4; ++u)
        acc[u] = f(acc[u], D::load_unaligned(x + i + u * W),
                   y != nullptr ? D::load_unaligned(y + i + u * W) : D(0.0));
    for (; i + W <= n; i += W)
      acc[0] =
          f(acc[0], D::load_unaligned(x + i), y != nullptr ? D::load_unaligned(y + i) : D(0.0));
    alignas(64) std::array<double, W> lanes{};
    ((acc[0] + acc[1]) + (acc[2] + acc[3])).store_aligned(lanes.data());
    double s = 0;
    for (const double v : lanes) s += v;
    for (; i < n; ++i) {
      const double xi = static_cast<double>(x[i]);
      const double yi = y != nullptr ? static_cast<double>(y[i]) : 0.0;
      s = f(s, xi, yi);
    }
    return s;
  } else {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i)
      s = f(s, static_cast<double>(x[i]), y != nullptr ? static_cast<double>(y[i]) : 0.0);
    return s;
  }
}

// Splits [0, n) into blocks of kGrain (independent of the thread count), reduces the blocks in
// parallel into a fixed-size stack array, and adds the partial sums in block order.
template <class T, class F>
double reduce(const T* x, const T* y, std::size_t n, const F& f) noexcept {
  if (n < kParallelMin || max_threads() <= 1) {
    // Same blocking as the parallel path, so 1 thread and many agree bitwise.
    double total = 0;
    for (std::size_t b = 0; b < n; b += kGrain)
      total += reduce_block(x + b, y != nullptr ? y + b : nullptr, std::min(kGrain, n - b), f);
    return total;
  }
  constexpr std::size_t kGroup = 256;
  std::array<double, kGroup> partial{};
  double total = 0;
  const std::size_t blocks = (n + kGrain - 1) / kGrain;
  for (std::size_t g0 = 0; g0 < blocks; g0 += kGroup) {
    const std::size_t count = std::min(kGroup, blocks - g0);
    detail::parallel_ranges(count, 1, false, [&](std::size_t begin, std::size_t end) noexcept {
      for (std::size_t j = begin; j != end; ++j) {
        const std::size_t b = (g0 + j) * kGrain;
        partial[j] =
            reduce_block(x + b, y != nullptr ? y + b : nullptr, std::min(kGrain, n - b), f);
      }
    });
    for (std::size_t j = 0; j < count; ++j) total += partial[j];
  }
  return total;
}

// max over [0, n) of a contiguous array (n ≥ 1); NaN if any element is NaN.
template <class T>
T max_contiguous(const T* x, std::size_t n) noexcept {
  T m = -std::numeric_limits<T>::infinity();
  bool nan = false;
  std::size_t i = 0;
  if constexpr (kHaveSimd) {
    using B = Batch<T>;
    constexpr std::size_t W = B::size;
    if (n >= W) {
      B vm(m);
      // xsimd::isnan, not v != v: xsimd 8.1 compares != as ordered (NEQ_OQ) on AVX-512, which is
      // false for NaN.
      auto vnan = xsimd::isnan(vm);
      for (; i + W <= n; i += W) {
        const B v = B::load_unaligned(x + i);
        vnan = vnan | xsimd::isnan(v);
        vm = xsimd::max(vm, v);
      }
      nan = xsimd::any(vnan);
      alignas(64) std::array<T, W> lanes{};
      vm.store_aligned(lanes.data());
      for (const T v : lanes) m = v > m ? v : m;
    }
  }
  for (; i < n; ++i) {
    nan = nan || std::isnan(x[i]);
    m = x[i] > m ? x[i] : m;
  }
  return nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

// Runs row_body(i) for every row, in parallel when the matrix is large.
template <class Body>
void for_rows(std::size_t rows, std::size_t cols, const Body& row_body) noexcept {
  if (rows * cols < kParallelMin || rows < 2 || max_threads() <= 1) {
    for (std::size_t i = 0; i < rows; ++i) row_body(i);
    return;
  }
  const std::size_t grain = std::max<std::size_t>(1, kGrain / std::max<std::size_t>(cols, 1));
  detail::parallel_ranges(rows, grain, false, [&](std::size_t begin, std::size_t end) noexcept {
    for (std::size_t i = begin; i != end; ++i) row_body(i);
  });
}

template <class T>
void apply_activation(Activation act, const T* x, T* y, std::size_t n) noexcept {
  if (act == Activation::Identity) {
    if (x != y) std::copy(x, x + n, y);
    return;
  }
  for_chunks(n, [&](std::size_t b, std::size_t e) noexcept {
    if constexpr (kHaveSimd) {
      map1(x + b, y + b, e - b, [act](const Batch<T>& z) noexcept {
        Batch<T> unused;
        return activate_batch<false>(act, z, unused);
      });
    } else {
      map1(x + b, y + b, e - b, [act](T z) noexcept {
        if (act == Activation::Relu) return z > T(0) ? z : T(0);
        return std::tanh(z);
      });
    }
  });
}

template <class T>
void activation_derivative(Activation act, const T* z, T* d, std::size_t n) noexcept {
  for_chunks(n, [&](std::size_t b, std::size_t e) noexcept {
    if constexpr (kHaveSimd) {
      map1(z + b, d + b, e - b, [act](const Batch<T>& v) noexcept {
        Batch<T> dv;
        (void)activate_batch<true>(act, v, dv);
        return dv;
      });
    } else {
      map1(z + b, d + b, e - b, [act](T v) noexcept {
        if (act == Activation::Relu) return v > T(0) ? T(1) : T(0);
        if (act == Activation::Identity) return T(1);
        const T t = std::tanh(v);
        return T(1) - t * t;
      });
    }
  });
}

template <class T>
void axpy(std::size_t n, T alpha, const T* x, T* y) noexcept {
  for_chunks(n, [&](std::size_t b, std::size_t e) noexcept {
    if constexpr (kHaveSimd) {
      const Batch<T> va(alpha);
      map2(x + b, y + b, y + b, e - b,
           [va](const Batch<T>& xv, const Batch<T>& yv) noexcept { return fmadd(va, xv, yv); });
    } else {
      map2(x + b, y + b, y + b, e - b,
           [alpha](T xv, T yv) noexcept { return std::fma(alpha, xv, yv); });
    }
  });
}

template <class T>
void scale(std::size_t n, T alpha, T* x) noexcept {
  for_chunks(n, [&](std::size_t b, std::size_t e) noexcept {
    if constexpr (kHaveSimd) {
      const Batch<T> va(alpha);
      map1(x + b, x + b, e - b, [va](const Batch<T>& v) noexcept { return va * v; });
    } else {
      map1(x + b, x + b, e - b, [alpha](T v) noexcept { return alpha * v; });
    }
  });
}

template <class T>
void multiply(std::size_t n, const T* a, const T* b, T* out) noexcept {
  for_chunks(n, [&](std::size_t lo, std::size_t hi) noexcept {
    map2(a + lo, b + lo, out + lo, hi - lo,
         [](const auto& u, const auto& v) noexcept { return u * v; });
  });
}

template <class T>
double sum(const T* x, std::size_t n) noexcept {
  return reduce(
      x, static_cast<const T*>(nullptr), n,
      [](const auto& s, const auto& v, const auto& /*unused*/) noexcept { return s + v; });
}

template <class T>
double squared_norm(const T* x, std::size_t n) noexcept {
  return reduce(
      x, static_cast<const T*>(nullptr), n,
      [](const auto& s, const auto& v, const auto& /*unused*/) noexcept { return s + v * v; });
}

template <class T>
double dot(const T* x, const T* y, std::size_t n) noexcept {
  return reduce(x, y, n,
                [](const auto& s, const auto& u, const auto& v) noexcept { return s + u * v; });
}

template <class T>
T max(const T* x, std::size_t n) noexcept {
  if (n == 0) return -std::numeric_limits<T>::infinity();
  return max_contiguous(x, n);
}

template <class T>
void argmax_rows(MatrixView<const T> x, std::size_t* out) noexcept {
  // Rows are short (class scores): a scalar scan per row, rows in parallel when many.
  for_rows(x.rows(), x.cols(), [&](std::size_t i) noexcept {
    const T* row = x.row(i);
    std::size_t best = 0;
    for (std::size_t j = 1; j < x.cols(); ++j)
      if (row[j] > row[best]) best = j;
    out[i] = best;
  });
}

template <class T>
void softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept {
  const std::size_t n = x.cols();
  for_rows(x.rows(), n, [&](std::size_t i) noexcept {
    if (n == 0) return;
    const T* xr = x.row(i);
    T* yr = out.row(i);
    const T m = max_contiguous(xr, n);
    // yr = exp(x − m) ∈ (0, 1], one entry equal to 1: no overflow for any finite logits.
    if constexpr (kHaveSimd) {
      const Batch<T> vm(m);
      map1(xr, yr, n, [vm](const Batch<T>& v) noexcept { return xsimd::exp(v - vm); });
    } else {
      map1(xr, yr, n, [m](T v) noexcept { return std::exp(v - m); });
    }
    T s = 0;
    for (std::size_t j = 0; j < n; ++j) s += yr[j];
    const T inv = T(1) / s;
    scale(n, inv, yr);
  });
}

template <class T>
void log_softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept {
  const std::size_t n = x.cols();
  for_rows(x.rows(), n, [&](std::size_t i) noexcept {
    if (n == 0) return;
    const T* xr = x.row(i);
    T* yr = out.row(i);
    const T m = max_contiguous(xr, n);
    T s = 0;
    if constexpr (kHaveSimd) {
      using B = Batch<T>;
      constexpr std::size_t W = B::size;
      const B vm(m);
      B acc(T(0));
      std::size_t j = 0;
      for (; j + W <= n; j += W) acc = acc + xsimd::exp(B::load_unaligned(xr + j) - vm);
      alignas(64) std::array<T, W> lanes{};
      acc.store_aligned(lanes.data());
      for (const T v : lanes) s += v;
      if (j < n) {
        alignas(64) std::array<T, W> buf;
        buf.fill(-std::numeric_limits<T>::infinity());
        std::copy(xr + j, xr + n, buf.begin());
        xsimd::exp(B::load_aligned(buf.data()) - vm).store_aligned(buf.data());
        for (std::size_t u = 0; u < n - j; ++u) s += buf[u];
      }
    } else {
      for (std::size_t j = 0; j < n; ++j) s += std::exp(xr[j] - m);
    }
    const T lse = m + std::log(s);
    for (std::size_t j = 0; j < n; ++j) yr[j] = xr[j] - lse;
  });
}

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
