#include "catapult/ntk/ntk.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>

#include "catapult/core/error.hpp"
#include "catapult/kernels/gemm.hpp"

namespace catapult::ntk {
namespace {

using kernels::gemm;
using kernels::Trans;

template <class T>
void check_inputs(const char* where, const nn::Mlp<T>& model, MatrixView<const T> x,
                  const NtkOptions& o) {
  if (x.cols() != model.input_dim())
    throw InvalidArgument(
        str_cat(where, ": x has ", x.cols(), " columns, the network takes ", model.input_dim()));
  if (x.rows() == 0) throw InvalidArgument(str_cat(where, ": no samples"));
  if (o.mode == NtkMode::Output && o.output >= model.output_dim())
    throw InvalidArgument(str_cat(where, ": output ", o.output, " >= k = ", model.output_dim()));
}

// Signals of the last layer for the outputs [c0, c0 + kk): D [nb·kk, k], row i·kk + cc holds
// ψ'_{i,c0+cc} in column c0 + cc (δ_{L−1,i,c} = ψ'_ic·e_c).
template <class T>
Matrix<T> last_signals(MatrixView<const T> psi, std::size_t c0, std::size_t kk) {
  const std::size_t nb = psi.rows();
  Matrix<T> d(nb * kk, psi.cols(), T(0));
  for (std::size_t i = 0; i < nb; ++i)
    for (std::size_t cc = 0; cc < kk; ++cc) d(i * kk + cc, c0 + cc) = psi(i, c0 + cc);
  return d;
}

// One step down: D_{l−1} [rows, d_l] = (s_l · D_l · W_l) ∘ act'_{l−1} (row r uses sample r/kk).
template <class T>
Matrix<T> signals_below(const Matrix<T>& d, const nn::LayerView<const T>& layer,
                        MatrixView<const T> deriv_below, std::size_t kk) {
  Matrix<T> out(d.rows(), layer.d_in);
  gemm<T>(Trans::N, Trans::N, layer.scale, d.cview(), layer.weight, T(0), out.view());
  for (std::size_t r = 0; r < out.rows(); ++r) {
    const T* g = deriv_below.row(r / kk);
    T* o = out.row(r);
    for (std::size_t p = 0; p < layer.d_in; ++p) o[p] *= g[p];
  }
  return out;
}

// K += Σ over sample blocks (J ≥ I) of (Dv_I·Dv_Jᵀ) ∘ (s²·a_I·a_Jᵀ + β), with Dv the signal
// matrix viewed as [n·rps, width] (rps rows per sample). Only blocks on or above the diagonal are
// written; the caller mirrors at the end.
template <class T>
void accumulate_layer(MatrixView<const T> dv, std::size_t rps, MatrixView<const T> a, T s2, T beta,
                      std::size_t bs, MatrixView<T> k) {
  const std::size_t n = a.rows();
  Matrix<T> g, gram_a;
  for (std::size_t i0 = 0; i0 < n; i0 += bs) {
    const std::size_t bi = std::min(bs, n - i0);
    for (std::size_t j0 = i0; j0 < n; j0 += bs) {
      const std::size_t bj = std::min(bs, n - j0);
      g.resize(bi * rps, bj * rps);
      gram_a.resize(bi, bj);
      gemm<T>(Trans::N, Trans::T, T(1), dv.rows_range(i0 * rps, bi * rps),
              dv.rows_range(j0 * rps, bj * rps), T(0), g.view());
      gemm<T>(Trans::N, Trans::T, s2, a.rows_range(i0, bi), a.rows_range(j0, bj), T(0),
              gram_a.view());
      for (std::size_t il = 0; il < bi; ++il) {
        const T* arow = gram_a.row(il);
        for (std::size_t rr = 0; rr < rps; ++rr) {
          T* krow = k.row((i0 + il) * rps + rr) + j0 * rps;
          const T* grow = g.row(il * rps + rr);
          if (rps == 1) {
            for (std::size_t jl = 0; jl < bj; ++jl) krow[jl] += grow[jl] * (arow[jl] + beta);
          } else {
            for (std::size_t jl = 0; jl < bj; ++jl) {
              const T av = arow[jl] + beta;
              for (std::size_t qq = 0; qq < rps; ++qq)
                krow[jl * rps + qq] += grow[jl * rps + qq] * av;
            }
          }
        }
      }
    }
  }
}

// The last layer without a Gram product: δ_{L−1,i,c} = ψ'_ic·e_c, so its signal Gram is
// δ_cc'·ψ'_ic·ψ'_jc (Full) or Σ_c ψ'_ic·ψ'_jc over the selected outputs (Traced/Output).
template <class T>
void accumulate_last_layer(MatrixView<const T> psi, std::size_t c0, std::size_t kk, std::size_t rps,
                           MatrixView<const T> a, T scale, T beta, std::size_t bs,
                           MatrixView<T> k) {
  const std::size_t n = a.rows();
  Matrix<T> gram_a;
  for (std::size_t i0 = 0; i0 < n; i0 += bs) {
    const std::size_t bi = std::min(bs, n - i0);
    for (std::size_t j0 = i0; j0 < n; j0 += bs) {
      const std::size_t bj = std::min(bs, n - j0);
      gram_a.resize(bi, bj);
      gemm<T>(Trans::N, Trans::T, scale * scale, a.rows_range(i0, bi), a.rows_range(j0, bj), T(0),
              gram_a.view());
      for (std::size_t il = 0; il < bi; ++il) {
        const T* pi = psi.row(i0 + il) + c0;
        const T* arow = gram_a.row(il);
        if (rps == 1) {
          T* krow = k.row(i0 + il) + j0;
          for (std::size_t jl = 0; jl < bj; ++jl) {
            const T* pj = psi.row(j0 + jl) + c0;
            T g = 0;
            for (std::size_t c = 0; c < kk; ++c) g += pi[c] * pj[c];
            krow[jl] += g * (arow[jl] + beta);
          }
        } else {
          for (std::size_t c = 0; c < kk; ++c) {
            T* krow = k.row((i0 + il) * rps + c) + j0 * rps + c;
            for (std::size_t jl = 0; jl < bj; ++jl)
              krow[jl * rps] += pi[c] * psi(j0 + jl, c0 + c) * (arow[jl] + beta);
          }
        }
      }
    }
  }
}

template <class T>
std::size_t dense_block(const NtkOptions& o, std::size_t rps) {
  return o.batch_size != 0 ? o.batch_size : std::max<std::size_t>(1, 2048 / rps);
}

}  // namespace

const char* to_string(NtkMode mode) noexcept {
  switch (mode) {
    case NtkMode::Full:
      return "full";
    case NtkMode::Traced:
      return "traced";
    case NtkMode::Output:
      return "output";
  }
  return "unknown";
}

NtkMode parse_ntk_mode(const char* name) {
  const std::string_view s(name == nullptr ? "" : name);
  if (s == "full") return NtkMode::Full;
  if (s == "traced") return NtkMode::Traced;
  if (s == "output") return NtkMode::Output;
  throw InvalidArgument(
      str_cat("parse_ntk_mode: unknown mode '", s, "' (expected full, traced or output)"));
}

std::size_t ntk_size(NtkMode mode, std::size_t n, std::size_t k) noexcept {
  return mode == NtkMode::Full ? n * k : n;
}

CriticalRateBounds critical_learning_rate_bounds(NtkMode mode, double lambda_max, std::size_t n,
                                                 std::size_t k, nn::MseReduction reduction) {
  if (!std::isfinite(lambda_max) || lambda_max <= 0)
    throw InvalidArgument(
        str_cat("critical_learning_rate_bounds: lambda_max ", lambda_max, " is not > 0"));
  if (n == 0 || k == 0)
    throw InvalidArgument(str_cat("critical_learning_rate_bounds: n = ", n, ", k = ", k));
  const auto rate = [&](double lambda_full) {
    return nn::mse_critical_learning_rate(lambda_full, reduction, n, k);
  };
  const double kd = static_cast<double>(k);
  CriticalRateBounds b;
  if (mode == NtkMode::Full || k == 1) {
    b.lower = b.upper = rate(lambda_max);
  } else if (mode == NtkMode::Traced) {
    b.lower = rate(kd * lambda_max);  // λmax(K_full) ≤ k·λ_t
    b.upper = rate(lambda_max / kd);  // λmax(K_full) ≥ λ_t/k
  } else {
    b.lower = 0;                 // other outputs may be arbitrarily sharper
    b.upper = rate(lambda_max);  // λmax(K_full) ≥ λmax(K_cc)
  }
  return b;
}

template <class T>
Matrix<T> empirical_ntk(const nn::Mlp<T>& model, MatrixView<const T> x, const NtkOptions& o) {
  check_inputs("empirical_ntk", model, x, o);
  const std::size_t n = x.rows();
  const std::size_t k = model.output_dim();
  const std::size_t layers = model.num_layers();
  const std::size_t kk = o.mode == NtkMode::Output ? 1 : k;         // signals per sample
  const std::size_t c0 = o.mode == NtkMode::Output ? o.output : 0;  // first output
  const std::size_t rps = o.mode == NtkMode::Full ? k : 1;          // kernel rows per sample
  const std::size_t bs = dense_block<T>(o, rps);
  const T beta = model.config().bias ? T(1) : T(0);

  nn::ForwardCache<T> cache;
  Matrix<T> out(n, k);
  model.forward(x, out.view(), &cache);

  const std::size_t side = ntk_size(o.mode, n, k);
  Matrix<T> kernel(side, side, T(0));
  const MatrixView<const T> psi = cache.derivatives[layers - 1].cview();
  accumulate_last_layer<T>(psi, c0, kk, rps, cache.inputs[layers - 1].cview(),
                           model.layer(layers - 1).scale, beta, bs, kernel.view());
  Matrix<T> d;  // D_l, the signals of the layer being added
  if (layers >= 2)
    d = signals_below<T>(last_signals<T>(psi, c0, kk), model.layer(layers - 1),
                         cache.derivatives[layers - 2].cview(), kk);
  for (std::size_t l = layers - 1; l-- > 0;) {
    const nn::LayerView<const T> lv = model.layer(l);
    // Full: rows (i, c) of width d_{l+1}; Traced/Output: rows i of width kk·d_{l+1}.
    const MatrixView<const T> dv(d.data(), n * rps, kk * lv.d_out / rps);
    accumulate_layer<T>(dv, rps, cache.inputs[l].cview(), lv.scale * lv.scale, beta, bs,
                        kernel.view());
    if (l > 0) d = signals_below<T>(d, lv, cache.derivatives[l - 1].cview(), kk);
  }
  // Mirror the upper triangle, tile by tile (a plain column walk thrashes the cache).
  constexpr std::size_t kTile = 64;
  for (std::size_t r0 = 0; r0 < side; r0 += kTile)
    for (std::size_t q0 = 0; q0 <= r0; q0 += kTile)
      for (std::size_t r = r0; r < std::min(side, r0 + kTile); ++r)
        for (std::size_t q = q0; q < std::min(r, q0 + kTile); ++q) kernel(r, q) = kernel(q, r);
  return kernel;
}

double dense_ntk_flops(const nn::MlpConfig& config, std::size_t n, const NtkOptions& o) {
  const std::size_t layers = config.widths.size() - 1;
  const auto k = static_cast<double>(config.widths.back());
  const double kk = o.mode == NtkMode::Output ? 1.0 : k;
  const auto nn_ = static_cast<double>(n);
  const double side = o.mode == NtkMode::Full ? nn_ * k : nn_;
  double flops = 0;
  for (std::size_t l = 0; l < layers; ++l) {
    const auto d_in = static_cast<double>(config.widths[l]);
    const auto d_out = static_cast<double>(config.widths[l + 1]);
    // Gram of the signals (width kk·d_out/(side/n)), halved by symmetry: side²·width.
    // The last layer's signal Gram is diagonal in the outputs and computed without a product.
    if (l + 1 < layers) flops += side * side * (kk * d_out * nn_ / side);
    flops += nn_ * nn_ * d_in;                          // Gram of the inputs, halved
    if (l > 0) flops += 2.0 * nn_ * kk * d_out * d_in;  // back-propagation of the signals
  }
  return flops;
}

template <class T>
Matrix<T> jacobian(const nn::Mlp<T>& model, MatrixView<const T> x) {
  check_inputs("jacobian", model, x, {});
  const std::size_t n = x.rows();
  const std::size_t k = model.output_dim();
  const std::size_t p = model.num_params();
  Matrix<T> jac(n * k, p);
  nn::ForwardCache<T> cache;
  Matrix<T> out(1, k), unit(1, k);
  for (std::size_t i = 0; i < n; ++i) {
    model.forward(x.rows_range(i, 1), out.view(), &cache);
    for (std::size_t c = 0; c < k; ++c) {
      unit.fill(T(0));
      unit(0, c) = T(1);
      model.backward(cache, unit.cview(), jac.row(i * k + c));
    }
  }
  return jac;
}

template <class T>
Matrix<double> ntk_from_jacobian(MatrixView<const T> jac, std::size_t k, const NtkOptions& o) {
  if (k == 0 || jac.rows() % k != 0)
    throw InvalidArgument(str_cat("ntk_from_jacobian: ", jac.rows(), " rows is not n·k, k = ", k));
  const std::size_t n = jac.rows() / k;
  auto dot = [&](std::size_t r, std::size_t q) {
    double acc = 0;
    for (std::size_t p = 0; p < jac.cols(); ++p)
      acc += static_cast<double>(jac(r, p)) * static_cast<double>(jac(q, p));
    return acc;
  };
  const std::size_t side = ntk_size(o.mode, n, k);
  Matrix<double> kernel(side, side);
  for (std::size_t r = 0; r < side; ++r)
    for (std::size_t q = 0; q < side; ++q) {
      switch (o.mode) {
        case NtkMode::Full:
          kernel(r, q) = dot(r, q);
          break;
        case NtkMode::Traced: {
          double acc = 0;
          for (std::size_t c = 0; c < k; ++c) acc += dot(r * k + c, q * k + c);
          kernel(r, q) = acc;
          break;
        }
        case NtkMode::Output:
          kernel(r, q) = dot(r * k + o.output, q * k + o.output);
          break;
      }
    }
  return kernel;
}

// ---------------------------------------------------------------------------------------------
// Matrix-free operator

template <class T>
struct NtkOperator<T>::Impl {
  const nn::Mlp<T>* model;
  NtkOptions options;
  std::size_t n, k, layers, bs;
  std::vector<std::size_t> starts;          // first sample of each batch
  std::vector<nn::ForwardCache<T>> caches;  // one per batch
  Matrix<T> outputs;                        // [n, k]
  bool collapse = false;                    // traced: ω-weighted φ' for layer L−2
  std::vector<T> omega;                     // ω_p = s_{L−1}·‖W_{L−1}[:, p]‖
  // Scratch, reused across apply() calls (apply is not re-entrant).
  mutable AlignedVector<T> grad, grad_batch;
  mutable std::vector<Matrix<T>> big_m;         // traced: M_l [r_l, d_l]
  mutable std::vector<std::vector<T>> small_m;  // traced: m_l [r_l]

