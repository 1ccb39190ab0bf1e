#pragma once
// Naive double-precision MLP forward pass written from the formulas in mlp.hpp (never calls the
// code under test): z_l = s_l·a_l·W_lᵀ + b_l, a_{l+1} = act(z_l), W_l [d_{l+1}, d_l] row-major.

#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/nn/mlp.hpp"

namespace catapult::test {

inline double naive_act(kernels::Activation a, double z) {
  switch (a) {
    case kernels::Activation::Relu:
      return z > 0 ? z : 0.0;
    case kernels::Activation::Tanh:
      return std::tanh(z);
    case kernels::Activation::Identity:
      break;
  }
  return z;
}

/// Layer l of the flat layout: W_l [dout, din] at theta[off], then (with biases) b_l [dout];
/// z_l = s·W_l·a_l + b_l with s = 1/√din (NTK parameterization) or 1.
struct NaiveLayer {
  std::size_t din, dout, off;
  double s;
  kernels::Activation act;
};

inline std::vector<NaiveLayer> naive_layers(const nn::MlpConfig& cfg) {
  std::vector<NaiveLayer> layers;
  std::size_t off = 0;
  const std::size_t count = cfg.widths.size() - 1;
  for (std::size_t l = 0; l < count; ++l) {
    const std::size_t din = cfg.widths[l], dout = cfg.widths[l + 1];
    const double s = cfg.parameterization == nn::Parameterization::Ntk
                         ? 1.0 / std::sqrt(static_cast<double>(din))
                         : 1.0;
    layers.push_back(
        {din, dout, off, s, l + 1 == count ? cfg.output_activation : cfg.hidden_activation});
    off += dout * din + (cfg.bias ? dout : 0);
  }
  return layers;
}

/// f(x) for the flat parameters theta (layout of mlp.hpp), x [B, d_0]; returns [B, d_L].
inline Matrix<double> naive_mlp_forward(const nn::MlpConfig& cfg, const std::vector<double>& theta,
                                        const Matrix<double>& x) {
  Matrix<double> a = x;
  for (const auto& [din, dout, off, s, act] : naive_layers(cfg)) {
    Matrix<double> z(a.rows(), dout);
    for (std::size_t i = 0; i < a.rows(); ++i)
      for (std::size_t o = 0; o < dout; ++o) {
        double acc = 0;
        for (std::size_t p = 0; p < din; ++p) acc += a(i, p) * theta[off + o * din + p];
        acc *= s;
        if (cfg.bias) acc += theta[off + dout * din + o];
        z(i, o) = naive_act(act, acc);
      }
    a = z;
  }
  return a;
}

inline double naive_act_derivative(kernels::Activation a, double z) {
  switch (a) {
    case kernels::Activation::Relu:
      return z > 0 ? 1.0 : 0.0;
    case kernels::Activation::Tanh:
      return 1.0 - std::tanh(z) * std::tanh(z);
    case kernels::Activation::Identity:
      break;
  }
  return 1.0;
}

/// The input Jacobian ∂f/∂x at one sample x (d_0 entries), [d_L, d_0], by the chain rule written
/// from the same formulas: J = D_{L−1}·s_{L−1}W_{L−1} ⋯ D_0·s_0W_0 with D_l = diag(act'(z_l)).
inline Matrix<double> naive_mlp_input_jacobian(const nn::MlpConfig& cfg,
                                               const std::vector<double>& theta,
                                               const std::vector<double>& x) {
  std::vector<double> a = x;
  Matrix<double> jac(x.size(), x.size());  // ∂a_l/∂x, starts as the identity
  for (std::size_t i = 0; i < x.size(); ++i) jac(i, i) = 1.0;
  for (const auto& [din, dout, off, s, act] : naive_layers(cfg)) {
    std::vector<double> next(dout);
    Matrix<double> next_jac(dout, x.size());
    for (std::size_t o = 0; o < dout; ++o) {
      double z = 0;
      for (std::size_t p = 0; p < din; ++p) z += a[p] * theta[off + o * din + p];
      z *= s;
      if (cfg.bias) z += theta[off + dout * din + o];
      next[o] = naive_act(act, z);
      const double g = naive_act_derivative(act, z) * s;
      for (std::size_t j = 0; j < x.size(); ++j) {
        double acc = 0;
        for (std::size_t p = 0; p < din; ++p) acc += theta[off + o * din + p] * jac(p, j);
        next_jac(o, j) = g * acc;
      }
    }
    a = std::move(next);
    jac = std::move(next_jac);
  }
  return jac;
}

}  // namespace catapult::test
