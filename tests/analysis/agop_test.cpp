#include "catapult/analysis/agop.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/nn/mlp.hpp"

namespace catapult::analysis {
namespace {

// AGOP from central-difference input Jacobians of the double network, sample by sample.
Matrix<double> finite_difference_agop(const nn::Mlp<double>& model, const Matrix<double>& x) {
  const std::size_t n = x.rows();
  const std::size_t d = x.cols();
  const std::size_t k = model.output_dim();
  const double h = 1e-5;
  Matrix<double> g(d, d);
  Matrix<double> xp(1, d);
  Matrix<double> plus(1, k);
  Matrix<double> minus(1, k);
  Matrix<double> jac(k, d);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t a = 0; a < d; ++a) {
      for (std::size_t b = 0; b < d; ++b) xp(0, b) = x(i, b);
      xp(0, a) = x(i, a) + h;
      model.forward(xp.cview(), plus.view());
      xp(0, a) = x(i, a) - h;
      model.forward(xp.cview(), minus.view());
      for (std::size_t j = 0; j < k; ++j) jac(j, a) = (plus(0, j) - minus(0, j)) / (2 * h);
    }
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) {
        double s = 0.0;
        for (std::size_t j = 0; j < k; ++j) s += jac(j, a) * jac(j, b);
        g(a, b) += s / static_cast<double>(n);
      }
  }
  return g;
}

Matrix<double> random_inputs(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<double> x(n, d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) x(i, j) = rng.normal();
  return x;
}

double max_abs(const Matrix<double>& m) {
  double r = 0.0;
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j) r = std::max(r, std::abs(m(i, j)));
  return r;
}

TEST(Agop, MatchesFiniteDifferenceJacobians) {
  for (const auto param : {nn::Parameterization::Standard, nn::Parameterization::Ntk}) {
    nn::MlpConfig cfg;
    cfg.widths = {6, 9, 7, 3};
    cfg.hidden_activation = nn::Activation::Tanh;
    cfg.parameterization = param;
    nn::Mlp<double> model(cfg);
    Rng rng(7);
    model.init(rng);
    const auto x = random_inputs(11, 6, 8);
    const auto reference = finite_difference_agop(model, x);
    // chunk 4 exercises the chunked sum (11 = 4 + 4 + 3).
    const auto g = agop<double>(model, x.cview(), 4);
    ASSERT_EQ(g.rows(), 6U);
    ASSERT_EQ(g.cols(), 6U);
    const double scale = max_abs(reference);
    ASSERT_GT(scale, 1e-3);
    for (std::size_t a = 0; a < 6; ++a)
      for (std::size_t b = 0; b < 6; ++b) {
        EXPECT_NEAR(g(a, b), reference(a, b), 1e-8 * scale) << a << "," << b;
        EXPECT_NEAR(g(a, b), g(b, a), 1e-14 * scale);  // symmetric
      }
  }
}

TEST(Agop, ReluNetworkMatchesFiniteDifferencesAwayFromKinks) {
  nn::MlpConfig cfg;
  cfg.widths = {5, 8, 4};
  cfg.hidden_activation = nn::Activation::Relu;
  nn::Mlp<double> model(cfg);
  Rng rng(3);
  model.init(rng);
  const auto x = random_inputs(7, 5, 4);
  // h = 1e-5 crosses no kink unless a pre-activation lies within ~1e-5 of 0 (not for these seeds).
  const auto reference = finite_difference_agop(model, x);
  const auto g = agop<double>(model, x.cview());
  const double scale = max_abs(reference);
  for (std::size_t a = 0; a < 5; ++a)
    for (std::size_t b = 0; b < 5; ++b) EXPECT_NEAR(g(a, b), reference(a, b), 1e-8 * scale);
}

TEST(Agop, LinearModelIsWTransposeW) {
  // f(x) = W x + b: J_x = W for every sample, so G = WᵀW whatever the inputs.
  nn::MlpConfig cfg;
  cfg.widths = {5, 3};
  nn::Mlp<double> model(cfg);
  Rng rng(11);
  model.init(rng);
  const auto w = model.layer(0).weight;
  const auto x = random_inputs(13, 5, 12);
  const auto g = agop<double>(model, x.cview(), 5);
  for (std::size_t a = 0; a < 5; ++a)
    for (std::size_t b = 0; b < 5; ++b) {
      double expected = 0.0;
      for (std::size_t j = 0; j < 3; ++j) expected += w(j, a) * w(j, b);
      EXPECT_NEAR(g(a, b), expected, 1e-14);
    }
}

