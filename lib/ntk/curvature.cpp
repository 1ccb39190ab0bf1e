#include "catapult/ntk/curvature.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

#include "catapult/core/error.hpp"

namespace catapult::ntk {
namespace {

std::size_t resolve_batch(std::size_t b) { return b != 0 ? b : 1024; }

// Copies rows [s, s + nb) of x into a matrix of type U (a plain view when the types agree).
template <class U, class T>
MatrixView<const U> batch_as(MatrixView<const T> x, std::size_t s, std::size_t nb,
                             Matrix<U>& buffer) {
  if constexpr (std::is_same_v<U, T>) {
    return x.rows_range(s, nb);
  } else {
    buffer.resize(nb, x.cols());
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < x.cols(); ++j) buffer(i, j) = static_cast<U>(x(s + i, j));
    return buffer.cview();
  }
}

// L = c·Σ(f − y)² and its gradient for a model of type U on data of type T.
template <class U, class T>
double loss_gradient(const nn::Mlp<U>& model, MatrixView<const T> x, MatrixView<const T> y, U* grad,
                     nn::MseReduction reduction, std::size_t batch_size) {
  const std::size_t n = x.rows();
  const std::size_t k = model.output_dim();
  require_shape(x, n, model.input_dim(), "mse_loss_and_gradient (x)");
  require_shape(y, n, k, "mse_loss_and_gradient (y)");
  const std::size_t bs = resolve_batch(batch_size);
  const double c = nn::mse_scale(reduction, n, k);
  const std::size_t p = model.num_params();
  std::fill(grad, grad + p, U(0));
  std::vector<U> g(p);
  nn::ForwardCache<U> cache;
  Matrix<U> xb_buf, yb_buf, out, d_out;
  double sum = 0;
  for (std::size_t s = 0; s < n; s += bs) {
    const std::size_t nb = std::min(bs, n - s);
    const MatrixView<const U> xb = batch_as<U>(x, s, nb, xb_buf);
    const MatrixView<const U> yb = batch_as<U>(y, s, nb, yb_buf);
    out.resize(nb, k);
    d_out.resize(nb, k);
    model.forward(xb, out.view(), &cache);
    sum += nn::mse_loss<U>(out.cview(), yb, d_out.view(), nn::MseReduction::Sum);
    // Sum gives d_out = 2(f − y); the whole-set loss scales it by c.
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t j = 0; j < k; ++j) d_out(i, j) = static_cast<U>(c) * d_out(i, j);
    model.backward(cache, d_out.cview(), g.data());
    for (std::size_t q = 0; q < p; ++q) grad[q] += g[q];
  }
  return c * sum;
}

double check_positive(const char* where, double lambda) {
  if (!(lambda > 0) || !std::isfinite(lambda))
    throw InvalidArgument(str_cat(where, ": lambda_max ", lambda, " must be finite and > 0"));
  return lambda;
}

}  // namespace

template <class T>
double mse_loss_and_gradient(const nn::Mlp<T>& model, MatrixView<const T> x, MatrixView<const T> y,
                             T* grad, nn::MseReduction reduction, std::size_t batch_size) {
  return loss_gradient<T, T>(model, x, y, grad, reduction, batch_size);
}

// ---------------------------------------------------------------------------------------------

struct LossHessianOperator::Impl {
  std::unique_ptr<nn::Mlp<double>> model;  // perturbed in place during apply, then restored
  std::vector<double> theta;
  std::vector<double> grad0;
  double loss0 = 0;
  HessianOptions options;
  double step = 0;
  // The data, type-erased: a function computing the gradient at the current parameters.
  std::function<void(double*)> gradient_at;
  mutable std::vector<double> g_plus, g_minus;
};

