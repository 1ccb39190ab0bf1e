// Structured and matrix-free NTK against the brute-force Jacobian and closed forms.
#include "catapult/ntk/ntk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "support/reference.hpp"

namespace catapult::ntk {
namespace {

using nn::Activation;
using nn::Mlp;
using nn::MlpConfig;
using nn::Parameterization;

struct Case {
  std::string name;
  MlpConfig config;
};

std::vector<Case> cases() {
  return {
      {"tanh_2layer_ntk_bias",
       {{5, 7, 3}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk}},
      {"relu_2layer_std_nobias",
       {{4, 6, 2}, Activation::Relu, Activation::Identity, false, Parameterization::Standard}},
      {"tanh_3layer_tanh_out",
       {{3, 5, 4, 3}, Activation::Tanh, Activation::Tanh, true, Parameterization::Ntk}},
      {"relu_4layer_std",
       {{6, 5, 4, 3, 2}, Activation::Relu, Activation::Identity, true, Parameterization::Standard}},
  };
}

template <class T>
Matrix<T> random_x(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<T> x(n, d);
  test::fill_uniform(x.view(), rng);
  return x;
}

double max_abs(const Matrix<double>& m) {
  double v = 0;
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j) v = std::max(v, std::abs(m(i, j)));
  return v;
}

template <class T>
void expect_close(const Matrix<T>& got, const Matrix<double>& want, double rel,
                  const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  const double scale = max_abs(want);
  for (std::size_t i = 0; i < want.rows(); ++i)
    for (std::size_t j = 0; j < want.cols(); ++j)
      ASSERT_NEAR(static_cast<double>(got(i, j)), want(i, j), rel * scale)
          << what << " at (" << i << "," << j << ")";
}

TEST(Ntk, LinearModelIsScaledGramOfInputs) {
  // f(x) = s·W·x (+ b): ∂f_c/∂W_c = s·x, so K_full = (s²·X·Xᵀ + β)⊗I_k exactly.
  for (const bool bias : {false, true}) {
    for (const auto param : {Parameterization::Ntk, Parameterization::Standard}) {
      const std::size_t n = 9, d = 6, k = 3;
      Mlp<double> model({{d, k}, Activation::Identity, Activation::Identity, bias, param});
      Rng rng(7);
      model.init(rng);
      const Matrix<double> x = random_x<double>(n, d, 8);
      const double s2 = param == Parameterization::Ntk ? 1.0 / static_cast<double>(d) : 1.0;
      const Matrix<double> xx =
          test::naive_gemm<double>(false, true, s2, x.cview(), x.cview(), 0.0, {});
      const Matrix<double> full = empirical_ntk(model, x.cview(), {.mode = NtkMode::Full});
      const Matrix<double> traced = empirical_ntk(model, x.cview(), {.mode = NtkMode::Traced});
      const Matrix<double> out1 =
          empirical_ntk(model, x.cview(), {.mode = NtkMode::Output, .output = 1});
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          const double want = xx(i, j) + (bias ? 1.0 : 0.0);
          EXPECT_NEAR(traced(i, j), static_cast<double>(k) * want, 1e-13);
          EXPECT_NEAR(out1(i, j), want, 1e-13);
          for (std::size_t c = 0; c < k; ++c)
            for (std::size_t c2 = 0; c2 < k; ++c2)
              EXPECT_NEAR(full(i * k + c, j * k + c2), c == c2 ? want : 0.0, 1e-13);
        }
    }
  }
}

TEST(Ntk, StructuredEqualsBruteForceInAllModes) {
  for (const Case& tc : cases()) {
    Mlp<double> model(tc.config);
    Rng rng(21);
    model.init(rng);
    const std::size_t n = 11;
    const std::size_t k = model.output_dim();
    const Matrix<double> x = random_x<double>(n, model.input_dim(), 22);
    const Matrix<double> jac = jacobian(model, x.cview());
    for (const NtkMode mode : {NtkMode::Full, NtkMode::Traced, NtkMode::Output}) {
      for (const std::size_t block : {0UL, 4UL}) {  // one block and several (uneven) blocks
        const NtkOptions o{.mode = mode, .output = k - 1, .batch_size = block};
        const Matrix<double> want = ntk_from_jacobian(jac.cview(), k, o);
        const Matrix<double> got = empirical_ntk(model, x.cview(), o);
        expect_close(got, want, 1e-13,
                     tc.name + " " + to_string(mode) + " block " + std::to_string(block));
        for (std::size_t i = 0; i < got.rows(); ++i)
          for (std::size_t j = 0; j < i; ++j) ASSERT_EQ(got(i, j), got(j, i));
      }
    }
  }
}

