#include "catapult/ntk/curvature.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

#include "catapult/core/error.hpp"
#include "catapult/kernels/gemm.hpp"

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

namespace {

// What one Hessian-vector product keeps between batches and between products (sized once).
struct HvpWorkspace {
  nn::ForwardCache<double> cache;
  Matrix<double> xb, yb, out;
  std::vector<Matrix<double>> rz;  // rz[l] = R{z_l}, [B, d_{l+1}]
  std::vector<Matrix<double>> ra;  // ra[l] = R{a_l}, [B, d_l], l = 1..L (a_0 = x is fixed)
  Matrix<double> g, rg, g_next, rg_next, delta, rdelta;
};

template <class U>
void ensure_shape(Matrix<U>& m, std::size_t rows, std::size_t cols) {
  if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
}

// delta = g ⊙ σ'(z) and rdelta = rg ⊙ σ'(z) + g ⊙ σ''(z) ⊙ rz for one layer, with σ'(z) = d and
// σ(z) = a from the forward cache. σ'' from what the cache holds: tanh'' = −2·tanh·tanh'; identity
// and ReLU have σ'' = 0 (ReLU away from its kink, where the loss is not twice differentiable and
// the product is that of the piece containing θ; the cache's σ'(0) = 0 picks the piece z < 0).
void layer_signals(nn::Activation act, MatrixView<const double> d, MatrixView<const double> a,
                   MatrixView<const double> g, MatrixView<const double> rg,
                   MatrixView<const double> rz, MatrixView<double> delta,
                   MatrixView<double> rdelta) {
  const std::size_t rows = g.rows(), cols = g.cols();
  for (std::size_t i = 0; i < rows; ++i) {
    const double* gi = g.row(i);
    const double* rgi = rg.row(i);
    double* de = delta.row(i);
    double* rde = rdelta.row(i);
    switch (act) {
      case nn::Activation::Identity:
        for (std::size_t j = 0; j < cols; ++j) {
          de[j] = gi[j];
          rde[j] = rgi[j];
        }
        break;
      case nn::Activation::Relu: {
        const double* di = d.row(i);
        for (std::size_t j = 0; j < cols; ++j) {
          de[j] = gi[j] * di[j];
          rde[j] = rgi[j] * di[j];
        }
        break;
      }
      case nn::Activation::Tanh: {
        const double* di = d.row(i);
        const double* ai = a.row(i);
        const double* rzi = rz.row(i);
        for (std::size_t j = 0; j < cols; ++j) {
          de[j] = gi[j] * di[j];
          rde[j] = rgi[j] * di[j] + gi[j] * (-2.0 * ai[j] * di[j]) * rzi[j];
        }
        break;
      }
    }
  }
}

// hv += H_batch·v for the rows [s, s + nb) (Pearlmutter's R-operator, written out for the MLP).
// Forward: z_l = s_l·a_l·W_lᵀ + b_l, a_{l+1} = σ_l(z_l); tangent along v = (V_l, c_l):
//   R{z_l} = s_l·(a_l·V_lᵀ + R{a_l}·W_lᵀ) + c_l,  R{a_{l+1}} = σ_l'(z_l) ⊙ R{z_l},  R{a_0} = 0.
// Backward from g_L = ∂L/∂f = 2c(f − y), R{g_L} = 2c·R{f}:
//   δ_l = g_{l+1} ⊙ σ_l',  R{δ_l} = R{g_{l+1}} ⊙ σ_l' + g_{l+1} ⊙ σ_l'' ⊙ R{z_l},
//   (H·v)_{W_l} = s_l·(R{δ_l}ᵀ·a_l + δ_lᵀ·R{a_l}),  (H·v)_{b_l} = Σ_rows R{δ_l},
//   g_l = s_l·δ_l·W_l,  R{g_l} = s_l·(R{δ_l}·W_l + δ_l·V_l).
template <class T>
void add_batch_hessian_product(const nn::Mlp<double>& model, MatrixView<const T> x,
                               MatrixView<const T> y, std::size_t s, std::size_t nb, double c,
                               const double* v, double* hv, HvpWorkspace& w) {
  using kernels::gemm;
  using kernels::GemmEpilogue;
  using kernels::Trans;
  const std::size_t layers = model.num_layers();
  const std::size_t k = model.output_dim();
  const MatrixView<const double> xb = batch_as<double>(x, s, nb, w.xb);
  const MatrixView<const double> yb = batch_as<double>(y, s, nb, w.yb);
  ensure_shape(w.out, nb, k);
  model.forward(xb, w.out.view(), &w.cache);
  w.rz.resize(layers);
  w.ra.resize(layers + 1);
  for (std::size_t l = 0; l < layers; ++l) {
    const nn::LayerView<const double> lv = model.layer(l);
    const std::size_t off = model.weight_offset(l);
    const MatrixView<const double> v_w(v + off, lv.d_out, lv.d_in);
    ensure_shape(w.rz[l], nb, lv.d_out);
    ensure_shape(w.ra[l + 1], nb, lv.d_out);
    GemmEpilogue<double> ep;
    ep.bias = lv.bias != nullptr ? v + off + lv.d_out * lv.d_in : nullptr;
    // R{z_l} [B, d_out] = s·(a_l [B, d_in]·V_lᵀ + R{a_l}·W_lᵀ) + c_l
    gemm(Trans::N, Trans::T, lv.scale, w.cache.inputs[l].cview(), v_w, 0.0, w.rz[l].view(), ep);
    if (l > 0) gemm(Trans::N, Trans::T, lv.scale, w.ra[l].cview(), lv.weight, 1.0, w.rz[l].view());
    const MatrixView<const double> d = w.cache.derivatives[l].cview();
    for (std::size_t i = 0; i < nb; ++i) {
      const double* rzi = w.rz[l].row(i);
      double* rai = w.ra[l + 1].row(i);
      if (lv.activation == nn::Activation::Identity) {
        std::copy(rzi, rzi + lv.d_out, rai);
      } else {
        const double* di = d.row(i);
        for (std::size_t j = 0; j < lv.d_out; ++j) rai[j] = di[j] * rzi[j];
      }
    }
  }
  // g_L = 2c(f − y) [B, k], R{g_L} = 2c·R{f}
  ensure_shape(w.g, nb, k);
  ensure_shape(w.rg, nb, k);
  for (std::size_t i = 0; i < nb; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      w.g(i, j) = 2 * c * (w.out(i, j) - yb(i, j));
      w.rg(i, j) = 2 * c * w.ra[layers](i, j);
    }
  for (std::size_t l = layers; l-- > 0;) {
    const nn::LayerView<const double> lv = model.layer(l);
    const std::size_t off = model.weight_offset(l);
    const MatrixView<const double> a_next =
        l + 1 < layers ? w.cache.inputs[l + 1].cview() : w.out.cview();
    ensure_shape(w.delta, nb, lv.d_out);
    ensure_shape(w.rdelta, nb, lv.d_out);
    layer_signals(lv.activation, w.cache.derivatives[l].cview(), a_next, w.g.cview(), w.rg.cview(),
                  w.rz[l].cview(), w.delta.view(), w.rdelta.view());
    // (H·v)_{W_l} [d_out, d_in] += s·(R{δ}ᵀ [d_out, B]·a_l [B, d_in] + δᵀ·R{a_l})
    const MatrixView<double> h_w(hv + off, lv.d_out, lv.d_in);
    gemm(Trans::T, Trans::N, lv.scale, w.rdelta.cview(), w.cache.inputs[l].cview(), 1.0, h_w);
    if (l > 0) gemm(Trans::T, Trans::N, lv.scale, w.delta.cview(), w.ra[l].cview(), 1.0, h_w);
    if (lv.bias != nullptr) {
      double* h_b = hv + off + lv.d_out * lv.d_in;
      for (std::size_t i = 0; i < nb; ++i) {
        const double* r = w.rdelta.row(i);
        for (std::size_t j = 0; j < lv.d_out; ++j) h_b[j] += r[j];
      }
    }
    if (l == 0) break;
    // g_l [B, d_in] = s·δ·W_l,  R{g_l} = s·(R{δ}·W_l + δ·V_l)
    const MatrixView<const double> v_w(v + off, lv.d_out, lv.d_in);
    ensure_shape(w.g_next, nb, lv.d_in);
    ensure_shape(w.rg_next, nb, lv.d_in);
    gemm(Trans::N, Trans::N, lv.scale, w.delta.cview(), lv.weight, 0.0, w.g_next.view());
    gemm(Trans::N, Trans::N, lv.scale, w.rdelta.cview(), lv.weight, 0.0, w.rg_next.view());
    gemm(Trans::N, Trans::N, lv.scale, w.delta.cview(), v_w, 1.0, w.rg_next.view());
    std::swap(w.g, w.g_next);
    std::swap(w.rg, w.rg_next);
  }
}

}  // namespace