template <class T>
LossHessianOperator::LossHessianOperator(const nn::Mlp<T>& model, MatrixView<const T> x,
                                         MatrixView<const T> y, const HessianOptions& options)
    : impl_(std::make_unique<Impl>()) {
  require_shape(x, x.rows(), model.input_dim(), "LossHessianOperator (x)");
  require_shape(y, x.rows(), model.output_dim(), "LossHessianOperator (y)");
  if (!(options.step >= 0) || !std::isfinite(options.step))
    throw InvalidArgument(str_cat("LossHessianOperator: step ", options.step, " must be >= 0"));
  Impl& m = *impl_;
  m.options = options;
  m.model = std::make_unique<nn::Mlp<double>>(model.config());
  const std::size_t p = model.num_params();
  double sq = 0;
  for (std::size_t q = 0; q < p; ++q) {
    m.model->params()[q] = static_cast<double>(model.params()[q]);
    sq += m.model->params()[q] * m.model->params()[q];
  }
  m.theta.assign(m.model->params(), m.model->params() + p);
  const double rms = p > 0 ? std::sqrt(sq / static_cast<double>(p)) : 0.0;
  m.step = options.step > 0
               ? options.step
               : std::cbrt(std::numeric_limits<double>::epsilon() / 2) * std::max(1.0, rms);
  nn::Mlp<double>* net = m.model.get();
  m.gradient_at = [net, x, y, options](double* g) {
    (void)loss_gradient<double, T>(*net, x, y, g, options.reduction, options.batch_size);
  };
  m.grad0.assign(p, 0.0);
  m.loss0 =
      loss_gradient<double, T>(*net, x, y, m.grad0.data(), options.reduction, options.batch_size);
  m.g_plus.assign(p, 0.0);
  m.g_minus.assign(p, 0.0);
}

LossHessianOperator::~LossHessianOperator() = default;
LossHessianOperator::LossHessianOperator(LossHessianOperator&&) noexcept = default;
LossHessianOperator& LossHessianOperator::operator=(LossHessianOperator&&) noexcept = default;

std::size_t LossHessianOperator::size() const { return impl_->theta.size(); }
double LossHessianOperator::loss() const noexcept { return impl_->loss0; }
const std::vector<double>& LossHessianOperator::gradient() const noexcept { return impl_->grad0; }

void LossHessianOperator::apply(const double* v, double* hv) const {
  Impl& m = *impl_;
  const std::size_t p = m.theta.size();
  double norm = 0;
  for (std::size_t q = 0; q < p; ++q) norm += v[q] * v[q];
  norm = std::sqrt(norm);
  if (norm == 0) {
    std::fill(hv, hv + p, 0.0);
    return;
  }
  const double t = m.step;
  double* params = m.model->params();
  for (std::size_t q = 0; q < p; ++q) params[q] = m.theta[q] + t * (v[q] / norm);
  m.gradient_at(m.g_plus.data());
  for (std::size_t q = 0; q < p; ++q) params[q] = m.theta[q] - t * (v[q] / norm);
  m.gradient_at(m.g_minus.data());
  std::copy(m.theta.begin(), m.theta.end(), params);
  const double scale = norm / (2 * t);
  for (std::size_t q = 0; q < p; ++q) hv[q] = scale * (m.g_plus[q] - m.g_minus[q]);
}

// ---------------------------------------------------------------------------------------------

template <class T>
GaussNewtonOperator<T>::GaussNewtonOperator(const nn::Mlp<T>& model, MatrixView<const T> x,
                                            const HessianOptions& options)
    : model_(&model), x_(x), options_(options) {
  require_shape(x, x.rows(), model.input_dim(), "GaussNewtonOperator (x)");
  if (x.rows() == 0) throw InvalidArgument("GaussNewtonOperator: no samples");
}