TEST(Ntk, FloatStructuredIsCloseToDouble) {
  const MlpConfig config{
      {8, 16, 4}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk};
  Mlp<double> md(config);
  Rng rng(3);
  md.init(rng);
  Mlp<float> mf(config);
  for (std::size_t p = 0; p < md.num_params(); ++p)
    mf.params()[p] = static_cast<float>(md.params()[p]);
  const Matrix<double> xd = random_x<double>(10, 8, 4);
  Matrix<float> xf(10, 8);
  for (std::size_t i = 0; i < 10; ++i)
    for (std::size_t j = 0; j < 8; ++j) xf(i, j) = static_cast<float>(xd(i, j));
  const Matrix<double> want = empirical_ntk(md, xd.cview(), {.mode = NtkMode::Full});
  const Matrix<float> got = empirical_ntk(mf, xf.cview(), {.mode = NtkMode::Full});
  expect_close(got, want, 1e-5, "float full");
}

TEST(Ntk, MatrixFreeEqualsDense) {
  for (const Case& tc : cases()) {
    Mlp<double> model(tc.config);
    Rng rng(31);
    model.init(rng);
    const std::size_t n = 13;
    const std::size_t k = model.output_dim();
    const Matrix<double> x = random_x<double>(n, model.input_dim(), 32);
    for (const NtkMode mode : {NtkMode::Full, NtkMode::Traced, NtkMode::Output}) {
      const NtkOptions o{.mode = mode, .output = 1, .batch_size = 5};
      const Matrix<double> dense = empirical_ntk(model, x.cview(), o);
      const NtkOperator<double> op(model, x.cview(), o);
      ASSERT_EQ(op.size(), ntk_size(mode, n, k));
      EXPECT_GT(op.flops_per_apply(), 0.0);
      Rng vr(33);
      std::vector<double> v(op.size()), y(op.size());
      for (double& e : v) e = vr.uniform(-1, 1);
      op.apply(v.data(), y.data());
      const double scale = max_abs(dense) * static_cast<double>(op.size());
      for (std::size_t i = 0; i < op.size(); ++i) {
        double want = 0;
        for (std::size_t j = 0; j < op.size(); ++j) want += dense(i, j) * v[j];
        ASSERT_NEAR(y[i], want, 1e-13 * scale) << tc.name << " " << to_string(mode) << " i=" << i;
      }
      // Bitwise the same on a second application (scratch reuse leaves no trace).
      std::vector<double> y2(op.size());
      op.apply(v.data(), y2.data());
      EXPECT_EQ(y, y2);
      // Outputs of the cached forward pass match a fresh forward.
      Matrix<double> out(n, k);
      model.forward(x.cview(), out.view());
      const Matrix<double> cached = op.outputs();
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < k; ++c) EXPECT_EQ(cached(i, c), out(i, c));
    }
  }
}

TEST(Ntk, SpectraOnMatrixFreeEqualsDenseEigenvalues) {
  const MlpConfig config{
      {6, 32, 3}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk};
  Mlp<double> model(config);
  Rng rng(41);
  model.init(rng);
  const Matrix<double> x = random_x<double>(40, 6, 42);
  for (const NtkMode mode : {NtkMode::Full, NtkMode::Traced}) {
    const NtkOptions o{.mode = mode, .batch_size = 16};
    const Matrix<double> dense = empirical_ntk(model, x.cview(), o);
    const std::vector<double> ref = dense_eigenvalues(dense.cview());
    const NtkOperator<double> op(model, x.cview(), o);
    const EigenResult r = largest_eigenpairs(op, {.nev = 3});
    ASSERT_TRUE(r.ok());
    for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.eigenvalues[i], ref[i], 1e-9 * ref[0]);
  }
}

