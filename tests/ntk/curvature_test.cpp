// Hessian-vector products, Gauss–Newton, sharpness and critical rates against independent
// references (a dense Hessian from hyper-dual numbers through a naive MLP, finite differences of
// the loss, dense eigenvalues, gradient-descent and Adam runs, Adam's linear recurrence).
#include "catapult/ntk/curvature.hpp"

// GCC 12: false -Wmaybe-uninitialized inside avx512fintrin.h when Eigen is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "catapult/core/rng.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/optim/adam.hpp"
#include "support/reference.hpp"

namespace catapult::ntk {
namespace {

using nn::Activation;
using nn::Mlp;
using nn::MlpConfig;
using nn::MseReduction;
using nn::Parameterization;

Matrix<double> random_matrix(std::size_t r, std::size_t c, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<double> m(r, c);
  test::fill_uniform(m.view(), rng);
  return m;
}

// The loss by a plain forward pass and naive sums (no gradient code involved).
double loss_only(const Mlp<double>& model, const Matrix<double>& x, const Matrix<double>& y,
                 MseReduction reduction) {
  Matrix<double> out(x.rows(), model.output_dim());
  model.forward(x.cview(), out.view());
  double s = 0;
  for (std::size_t i = 0; i < out.rows(); ++i)
    for (std::size_t c = 0; c < out.cols(); ++c) s += std::pow(out(i, c) - y(i, c), 2);
  return nn::mse_scale(reduction, x.rows(), model.output_dim()) * s;
}

// Dense Hessian of the loss by second central differences of loss values.
Matrix<double> dense_hessian_fd(Mlp<double> model, const Matrix<double>& x, const Matrix<double>& y,
                                MseReduction reduction, double h) {
  const std::size_t p = model.num_params();
  Matrix<double> hess(p, p);
  double* th = model.params();
  auto at = [&](std::size_t i, double di, std::size_t j, double dj) {
    const double ti = th[i], tj = th[j];
    th[i] += di;
    th[j] += dj;
    const double l = loss_only(model, x, y, reduction);
    th[i] = ti;
    th[j] = tj;
    return l;
  };
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = i; j < p; ++j) {
      const double v =
          (at(i, h, j, h) - at(i, h, j, -h) - at(i, -h, j, h) + at(i, -h, j, -h)) / (4 * h * h);
      hess(i, j) = hess(j, i) = v;
    }
  return hess;
}

Matrix<double> dense_from_operator(const LinearOperator& op) {
  const std::size_t n = op.size();
  Matrix<double> m(n, n);
  std::vector<double> e(n, 0.0), col(n);
  for (std::size_t j = 0; j < n; ++j) {
    e[j] = 1.0;
    op.apply(e.data(), col.data());
    e[j] = 0.0;
    for (std::size_t i = 0; i < n; ++i) m(i, j) = col[i];
  }
  return m;
}

// ---- Independent oracle: exact second derivatives by hyper-dual numbers --------------------
// x = a + b·ε1 + c·ε2 + d·ε1ε2 with ε1² = ε2² = 0: for a function built from +, −, × and smooth
// scalar functions, F(θ + ε1·e_i + ε2·e_j) carries ∂²F/∂θ_i∂θ_j in d, with no truncation error.
struct HyperDual {
  double a = 0, b = 0, c = 0, d = 0;
};
HyperDual operator+(HyperDual x, HyperDual y) {
  return {x.a + y.a, x.b + y.b, x.c + y.c, x.d + y.d};
}
HyperDual operator-(HyperDual x, HyperDual y) {
  return {x.a - y.a, x.b - y.b, x.c - y.c, x.d - y.d};
}
HyperDual operator*(HyperDual x, HyperDual y) {
  return {x.a * y.a, x.a * y.b + x.b * y.a, x.a * y.c + x.c * y.a,
          x.a * y.d + x.b * y.c + x.c * y.b + x.d * y.a};
}
HyperDual operator*(double s, HyperDual x) { return {s * x.a, s * x.b, s * x.c, s * x.d}; }
// f(x) from f(a), f'(a), f''(a).
HyperDual apply(HyperDual x, double f, double f1, double f2) {
  return {f, f1 * x.b, f1 * x.c, f1 * x.d + f2 * x.b * x.c};
}
double value(double x) { return x; }
double value(HyperDual x) { return x.a; }

// Activations written from their definitions; ReLU's piece is chosen by the value (z ≤ 0: zero).
double act(Activation f, double z) {
  if (f == Activation::Relu) return z > 0 ? z : 0.0;
  if (f == Activation::Tanh) return std::tanh(z);
  return z;
}
HyperDual act(Activation f, HyperDual z) {
  if (f == Activation::Relu) return z.a > 0 ? z : HyperDual{};
  if (f == Activation::Tanh) {
    const double t = std::tanh(z.a);
    return apply(z, t, 1 - t * t, -2 * t * (1 - t * t));
  }
  return z;
}

// The loss c·Σ(f − y)² by a naive forward pass written from the formulas of mlp.hpp, in scalar
// S. `pattern`, if given, receives the sign (z > 0) of every ReLU pre-activation, and `min_abs_z`
// the smallest |z| over them.
template <class S>
S naive_loss(const MlpConfig& cfg, const std::vector<S>& theta, const Matrix<double>& x,
             const Matrix<double>& y, double c, std::vector<bool>* pattern = nullptr,
             double* min_abs_z = nullptr) {
  const std::size_t layers = cfg.widths.size() - 1;
  S loss{};
  if (min_abs_z != nullptr) *min_abs_z = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < x.rows(); ++i) {
    std::vector<S> a(x.cols());
    for (std::size_t j = 0; j < x.cols(); ++j) a[j] = S{x(i, j)};
    std::size_t off = 0;
    for (std::size_t l = 0; l < layers; ++l) {
      const std::size_t din = cfg.widths[l], dout = cfg.widths[l + 1];
      const double s =
          cfg.parameterization == Parameterization::Ntk ? 1.0 / std::sqrt(double(din)) : 1.0;
      const Activation f = l + 1 == layers ? cfg.output_activation : cfg.hidden_activation;
      std::vector<S> next(dout);
      for (std::size_t o = 0; o < dout; ++o) {
        S z{};
        for (std::size_t q = 0; q < din; ++q) z = z + theta[off + o * din + q] * a[q];
        z = s * z;
        if (cfg.bias) z = z + theta[off + dout * din + o];
        if (f == Activation::Relu) {
          if (pattern != nullptr) pattern->push_back(value(z) > 0);
          if (min_abs_z != nullptr) *min_abs_z = std::min(*min_abs_z, std::abs(value(z)));
        }
        next[o] = act(f, z);
      }
      off += dout * din + (cfg.bias ? dout : 0);
      a = std::move(next);
    }
    for (std::size_t o = 0; o < a.size(); ++o) {
      const S r = a[o] - S{y(i, o)};
      loss = loss + r * r;
    }
  }
  return c * loss;
}

