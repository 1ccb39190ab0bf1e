#pragma once
// Independent oracles for the tests: naive loops accumulating in double, random fills with a
// fixed seed, and the rounding-error bound for GEMM. Never calls the code under test.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"

namespace catapult::test {

/// Fills m with uniform values in [lo, hi).
template <class T>
void fill_uniform(MatrixView<T> m, Rng& rng, double lo = -1.0, double hi = 1.0) {
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j) m(i, j) = static_cast<T>(rng.uniform(lo, hi));
}

/// Fills m with small integers in [-range, range]: products and sums of these are exact in float
/// for K up to ~10^5, so any summation order gives bitwise the same result.
template <class T>
void fill_small_integers(MatrixView<T> m, Rng& rng, int range = 4) {
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      m(i, j) = static_cast<T>(static_cast<int>(rng.uniform_index(2 * range + 1)) - range);
}

/// Reference product in double: C = alpha·op(A)·op(B) + beta·C (returns a dense M × N result).
/// Also returns (|op(A)|·|op(B)|)ij in abs_product, for the rounding bound.
template <class T>
Matrix<double> naive_gemm(bool trans_a, bool trans_b, double alpha, MatrixView<const T> a,
                          MatrixView<const T> b, double beta, MatrixView<const T> c,
                          Matrix<double>* abs_product = nullptr) {
  const std::size_t m = trans_a ? a.cols() : a.rows();
  const std::size_t k = trans_a ? a.rows() : a.cols();
  const std::size_t n = trans_b ? b.rows() : b.cols();
  Matrix<double> out(m, n);
  if (abs_product != nullptr) abs_product->resize(m, n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0, acc_abs = 0;
      for (std::size_t p = 0; p < k; ++p) {
        const double av = trans_a ? a(p, i) : a(i, p);
        const double bv = trans_b ? b(j, p) : b(p, j);
        acc += av * bv;
        acc_abs += std::abs(av * bv);
      }
      out(i, j) = alpha * acc + (beta != 0.0 ? beta * static_cast<double>(c(i, j)) : 0.0);
      if (abs_product != nullptr) (*abs_product)(i, j) = std::abs(alpha) * acc_abs;
    }
  }
  return out;
}

/// Unit roundoff of T.
template <class T>
constexpr double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// Higham's bound for a dot product of length k computed in T, in any order:
/// |c − ĉ| ≤ γ_k·(|A||B|)ij with γ_k = k·u/(1 − k·u); we use a safety factor of 2 for the
/// alpha/beta scaling and the final rounding. Defined once here for every GEMM test.
template <class T>
double gemm_error_bound(std::size_t k, double abs_product, double abs_beta_c = 0.0) {
  const double u = unit_roundoff<T>();
  const double ku = static_cast<double>(k + 2) * u;
  return 2.0 * (ku / (1.0 - ku)) * (abs_product + abs_beta_c) +
         std::numeric_limits<T>::denorm_min();
}

}  // namespace catapult::test