TEST(Ntk, FloatMatrixFreeTracedIsCloseToDoubleDense) {
  // The 60000-image path: float operator, collapsed traced form, several batches.
  const MlpConfig config{
      {30, 64, 10}, Activation::Relu, Activation::Identity, true, Parameterization::Standard};
  Mlp<double> md(config);
  Rng rng(61);
  md.init(rng);
  Mlp<float> mf(config);
  for (std::size_t p = 0; p < md.num_params(); ++p)
    mf.params()[p] = static_cast<float>(md.params()[p]);
  const Matrix<double> xd = random_x<double>(200, 30, 62);
  Matrix<float> xf(200, 30);
  for (std::size_t i = 0; i < 200; ++i)
    for (std::size_t j = 0; j < 30; ++j) xf(i, j) = static_cast<float>(xd(i, j));
  const Matrix<double> dense = empirical_ntk(md, xd.cview(), {.mode = NtkMode::Traced});
  const std::vector<double> ref = dense_eigenvalues(dense.cview());
  const NtkOperator<float> op(mf, xf.cview(), {.mode = NtkMode::Traced, .batch_size = 64});
  const EigenResult r = largest_eigenpairs(op, {.nev = 2, .tolerance = 1e-6});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r.eigenvalues[0], ref[0], 1e-5 * ref[0]);
  EXPECT_NEAR(r.eigenvalues[1], ref[1], 1e-5 * ref[0]);
}

TEST(Ntk, ConditionNumberDenseAndMatrixFreeAgreeWithEigen) {
  const MlpConfig config{
      {5, 40, 2}, Activation::Tanh, Activation::Identity, true, Parameterization::Ntk};
  Mlp<double> model(config);
  Rng rng(71);
  model.init(rng);
  const Matrix<double> x = random_x<double>(30, 5, 72);
  for (const NtkMode mode : {NtkMode::Full, NtkMode::Traced}) {
    const Matrix<double> dense = empirical_ntk(model, x.cview(), {.mode = mode});
    const std::vector<double> ref = dense_eigenvalues(dense.cview());
    const double kappa = ref.front() / ref.back();
    // Dense path (shift-and-invert for λmin): tight.
    const ConditionResult c =
        ntk_condition_number(model, x.cview(), {.mode = mode}, {.tolerance = 1e-12});
    ASSERT_TRUE(c.ok()) << to_string(mode) << " " << to_string(c.status);
    EXPECT_NEAR(c.lambda_max, ref.front(), 1e-9 * ref.front());
    EXPECT_NEAR(c.lambda_min, ref.back(), 1e-9 * ref.back());
    EXPECT_NEAR(c.condition_number, kappa, 1e-8 * kappa);
    // Matrix-free path (spectral shift): λmin is known to about tolerance·λmax.
    const ConditionResult f = ntk_condition_number(model, x.cview(), {.mode = mode},
                                                   {.tolerance = 1e-10, .max_iterations = 5000}, 1);
    ASSERT_TRUE(f.ok()) << to_string(mode) << " " << to_string(f.status) << " " << f.operations;
    EXPECT_NEAR(f.lambda_max, ref.front(), 1e-9 * ref.front());
    EXPECT_NEAR(f.lambda_min, ref.back(), 1e-8 * ref.front());
  }
}

TEST(Ntk, ResultsDoNotDependOnTheThreadCount) {
  const MlpConfig config{
      {20, 300, 4}, Activation::Relu, Activation::Identity, true, Parameterization::Standard};
  Mlp<float> model(config);
  Rng rng(51);
  model.init(rng);
  const Matrix<float> x = random_x<float>(150, 20, 52);
  for (const NtkMode mode : {NtkMode::Full, NtkMode::Traced}) {
    const NtkOptions o{.mode = mode, .batch_size = 64};
    Matrix<float> k1;
    std::vector<double> y1;
    const NtkOperator<float> op(model, x.cview(), o);
    std::vector<double> v(op.size(), 0.0);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i));
    {
      const ThreadLimit one(1);
      k1 = empirical_ntk(model, x.cview(), o);
      y1.resize(op.size());
      op.apply(v.data(), y1.data());
    }
    const Matrix<float> kn = empirical_ntk(model, x.cview(), o);
    std::vector<double> yn(op.size());
    op.apply(v.data(), yn.data());
    for (std::size_t i = 0; i < kn.size(); ++i) ASSERT_EQ(k1.data()[i], kn.data()[i]) << i;
    EXPECT_EQ(y1, yn);
  }
}