std::vector<double> params_of(const Mlp<double>& model) {
  return {model.params(), model.params() + model.num_params()};
}

// The dense Hessian of the loss at θ, exact up to rounding, from hyper-dual numbers.
Matrix<double> dense_hessian_hyperdual(const MlpConfig& cfg, const std::vector<double>& theta,
                                       const Matrix<double>& x, const Matrix<double>& y, double c) {
  const std::size_t p = theta.size();
  std::vector<HyperDual> th(p);
  for (std::size_t q = 0; q < p; ++q) th[q] = {theta[q], 0, 0, 0};
  Matrix<double> h(p, p);
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = i; j < p; ++j) {
      th[i].b = 1;
      th[j].c = 1;
      h(i, j) = h(j, i) = naive_loss(cfg, th, x, y, c).d;
      th[i].b = 0;
      th[j].c = 0;
    }
  return h;
}

// Second central differences of the naive double loss; fails the test if any ReLU pre-activation
// changes sign at a perturbed point (the difference would then straddle a kink).
Matrix<double> dense_hessian_loss_differences(const MlpConfig& cfg, std::vector<double> theta,
                                              const Matrix<double>& x, const Matrix<double>& y,
                                              double c, double h) {
  const std::size_t p = theta.size();
  std::vector<bool> base;
  (void)naive_loss(cfg, theta, x, y, c, &base);
  Matrix<double> hess(p, p);
  auto at = [&](std::size_t i, double di, std::size_t j, double dj) {
    const double ti = theta[i], tj = theta[j];
    theta[i] += di;
    theta[j] += dj;
    std::vector<bool> pattern;
    const double l = naive_loss(cfg, theta, x, y, c, &pattern);
    theta[i] = ti;
    theta[j] = tj;
    EXPECT_EQ(pattern, base) << "a ReLU pre-activation crosses 0 within the step (" << i << ", "
                             << j << ")";
    return l;
  };
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = i; j < p; ++j)
      hess(i, j) = hess(j, i) =
          (at(i, h, j, h) - at(i, h, j, -h) - at(i, -h, j, h) + at(i, -h, j, -h)) / (4 * h * h);
  return hess;
}

double max_abs(const Matrix<double>& m) {
  double s = 0;
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j) s = std::max(s, std::abs(m(i, j)));
  return s;
}

double max_abs_difference(const Matrix<double>& a, const Matrix<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < a.cols(); ++j) s = std::max(s, std::abs(a(i, j) - b(i, j)));
  return s;
}

std::vector<double> times(const Matrix<double>& m, const std::vector<double>& v) {
  std::vector<double> r(m.rows(), 0.0);
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j) r[i] += m(i, j) * v[j];
  return r;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (const double e : v) s += e * e;
  return std::sqrt(s);
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

const MlpConfig kTanh{
    {3, 5, 2}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk};

TEST(Curvature, LossAndGradientMatchNnLossAndFiniteDifferences) {
  Mlp<double> model(kTanh);
  Rng rng(1);
  model.init(rng);
  const Matrix<double> x = random_matrix(10, 3, 2), y = random_matrix(10, 2, 3);
  for (const MseReduction red : {MseReduction::Mean, MseReduction::SampleMean}) {
    std::vector<double> g(model.num_params());
    const double l = mse_loss_and_gradient(model, x.cview(), y.cview(), g.data(), red, 3);
    Matrix<double> out(10, 2);
    model.forward(x.cview(), out.view());
    EXPECT_NEAR(l, nn::mse_loss<double>(out.cview(), y.cview(), {}, red), 1e-14);
    for (std::size_t q = 0; q < model.num_params(); ++q) {
      const double h = 1e-6, t = model.params()[q];
      model.params()[q] = t + h;
      const double lp = loss_only(model, x, y, red);
      model.params()[q] = t - h;
      const double lm = loss_only(model, x, y, red);
      model.params()[q] = t;
      EXPECT_NEAR(g[q], (lp - lm) / (2 * h), 1e-8) << "q=" << q;
    }
  }
}

TEST(Curvature, HessianVectorProductMatchesSecondDifferencesOfTheLoss) {
  Mlp<double> model(kTanh);
  Rng rng(4);
  model.init(rng);
  const Matrix<double> x = random_matrix(8, 3, 5), y = random_matrix(8, 2, 6);
  const Matrix<double> ref = dense_hessian_fd(model, x, y, MseReduction::Mean, 1e-4);
  const LossHessianOperator hop(model, x.cview(), y.cview(), {.batch_size = 3});
  const Matrix<double> got = dense_from_operator(hop);
  const double scale = max_abs(ref);
  // The reference errs by O(h²) ≈ 1e-8·‖∇⁴L‖ plus O(u·L/h²) ≈ 1e-8; the product is exact.
  for (std::size_t i = 0; i < ref.rows(); ++i)
    for (std::size_t j = 0; j < ref.cols(); ++j)
      ASSERT_NEAR(got(i, j), ref(i, j), 1e-6 * scale) << i << "," << j;
}

// Networks of every supported kind: depth 1–3, ReLU / tanh / identity, both parameterizations,
// with and without biases, a tanh output.
struct HessianCase {
  std::string name;
  MlpConfig config;
  bool relu;
};

