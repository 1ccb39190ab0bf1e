// Elementwise ops and reductions against scalar loops, at lengths around the SIMD width
// (1, W−1, W, W+1, 3W+2, …), from misaligned pointers, and above the parallel threshold.
#include "catapult/kernels/elementwise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "catapult/core/threading.hpp"
#include "catapult/kernels/isa.hpp"
#include "support/reference.hpp"

namespace catapult::kernels {
namespace {

template <class T>
class ElementwiseTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ElementwiseTyped, Scalars);

// Lengths around every plausible SIMD width (4, 8, 16 lanes) plus a few large ones that cross
// the parallel threshold (1 << 16) with a ragged tail.
std::vector<std::size_t> lengths() {
  std::vector<std::size_t> out = {0, 1, 2, 3};
  for (const std::size_t w : {4, 8, 16})
    for (const std::size_t n : {w - 1, w, w + 1, 2 * w, 3 * w + 2}) out.push_back(n);
  out.push_back(100);
  out.push_back((std::size_t{1} << 16) + 37);
  out.push_back(300007);
  return out;
}

// Random values in [lo, hi) starting `offset` elements into a buffer, so the data is misaligned.
template <class T>
std::vector<T> random_vector(std::size_t n, Rng& rng, double lo = -3, double hi = 3) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(rng.uniform(lo, hi));
  return v;
}

template <class T>
double ulps(T x) {
  return 8 * std::numeric_limits<T>::epsilon() * std::max<double>(1.0, std::abs(x));
}