TEST(Ntk, ArgumentErrors) {
  Mlp<double> model({{3, 4, 2}});
  const Matrix<double> bad(5, 4);
  EXPECT_THROW((void)empirical_ntk(model, bad.cview()), InvalidArgument);
  const Matrix<double> x(5, 3);
  EXPECT_THROW((void)empirical_ntk(model, x.cview(), {.mode = NtkMode::Output, .output = 2}),
               InvalidArgument);
  EXPECT_THROW(NtkOperator<double>(model, bad.cview()), InvalidArgument);
  EXPECT_THROW((void)parse_ntk_mode("diag"), InvalidArgument);
  EXPECT_EQ(parse_ntk_mode("traced"), NtkMode::Traced);
}

// Re-measuring λmax(K) during training: a warm start from the previous top eigenvector gives the
// dense kernel's λmax of the changed network, in no more operator applications than a cold start.
TEST(Ntk, WarmStartedLambdaMaxMatchesDenseKernel) {
  const MlpConfig config{
      {6, 12, 3}, Activation::Tanh, Activation::Identity, true, Parameterization::Standard};
  Mlp<double> model(config);
  Rng rng(41);
  model.init(rng);
  const Matrix<double> x = random_x<double>(20, 6, 42);
  EigenOptions o;
  o.tolerance = 1e-10;
  const NtkOptions full{.mode = NtkMode::Full};
  const EigenResult first = largest_eigenpairs(NtkOperator<double>(model, x.cview(), full), o);
  ASSERT_TRUE(first.ok());
  const double ref0 = dense_eigenvalues<double>(empirical_ntk(model, x.cview(), full).cview())[0];
  EXPECT_NEAR(first.eigenvalues[0], ref0, 1e-9 * ref0);

  // One small "training step": every parameter moves by ~1e-3 relative.
  for (std::size_t p = 0; p < model.num_params(); ++p)
    model.params()[p] *= 1.0 + 1e-3 * rng.normal();
  const double ref1 = dense_eigenvalues<double>(empirical_ntk(model, x.cview(), full).cview())[0];
  ASSERT_GT(std::abs(ref1 - ref0), 1e-8 * ref0);  // the kernel did change
  const NtkOperator<double> op(model, x.cview(), full);
  const EigenResult cold = largest_eigenpairs(op, o);
  EigenOptions warm_options = o;
  warm_options.start.assign(first.eigenvectors.row(0), first.eigenvectors.row(0) + op.size());
  const EigenResult warm = largest_eigenpairs(op, warm_options);
  ASSERT_TRUE(cold.ok());
  ASSERT_TRUE(warm.ok());
  EXPECT_NEAR(cold.eigenvalues[0], ref1, 1e-9 * ref1);
  EXPECT_NEAR(warm.eigenvalues[0], ref1, 1e-9 * ref1);
  EXPECT_LE(warm.operations, cold.operations);

  // The same warm start serves condition_number (for λmax only).
  const ConditionResult c = condition_number(op, warm_options);
  const auto all = dense_eigenvalues<double>(empirical_ntk(model, x.cview(), full).cview());
  EXPECT_NEAR(c.lambda_max, ref1, 1e-8 * ref1);
  if (c.ok()) {
    EXPECT_NEAR(c.lambda_min, all.back(), 1e-6 * ref1);
  }

  EigenOptions bad = o;
  bad.start.assign(op.size() + 1, 1.0);
  EXPECT_THROW((void)largest_eigenpairs(op, bad), InvalidArgument);
  bad.start.assign(op.size(), 0.0);
  EXPECT_THROW((void)largest_eigenpairs(op, bad), InvalidArgument);
}

}  // namespace
}  // namespace catapult::ntk