std::vector<HessianCase> hessian_cases() {
  using P = Parameterization;
  return {
      {"relu 2-layer standard",
       {{3, 6, 2}, Activation::Relu, Activation::Identity, true, P::Standard},
       true},
      {"relu 3-layer ntk",
       {{3, 5, 4, 2}, Activation::Relu, Activation::Identity, true, P::Ntk},
       true},
      {"relu 3-layer no bias",
       {{4, 4, 3, 2}, Activation::Relu, Activation::Identity, false, P::Standard},
       true},
      {"tanh 2-layer ntk", kTanh, false},
      {"tanh 3-layer, tanh output",
       {{3, 4, 3, 2}, Activation::Tanh, Activation::Tanh, true, P::Standard},
       false},
      {"linear 1-layer", {{3, 2}, Activation::Identity, Activation::Identity, true, P::Ntk}, false},
  };
}

TEST(Curvature, HessianVectorProductIsExactOnReluAndTanhNetworks) {
  std::uint64_t seed = 30;
  for (const HessianCase& hc : hessian_cases()) {
    SCOPED_TRACE(hc.name + ", seed " + std::to_string(seed));
    Mlp<double> model(hc.config);
    Rng rng(seed++);
    model.init(rng);
    const Matrix<double> x = random_matrix(9, hc.config.widths.front(), seed++);
    const Matrix<double> y = random_matrix(9, hc.config.widths.back(), seed++);
    const double c = nn::mse_scale(MseReduction::Mean, 9, hc.config.widths.back());
    const std::vector<double> theta = params_of(model);
    const Matrix<double> ref = dense_hessian_hyperdual(hc.config, theta, x, y, c);
    const double scale = max_abs(ref);
    double min_z = 0;
    (void)naive_loss(hc.config, theta, x, y, c, nullptr, &min_z);
    if (hc.relu) {
      // The oracle itself against second differences of the loss (the point is away from every
      // kink: the helper checks that no pre-activation changes sign within the step).
      ASSERT_GT(min_z, 1e-3);
      const Matrix<double> fd = dense_hessian_loss_differences(hc.config, theta, x, y, c, 2e-4);
      EXPECT_LE(max_abs_difference(fd, ref), 1e-7 * scale);
      std::printf("[ figures  ] %s: oracle vs second differences of the loss %.2e (min |z| %.2e)\n",
                  hc.name.c_str(), max_abs_difference(fd, ref) / scale, min_z);
    }
    // Columns H·e_j, and the batch split (3 + 3 + 3 against 9 at once).
    for (const std::size_t batch : {std::size_t{3}, std::size_t{0}}) {
      const LossHessianOperator hop(model, x.cview(), y.cview(), {.batch_size = batch});
      const Matrix<double> got = dense_from_operator(hop);
      const double err = max_abs_difference(got, ref);
      EXPECT_LE(err, 1e-12 * scale) << "batch " << batch << ", max |H| " << scale;
      std::printf("[ figures  ] %s, batch %zu: max |H − H_ref|/max |H_ref| = %.2e\n",
                  hc.name.c_str(), batch, err / scale);
    }
    // Products with random directions of several magnitudes (linearity is not assumed: each is
    // compared with the dense reference times v).
    const LossHessianOperator hop(model, x.cview(), y.cview(), {.batch_size = 4});
    Rng vr(seed++);
    for (const double magnitude : {1e-3, 1.0, 1e4}) {
      std::vector<double> v(hop.size()), hv(hop.size());
      for (double& e : v) e = magnitude * vr.uniform(-1, 1);
      hop.apply(v.data(), hv.data());
      const std::vector<double> want = times(ref, v);
      EXPECT_LE(distance(hv, want), 1e-12 * scale * norm(v)) << "magnitude " << magnitude;
    }
  }
}

TEST(Curvature, HessianVectorProductOfAFloatModelIsTakenInDouble) {
  const MlpConfig cfg{
      {3, 5, 4, 2}, Activation::Relu, Activation::Identity, true, Parameterization::Ntk};
  Mlp<float> model(cfg);
  Rng rng(40);
  model.init(rng);
  const Matrix<double> xd = random_matrix(7, 3, 41), yd = random_matrix(7, 2, 42);
  Matrix<float> x(7, 3), y(7, 2);
  Matrix<double> xr(7, 3), yr(7, 2);  // the float data, exactly, in double
  for (std::size_t i = 0; i < 7; ++i) {
    for (std::size_t j = 0; j < 3; ++j) xr(i, j) = x(i, j) = static_cast<float>(xd(i, j));
    for (std::size_t j = 0; j < 2; ++j) yr(i, j) = y(i, j) = static_cast<float>(yd(i, j));
  }
  std::vector<double> theta(model.num_params());
  for (std::size_t q = 0; q < theta.size(); ++q) theta[q] = model.params()[q];
  const Matrix<double> ref =
      dense_hessian_hyperdual(cfg, theta, xr, yr, nn::mse_scale(MseReduction::Mean, 7, 2));
  const LossHessianOperator hop(model, x.cview(), y.cview());
  // Exact in double on the float values: no float rounding in the product.
  EXPECT_LE(max_abs_difference(dense_from_operator(hop), ref), 1e-12 * max_abs(ref));
}

