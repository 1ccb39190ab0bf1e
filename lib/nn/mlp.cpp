#include "catapult/nn/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "catapult/core/error.hpp"
#include "catapult/kernels/elementwise.hpp"
#include "core/parallel.hpp"

namespace catapult::nn {
namespace {

using kernels::gemm;
using kernels::GemmEpilogue;
using kernels::Trans;

// Makes m a dense rows × cols matrix, reusing its storage when the size allows.
template <class T>
void ensure_shape(Matrix<T>& m, std::size_t rows, std::size_t cols) {
  if (m.rows() != rows || m.cols() != cols) m.resize(rows, cols);
}

// The elementwise passes of the step, split across threads for large batches by
// detail::for_blocks: copies by blocks of rows, the passes with column sums by blocks of columns,
// each block walking all its rows in order, so every element and every sum is computed as on one
// thread.

// dst (dense, same shape) = src, row by row (src may have ld > cols).
template <class T>
void copy_rows(MatrixView<const T> src, MatrixView<T> dst) noexcept {
  detail::for_blocks(src.rows(), src.cols(), [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i)
      std::memcpy(dst.row(i), src.row(i), src.cols() * sizeof(T));
  });
}

// d(i, :) *= m(i, :) for every row.
template <class T>
void multiply_rows(MatrixView<T> d, MatrixView<const T> m) noexcept {
  detail::for_blocks(d.rows(), d.cols(), [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) kernels::multiply(d.cols(), d.row(i), m.row(i), d.row(i));
  });
}

// out[j] = Σ_i x(i, j): the bias gradient (column sums of dZ), rows added in order.
template <class T>
void column_sums(MatrixView<const T> x, T* out) noexcept {
  detail::for_blocks(x.cols(), x.rows(), [&](std::size_t j0, std::size_t j1) {
    for (std::size_t j = j0; j < j1; ++j) out[j] = T(0);
    for (std::size_t i = 0; i < x.rows(); ++i) {
      const T* r = x.row(i);
      for (std::size_t j = j0; j < j1; ++j) out[j] += r[j];
    }
  });
}

// d(i, :) *= m(i, :) for every row, and out[j] = Σ_i d(i, j) of the product (the bias gradient)
// while the row is in L1: the arithmetic of multiply_rows then column_sums, in one pass.
template <class T>
void multiply_rows_and_column_sums(MatrixView<T> d, MatrixView<const T> m, T* out) noexcept {
  detail::for_blocks(d.cols(), d.rows(), [&](std::size_t j0, std::size_t j1) {
    for (std::size_t j = j0; j < j1; ++j) out[j] = T(0);
    for (std::size_t i = 0; i < d.rows(); ++i) {
      T* r = d.row(i);
      kernels::multiply(j1 - j0, r + j0, m.row(i) + j0, r + j0);
      for (std::size_t j = j0; j < j1; ++j) out[j] += r[j];
    }
  });
}

// The update u restricted to the entries from `offset` on.
template <class T>
kernels::ParamUpdate<T> shifted(const kernels::ParamUpdate<T>& u, std::size_t offset) noexcept {
  kernels::ParamUpdate<T> s = u;
  const std::size_t states = kernels::state_buffers(u.rule.kind);
  s.params += offset;
  if (states >= 1) s.state0 += offset;
  if (states >= 2) s.state1 += offset;
  return s;
}

// dZ of the output layer: d_out ⊙ act'(z_{L−1}) written into `buffer`, or d_out itself when the
// output activation is the identity.
template <class T>
MatrixView<const T> output_delta(MatrixView<const T> d_out, Activation output,
                                 MatrixView<const T> derivative, Matrix<T>& buffer) {
  if (output == Activation::Identity) return d_out;
  ensure_shape(buffer, d_out.rows(), d_out.cols());
  copy_rows(d_out, buffer.view());
  multiply_rows(buffer.view(), derivative);
  return buffer.cview();
}

}  // namespace

const char* to_string(Parameterization p) noexcept {
  return p == Parameterization::Ntk ? "ntk" : "standard";
}