struct LossHessianOperator::Impl {
  std::unique_ptr<nn::Mlp<double>> model;  // the double copy of θ the products are taken at
  std::vector<double> grad0;
  double loss0 = 0;
  // The data, type-erased: hv = H·v summed over the batches of x, y (of the caller's type).
  std::function<void(const double*, double*, HvpWorkspace&)> product;
  HvpWorkspace workspace;  // apply is const but reuses these buffers: one product at a time
};

template <class T>
LossHessianOperator::LossHessianOperator(const nn::Mlp<T>& model, MatrixView<const T> x,
                                         MatrixView<const T> y, const HessianOptions& options)
    : impl_(std::make_unique<Impl>()) {
  require_shape(x, x.rows(), model.input_dim(), "LossHessianOperator (x)");
  require_shape(y, x.rows(), model.output_dim(), "LossHessianOperator (y)");
  Impl& m = *impl_;
  m.model = std::make_unique<nn::Mlp<double>>(model.config());
  const std::size_t p = model.num_params();
  for (std::size_t q = 0; q < p; ++q) m.model->params()[q] = static_cast<double>(model.params()[q]);
  const nn::Mlp<double>* net = m.model.get();
  m.product = [net, x, y, options](const double* v, double* hv, HvpWorkspace& work) {
    const std::size_t n = x.rows();
    const std::size_t bs = resolve_batch(options.batch_size);
    const double c = nn::mse_scale(options.reduction, n, net->output_dim());
    std::fill(hv, hv + net->num_params(), 0.0);
    for (std::size_t s = 0; s < n; s += bs)
      add_batch_hessian_product<T>(*net, x, y, s, std::min(bs, n - s), c, v, hv, work);
  };
  m.grad0.assign(p, 0.0);
  m.loss0 =
      loss_gradient<double, T>(*net, x, y, m.grad0.data(), options.reduction, options.batch_size);
}