TEST(Curvature, FiniteDifferenceOfGradientsFailsNearAReluKinkWhereTheExactProductDoesNot) {
  // A 2-layer ReLU network with one pre-activation z = 1e-9, far inside the step
  // t = ∛(u/2)·max(1, rms θ) ≈ 5e-6 of the finite difference of gradients this operator used.
  const MlpConfig cfg{
      {3, 6, 2}, Activation::Relu, Activation::Identity, true, Parameterization::Standard};
  Mlp<double> model(cfg);
  Rng rng(50);
  model.init(rng);
  const Matrix<double> x = random_matrix(8, 3, 51), y = random_matrix(8, 2, 52);
  const std::size_t sample = 2, unit = 1;
  const nn::LayerView<double> l0 = model.layer(0);
  double z = l0.bias[unit];
  for (std::size_t q = 0; q < 3; ++q) z += l0.weight(unit, q) * x(sample, q);
  l0.bias[unit] += 1e-9 - z;
  const std::vector<double> theta = params_of(model);
  const double c = nn::mse_scale(MseReduction::Mean, 8, 2);
  double min_z = 0;
  (void)naive_loss(cfg, theta, x, y, c, nullptr, &min_z);
  ASSERT_LT(min_z, 2e-9);
  ASSERT_GT(min_z, 0.0);
  const Matrix<double> ref = dense_hessian_hyperdual(cfg, theta, x, y, c);
  const double scale = max_abs(ref);

  const LossHessianOperator hop(model, x.cview(), y.cview());
  const double exact_err = max_abs_difference(dense_from_operator(hop), ref);
  EXPECT_LE(exact_err, 1e-12 * scale);

  // The removed implementation, rebuilt from the library's gradient: ‖v‖·(∇L(θ + t·v̂) −
  // ∇L(θ − t·v̂))/(2t).
  double sq = 0;
  for (const double e : theta) sq += e * e;
  const double t = std::cbrt(std::numeric_limits<double>::epsilon() / 2) *
                   std::max(1.0, std::sqrt(sq / double(theta.size())));
  auto fd_product = [&](const std::vector<double>& v) {
    const double nv = norm(v);
    std::vector<double> gp(theta.size()), gm(theta.size()), hv(theta.size());
    Mlp<double> m(cfg);
    for (std::size_t q = 0; q < theta.size(); ++q) m.params()[q] = theta[q] + t * v[q] / nv;
    (void)mse_loss_and_gradient(m, x.cview(), y.cview(), gp.data());
    for (std::size_t q = 0; q < theta.size(); ++q) m.params()[q] = theta[q] - t * v[q] / nv;
    (void)mse_loss_and_gradient(m, x.cview(), y.cview(), gm.data());
    for (std::size_t q = 0; q < theta.size(); ++q) hv[q] = nv * (gp[q] - gm[q]) / (2 * t);
    return hv;
  };
  const std::size_t bias_q = model.weight_offset(0) + 6 * 3 + unit;
  std::vector<double> e_bias(theta.size(), 0.0), random(theta.size());
  e_bias[bias_q] = 1.0;
  Rng vr(53);
  for (double& e : random) e = vr.uniform(-1, 1);
  const std::vector<std::vector<double>> directions{e_bias, random};
  for (std::size_t d = 0; d < directions.size(); ++d) {
    const std::vector<double>& v = directions[d];
    const std::vector<double> want = times(ref, v);
    std::vector<double> got(theta.size());
    hop.apply(v.data(), got.data());
    const double exact_rel = distance(got, want) / norm(want);
    const double fd_rel = distance(fd_product(v), want) / norm(want);
    EXPECT_LE(exact_rel, 1e-12);
    EXPECT_GT(fd_rel, 1.0) << "the finite difference should straddle the kink";
    std::printf("[ figures  ] %s direction: relative error exact %.2e, finite difference %.2e\n",
                d == 0 ? "kink" : "random", exact_rel, fd_rel);
  }
}

TEST(Curvature, GaussNewtonEqualsHessianAtAGlobalMinimumOfALinearModel) {
  // Targets produced by the model itself: the residual is zero, L = 0 is the global minimum.
  const MlpConfig linear{
      {4, 3}, Activation::Identity, Activation::Identity, true, Parameterization::Standard};
  Mlp<double> model(linear);
  Rng rng(8);
  model.init(rng);
  const Matrix<double> x = random_matrix(12, 4, 9);
  Matrix<double> y(12, 3);
  model.forward(x.cview(), y.view());
  const LossHessianOperator hop(model, x.cview(), y.cview());
  EXPECT_NEAR(hop.loss(), 0.0, 1e-28);
  const GaussNewtonOperator<double> gn(model, x.cview(), {.batch_size = 5});
  const Matrix<double> h = dense_from_operator(hop), g = dense_from_operator(gn);
  for (std::size_t i = 0; i < h.rows(); ++i)
    for (std::size_t j = 0; j < h.cols(); ++j) ASSERT_NEAR(h(i, j), g(i, j), 1e-8);
  // Closed form: G = 2c·JᵀJ, J = ∂f/∂θ.
  const Matrix<double> jac = jacobian(model, x.cview());
  const double two_c = 2.0 / (12.0 * 3.0);
  for (std::size_t i = 0; i < g.rows(); ++i)
    for (std::size_t j = 0; j < g.cols(); ++j) {
      double acc = 0;
      for (std::size_t r = 0; r < jac.rows(); ++r) acc += jac(r, i) * jac(r, j);
      ASSERT_NEAR(g(i, j), two_c * acc, 1e-13);
    }
}

TEST(Curvature, GaussNewtonKeepsItsForwardPassNotTheSamples) {
  // The forward pass is taken at construction (three batches, the last one partial), so the
  // samples may change or go away afterwards; repeated products reuse the caches' scratch.
  Mlp<double> model(kTanh);
  Rng rng(20);
  model.init(rng);
  const Matrix<double> x = random_matrix(11, 3, 21);
  Matrix<double> scratch_x = x;
  const GaussNewtonOperator<double> gn(model, scratch_x.cview(), {.batch_size = 4});
  test::fill_uniform(scratch_x.view(), rng);
  const Matrix<double> jac = jacobian(model, x.cview());
  const double two_c = 2.0 / (11.0 * 2.0);
  std::vector<double> v(gn.size()), gv(gn.size()), again(gn.size()), jv(jac.rows());
  for (double& e : v) e = rng.normal();
  gn.apply(v.data(), gv.data());
  gn.apply(v.data(), again.data());
  EXPECT_EQ(gv, again);
  // Closed form 2c·Jᵀ(J·v) with the Jacobian of the unchanged samples.
  for (std::size_t r = 0; r < jac.rows(); ++r)
    for (std::size_t q = 0; q < jac.cols(); ++q) jv[r] += jac(r, q) * v[q];
  for (std::size_t q = 0; q < jac.cols(); ++q) {
    double acc = 0;
    for (std::size_t r = 0; r < jac.rows(); ++r) acc += jac(r, q) * jv[r];
    EXPECT_NEAR(gv[q], two_c * acc, 1e-13) << "q=" << q;
  }
}