Parameterization parse_parameterization(std::string_view name) {
  if (name == "standard") return Parameterization::Standard;
  if (name == "ntk") return Parameterization::Ntk;
  throw InvalidArgument(
      str_cat("unknown parameterization '", std::string(name), "' (expected standard or ntk)"));
}

Activation parse_activation(std::string_view name) {
  if (name == "relu") return Activation::Relu;
  if (name == "tanh") return Activation::Tanh;
  if (name == "identity" || name == "linear") return Activation::Identity;
  throw InvalidArgument(
      str_cat("unknown activation '", std::string(name), "' (expected relu, tanh or identity)"));
}

template <class T>
Mlp<T>::Mlp(MlpConfig config) : config_(std::move(config)) {
  if (config_.widths.size() < 2)
    throw InvalidArgument(
        str_cat("Mlp: need at least two widths (input and output), got ", config_.widths.size()));
  std::size_t p = 0;
  for (std::size_t l = 0; l < config_.widths.size(); ++l) {
    if (config_.widths[l] == 0) throw InvalidArgument(str_cat("Mlp: width ", l, " is zero"));
  }
  offsets_.resize(num_layers());
  for (std::size_t l = 0; l < num_layers(); ++l) {
    offsets_[l] = p;
    p += config_.widths[l + 1] * config_.widths[l] + (config_.bias ? config_.widths[l + 1] : 0);
  }
  params_.assign(p, T(0));
}

template <class T>
T Mlp<T>::layer_scale(std::size_t l) const noexcept {
  return config_.parameterization == Parameterization::Ntk
             ? static_cast<T>(1.0 / std::sqrt(static_cast<double>(config_.widths[l])))
             : T(1);
}

template <class T>
Activation Mlp<T>::layer_activation(std::size_t l) const noexcept {
  return l + 1 == num_layers() ? config_.output_activation : config_.hidden_activation;
}

template <class T>
LayerView<T> Mlp<T>::layer(std::size_t l) noexcept {
  const std::size_t d_in = config_.widths[l], d_out = config_.widths[l + 1];
  T* w = params_.data() + offsets_[l];
  return {MatrixView<T>(w, d_out, d_in),
          config_.bias ? w + d_out * d_in : nullptr,
          d_in,
          d_out,
          layer_activation(l),
          layer_scale(l)};
}

template <class T>
LayerView<const T> Mlp<T>::layer(std::size_t l) const noexcept {
  const std::size_t d_in = config_.widths[l], d_out = config_.widths[l + 1];
  const T* w = params_.data() + offsets_[l];
  return {MatrixView<const T>(w, d_out, d_in),
          config_.bias ? w + d_out * d_in : nullptr,
          d_in,
          d_out,
          layer_activation(l),
          layer_scale(l)};
}

template <class T>
void Mlp<T>::init(Rng& rng) {
  for (std::size_t l = 0; l < num_layers(); ++l) {
    const std::size_t d_in = config_.widths[l], d_out = config_.widths[l + 1];
    const std::size_t count = d_out * d_in + (config_.bias ? d_out : 0);
    T* p = params_.data() + offsets_[l];
    if (config_.parameterization == Parameterization::Ntk) {
      for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<T>(rng.normal());
    } else {
      const double bound = 1.0 / std::sqrt(static_cast<double>(d_in));
      for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<T>(rng.uniform(-bound, bound));
    }
  }
}