LossHessianOperator::~LossHessianOperator() = default;
LossHessianOperator::LossHessianOperator(LossHessianOperator&&) noexcept = default;
LossHessianOperator& LossHessianOperator::operator=(LossHessianOperator&&) noexcept = default;

std::size_t LossHessianOperator::size() const { return impl_->grad0.size(); }
double LossHessianOperator::loss() const noexcept { return impl_->loss0; }
const std::vector<double>& LossHessianOperator::gradient() const noexcept { return impl_->grad0; }

void LossHessianOperator::apply(const double* v, double* hv) const {
  impl_->product(v, hv, impl_->workspace);
}

// ---------------------------------------------------------------------------------------------

template <class T>
GaussNewtonOperator<T>::GaussNewtonOperator(const nn::Mlp<T>& model, MatrixView<const T> x,
                                            const HessianOptions& options)
    : model_(&model), samples_(x.rows()), options_(options) {
  require_shape(x, x.rows(), model.input_dim(), "GaussNewtonOperator (x)");
  if (x.rows() == 0) throw InvalidArgument("GaussNewtonOperator: no samples");
  // The forward pass does not depend on v: run it once per batch and keep its cache (each layer's
  // input and act'), from which every apply takes the JVP and the backward pass.
  const std::size_t bs = resolve_batch(options_.batch_size);
  Matrix<T> out;
  for (std::size_t s = 0; s < samples_; s += bs) {
    const std::size_t nb = std::min(bs, samples_ - s);
    out.resize(nb, model.output_dim());
    model.forward(x.rows_range(s, nb), out.view(), &batches_.emplace_back());
  }
}