template <class T>
void GaussNewtonOperator<T>::apply(const double* v, double* gv) const {
  const std::size_t n = x_.rows();
  const std::size_t k = model_->output_dim();
  const std::size_t p = model_->num_params();
  const std::size_t bs = resolve_batch(options_.batch_size);
  const T two_c = static_cast<T>(2.0 * nn::mse_scale(options_.reduction, n, k));
  std::vector<T> vt(p), g(p);
  for (std::size_t q = 0; q < p; ++q) vt[q] = static_cast<T>(v[q]);
  std::fill(gv, gv + p, 0.0);
  nn::ForwardCache<T> cache;
  Matrix<T> out, tangent;
  for (std::size_t s = 0; s < n; s += bs) {
    const std::size_t nb = std::min(bs, n - s);
    const MatrixView<const T> xb = x_.rows_range(s, nb);
    out.resize(nb, k);
    tangent.resize(nb, k);
    model_->forward(xb, out.view(), &cache);
    model_->jvp(xb, vt.data(), tangent.view());
    for (std::size_t i = 0; i < nb; ++i)
      for (std::size_t c = 0; c < k; ++c) tangent(i, c) *= two_c;
    model_->backward(cache, tangent.cview(), g.data());
    for (std::size_t q = 0; q < p; ++q) gv[q] += static_cast<double>(g[q]);
  }
}

// ---------------------------------------------------------------------------------------------

PreconditionedOperator::PreconditionedOperator(const LinearOperator& base,
                                               std::span<const double> preconditioner)
    : base_(&base), inv_sqrt_(preconditioner.size()), scratch_(preconditioner.size()) {
  if (preconditioner.size() != base.size())
    throw InvalidArgument(str_cat("PreconditionedOperator: preconditioner has ",
                                  preconditioner.size(), " entries, the operator is ",
                                  base.size()));
  for (std::size_t i = 0; i < preconditioner.size(); ++i) {
    const double p = preconditioner[i];
    if (!(p > 0) || !std::isfinite(p))
      throw InvalidArgument(
          str_cat("PreconditionedOperator: preconditioner[", i, "] = ", p, " is not > 0"));
    inv_sqrt_[i] = 1.0 / std::sqrt(p);
  }
}

void PreconditionedOperator::apply(const double* x, double* y) const {
  const std::size_t n = inv_sqrt_.size();
  for (std::size_t i = 0; i < n; ++i) scratch_[i] = inv_sqrt_[i] * x[i];
  base_->apply(scratch_.data(), y);
  for (std::size_t i = 0; i < n; ++i) y[i] *= inv_sqrt_[i];
}

template <class T>
std::vector<double> adagrad_preconditioner(std::span<const T> accumulator, double eps) {
  std::vector<double> p(accumulator.size());
  for (std::size_t i = 0; i < accumulator.size(); ++i) {
    const auto s = static_cast<double>(accumulator[i]);
    if (!(s >= 0))
      throw InvalidArgument(str_cat("adagrad_preconditioner: accumulator[", i, "] = ", s, " < 0"));
    p[i] = std::sqrt(s) + eps;
    if (!(p[i] > 0))
      throw InvalidArgument(str_cat("adagrad_preconditioner: accumulator[", i,
                                    "] = 0 with eps = ", eps, " gives a zero preconditioner"));
  }
  return p;
}

template <class T>
std::vector<double> adam_preconditioner(std::span<const T> second_moment, std::size_t step,
                                        double beta1, double beta2, double eps) {
  if (step == 0) throw InvalidArgument("adam_preconditioner: step t must be >= 1");
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw InvalidArgument(
        str_cat("adam_preconditioner: beta1 ", beta1, ", beta2 ", beta2, " outside [0, 1)"));
  const auto t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(beta1, t);
  const double bc2 = std::sqrt(1.0 - std::pow(beta2, t));
  std::vector<double> p(second_moment.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto v = static_cast<double>(second_moment[i]);
    if (!(v >= 0))
      throw InvalidArgument(str_cat("adam_preconditioner: second_moment[", i, "] = ", v, " < 0"));
    p[i] = (std::sqrt(v) / bc2 + eps) * bc1;
    if (!(p[i] > 0))
      throw InvalidArgument(str_cat("adam_preconditioner: preconditioner[", i, "] is zero"));
  }
  return p;
}