template <class T>
void Mlp<T>::forward(MatrixView<const T> x, MatrixView<T> out, ForwardCache<T>* cache) const {
  const std::size_t batch = x.rows();
  const std::size_t layers = num_layers();
  require_shape(x, batch, input_dim(), "Mlp::forward (x)");
  require_shape(out, batch, output_dim(), "Mlp::forward (out)");
  Matrix<T> ping, pong;  // activations between layers when there is no cache
  MatrixView<const T> a = x;
  if (cache != nullptr) {
    cache->inputs.resize(layers);
    cache->derivatives.resize(layers);
    ensure_shape(cache->inputs[0], batch, input_dim());
    copy_rows(x, cache->inputs[0].view());
    a = cache->inputs[0].cview();
  }
  for (std::size_t l = 0; l < layers; ++l) {
    const LayerView<const T> lv = layer(l);
    MatrixView<T> z;
    if (l + 1 == layers) {
      z = out;
    } else if (cache != nullptr) {
      ensure_shape(cache->inputs[l + 1], batch, lv.d_out);
      z = cache->inputs[l + 1].view();
    } else {
      Matrix<T>& next = (l % 2 == 0) ? ping : pong;
      ensure_shape(next, batch, lv.d_out);
      z = next.view();
    }
    GemmEpilogue<T> ep;
    ep.bias = lv.bias;
    ep.activation = lv.activation;
    if (cache != nullptr) {
      ensure_shape(cache->derivatives[l], batch, lv.d_out);
      ep.derivative = cache->derivatives[l].view();
    }
    // z [B, d_out] = s · a [B, d_in] · Wᵀ [d_in, d_out] + b, then act, fused.
    gemm(Trans::N, Trans::T, lv.scale, a, lv.weight, T(0), z, ep);
    a = z;
  }
}

template <class T>
void Mlp<T>::backward(const ForwardCache<T>& cache, MatrixView<const T> d_out, T* d_params,
                      MatrixView<T> d_x) const {
  const std::size_t layers = num_layers();
  if (cache.inputs.size() != layers || cache.derivatives.size() != layers)
    throw InvalidArgument(str_cat("Mlp::backward: the cache holds ", cache.inputs.size(),
                                  " layers, the network has ", layers,
                                  " (run forward with a cache first)"));
  const std::size_t batch = cache.inputs[0].rows();
  require_shape(d_out, batch, output_dim(), "Mlp::backward (d_out)");
  if (d_x.data() != nullptr) require_shape(d_x, batch, input_dim(), "Mlp::backward (d_x)");
  const bool want_dx = d_x.data() != nullptr;
  if (d_params == nullptr && !want_dx && num_params() > 0)
    throw InvalidArgument("Mlp::backward: d_params is null and no d_x is asked for");
  for (std::size_t l = 0; l < layers; ++l) {
    require_shape(cache.inputs[l].cview(), batch, config_.widths[l], "Mlp::backward (cache)");
    require_shape(cache.derivatives[l].cview(), batch, config_.widths[l + 1],
                  "Mlp::backward (cache)");
  }
  // dZ_l and the next dA, swapped each layer; held by the cache so steps do not allocate.
  Matrix<T>* dz_buf = &cache.scratch[0];
  Matrix<T>* da_buf = &cache.scratch[1];
  // dZ_{L-1} = d_out ⊙ act'(z_{L-1}); with an identity output d_out is dZ itself.
  MatrixView<const T> dz = output_delta(d_out, layer_activation(layers - 1),
                                        cache.derivatives[layers - 1].cview(), *dz_buf);
  for (std::size_t l = layers; l-- > 0;) {
    const LayerView<const T> lv = layer(l);
    const MatrixView<const T> a = cache.inputs[l].cview();
    // dW [d_out, d_in] = s · dZᵀ [d_out, B] · a [B, d_in]
    if (d_params != nullptr) {
      MatrixView<T> d_w(d_params + offsets_[l], lv.d_out, lv.d_in);
      gemm(Trans::T, Trans::N, lv.scale, dz, a, T(0), d_w);
      if (lv.bias != nullptr) column_sums(dz, d_params + offsets_[l] + lv.d_out * lv.d_in);
    }
    if (l == 0 && !want_dx) break;
    // dA_l [B, d_in] = s · dZ [B, d_out] · W [d_out, d_in]
    MatrixView<T> d_a;
    if (l == 0) {
      d_a = d_x;
    } else {
      ensure_shape(*da_buf, batch, lv.d_in);
      d_a = da_buf->view();
    }
    gemm(Trans::N, Trans::N, lv.scale, dz, lv.weight, T(0), d_a);
    if (l == 0) break;
    multiply_rows(d_a, cache.derivatives[l - 1].cview());
    std::swap(dz_buf, da_buf);
    dz = dz_buf->cview();
  }
}