TEST(Curvature, GaussNewtonDiffersFromHessianWhenTheResidualIsNotZero) {
  Mlp<double> model(kTanh);
  Rng rng(10);
  model.init(rng);
  const Matrix<double> x = random_matrix(8, 3, 11), y = random_matrix(8, 2, 12);
  const LossHessianOperator hop(model, x.cview(), y.cview());
  const GaussNewtonOperator<double> gn(model, x.cview());
  const Matrix<double> h = dense_from_operator(hop), g = dense_from_operator(gn);
  double diff = 0;
  for (std::size_t i = 0; i < h.rows(); ++i)
    for (std::size_t j = 0; j < h.cols(); ++j) diff = std::max(diff, std::abs(h(i, j) - g(i, j)));
  EXPECT_GT(diff, 1e-3);
}

TEST(Curvature, SharpnessOfGaussNewtonIsScaledNtkTopEigenvalue) {
  const MlpConfig config{
      {4, 16, 3}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk};
  Mlp<double> model(config);
  Rng rng(13);
  model.init(rng);
  const Matrix<double> x = random_matrix(20, 4, 14);
  const Matrix<double> k = empirical_ntk(model, x.cview(), {.mode = NtkMode::Full});
  const double lambda_k = dense_eigenvalues(k.cview())[0];
  const GaussNewtonOperator<double> gn(model, x.cview());
  const SharpnessResult s = sharpness(gn, {.tolerance = 1e-10});
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s.lambda_max, 2.0 / (20.0 * 3.0) * lambda_k, 1e-9 * lambda_k);
  EXPECT_NEAR(s.eta_crit, critical_learning_rate_ntk(lambda_k, 20, 3), 1e-9 * s.eta_crit);
}

TEST(Curvature, SharpnessRateIsTwoOverLambdaAndZeroForANonPositiveTop) {
  // diag(3, 1, 0.5) and its negative: λmax = 3 gives 2/3; λmax = −0.5 has no critical rate.
  Matrix<double> a(3, 3);
  a(0, 0) = 3.0;
  a(1, 1) = 1.0;
  a(2, 2) = 0.5;
  const SharpnessResult pos = sharpness(DenseSymmetricOperator<double>(a.cview()));
  ASSERT_TRUE(pos.ok());
  EXPECT_NEAR(pos.lambda_max, 3.0, 1e-12);
  EXPECT_EQ(pos.eta_crit, 2.0 / pos.lambda_max);
  for (std::size_t i = 0; i < 3; ++i) a(i, i) = -a(i, i);
  const SharpnessResult neg = sharpness(DenseSymmetricOperator<double>(a.cview()));
  ASSERT_TRUE(neg.ok());
  EXPECT_NEAR(neg.lambda_max, -0.5, 1e-12);
  EXPECT_EQ(neg.eta_crit, 0.0);
}

// Full-batch GD on a linear model (its NTK is constant, so the linearised dynamics are exact).
std::vector<double> gd_losses(Mlp<double> model, const Matrix<double>& x, const Matrix<double>& y,
                              double eta, int steps) {
  std::vector<double> losses, g(model.num_params());
  for (int t = 0; t < steps; ++t) {
    losses.push_back(mse_loss_and_gradient(model, x.cview(), y.cview(), g.data()));
    for (std::size_t q = 0; q < g.size(); ++q) model.params()[q] -= eta * g[q];
  }
  return losses;
}

TEST(Curvature, GradientDescentSpikesJustAboveTheCriticalRateOnly) {
  const MlpConfig linear{
      {6, 3}, Activation::Identity, Activation::Identity, true, Parameterization::Standard};
  Mlp<double> model(linear);
  Rng rng(15);
  model.init(rng);
  const Matrix<double> x = random_matrix(25, 6, 16), y = random_matrix(25, 3, 17);
  const Matrix<double> k = empirical_ntk(model, x.cview(), {.mode = NtkMode::Full});
  const double eta_ntk = critical_learning_rate_ntk(dense_eigenvalues(k.cview())[0], 25, 3);
  // The same rate from the sharpness of the (exact) Hessian-vector product.
  const LossHessianOperator hop(model, x.cview(), y.cview());
  const SharpnessResult s = sharpness(hop);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s.eta_crit, eta_ntk, 1e-9 * eta_ntk);

  const std::vector<double> below = gd_losses(model, x, y, 0.97 * eta_ntk, 300);
  for (std::size_t t = 1; t < below.size(); ++t)
    // Monotone up to rounding once the minimum (L > 0: more samples than parameters) is reached.
    ASSERT_LE(below[t], below[t - 1] * (1 + 1e-12))
        << "loss rose at step " << t << " below eta_crit";
  const std::vector<double> above = gd_losses(model, x, y, 1.03 * eta_ntk, 300);
  bool rose = false;
  for (std::size_t t = 1; t < above.size(); ++t) rose = rose || above[t] > 1.01 * above[t - 1];
  EXPECT_TRUE(rose) << "no loss increase above eta_crit";
  EXPECT_GT(above.back(), 10 * above.front());  // and it keeps growing: a linear model diverges
}

