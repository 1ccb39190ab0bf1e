#include "catapult/analysis/agop.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/kernels/gemm.hpp"

namespace catapult::analysis {

template <class T>
Matrix<T> agop(const nn::Mlp<T>& model, MatrixView<const T> x, std::size_t chunk) {
  const std::size_t n = x.rows();
  const std::size_t d = model.input_dim();
  const std::size_t k = model.output_dim();
  if (n == 0) throw InvalidArgument("agop: no samples");
  if (x.cols() != d)
    throw InvalidArgument(str_cat("agop: samples have ", x.cols(), " columns, the model ", d));
  if (chunk == 0) throw InvalidArgument("agop: chunk must be >= 1");
  const std::size_t c = std::min(chunk, n);

  Matrix<T> g(d, d);
  nn::ForwardCache<T> cache;
  Matrix<T> out(c, k);
  Matrix<T> seed(c, k);
  // jac rows [j·m, (j+1)·m) hold ∂f_j/∂x of the chunk's m samples.
  Matrix<T> jac(c * k, d);
  const T inv_n = T(1) / static_cast<T>(n);
  for (std::size_t r0 = 0; r0 < n; r0 += c) {
    const std::size_t m = std::min(c, n - r0);
    auto o = out.view().rows_range(0, m);
    model.forward(x.rows_range(r0, m), o, &cache);
    auto s = seed.view().rows_range(0, m);
    for (std::size_t j = 0; j < k; ++j) {
      // The backward pass of the seed e_j on every row gives row i's ∂f_j(x_i)/∂x.
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < k; ++q) s(i, q) = q == j ? T(1) : T(0);
      model.backward(cache, MatrixView<const T>(s), nullptr, jac.view().rows_range(j * m, m));
    }
    kernels::gemm<T>(kernels::Trans::T, kernels::Trans::N, inv_n, jac.cview().rows_range(0, k * m),
                     jac.cview().rows_range(0, k * m), T(1), g.view());
  }
  return g;
}

template <class T>
double agop_alignment(MatrixView<const T> a, MatrixView<const T> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw InvalidArgument(str_cat("agop_alignment: shapes ", a.rows(), "x", a.cols(), " and ",
                                  b.rows(), "x", b.cols(), " differ"));
  double ab = 0.0;
  double aa = 0.0;
  double bb = 0.0;
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < a.cols(); ++j) {
      const double u = static_cast<double>(a(i, j));
      const double v = static_cast<double>(b(i, j));
      ab += u * v;
      aa += u * u;
      bb += v * v;
    }
  if (!(aa > 0.0) || !(bb > 0.0))
    throw InvalidArgument("agop_alignment: a zero matrix has no direction");
  return ab / (std::sqrt(aa) * std::sqrt(bb));
}

template Matrix<float> agop(const nn::Mlp<float>&, MatrixView<const float>, std::size_t);
template Matrix<double> agop(const nn::Mlp<double>&, MatrixView<const double>, std::size_t);
template double agop_alignment(MatrixView<const float>, MatrixView<const float>);
template double agop_alignment(MatrixView<const double>, MatrixView<const double>);

}  // namespace catapult::analysis