template <class T>
double Mlp<T>::backward_update(const ForwardCache<T>& cache, MatrixView<const T> d_out,
                               const kernels::ParamUpdate<T>& update) {
  const std::size_t layers = num_layers();
  if (cache.inputs.size() != layers || cache.derivatives.size() != layers)
    throw InvalidArgument(str_cat("Mlp::backward_update: the cache holds ", cache.inputs.size(),
                                  " layers, the network has ", layers,
                                  " (run forward with a cache first)"));
  if (update.params != params_.data())
    throw InvalidArgument("Mlp::backward_update: the update is not of this network's parameters");
  const std::size_t batch = cache.inputs[0].rows();
  require_shape(d_out, batch, output_dim(), "Mlp::backward_update (d_out)");
  std::size_t largest = 0, widest = 0;
  for (std::size_t l = 0; l < layers; ++l) {
    require_shape(cache.inputs[l].cview(), batch, config_.widths[l],
                  "Mlp::backward_update (cache)");
    require_shape(cache.derivatives[l].cview(), batch, config_.widths[l + 1],
                  "Mlp::backward_update (cache)");
    largest = std::max(largest, config_.widths[l + 1] * config_.widths[l]);
    widest = std::max(widest, config_.widths[l + 1]);
  }
  Matrix<T>& c_scratch = cache.update_scratch[0];
  Matrix<T>& db = cache.update_scratch[1];
  if (c_scratch.size() < largest) c_scratch.resize(1, largest);
  if (db.size() < widest) db.resize(1, widest);
  Matrix<T>* dz_buf = &cache.scratch[0];
  Matrix<T>* da_buf = &cache.scratch[1];
  MatrixView<const T> dz = output_delta(d_out, layer_activation(layers - 1),
                                        cache.derivatives[layers - 1].cview(), *dz_buf);
  if (config_.bias) column_sums(dz, db.data());
  double squared_norm = 0.0;
  for (std::size_t l = layers; l-- > 0;) {
    const LayerView<const T> lv = std::as_const(*this).layer(l);
    const MatrixView<const T> a = cache.inputs[l].cview();
    // dA_l [B, d_in] = s · dZ [B, d_out] · W [d_out, d_in], from W before its update.
    MatrixView<T> d_a;
    if (l > 0) {
      ensure_shape(*da_buf, batch, lv.d_in);
      d_a = da_buf->view();
      gemm(Trans::N, Trans::N, lv.scale, dz, lv.weight, T(0), d_a);
    }
    // W ← update(W, s · dZᵀ [d_out, B] · a [B, d_in]), tile by tile.
    GemmEpilogue<T> ep;
    const kernels::ParamUpdate<T> u = shifted(update, offsets_[l]);
    ep.update = &u;
    ep.update_ld = lv.d_in;
    double sq = 0.0;
    ep.squared_norm = &sq;
    gemm(Trans::T, Trans::N, lv.scale, dz, a, T(0),
         MatrixView<T>(c_scratch.data(), lv.d_out, lv.d_in), ep);
    squared_norm += sq;
    if (config_.bias) {
      squared_norm += kernels::squared_norm(db.data(), lv.d_out);
      kernels::apply_update(shifted(update, offsets_[l] + lv.d_out * lv.d_in), db.data(), lv.d_out);
    }
    if (l == 0) break;
    // dZ_{l−1} = dA_l ⊙ act'(z_{l−1}), and its column sums: the bias gradient of layer l − 1.
    if (config_.bias)
      multiply_rows_and_column_sums(d_a, cache.derivatives[l - 1].cview(), db.data());
    else
      multiply_rows(d_a, cache.derivatives[l - 1].cview());
    std::swap(dz_buf, da_buf);
    dz = dz_buf->cview();
  }
  return squared_norm;
}