  [[nodiscard]] std::size_t batch_rows(std::size_t b) const {
    return (b + 1 < starts.size() ? starts[b + 1] : n) - starts[b];
  }

  // Traced mode: the per-layer signal features U_l of batch b (see the header).
  [[nodiscard]] std::vector<Matrix<T>> features(std::size_t b) const {
    const nn::ForwardCache<T>& cache = caches[b];
    const std::size_t nb = batch_rows(b);
    std::vector<Matrix<T>> u(layers);
    const MatrixView<const T> psi = cache.derivatives[layers - 1].cview();
    u[layers - 1].resize(nb, k);
    for (std::size_t i = 0; i < nb; ++i)
      std::memcpy(u[layers - 1].row(i), psi.row(i), k * sizeof(T));
    if (layers < 2) return u;
    if (collapse) {
      const std::size_t h = model->layer(layers - 2).d_out;
      const MatrixView<const T> phi = cache.derivatives[layers - 2].cview();
      u[layers - 2].resize(nb, h);
      for (std::size_t i = 0; i < nb; ++i)
        for (std::size_t p = 0; p < h; ++p) u[layers - 2](i, p) = phi(i, p) * omega[p];
    }
    if (!collapse || layers >= 3) {
      Matrix<T> d = last_signals<T>(psi, 0, k);
      for (std::size_t l = layers - 1; l-- > 0;) {
        d = signals_below<T>(d, model->layer(l + 1), cache.derivatives[l].cview(), k);
        if (!(collapse && l == layers - 2)) {
          // D_l [nb·k, d_{l+1}] viewed as [nb, k·d_{l+1}]: the same memory.
          u[l] = d;
          u[l].resize(nb, k * model->layer(l).d_out);
        }
      }
    }
    return u;
  }