template <class T>
double adagrad_min_scale(std::span<const T> accumulator) {
  if (accumulator.empty()) throw InvalidArgument("adagrad_min_scale: empty accumulator");
  double m = std::numeric_limits<double>::infinity();
  for (const T s : accumulator) m = std::min(m, static_cast<double>(s));
  return std::sqrt(std::max(m, 0.0));
}

double adagrad_critical_rate_bound(double min_scale, double lambda_max_hessian) {
  return 2.0 * min_scale / check_positive("adagrad_critical_rate_bound", lambda_max_hessian);
}

double critical_learning_rate_hessian(double lambda_max_hessian) {
  return 2.0 / check_positive("critical_learning_rate_hessian", lambda_max_hessian);
}

double critical_learning_rate_ntk(double lambda_max_ntk, std::size_t n, std::size_t k,
                                  nn::MseReduction reduction) {
  // The normalisation is nn's, written once there (nn/loss.hpp).
  return nn::mse_critical_learning_rate(lambda_max_ntk, reduction, n, k);
}

SharpnessResult sharpness(const LinearOperator& hessian, const EigenOptions& options) {
  EigenOptions o = options;
  o.nev = 1;
  o.compute_eigenvectors = false;
  const EigenResult r = largest_eigenpairs(hessian, o);
  SharpnessResult s;
  s.status = r.status;
  s.operations = r.operations;
  if (!r.eigenvalues.empty()) {
    s.lambda_max = r.eigenvalues.front();
    s.eta_crit = s.lambda_max > 0 ? 2.0 / s.lambda_max : 0.0;
  }
  return s;
}

ResidualSplit split_residual(MatrixView<const double> eigenvectors,
                             std::span<const double> residual, double loss_scale) {
  if (residual.size() != eigenvectors.cols())
    throw InvalidArgument(str_cat("split_residual: residual has ", residual.size(),
                                  " entries, eigenvectors have ", eigenvectors.cols()));
  ResidualSplit s;
  double total = 0;
  for (const double r : residual) total += r * r;
  for (std::size_t j = 0; j < eigenvectors.rows(); ++j) {
    double c = 0;
    const double* u = eigenvectors.row(j);
    for (std::size_t i = 0; i < residual.size(); ++i) c += u[i] * residual[i];
    s.coefficients.push_back(c);
    s.top += c * c;
  }
  s.rest = std::max(0.0, total - s.top);
  s.loss_top = loss_scale * s.top;
  s.loss_rest = loss_scale * s.rest;
  return s;
}

template double mse_loss_and_gradient<float>(const nn::Mlp<float>&, MatrixView<const float>,
                                             MatrixView<const float>, float*, nn::MseReduction,
                                             std::size_t);
template double mse_loss_and_gradient<double>(const nn::Mlp<double>&, MatrixView<const double>,
                                              MatrixView<const double>, double*, nn::MseReduction,
                                              std::size_t);
template LossHessianOperator::LossHessianOperator(const nn::Mlp<float>&, MatrixView<const float>,
                                                  MatrixView<const float>, const HessianOptions&);
template LossHessianOperator::LossHessianOperator(const nn::Mlp<double>&, MatrixView<const double>,
                                                  MatrixView<const double>, const HessianOptions&);
template class GaussNewtonOperator<float>;
template class GaussNewtonOperator<double>;
template std::vector<double> adagrad_preconditioner<float>(std::span<const float>, double);
template std::vector<double> adagrad_preconditioner<double>(std::span<const double>, double);
template std::vector<double> adam_preconditioner<float>(std::span<const float>, std::size_t, double,
                                                        double, double);
template std::vector<double> adam_preconditioner<double>(std::span<const double>, std::size_t,
                                                         double, double, double);
template double adagrad_min_scale<float>(std::span<const float>);
template double adagrad_min_scale<double>(std::span<const double>);

}  // namespace catapult::ntk