template <class T>
void Mlp<T>::jvp(MatrixView<const T> x, const T* v, MatrixView<T> tangent,
                 MatrixView<T> out) const {
  const std::size_t batch = x.rows();
  const std::size_t layers = num_layers();
  require_shape(x, batch, input_dim(), "Mlp::jvp (x)");
  require_shape(tangent, batch, output_dim(), "Mlp::jvp (tangent)");
  if (out.data() != nullptr) require_shape(out, batch, output_dim(), "Mlp::jvp (out)");
  if (v == nullptr && num_params() > 0) throw InvalidArgument("Mlp::jvp: v is null");
  Matrix<T> a_buf[2], t_buf[2], deriv;
  MatrixView<const T> a = x;
  MatrixView<const T> t;  // da_l; empty (zero) for l = 0 since x does not depend on θ
  for (std::size_t l = 0; l < layers; ++l) {
    const LayerView<const T> lv = layer(l);
    const bool last = l + 1 == layers;
    MatrixView<T> a_next, t_next;
    if (last && out.data() != nullptr) {
      a_next = out;
    } else {
      ensure_shape(a_buf[l % 2], batch, lv.d_out);
      a_next = a_buf[l % 2].view();
    }
    if (last) {
      t_next = tangent;
    } else {
      ensure_shape(t_buf[l % 2], batch, lv.d_out);
      t_next = t_buf[l % 2].view();
    }
    ensure_shape(deriv, batch, lv.d_out);
    GemmEpilogue<T> ep;
    ep.bias = lv.bias;
    ep.activation = lv.activation;
    ep.derivative = deriv.view();
    gemm(Trans::N, Trans::T, lv.scale, a, lv.weight, T(0), a_next, ep);
    // dz [B, d_out] = s · (a · Vᵀ + da · Wᵀ) + v_b
    const MatrixView<const T> v_w(v + offsets_[l], lv.d_out, lv.d_in);
    GemmEpilogue<T> tep;
    tep.bias = config_.bias ? v + offsets_[l] + lv.d_out * lv.d_in : nullptr;
    gemm(Trans::N, Trans::T, lv.scale, a, v_w, T(0), t_next, tep);
    if (!t.empty()) gemm(Trans::N, Trans::T, lv.scale, t, lv.weight, T(1), t_next);
    if (lv.activation != Activation::Identity) multiply_rows(t_next, deriv.cview());
    a = a_next;
    t = t_next;
  }
}

template <class T>
void Mlp<T>::jvp(const ForwardCache<T>& cache, const T* v, MatrixView<T> tangent) const {
  const std::size_t layers = num_layers();
  if (cache.inputs.size() != layers || cache.derivatives.size() != layers)
    throw InvalidArgument(str_cat("Mlp::jvp: the cache holds ", cache.inputs.size(),
                                  " layers, the network has ", layers,
                                  " (run forward with a cache first)"));
  const std::size_t batch = cache.inputs[0].rows();
  require_shape(tangent, batch, output_dim(), "Mlp::jvp (tangent)");
  if (v == nullptr && num_params() > 0) throw InvalidArgument("Mlp::jvp: v is null");
  for (std::size_t l = 0; l < layers; ++l) {
    require_shape(cache.inputs[l].cview(), batch, config_.widths[l], "Mlp::jvp (cache)");
    require_shape(cache.derivatives[l].cview(), batch, config_.widths[l + 1], "Mlp::jvp (cache)");
  }
  Matrix<T> t_buf[2];
  MatrixView<const T> t;  // da_l; zero for l = 0
  for (std::size_t l = 0; l < layers; ++l) {
    const LayerView<const T> lv = layer(l);
    MatrixView<T> t_next;
    if (l + 1 == layers) {
      t_next = tangent;
    } else {
      ensure_shape(t_buf[l % 2], batch, lv.d_out);
      t_next = t_buf[l % 2].view();
    }
    // dz [B, d_out] = s · (a · Vᵀ + da · Wᵀ) + v_b, then ⊙ act'(z)
    const MatrixView<const T> v_w(v + offsets_[l], lv.d_out, lv.d_in);
    GemmEpilogue<T> tep;
    tep.bias = config_.bias ? v + offsets_[l] + lv.d_out * lv.d_in : nullptr;
    gemm(Trans::N, Trans::T, lv.scale, cache.inputs[l].cview(), v_w, T(0), t_next, tep);
    if (!t.empty()) gemm(Trans::N, Trans::T, lv.scale, t, lv.weight, T(1), t_next);
    if (lv.activation != Activation::Identity) multiply_rows(t_next, cache.derivatives[l].cview());
    t = t_next;
  }
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace catapult::nn