template <class T>
void GaussNewtonOperator<T>::apply(const double* v, double* gv) const {
  const std::size_t k = model_->output_dim();
  const std::size_t p = model_->num_params();
  const T two_c = static_cast<T>(2.0 * nn::mse_scale(options_.reduction, samples_, k));
  std::vector<T> vt(p), g(p);
  for (std::size_t q = 0; q < p; ++q) vt[q] = static_cast<T>(v[q]);
  std::fill(gv, gv + p, 0.0);
  Matrix<T> tangent;
  for (const nn::ForwardCache<T>& cache : batches_) {
    const std::size_t nb = cache.inputs[0].rows();
    tangent.resize(nb, k);
    model_->jvp(cache, vt.data(), tangent.view());
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
    if (!(p > 0))
      throw InvalidArgument(
          str_cat("PreconditionedOperator: preconditioner[", i, "] = ", p, " is not > 0"));
    inv_sqrt_[i] = std::isinf(p) ? 0.0 : 1.0 / std::sqrt(p);  // +∞: the parameter is frozen
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
FilledPreconditioner adagrad_filled_preconditioner(std::span<const T> accumulator,
                                                   std::span<const T> gradient, double eps,
                                                   double min_ratio) {
  if (accumulator.size() != gradient.size())
    throw InvalidArgument(str_cat("adagrad_filled_preconditioner: accumulator has ",
                                  accumulator.size(), " entries, the gradient ", gradient.size()));
  if (!(min_ratio >= 0) || !std::isfinite(min_ratio))
    throw InvalidArgument(
        str_cat("adagrad_filled_preconditioner: min_ratio = ", min_ratio, " is not >= 0"));
  if (!(eps >= 0) || !std::isfinite(eps))
    throw InvalidArgument(str_cat("adagrad_filled_preconditioner: eps = ", eps, " is not >= 0"));
  FilledPreconditioner r;
  r.preconditioner.assign(accumulator.size(), std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < accumulator.size(); ++i) {
    const auto s = static_cast<double>(accumulator[i]);
    const auto g = static_cast<double>(gradient[i]);
    if (!(s >= 0) || !std::isfinite(s))
      throw InvalidArgument(
          str_cat("adagrad_filled_preconditioner: accumulator[", i, "] = ", s, " is not >= 0"));
    if (!std::isfinite(g))
      throw InvalidArgument(
          str_cat("adagrad_filled_preconditioner: gradient[", i, "] = ", g, " is not finite"));
    if (s == 0) continue;
    ++r.active;
    if (s >= min_ratio * g * g) {
      ++r.filled;
      r.preconditioner[i] = std::sqrt(s) + eps;
    }
  }
  return r;
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

namespace {

double check_beta1(const char* where, double beta1) {
  if (!(beta1 >= 0 && beta1 < 1))
    throw InvalidArgument(str_cat(where, ": beta1 ", beta1, " outside [0, 1)"));
  return beta1;
}

}  // namespace

double adam_sharpness_threshold(double eta, double beta1) {
  if (!(eta > 0) || !std::isfinite(eta))
    throw InvalidArgument(
        str_cat("adam_sharpness_threshold: eta ", eta, " must be finite and > 0"));
  const double b = check_beta1("adam_sharpness_threshold", beta1);
  return (2 + 2 * b) / ((1 - b) * eta);
}

double adam_critical_rate(double lambda_max_preconditioned, double beta1) {
  const double lambda = check_positive("adam_critical_rate", lambda_max_preconditioned);
  const double b = check_beta1("adam_critical_rate", beta1);
  return (2 + 2 * b) / ((1 - b) * lambda);
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
    // SharpnessResult's convention: 0 where critical_learning_rate_hessian would throw.
    s.eta_crit = std::isfinite(s.lambda_max) && s.lambda_max > 0
                     ? critical_learning_rate_hessian(s.lambda_max)
                     : 0.0;
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
template FilledPreconditioner adagrad_filled_preconditioner<float>(std::span<const float>,
                                                                   std::span<const float>, double,
                                                                   double);
template FilledPreconditioner adagrad_filled_preconditioner<double>(std::span<const double>,
                                                                    std::span<const double>, double,
                                                                    double);
template std::vector<double> adam_preconditioner<float>(std::span<const float>, std::size_t, double,
                                                        double, double);
template std::vector<double> adam_preconditioner<double>(std::span<const double>, std::size_t,
                                                         double, double, double);
template double adagrad_min_scale<float>(std::span<const float>);
template double adagrad_min_scale<double>(std::span<const double>);

}  // namespace catapult::ntk
