// Losses: values and gradients against their formulas and finite differences.
#include "catapult/nn/loss.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/reference.hpp"

namespace catapult {
namespace {

using nn::MseReduction;

TEST(Loss, MseConventionsByHand) {
  // f = [[1, 2], [3, 5]], y = [[0, 2], [1, 1]]: errors 1, 0, 2, 4 → Σe² = 21, n = k = 2.
  Matrix<double> f(2, 2), y(2, 2), d(2, 2);
  f(0, 0) = 1, f(0, 1) = 2, f(1, 0) = 3, f(1, 1) = 5;
  y(0, 0) = 0, y(0, 1) = 2, y(1, 0) = 1, y(1, 1) = 1;
  struct Case {
    MseReduction r;
    double c;
  };
  for (auto [r, c] : {Case{MseReduction::Mean, 0.25}, Case{MseReduction::Sum, 1.0},
                      Case{MseReduction::HalfSum, 0.5}, Case{MseReduction::SampleMean, 0.5},
                      Case{MseReduction::HalfSampleMean, 0.25}}) {
    SCOPED_TRACE(nn::to_string(r));
    EXPECT_DOUBLE_EQ(nn::mse_scale(r, 2, 2), c);
    EXPECT_DOUBLE_EQ(nn::mse_loss(f.cview(), y.cview(), d.view(), r), 21 * c);
    EXPECT_DOUBLE_EQ(d(0, 0), 2 * c * 1);
    EXPECT_DOUBLE_EQ(d(0, 1), 0.0);
    EXPECT_DOUBLE_EQ(d(1, 0), 2 * c * 2);
    EXPECT_DOUBLE_EQ(d(1, 1), 2 * c * 4);
    EXPECT_EQ(nn::parse_mse_reduction(nn::to_string(r)), r);
  }
  // PyTorch's mean: 1/(n·k), here for n = 3, k = 10.
  EXPECT_DOUBLE_EQ(nn::mse_scale(MseReduction::Mean, 3, 10), 1.0 / 30);
}

TEST(Loss, MseLabelsEqualsOneHot) {
  Rng rng(3);
  Matrix<float> f(6, 4), y(6, 4, -0.25F), d1(6, 4), d2(6, 4);
  test::fill_uniform(f.view(), rng);
  const std::vector<std::uint8_t> labels = {0, 3, 2, 2, 1, 0};
  for (std::size_t i = 0; i < 6; ++i) y(i, labels[i]) = 0.75F;
  const double a = nn::mse_loss(f.cview(), y.cview(), d1.view());
  const double b =
      nn::mse_loss_labels(f.cview(), labels, d2.view(), MseReduction::Mean, 0.75, -0.25);
  EXPECT_NEAR(a, b, 1e-12);
  for (std::size_t i = 0; i < d1.size(); ++i) EXPECT_EQ(d1.data()[i], d2.data()[i]);
}

TEST(Loss, CrossEntropyValueGradientAndStability) {
  Matrix<double> f(2, 3), d(2, 3);
  f(0, 0) = 1, f(0, 1) = 2, f(0, 2) = 3;
  f(1, 0) = 1000, f(1, 1) = 0, f(1, 2) = -1000;  // would overflow a naive exp
  const std::vector<std::uint8_t> labels = {2, 1};
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expected = ((lse0 - 3) + 1000.0) / 2;
  EXPECT_NEAR(nn::cross_entropy_loss(f.cview(), labels, d.view()), expected, 1e-12);
  EXPECT_NEAR(d(0, 0), std::exp(1 - lse0) / 2, 1e-15);
  EXPECT_NEAR(d(0, 2), (std::exp(3 - lse0) - 1) / 2, 1e-15);
  EXPECT_NEAR(d(1, 0), 0.5, 1e-15);
  EXPECT_NEAR(d(1, 1), -0.5, 1e-15);
  EXPECT_NEAR(d(1, 2), 0.0, 1e-15);
  // Finite differences on random logits.
  Rng rng(9);
  Matrix<double> g(4, 5), dg(4, 5);
  test::fill_uniform(g.view(), rng, -3, 3);
  const std::vector<std::uint8_t> lab = {4, 0, 2, 2};
  (void)nn::cross_entropy_loss(g.cview(), lab, dg.view());
  Matrix<double> none;
  for (std::size_t q = 0; q < g.size(); ++q) {
    Matrix<double> gp = g, gm = g;
    gp.data()[q] += 1e-6;
    gm.data()[q] -= 1e-6;
    const double fd = (nn::cross_entropy_loss(gp.cview(), lab, none.view()) -
                       nn::cross_entropy_loss(gm.cview(), lab, none.view())) /
                      2e-6;
    EXPECT_NEAR(dg.data()[q], fd, 1e-8);
  }
}

TEST(Loss, NonFiniteOutputsGiveNonFiniteLoss) {
  Matrix<float> f(1, 3, 0.0F), d(1, 3);
  f(0, 1) = std::nanf("");
  const std::vector<std::uint8_t> labels = {0};
  EXPECT_TRUE(std::isnan(nn::cross_entropy_loss(f.cview(), labels, d.view())));
  EXPECT_TRUE(std::isnan(nn::mse_loss_labels(f.cview(), labels, d.view())));
}

TEST(Loss, AccuracyAndErrors) {
  Matrix<float> f(3, 3, 0.0F);
  f(0, 1) = 1;
  f(1, 2) = 1;
  f(2, 0) = 1;
  f(2, 2) = 1;  // tie: first index (0) wins
  const std::vector<std::uint8_t> labels = {1, 0, 0};
  EXPECT_EQ(nn::count_correct(f.cview(), labels), 2u);
  EXPECT_DOUBLE_EQ(nn::accuracy(f.cview(), labels), 2.0 / 3);
  const std::vector<std::uint8_t> bad = {1, 0, 7};
  Matrix<float> d(3, 3);
  EXPECT_THROW((void)nn::cross_entropy_loss(f.cview(), bad, d.view()), InvalidArgument);
  EXPECT_THROW((void)nn::mse_loss_labels(f.cview(), bad, d.view()), InvalidArgument);
  const std::vector<std::uint8_t> short_labels = {1};
  EXPECT_THROW((void)nn::count_correct(f.cview(), short_labels), InvalidArgument);
  EXPECT_THROW((void)nn::parse_loss_kind("hinge"), InvalidArgument);
  EXPECT_EQ(nn::parse_loss_kind("ce"), nn::LossKind::CrossEntropy);
}

}  // namespace
}  // namespace catapult