TEST(Curvature, PreconditionedSharpnessMatchesDenseAndAdaGradHelpers) {
  Mlp<double> model(kTanh);
  Rng rng(18);
  model.init(rng);
  const Matrix<double> x = random_matrix(10, 3, 19);
  const GaussNewtonOperator<double> gn(model, x.cview());
  const Matrix<double> g = dense_from_operator(gn);
  std::vector<float> accum(gn.size());
  for (std::size_t q = 0; q < accum.size(); ++q) accum[q] = 0.5F + static_cast<float>(q % 7);
  const std::vector<double> p = adagrad_preconditioner<float>(accum, 1e-10);
  EXPECT_NEAR(p[3], std::sqrt(3.5) + 1e-10, 1e-7);
  Matrix<double> dgd(g.rows(), g.cols());
  for (std::size_t i = 0; i < g.rows(); ++i)
    for (std::size_t j = 0; j < g.cols(); ++j) dgd(i, j) = g(i, j) / std::sqrt(p[i] * p[j]);
  const double ref = dense_eigenvalues(dgd.cview())[0];
  const PreconditionedOperator pre(gn, p);
  const SharpnessResult s = sharpness(pre, {.tolerance = 1e-10});
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s.lambda_max, ref, 1e-9 * ref);

  const double s_t = adagrad_min_scale<float>(accum);
  EXPECT_NEAR(s_t, std::sqrt(0.5), 1e-7);
  EXPECT_NEAR(adagrad_critical_rate_bound(s_t, 4.0), 2 * std::sqrt(0.5) / 4.0, 1e-7);
  EXPECT_DOUBLE_EQ(critical_learning_rate_hessian(4.0), 0.5);
  EXPECT_DOUBLE_EQ(critical_learning_rate_ntk(30.0, 10, 3), 1.0);
  EXPECT_DOUBLE_EQ(critical_learning_rate_ntk(30.0, 10, 3, MseReduction::HalfSum), 1.0 / 15.0);
  EXPECT_THROW((void)critical_learning_rate_hessian(0.0), InvalidArgument);
  EXPECT_THROW((void)adagrad_min_scale<float>({}), InvalidArgument);
  const std::vector<float> zero(accum.size(), 0.0F);
  EXPECT_THROW((void)adagrad_preconditioner<float>(zero, 0.0), InvalidArgument);
  EXPECT_THROW(PreconditionedOperator(gn, std::vector<double>(3, 1.0)), InvalidArgument);
}

TEST(Curvature, FilledAdaGradPreconditionerFreezesTheParametersWhoseAccumulatorHasNotFilled) {
  Mlp<double> model(kTanh);
  Rng rng(21);
  model.init(rng);
  const Matrix<double> x = random_matrix(10, 3, 23);
  const GaussNewtonOperator<double> gn(model, x.cview());
  const Matrix<double> g = dense_from_operator(gn);
  const std::size_t n = gn.size();
  // Three kinds of parameter: empty accumulator (inactive), s < 4·g² (not filled), s >= 4·g².
  std::vector<double> accum(n), grad(n);
  for (std::size_t q = 0; q < n; ++q) {
    grad[q] = 0.1 * static_cast<double>(q % 5) - 0.2;
    accum[q] =
        q % 4 == 0 ? 0.0 : (q % 4 == 1 ? 3.0 * grad[q] * grad[q] : 0.3 + 0.1 * double(q % 3));
  }
  const FilledPreconditioner f = adagrad_filled_preconditioner<double>(accum, grad, 1e-10, 4.0);
  std::vector<std::size_t> kept;
  std::size_t active = 0;
  for (std::size_t q = 0; q < n; ++q) {
    active += accum[q] > 0 ? 1 : 0;
    if (accum[q] > 0 && accum[q] >= 4.0 * grad[q] * grad[q]) kept.push_back(q);
  }
  EXPECT_EQ(f.active, active);
  EXPECT_EQ(f.filled, kept.size());
  ASSERT_GT(kept.size(), 2U);
  ASSERT_LT(kept.size(), active);
  for (std::size_t q = 0; q < n; ++q)
    if (std::find(kept.begin(), kept.end(), q) == kept.end()) {
      EXPECT_TRUE(std::isinf(f.preconditioner[q])) << q;
    } else {
      EXPECT_DOUBLE_EQ(f.preconditioner[q], std::sqrt(accum[q]) + 1e-10) << q;
    }
  // Reference: the dense D·G·D restricted to the filled parameters.
  Matrix<double> sub(kept.size(), kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i)
    for (std::size_t j = 0; j < kept.size(); ++j)
      sub(i, j) =
          g(kept[i], kept[j]) / std::sqrt(f.preconditioner[kept[i]] * f.preconditioner[kept[j]]);
  const double ref = dense_eigenvalues(sub.cview())[0];
  const SharpnessResult s =
      sharpness(PreconditionedOperator(gn, f.preconditioner), {.tolerance = 1e-10});
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s.lambda_max, ref, 1e-9 * ref);
  // Freezing every unfilled parameter lowers the sharpness that the same accumulator gives when
  // the tiny entries are kept (here they are the largest scaled directions).
  std::vector<double> all(n);
  for (std::size_t q = 0; q < n; ++q) all[q] = std::sqrt(accum[q]) + 1e-3;
  EXPECT_GT(sharpness(PreconditionedOperator(gn, all), {.tolerance = 1e-10}).lambda_max,
            s.lambda_max);

  // Ratio 0 keeps every active parameter; bad input is refused.
  EXPECT_EQ(adagrad_filled_preconditioner<double>(accum, grad, 0.0, 0.0).filled, active);
  EXPECT_THROW((void)adagrad_filled_preconditioner<double>(accum, {grad.data(), n - 1}, 0, 1),
               InvalidArgument);
  EXPECT_THROW((void)adagrad_filled_preconditioner<double>(accum, grad, 0, -1), InvalidArgument);
  auto bad = accum;
  bad[1] = -1;
  EXPECT_THROW((void)adagrad_filled_preconditioner<double>(bad, grad, 0, 1), InvalidArgument);
  auto nan_grad = grad;
  nan_grad[2] = std::nan("");
  EXPECT_THROW((void)adagrad_filled_preconditioner<double>(accum, nan_grad, 0, 1), InvalidArgument);
  std::vector<double> with_nan(n, 1.0);
  with_nan[0] = std::nan("");
  EXPECT_THROW(PreconditionedOperator(gn, with_nan), InvalidArgument);
}

// The named state buffer of an optimizer.
const double* state_buffer(const optim::Optimizer<double>& opt, const std::string& name) {
  for (const auto& b : opt.state())
    if (b.name == name) return b.data;
  ADD_FAILURE() << "no state buffer " << name;
  return nullptr;
}