TYPED_TEST(ElementwiseTyped, ActivationsAndDerivatives) {
  using T = TypeParam;
  Rng rng(10);
  for (const std::size_t n : lengths()) {
    for (const std::size_t offset : {0, 1, 3}) {
      std::vector<T> buf = random_vector<T>(n + offset, rng);
      if (n > 2) buf[offset + 1] = T(0);  // relu at 0: value 0, derivative 0
      const T* x = buf.data() + offset;
      std::vector<T> ybuf(n + offset), dbuf(n + offset);
      T* y = ybuf.data() + offset;
      T* d = dbuf.data() + offset;
      for (const Activation act : {Activation::Identity, Activation::Relu, Activation::Tanh}) {
        apply_activation(act, x, y, n);
        activation_derivative(act, x, d, n);
        for (std::size_t i = 0; i < n; ++i) {
          const T z = x[i];
          if (act == Activation::Tanh) {
            const T t = std::tanh(z);
            ASSERT_NEAR(y[i], t, ulps(t)) << "n=" << n << " i=" << i;
            ASSERT_NEAR(d[i], T(1) - t * t, 2 * ulps(t)) << "n=" << n << " i=" << i;
          } else if (act == Activation::Relu) {
            ASSERT_EQ(y[i], z > 0 ? z : T(0)) << "n=" << n << " i=" << i;
            ASSERT_EQ(d[i], z > 0 ? T(1) : T(0)) << "n=" << n << " i=" << i;
          } else {
            ASSERT_EQ(y[i], z);
            ASSERT_EQ(d[i], T(1));
          }
        }
      }
      // In place.
      std::vector<T> inplace(x, x + n);
      apply_activation(Activation::Relu, inplace.data(), inplace.data(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(inplace[i], x[i] > 0 ? x[i] : T(0));
    }
  }
}

TYPED_TEST(ElementwiseTyped, AxpyScaleMultiply) {
  using T = TypeParam;
  Rng rng(11);
  for (const std::size_t n : lengths()) {
    const std::size_t off = n % 3;
    std::vector<T> xb = random_vector<T>(n + off, rng), yb = random_vector<T>(n + off, rng);
    const T* x = xb.data() + off;
    const T alpha = T(-0.37);

    // axpy is one fused multiply-add per element, rounded once, on the ISAs with FMA; SSE2 has
    // none, and there the product and the sum are rounded separately (volatile: a -march=native
    // build of this test must not contract the expected value into an FMA).
    const bool fused = active_isa() != Isa::Sse;
    std::vector<T> y(yb.begin() + off, yb.end());
    axpy(n, alpha, x, y.data());
    for (std::size_t i = 0; i < n; ++i) {
      const volatile T product = alpha * x[i];
      const T expected = fused ? std::fma(alpha, x[i], yb[off + i]) : product + yb[off + i];
      ASSERT_EQ(y[i], expected) << "axpy n=" << n << " i=" << i
                                << " isa=" << to_string(active_isa());
    }

    std::vector<T> s(x, x + n);
    scale(n, alpha, s.data());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(s[i], alpha * x[i]) << "scale n=" << n;

    std::vector<T> p(n);
    multiply(n, x, yb.data() + off, p.data());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(p[i], x[i] * yb[off + i]) << "multiply n=" << n;
    multiply(n, x, yb.data() + off, yb.data() + off);  // out aliases b
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(yb[off + i], p[i]);
  }
}

TYPED_TEST(ElementwiseTyped, Reductions) {
  using T = TypeParam;
  Rng rng(12);
  for (const std::size_t n : lengths()) {
    const std::size_t off = (n + 1) % 4;
    std::vector<T> xb = random_vector<T>(n + off, rng), yb = random_vector<T>(n + off, rng);
    const T* x = xb.data() + off;
    const T* y = yb.data() + off;
    double s = 0, s2 = 0, d = 0, abs_s = 0, abs_d = 0;
    T m = -std::numeric_limits<T>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      const double xi = x[i], yi = y[i];
      s += xi;
      abs_s += std::abs(xi);
      s2 += xi * xi;
      d += xi * yi;
      abs_d += std::abs(xi * yi);
      m = std::max(m, x[i]);
    }
    // Accumulated in double: error ≤ n·u_double·Σ|terms| (a generous bound).
    const double tol = 4.0 * static_cast<double>(n + 1) * std::numeric_limits<double>::epsilon();
    EXPECT_NEAR(sum(x, n), s, tol * abs_s) << "n=" << n;
    EXPECT_NEAR(squared_norm(x, n), s2, tol * s2 + 1e-300) << "n=" << n;
    EXPECT_NEAR(dot(x, y, n), d, tol * abs_d + 1e-300) << "n=" << n;
    EXPECT_EQ(max(x, n), m) << "n=" << n;
  }
  EXPECT_EQ(max<T>(nullptr, 0), -std::numeric_limits<T>::infinity());
  std::vector<T> with_nan(37, T(1));
  with_nan[35] = std::numeric_limits<T>::quiet_NaN();
  EXPECT_TRUE(std::isnan(max(with_nan.data(), with_nan.size())));
  with_nan[35] = T(1);
  with_nan[2] = std::numeric_limits<T>::quiet_NaN();
  EXPECT_TRUE(std::isnan(max(with_nan.data(), with_nan.size())));
}

TYPED_TEST(ElementwiseTyped, ReductionsIdenticalForAnyThreadCount) {
  using T = TypeParam;
  Rng rng(13);
  const std::size_t n = 1'000'003;
  const std::vector<T> x = random_vector<T>(n, rng), y = random_vector<T>(n, rng);
  double s1, n1, d1;
  {
    ThreadLimit one(1);
    s1 = sum(x.data(), n);
    n1 = squared_norm(x.data(), n);
    d1 = dot(x.data(), y.data(), n);
  }
  for (const std::size_t threads : {std::size_t{2}, std::size_t{3}, max_threads()}) {
    ThreadLimit limit(threads);
    EXPECT_EQ(sum(x.data(), n), s1) << threads;
    EXPECT_EQ(squared_norm(x.data(), n), n1) << threads;
    EXPECT_EQ(dot(x.data(), y.data(), n), d1) << threads;
  }
}

TYPED_TEST(ElementwiseTyped, SoftmaxAndLogSoftmaxRows) {
  using T = TypeParam;
  Rng rng(14);
  for (const std::size_t cols : {std::size_t{1}, std::size_t{3}, std::size_t{10}, std::size_t{15},
                                 std::size_t{16}, std::size_t{17}, std::size_t{50}}) {
    const std::size_t rows = 7, ld = cols + 3;
    std::vector<T> buf(rows * ld + 1);
    MatrixView<T> x(buf.data() + 1, rows, cols, ld);
    test::fill_uniform(x, rng, -20, 20);
    // Large logits: the naive exp overflows (1000) or underflows to 0/0 (−1000).
    for (std::size_t j = 0; j < cols; ++j) {
      x(0, j) = T(1000) + T(j % 3);
      x(1, j) = T(-1000) - T(j % 2);
    }
    Matrix<T> sm(rows, cols), lsm(rows, cols);
    softmax_rows<T>(x, sm.view());
    log_softmax_rows<T>(x, lsm.view());
    std::vector<std::size_t> arg(rows);
    argmax_rows<T>(x, arg.data());
    for (std::size_t i = 0; i < rows; ++i) {
      double m = -1e300;
      std::size_t best = 0;
      for (std::size_t j = 0; j < cols; ++j) {
        m = std::max(m, static_cast<double>(x(i, j)));
        if (x(i, j) > x(i, best)) best = j;
      }
      double s = 0;
      for (std::size_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(x(i, j)) - m);
      double total = 0;
      for (std::size_t j = 0; j < cols; ++j) {
        const double want = std::exp(static_cast<double>(x(i, j)) - m) / s;
        const double want_log = static_cast<double>(x(i, j)) - m - std::log(s);
        ASSERT_TRUE(std::isfinite(sm(i, j)) && std::isfinite(lsm(i, j)));
        ASSERT_NEAR(sm(i, j), want, 32 * std::numeric_limits<T>::epsilon() * want + 1e-300)
            << "cols=" << cols << " (" << i << "," << j << ")";
        ASSERT_NEAR(lsm(i, j), want_log,
                    16 * std::numeric_limits<T>::epsilon() * (std::abs(want_log) + 1e3))
            << "cols=" << cols << " (" << i << "," << j << ")";
        total += sm(i, j);
      }
      EXPECT_NEAR(total, 1.0, 8.0 * static_cast<double>(cols) * std::numeric_limits<T>::epsilon());
      EXPECT_EQ(arg[i], best);
    }
    // In place (out == x).
    Matrix<T> copy(rows, cols);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) copy(i, j) = x(i, j);
    softmax_rows<T>(copy.cview(), copy.view());
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) ASSERT_EQ(copy(i, j), sm(i, j));
  }
}

TYPED_TEST(ElementwiseTyped, RowOpsOnLargeMatricesRunInParallelConsistently) {
  using T = TypeParam;
  Rng rng(15);
  Matrix<T> x(20000, 10);
  test::fill_uniform(x.view(), rng, -5, 5);
  Matrix<T> a(20000, 10), b(20000, 10);
  std::vector<std::size_t> ia(20000), ib(20000);
  {
    ThreadLimit one(1);
    softmax_rows<T>(x.cview(), a.view());
    argmax_rows<T>(x.cview(), ia.data());
  }
  softmax_rows<T>(x.cview(), b.view());
  argmax_rows<T>(x.cview(), ib.data());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]);
  EXPECT_EQ(ia, ib);
}

}  // namespace
}  // namespace catapult::kernels