  void apply_traced(const double* v, double* y) const {
    const T beta = model->config().bias ? T(1) : T(0);
    for (std::size_t b = 0; b < starts.size(); ++b) {
      const std::vector<Matrix<T>> u = features(b);
      const std::size_t nb = batch_rows(b);
      for (std::size_t l = 0; l < layers; ++l) {
        const nn::LayerView<const T> lv = model->layer(l);
        Matrix<T> uv = u[l];
        for (std::size_t i = 0; i < nb; ++i) {
          const T vi = static_cast<T>(v[starts[b] + i]);
          T* row = uv.row(i);
          for (std::size_t p = 0; p < uv.cols(); ++p) row[p] *= vi;
        }
        if (b == 0) {
          big_m[l].resize(uv.cols(), lv.d_in);
          small_m[l].assign(uv.cols(), T(0));
        }
        gemm<T>(Trans::T, Trans::N, lv.scale * lv.scale, uv.cview(), caches[b].inputs[l].cview(),
                b == 0 ? T(0) : T(1), big_m[l].view());
        if (beta != T(0))
          for (std::size_t i = 0; i < nb; ++i)
            for (std::size_t p = 0; p < uv.cols(); ++p) small_m[l][p] += uv(i, p);
      }
    }
    Matrix<T> tmp;
    for (std::size_t b = 0; b < starts.size(); ++b) {
      const std::vector<Matrix<T>> u = features(b);
      const std::size_t nb = batch_rows(b);
      for (std::size_t i = 0; i < nb; ++i) y[starts[b] + i] = 0.0;
      for (std::size_t l = 0; l < layers; ++l) {
        tmp.resize(nb, big_m[l].rows());
        gemm<T>(Trans::N, Trans::T, T(1), caches[b].inputs[l].cview(), big_m[l].cview(), T(0),
                tmp.view());
        for (std::size_t i = 0; i < nb; ++i) {
          const T* ur = u[l].row(i);
          const T* tr = tmp.row(i);
          T acc = 0;
          for (std::size_t p = 0; p < tmp.cols(); ++p) acc += ur[p] * (tr[p] + small_m[l][p]);
          y[starts[b] + i] += static_cast<double>(acc);
        }
      }
    }
  }