TEST(Agop, FloatAgreesWithDouble) {
  nn::MlpConfig cfg;
  cfg.widths = {20, 16, 4};
  nn::Mlp<double> md(cfg);
  nn::Mlp<float> mf(cfg);
  Rng rng(5);
  md.init(rng);
  for (std::size_t p = 0; p < md.num_params(); ++p)
    mf.params()[p] = static_cast<float>(md.params()[p]);
  const auto xd = random_inputs(50, 20, 6);
  Matrix<float> xf(50, 20);
  for (std::size_t i = 0; i < 50; ++i)
    for (std::size_t j = 0; j < 20; ++j) xf(i, j) = static_cast<float>(xd(i, j));
  const auto gd = agop<double>(md, xd.cview());
  const auto gf = agop<float>(mf, xf.cview(), 16);
  const double scale = max_abs(gd);
  for (std::size_t a = 0; a < 20; ++a)
    for (std::size_t b = 0; b < 20; ++b)
      EXPECT_NEAR(static_cast<double>(gf(a, b)), gd(a, b), 1e-5 * scale);
  EXPECT_NEAR(agop_alignment<float>(gf.cview(), gf.cview()), 1.0, 1e-12);
}

TEST(AgopAlignment, SelfIsOneOrthogonalIsZeroScaleInvariant) {
  Rng rng(2);
  Matrix<double> a(4, 4);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) a(i, j) = rng.normal();
  EXPECT_NEAR(agop_alignment<double>(a.cview(), a.cview()), 1.0, 1e-15);
  Matrix<double> scaled(4, 4);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) scaled(i, j) = 3.5 * a(i, j);
  EXPECT_NEAR(agop_alignment<double>(a.cview(), scaled.cview()), 1.0, 1e-15);
  // b = r − (⟨r, a⟩/⟨a, a⟩)·a is Frobenius-orthogonal to a.
  Matrix<double> b(4, 4);
  double ra = 0.0;
  double aa = 0.0;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) {
      b(i, j) = rng.normal();
      ra += b(i, j) * a(i, j);
      aa += a(i, j) * a(i, j);
    }
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) b(i, j) -= ra / aa * a(i, j);
  EXPECT_NEAR(agop_alignment<double>(a.cview(), b.cview()), 0.0, 1e-14);
  // Projections on orthogonal directions: e1e1ᵀ and e2e2ᵀ.
  Matrix<double> p1(3, 3);
  Matrix<double> p2(3, 3);
  p1(0, 0) = 1.0;
  p2(1, 1) = 2.0;
  EXPECT_EQ(agop_alignment<double>(p1.cview(), p2.cview()), 0.0);
  // A known angle: diag(1, 1) against diag(1, 0) is 1/√2.
  Matrix<double> i2(2, 2);
  Matrix<double> e11(2, 2);
  i2(0, 0) = i2(1, 1) = 1.0;
  e11(0, 0) = 1.0;
  EXPECT_NEAR(agop_alignment<double>(i2.cview(), e11.cview()), 1.0 / std::sqrt(2.0), 1e-15);
}

TEST(AgopAlignment, RejectsZeroAndMismatchedMatrices) {
  Matrix<double> z(3, 3);
  Matrix<double> a(3, 3, 1.0);
  Matrix<double> b(2, 2, 1.0);
  EXPECT_THROW((void)agop_alignment<double>(z.cview(), a.cview()), InvalidArgument);
  EXPECT_THROW((void)agop_alignment<double>(a.cview(), b.cview()), InvalidArgument);
}

TEST(Agop, RejectsBadArguments) {
  nn::MlpConfig cfg;
  cfg.widths = {4, 3, 2};
  nn::Mlp<double> model(cfg);
  Rng rng(1);
  model.init(rng);
  Matrix<double> wrong(5, 3);
  Matrix<double> empty(0, 4);
  Matrix<double> x(5, 4);
  EXPECT_THROW((void)agop<double>(model, wrong.cview()), InvalidArgument);
  EXPECT_THROW((void)agop<double>(model, empty.cview()), InvalidArgument);
  EXPECT_THROW((void)agop<double>(model, x.cview(), 0), InvalidArgument);
}

}  // namespace
}  // namespace catapult::analysis