TEST(Curvature, AdamPreconditionerReproducesTheOptimizersUpdate) {
  // Adam's own step, θ_t − θ_{t−1} = −η·m_t/p_t, with m_t, v_t read back from its state and p_t
  // from adam_preconditioner(v_t, t): the bias corrections folded into p agree with optim::Adam,
  // from t = 1 (where 1 − β1^t = 1 − β1) on.
  const double beta1 = 0.8, beta2 = 0.95, eps = 1e-3, eta = 0.05;
  optim::Adam<double> opt({.beta1 = beta1, .beta2 = beta2, .eps = eps});
  Rng rng(60);
  std::vector<double> theta(6), g(6);
  for (double& e : theta) e = rng.uniform(-1, 1);
  for (int t = 1; t <= 5; ++t) {
    for (double& e : g) e = rng.uniform(-2, 2);
    const std::vector<double> before = theta;
    opt.step(theta.data(), g.data(), theta.size(), eta);
    const double* m = state_buffer(opt, "exp_avg");
    const double* v = state_buffer(opt, "exp_avg_sq");
    const std::vector<double> p =
        adam_preconditioner<double>(std::span<const double>(v, 6), opt.steps(), beta1, beta2, eps);
    for (std::size_t q = 0; q < theta.size(); ++q)
      EXPECT_NEAR(theta[q] - before[q], -eta * m[q] / p[q], 1e-15) << "t=" << t << " q=" << q;
  }
  const std::vector<float> v(4, 1.0F);
  EXPECT_THROW((void)adam_preconditioner<float>(v, 0, 0.9, 0.999, 1e-8), InvalidArgument);
  EXPECT_THROW((void)adam_preconditioner<float>(v, 1, 1.0, 0.999, 1e-8), InvalidArgument);
}

// Spectral radius of Adam's iteration with a frozen preconditioner on L = ½θᵀAθ, written as one
// linear map of the state (θ, m) [2d]:
//   m' = β1·m + (1 − β1)·A·θ,   θ' = θ − η·P⁻¹·m' = (I − η(1 − β1)·P⁻¹A)·θ − η·β1·P⁻¹·m.
double adam_recurrence_radius(const Eigen::MatrixXd& a, const Eigen::VectorXd& p, double eta,
                              double beta1) {
  const auto d = a.rows();
  const Eigen::MatrixXd p_inv = p.cwiseInverse().asDiagonal();
  Eigen::MatrixXd m(2 * d, 2 * d);
  m.topLeftCorner(d, d) = Eigen::MatrixXd::Identity(d, d) - eta * (1 - beta1) * p_inv * a;
  m.topRightCorner(d, d) = -eta * beta1 * p_inv;
  m.bottomLeftCorner(d, d) = (1 - beta1) * a;
  m.bottomRightCorner(d, d) = beta1 * Eigen::MatrixXd::Identity(d, d);
  return Eigen::EigenSolver<Eigen::MatrixXd>(m, false).eigenvalues().cwiseAbs().maxCoeff();
}

TEST(Curvature, AdamThresholdIsWhereTheFrozenPreconditionerIterationLosesStability) {
  // A non-diagonal SPD A and a diagonal P: the eigenvectors of P⁻¹A are not those of A.
  Eigen::MatrixXd b(3, 3);
  b << 1.0, 0.3, -0.7, 0.2, 1.5, 0.4, -0.5, 0.1, 0.8;
  const Eigen::MatrixXd a = b.transpose() * b + 0.2 * Eigen::MatrixXd::Identity(3, 3);
  const Eigen::VectorXd p = Eigen::Vector3d(0.5, 2.0, 7.0);
  // λmax(P⁻¹A) from the similar symmetric P^{-1/2}·A·P^{-1/2}.
  const Eigen::MatrixXd s = p.cwiseSqrt().cwiseInverse().asDiagonal();
  const double lambda = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(s * a * s).eigenvalues()(2);
  for (const double beta1 : {0.0, 0.5, 0.9, 0.99}) {
    SCOPED_TRACE(beta1);
    const double eta = adam_critical_rate(lambda, beta1);
    EXPECT_NEAR(eta, (2 + 2 * beta1) / ((1 - beta1) * lambda), 1e-15 * eta);
    EXPECT_NEAR(adam_sharpness_threshold(eta, beta1), lambda, 1e-14 * lambda);
    // The radius crosses 1 exactly there (a root of the top direction passes through −1).
    EXPECT_NEAR(adam_recurrence_radius(a, p, eta, beta1), 1.0, 1e-9);
    EXPECT_LT(adam_recurrence_radius(a, p, 0.999 * eta, beta1), 1.0);
    EXPECT_GT(adam_recurrence_radius(a, p, 1.001 * eta, beta1), 1.0);
  }
  // The momentum-blind 2/λmax(P⁻¹A) is far too small with β1 = 0.9: 1.5× it is still stable.
  EXPECT_LT(adam_recurrence_radius(a, p, 1.5 * 2 / lambda, 0.9), 1.0);
  EXPECT_DOUBLE_EQ(adam_sharpness_threshold(1.0, 0.0), 2.0);
  EXPECT_DOUBLE_EQ(adam_critical_rate(38.0, 0.9), 1.0);
  EXPECT_THROW((void)adam_critical_rate(0.0, 0.9), InvalidArgument);
  EXPECT_THROW((void)adam_critical_rate(1.0, 1.0), InvalidArgument);
  EXPECT_THROW((void)adam_sharpness_threshold(-1.0, 0.5), InvalidArgument);
  EXPECT_THROW((void)adam_sharpness_threshold(1.0, -0.1), InvalidArgument);
}