  void apply_vjp_jvp(const double* v, double* y) const {
    const bool full = options.mode == NtkMode::Full;
    const std::size_t p = model->num_params();
    std::fill(grad.begin(), grad.end(), T(0));
    Matrix<T> d_out;
    for (std::size_t b = 0; b < starts.size(); ++b) {
      const std::size_t nb = batch_rows(b);
      d_out.resize(nb, k);
      d_out.fill(T(0));
      for (std::size_t i = 0; i < nb; ++i) {
        const std::size_t s = starts[b] + i;
        if (full)
          for (std::size_t c = 0; c < k; ++c) d_out(i, c) = static_cast<T>(v[s * k + c]);
        else
          d_out(i, options.output) = static_cast<T>(v[s]);
      }
      model->backward(caches[b], d_out.cview(), grad_batch.data());
      for (std::size_t q = 0; q < p; ++q) grad[q] += grad_batch[q];
    }
    Matrix<T> tangent;
    for (std::size_t b = 0; b < starts.size(); ++b) {
      tangent.resize(batch_rows(b), k);
      model->jvp(caches[b], grad.data(), tangent.view());  // from the cache: no forward GEMMs
      for (std::size_t i = 0; i < tangent.rows(); ++i) {
        const std::size_t s = starts[b] + i;
        if (full)
          for (std::size_t c = 0; c < k; ++c) y[s * k + c] = static_cast<double>(tangent(i, c));
        else
          y[s] = static_cast<double>(tangent(i, options.output));
      }
    }
  }
};

template <class T>
NtkOperator<T>::NtkOperator(const nn::Mlp<T>& model, MatrixView<const T> x,
                            const NtkOptions& options)
    : impl_(std::make_unique<Impl>()) {
  check_inputs("NtkOperator", model, x, options);
  Impl& m = *impl_;
  m.model = &model;
  m.options = options;
  m.n = x.rows();
  m.k = model.output_dim();
  m.layers = model.num_layers();
  m.bs = options.batch_size != 0 ? options.batch_size : 4096;
  m.outputs.resize(m.n, m.k);
  for (std::size_t s = 0; s < m.n; s += m.bs) {
    const std::size_t nb = std::min(m.bs, m.n - s);
    m.starts.push_back(s);
    m.caches.emplace_back();
    model.forward(x.rows_range(s, nb), m.outputs.view().rows_range(s, nb), &m.caches.back());
  }
  if (options.mode == NtkMode::Traced) {
    m.collapse = m.layers >= 2 && model.config().output_activation == nn::Activation::Identity;
    if (m.collapse) {
      const nn::LayerView<const T> last = model.layer(m.layers - 1);
      m.omega.assign(last.d_in, T(0));
      for (std::size_t p = 0; p < last.d_in; ++p) {
        double acc = 0;
        for (std::size_t c = 0; c < last.d_out; ++c)
          acc += static_cast<double>(last.weight(c, p)) * static_cast<double>(last.weight(c, p));
        m.omega[p] = static_cast<T>(static_cast<double>(last.scale) * std::sqrt(acc));
      }
    }
    m.big_m.resize(m.layers);
    m.small_m.resize(m.layers);
  } else {
    m.grad.assign(model.num_params(), T(0));
    m.grad_batch.assign(model.num_params(), T(0));
  }
}

template <class T>
NtkOperator<T>::~NtkOperator() = default;
template <class T>
NtkOperator<T>::NtkOperator(NtkOperator&&) noexcept = default;
template <class T>
NtkOperator<T>& NtkOperator<T>::operator=(NtkOperator&&) noexcept = default;

template <class T>
std::size_t NtkOperator<T>::size() const {
  return ntk_size(impl_->options.mode, impl_->n, impl_->k);
}

template <class T>
void NtkOperator<T>::apply(const double* x, double* y) const {
  if (impl_->options.mode == NtkMode::Traced)
    impl_->apply_traced(x, y);
  else
    impl_->apply_vjp_jvp(x, y);
}

template <class T>
Matrix<T> NtkOperator<T>::outputs() const {
  return impl_->outputs;
}

template <class T>
double NtkOperator<T>::flops_per_apply() const noexcept {
  const Impl& m = *impl_;
  const auto n = static_cast<double>(m.n);
  const auto k = static_cast<double>(m.k);
  double flops = 0;
  for (std::size_t l = 0; l < m.layers; ++l) {
    const auto d_in = static_cast<double>(m.model->layer(l).d_in);
    const auto d_out = static_cast<double>(m.model->layer(l).d_out);
    if (m.options.mode != NtkMode::Traced) {
      flops += 4.0 * n * d_in * d_out;             // weight gradient + weight tangent
      if (l > 0) flops += 4.0 * n * d_in * d_out;  // input gradient + input tangent
    } else {
      double r = k * d_out;
      if (l + 1 == m.layers)
        r = k;
      else if (m.collapse && l + 2 == m.layers)
        r = d_out;
      flops += 4.0 * n * r * d_in;
    }
  }
  return flops;
}

template <class T>
ConditionResult ntk_condition_number(const nn::Mlp<T>& model, MatrixView<const T> x,
                                     const NtkOptions& options, const EigenOptions& eigen,
                                     std::size_t dense_limit) {
  check_inputs("ntk_condition_number", model, x, options);
  if (ntk_size(options.mode, x.rows(), model.output_dim()) <= dense_limit) {
    const Matrix<T> kernel = empirical_ntk(model, x, options);
    return dense_condition_number(kernel.cview(), eigen);
  }
  return condition_number(NtkOperator<T>(model, x, options), eigen);
}

template ConditionResult ntk_condition_number<float>(const nn::Mlp<float>&, MatrixView<const float>,
                                                     const NtkOptions&, const EigenOptions&,
                                                     std::size_t);
template ConditionResult ntk_condition_number<double>(const nn::Mlp<double>&,
                                                      MatrixView<const double>, const NtkOptions&,
                                                      const EigenOptions&, std::size_t);
template Matrix<float> empirical_ntk<float>(const nn::Mlp<float>&, MatrixView<const float>,
                                            const NtkOptions&);
template Matrix<double> empirical_ntk<double>(const nn::Mlp<double>&, MatrixView<const double>,
                                              const NtkOptions&);
template Matrix<float> jacobian<float>(const nn::Mlp<float>&, MatrixView<const float>);
template Matrix<double> jacobian<double>(const nn::Mlp<double>&, MatrixView<const double>);
template Matrix<double> ntk_from_jacobian<float>(MatrixView<const float>, std::size_t,
                                                 const NtkOptions&);
template Matrix<double> ntk_from_jacobian<double>(MatrixView<const double>, std::size_t,
                                                  const NtkOptions&);
template class NtkOperator<float>;
template class NtkOperator<double>;

}  // namespace catapult::ntk
