// Hessian-vector products, Gauss–Newton, sharpness and critical rates against independent
// references (finite differences of the loss, dense eigenvalues, gradient-descent runs).
#include "catapult/ntk/curvature.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "catapult/core/rng.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
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
  double scale = 0;
  for (std::size_t i = 0; i < ref.rows(); ++i)
    for (std::size_t j = 0; j < ref.cols(); ++j) scale = std::max(scale, std::abs(ref(i, j)));
  // The reference errs by O(h²) ≈ 1e-8·‖∇⁴L‖ plus O(u·L/h²) ≈ 1e-8; the HVP by O(t²) ≈ 4e-11.
  for (std::size_t i = 0; i < ref.rows(); ++i)
    for (std::size_t j = 0; j < ref.cols(); ++j)
      ASSERT_NEAR(got(i, j), ref(i, j), 1e-6 * scale) << i << "," << j;
  // Linearity in v: H(3v) = 3·H(v) (the step is along v̂, so scaling is exact up to rounding).
  std::vector<double> v(hop.size()), hv(hop.size()), h3v(hop.size());
  Rng vr(7);
  for (double& e : v) e = vr.uniform(-1, 1);
  hop.apply(v.data(), hv.data());
  for (double& e : v) e *= 3;
  hop.apply(v.data(), h3v.data());
  for (std::size_t q = 0; q < v.size(); ++q) EXPECT_NEAR(h3v[q], 3 * hv[q], 1e-12 * scale);
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
  // The same rate from the Hessian's sharpness (finite-difference HVP).
  const LossHessianOperator hop(model, x.cview(), y.cview());
  const SharpnessResult s = sharpness(hop);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s.eta_crit, eta_ntk, 1e-6 * eta_ntk);

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

  // Adam after t = 3 steps with β1 = 0.9, β2 = 0.999: p = (√v/√(1 − β2³) + ε)·(1 − β1³).
  const std::vector<double> pa = adam_preconditioner<float>(accum, 3, 0.9, 0.999, 1e-8);
  EXPECT_NEAR(pa[3], (std::sqrt(3.5 / (1 - std::pow(0.999, 3))) + 1e-8) * (1 - std::pow(0.9, 3)),
              1e-7);
  EXPECT_THROW((void)adam_preconditioner<float>(accum, 0, 0.9, 0.999, 1e-8), InvalidArgument);

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
