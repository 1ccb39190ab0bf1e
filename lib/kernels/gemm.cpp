// The public GEMM entry point: validation and the naive reference here, compiled with the
// baseline flags; the other variants run on the active ISA's kernel set (kernels/dispatch.hpp).
#include "catapult/kernels/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "catapult/core/aligned.hpp"
#include "catapult/core/error.hpp"
#include "catapult/kernels/cache.hpp"
#include "kernels/dispatch.hpp"

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

}  // namespace

namespace detail {

template <class T>
T* gemm_workspace(std::size_t elements) {
  thread_local AlignedVector<T> buffer;
  if (buffer.size() < elements) {
    buffer = AlignedVector<T>();
    buffer.resize(elements);
  }
  return buffer.data();
}
template float* gemm_workspace<float>(std::size_t);
template double* gemm_workspace<double>(std::size_t);

double* gemm_norm_workspace(std::size_t elements) {
  thread_local AlignedVector<double> buffer;
  if (buffer.size() < elements) {
    buffer = AlignedVector<double>();
    buffer.resize(elements);
  }
  return buffer.data();
}

}  // namespace detail

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
  const ParamUpdate<T>* update = epilogue.update;
  if (update != nullptr) {
    const std::size_t states = state_buffers(update->rule.kind);
    if (beta != T(0) || epilogue.bias != nullptr || epilogue.activation != Activation::Identity ||
        !epilogue.derivative.empty())
      throw InvalidArgument(
          "gemm: an update epilogue needs beta = 0, no bias, no activation and no derivative");
    if (update->params == nullptr || (states >= 1 && update->state0 == nullptr) ||
        (states >= 2 && update->state1 == nullptr))
      throw InvalidArgument("gemm: the update epilogue lacks its parameters or state");
    if (epilogue.update_ld < n)
      throw InvalidArgument(
          str_cat("gemm: update_ld ", epilogue.update_ld, " is less than N = ", n));
    const T* targets[3] = {update->params, states >= 1 ? update->state0 : nullptr,
                           states >= 2 ? update->state1 : nullptr};
    for (const T* target : targets) {
      if (target == nullptr || m == 0 || n == 0) continue;
      const MatrixView<const T> v(target, m, n, epilogue.update_ld);
      if (overlaps(v, a) || overlaps(v, b) || overlaps(v, MatrixView<const T>(c)))
        throw InvalidArgument("gemm: the update's parameters or state overlap A, B or C");
    }
  }
  if (epilogue.squared_norm != nullptr) *epilogue.squared_norm = 0.0;
  if (m == 0 || n == 0) return;

  if (variant == GemmVariant::Naive) {
    gemm_naive(trans_a, trans_b, alpha, a, b, beta, c, k, epilogue);
    if (update != nullptr) {
      // The reference: the finished C, then the update row by row and its norm in double.
      double sq = 0.0;
      for (std::size_t i = 0; i < m; ++i) {
        const std::size_t at = i * epilogue.update_ld;
        const std::size_t states = state_buffers(update->rule.kind);
        ParamUpdate<T> row = *update;
        row.params += at;
        if (states >= 1) row.state0 += at;
        if (states >= 2) row.state1 += at;
        apply_update(row, c.row(i), n);
        for (std::size_t j = 0; j < n; ++j)
          sq += static_cast<double>(c(i, j)) * static_cast<double>(c(i, j));
      }
      if (epilogue.squared_norm != nullptr) *epilogue.squared_norm = sq;
    }
    return;
  }
  // The blocking of the packed kernels derives from the cache sizes at their first use, inside
  // noexcept drivers: read them here first, where a bad CATAPULT_CACHE_* can throw.
  (void)cache_sizes();
  const detail::GemmProblem<T> g{trans_a,
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
                                 epilogue.derivative.ld(),
                                 update,
                                 epilogue.update_ld,
                                 update != nullptr ? epilogue.squared_norm : nullptr};
  detail::kernels<T>().gemm(g, variant);
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