TEST(Curvature, AdamIsStableJustBelowItsPredictedCriticalRateAndOscillatesJustAbove) {
  // A linear model under the MSE: the loss is quadratic in θ, its Hessian constant.
  const MlpConfig linear{
      {4, 2}, Activation::Identity, Activation::Identity, true, Parameterization::Standard};
  Mlp<double> model(linear);
  Rng rng(61);
  model.init(rng);
  const Matrix<double> x = random_matrix(20, 4, 62), y = random_matrix(20, 2, 63);
  const std::size_t np = model.num_params();
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e10;
  // How P is frozen: ε = 1e10 ≫ √v̂ (the gradients start O(1) and stay below ~1e7 in every run),
  // so p = (√v̂ + ε)·(1 − β1^t) varies by < 1e-3 relative (checked below); 300 warm-up steps at
  // rate 0 (θ does not move: Adam's m and v fill with the gradient at θ0) take β1^t to 2e-14, so
  // the bias correction 1/(1 − β1^t) is over before the measured steps. Each run rebuilds the
  // same warmed optimizer.
  auto warmed = [&]() {
    optim::Adam<double> opt({.beta1 = beta1, .beta2 = beta2, .eps = eps});
    std::vector<double> theta = params_of(model), g(np);
    (void)mse_loss_and_gradient(model, x.cview(), y.cview(), g.data());
    for (int t = 0; t < 300; ++t) opt.step(theta.data(), g.data(), np, 0.0);
    return opt;
  };
  auto preconditioner = [&](const optim::Adam<double>& opt) {
    return adam_preconditioner<double>(std::span<const double>(state_buffer(opt, "exp_avg_sq"), np),
                                       opt.steps(), beta1, beta2, eps);
  };
  // The prediction, from the library: λmax(P^{-1/2}·H·P^{-1/2}) by Lanczos on the exact Hessian.
  const std::vector<double> p0 = preconditioner(warmed());
  const LossHessianOperator hop(model, x.cview(), y.cview());
  const PreconditionedOperator pre(hop, p0);
  const SharpnessResult s = sharpness(pre);
  ASSERT_TRUE(s.ok());
  const double eta_crit = adam_critical_rate(s.lambda_max, beta1);

  struct Run {
    std::vector<double> grad_norms;
    std::vector<double> last, before_last;  // the last two gradients
    double p_drift = 0;                     // max_i |p_i − p0_i|/p0_i at the end
  };
  auto run = [&](double eta, int steps) {
    optim::Adam<double> opt = warmed();
    Mlp<double> m = model;
    Run r;
    std::vector<double> g(np);
    for (int t = 0; t < steps; ++t) {
      (void)mse_loss_and_gradient(m, x.cview(), y.cview(), g.data());
      r.grad_norms.push_back(norm(g));
      r.before_last = r.last;
      r.last = g;
      opt.step(m.params(), g.data(), np, eta);
    }
    const std::vector<double> p = preconditioner(opt);
    for (std::size_t q = 0; q < np; ++q)
      r.p_drift = std::max(r.p_drift, std::abs(p[q] - p0[q]) / p0[q]);
    return r;
  };
  const Run below = run(0.97 * eta_crit, 400);
  EXPECT_LT(below.grad_norms.back(), 1e-6 * below.grad_norms.front()) << "eta_crit " << eta_crit;
  EXPECT_LT(below.p_drift, 1e-3);
  const Run above = run(1.03 * eta_crit, 40);
  EXPECT_GT(above.grad_norms.back(), 1e3 * above.grad_norms.front());
  EXPECT_LT(above.p_drift, 1e-3);
  // A period-2 oscillation: consecutive gradients point in opposite directions.
  double dot = 0;
  for (std::size_t q = 0; q < np; ++q) dot += above.last[q] * above.before_last[q];
  EXPECT_LT(dot / (norm(above.last) * norm(above.before_last)), -0.99);
  // The momentum-blind rate 2/λmax would be 19× too small: half of eta_crit still converges.
  const Run blind = run(0.5 * eta_crit, 400);
  EXPECT_GT(0.5 * eta_crit, 9 * s.eta_crit);
  EXPECT_LT(blind.grad_norms.back(), 1e-6 * blind.grad_norms.front());
  std::printf(
      "[ figures  ] Adam eta_crit %.6g; |g| ratio after 400 steps at 0.97x %.2e, after 40 "
      "at 1.03x %.2e; P drift %.1e / %.1e\n",
      eta_crit, below.grad_norms.back() / below.grad_norms.front(),
      above.grad_norms.back() / above.grad_norms.front(), below.p_drift, above.p_drift);
}

TEST(Curvature, ResidualSplitOntoTopEigenvectors) {
  const MlpConfig config{
      {4, 8, 2}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk};
  Mlp<double> model(config);
  Rng rng(20);
  model.init(rng);
  const Matrix<double> x = random_matrix(15, 4, 21), y = random_matrix(15, 2, 22);
  const NtkOperator<double> op(model, x.cview(), {.mode = NtkMode::Full});
  const EigenResult top = largest_eigenpairs(op, {.nev = 4});
  ASSERT_TRUE(top.ok());
  const Matrix<double> f = op.outputs();
  std::vector<double> r(30);
  for (std::size_t i = 0; i < 15; ++i)
    for (std::size_t c = 0; c < 2; ++c) r[i * 2 + c] = f(i, c) - y(i, c);
  const double c = nn::mse_scale(MseReduction::Mean, 15, 2);
  const ResidualSplit s = split_residual(top.eigenvectors.cview(), r, c);
  ASSERT_EQ(s.coefficients.size(), 4U);
  double norm2 = 0;
  for (const double e : r) norm2 += e * e;
  EXPECT_NEAR(s.top + s.rest, norm2, 1e-12 * norm2);
  EXPECT_NEAR(s.loss_top + s.loss_rest, loss_only(model, x, y, MseReduction::Mean), 1e-12);
  // Independent check of one coefficient.
  double c0 = 0;
  for (std::size_t i = 0; i < 30; ++i) c0 += top.eigenvectors(0, i) * r[i];
  EXPECT_DOUBLE_EQ(s.coefficients[0], c0);
  EXPECT_THROW((void)split_residual(top.eigenvectors.cview(), std::vector<double>(3), c),
               InvalidArgument);
}

}  // namespace
}  // namespace catapult::ntk
