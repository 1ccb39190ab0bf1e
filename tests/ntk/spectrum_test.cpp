// Spectra-backed eigensolvers against Eigen's dense SelfAdjointEigenSolver and known spectra.
#include "catapult/ntk/spectrum.hpp"

// GCC 12: false -Wmaybe-uninitialized inside avx512fintrin.h when Eigen is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "catapult/core/rng.hpp"
#include "support/reference.hpp"

namespace catapult::ntk {
namespace {

// A random symmetric matrix with the given eigenvalues: Q·diag(values)·Qᵀ with Q orthogonal
// (Householder QR of a Gaussian matrix).
Matrix<double> with_spectrum(const std::vector<double>& values, std::uint64_t seed) {
  const auto n = static_cast<Eigen::Index>(values.size());
  Rng rng(seed);
  Eigen::MatrixXd g(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) g(i, j) = rng.normal();
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ();
  Eigen::VectorXd d(n);
  for (Eigen::Index i = 0; i < n; ++i) d[i] = values[static_cast<std::size_t>(i)];
  const Eigen::MatrixXd a = q * d.asDiagonal() * q.transpose();
  Matrix<double> out(values.size(), values.size());
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      out(static_cast<std::size_t>(i), static_cast<std::size_t>(j)) = 0.5 * (a(i, j) + a(j, i));
  return out;
}

Matrix<double> random_gram(std::size_t n, std::size_t rank, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<double> x(n, rank);
  test::fill_uniform(x.view(), rng);
  return test::naive_gemm<double>(false, true, 1.0, x.cview(), x.cview(), 0.0, {});
}

std::vector<double> eigen_reference(const Matrix<double>& m) {
  const auto n = static_cast<Eigen::Index>(m.rows());
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      map(m.data(), n, n);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(Eigen::MatrixXd(map),
                                                              Eigen::EigenvaluesOnly);
  std::vector<double> v(solver.eigenvalues().data(),
                        solver.eigenvalues().data() + solver.eigenvalues().size());
  std::sort(v.rbegin(), v.rend());
  return v;
}

TEST(Spectrum, TopEigenpairsMatchDenseSolver) {
  for (const std::size_t n : {5UL, 40UL, 150UL}) {
    const Matrix<double> k = random_gram(n, n / 2 + 3, 11 + n);
    const std::vector<double> ref = eigen_reference(k);
    const DenseSymmetricOperator<double> op(k.cview());
    EigenOptions o;
    o.nev = std::min<std::size_t>(4, n - 1);
    const EigenResult r = largest_eigenpairs(op, o);
    ASSERT_TRUE(r.ok()) << "n=" << n << " " << to_string(r.status);
    ASSERT_EQ(r.eigenvalues.size(), o.nev);
    EXPECT_GT(r.operations, 0U);
    for (std::size_t i = 0; i < o.nev; ++i) {
      EXPECT_NEAR(r.eigenvalues[i], ref[i], 1e-9 * ref[0]) << "n=" << n << " i=" << i;
      // Residual ‖Kv − λv‖ and unit norm.
      std::vector<double> kv(n);
      op.apply(r.eigenvectors.row(i), kv.data());
      double res = 0, norm = 0;
      for (std::size_t j = 0; j < n; ++j) {
        res += std::pow(kv[j] - r.eigenvalues[i] * r.eigenvectors(i, j), 2);
        norm += r.eigenvectors(i, j) * r.eigenvectors(i, j);
      }
      EXPECT_LT(std::sqrt(res), 1e-7 * ref[0]);
      EXPECT_NEAR(norm, 1.0, 1e-12);
      for (std::size_t p = 0; p < i; ++p) {
        double dot = 0;
        for (std::size_t j = 0; j < n; ++j) dot += r.eigenvectors(i, j) * r.eigenvectors(p, j);
        EXPECT_NEAR(dot, 0.0, 1e-9);
      }
    }
  }
}

TEST(Spectrum, FloatMatrixOperator) {
  const Matrix<double> k = random_gram(60, 30, 5);
  Matrix<float> kf(60, 60);
  for (std::size_t i = 0; i < 60; ++i)
    for (std::size_t j = 0; j < 60; ++j) kf(i, j) = static_cast<float>(k(i, j));
  const DenseSymmetricOperator<float> op(kf.cview());
  const EigenResult r = largest_eigenpairs(op, {.nev = 2});
  ASSERT_TRUE(r.ok());
  const std::vector<double> ref = eigen_reference(k);
  EXPECT_NEAR(r.eigenvalues[0], ref[0], 1e-5 * ref[0]);
  EXPECT_NEAR(r.eigenvalues[1], ref[1], 1e-5 * ref[0]);
  const std::vector<double> dense = dense_eigenvalues(kf.cview());
  EXPECT_NEAR(dense[0], ref[0], 1e-5 * ref[0]);
}

TEST(Spectrum, KnownSpectrumSmallestAndConditionNumber) {
  // Eigenvalues 1, 2, …, 99 and 1000: κ = 1000 exactly.
  std::vector<double> values;
  for (int i = 1; i < 100; ++i) values.push_back(i);
  values.push_back(1000.0);
  const Matrix<double> a = with_spectrum(values, 3);
  const DenseSymmetricOperator<double> op(a.cview());

  const EigenResult top = largest_eigenpairs(op, {.nev = 2});
  ASSERT_TRUE(top.ok());
  EXPECT_NEAR(top.eigenvalues[0], 1000.0, 1e-8);
  EXPECT_NEAR(top.eigenvalues[1], 99.0, 1e-8);

  const EigenResult bottom = smallest_eigenpairs(op, 1000.0, {.nev = 3, .tolerance = 1e-12});
  ASSERT_TRUE(bottom.ok());
  EXPECT_NEAR(bottom.eigenvalues[0], 1.0, 1e-7);
  EXPECT_NEAR(bottom.eigenvalues[1], 2.0, 1e-7);
  EXPECT_NEAR(bottom.eigenvalues[2], 3.0, 1e-7);

  const ConditionResult c = condition_number(op, {.tolerance = 1e-12});
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(c.lambda_max, 1000.0, 1e-8);
  EXPECT_NEAR(c.lambda_min, 1.0, 1e-7);
  EXPECT_NEAR(c.condition_number, 1000.0, 1e-4);
  EXPECT_NO_THROW((void)c.require_converged("test"));
}

// Matrices so small that the Krylov subspace is the whole space (n = 2 … 6): λmin and κ must
// still be those of the dense eigensolver, with status Converged.
TEST(Spectrum, ConditionNumberOfTinyMatricesMatchesTheDenseSolver) {
  for (std::size_t n = 2; n <= 6; ++n)
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      SCOPED_TRACE(str_cat("n = ", n, ", seed ", seed));
      std::vector<double> values;
      Rng rng(seed);
      for (std::size_t i = 0; i < n; ++i) values.push_back(0.05 + rng.uniform(0.0, 2.0));
      const Matrix<double> a = with_spectrum(values, seed);
      const auto dense = dense_eigenvalues<double>(a.cview());  // descending
      const DenseSymmetricOperator<double> op(a.cview());
      const ConditionResult c = condition_number(op, {.tolerance = 1e-10});
      ASSERT_TRUE(c.ok());
      EXPECT_NEAR(c.lambda_max, dense.front(), 1e-8 * dense.front());
      EXPECT_NEAR(c.lambda_min, dense.back(), 1e-8 * dense.front());
    }
}

TEST(Spectrum, DenseEigenpairsAreAccurateOrthonormalAndShareTheEigenvaluePath) {
  // Known spectrum 1, …, 39 and 400, plus a rank-deficient Gram matrix (zero eigenvalues).
  std::vector<double> values;
  for (int i = 1; i < 40; ++i) values.push_back(i);
  values.push_back(400.0);
  for (const Matrix<double>& a : {with_spectrum(values, 9), random_gram(30, 12, 4)}) {
    const std::size_t n = a.rows();
    const EigenResult r = dense_eigenpairs(a.cview());
    ASSERT_TRUE(r.ok()) << to_string(r.status);
    ASSERT_EQ(r.eigenvalues.size(), n);
    ASSERT_EQ(r.eigenvectors.rows(), n);
    ASSERT_EQ(r.eigenvectors.cols(), n);
    EXPECT_EQ(r.converged, n);
    const std::vector<double> ref = eigen_reference(a);
    const double scale = ref[0];
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(r.eigenvalues[i], ref[i], 1e-12 * scale) << "i=" << i;
      if (i > 0) {
        EXPECT_GE(r.eigenvalues[i - 1], r.eigenvalues[i]);
      }
      // Residual ‖Av − λv‖ through the operator, and orthonormal rows.
      std::vector<double> av(n);
      DenseSymmetricOperator<double>(a.cview()).apply(r.eigenvectors.row(i), av.data());
      double res = 0;
      for (std::size_t j = 0; j < n; ++j)
        res += std::pow(av[j] - r.eigenvalues[i] * r.eigenvectors(i, j), 2);
      EXPECT_LT(std::sqrt(res), 1e-12 * scale) << "i=" << i;
      for (std::size_t p = 0; p <= i; ++p) {
        double dot = 0;
        for (std::size_t j = 0; j < n; ++j) dot += r.eigenvectors(i, j) * r.eigenvectors(p, j);
        EXPECT_NEAR(dot, p == i ? 1.0 : 0.0, 1e-12) << "i=" << i << " p=" << p;
      }
    }
    if (n == values.size()) {
      EXPECT_NEAR(r.eigenvalues.front(), 400.0, 1e-11);
      EXPECT_NEAR(r.eigenvalues.back(), 1.0, 1e-11);
    }
    // One solver: the eigenvalues alone are the same bits, and skip the vectors.
    const EigenResult values_only = dense_eigenpairs(a.cview(), false);
    EXPECT_TRUE(values_only.eigenvectors.empty());
    EXPECT_EQ(values_only.eigenvalues, r.eigenvalues);
    EXPECT_EQ(dense_eigenvalues(a.cview()), r.eigenvalues);
  }
  Matrix<double> rect(3, 4);
  EXPECT_THROW((void)dense_eigenpairs(rect.cview()), InvalidArgument);
  EXPECT_THROW((void)dense_eigenvalues(rect.cview()), InvalidArgument);
}

TEST(Spectrum, ShiftInvertFindsClusteredSmallEigenvalues) {
  // 1 and 1 + 1e-6·i near the bottom, 1e4 on top: κ = 1e4, bottom eigenvalues 1e-6 apart.
  std::vector<double> values;
  for (int i = 0; i < 150; ++i) values.push_back(1.0 + 1e-6 * i);
  values.push_back(1e4);
  const Matrix<double> a = with_spectrum(values, 12);
  const EigenResult r = smallest_eigenpairs_dense(a.cview(), {.nev = 2, .tolerance = 1e-12});
  ASSERT_TRUE(r.ok()) << to_string(r.status);
  EXPECT_NEAR(r.eigenvalues[0], 1.0, 1e-10);
  EXPECT_NEAR(r.eigenvalues[1], 1.0 + 1e-6, 1e-10);
  // The eigenvector is one: residual of A·v = λ·v.
  const DenseSymmetricOperator<double> op(a.cview());
  std::vector<double> av(151);
  op.apply(r.eigenvectors.row(0), av.data());
  double res = 0;
  for (std::size_t j = 0; j < 151; ++j)
    res += std::pow(av[j] - r.eigenvalues[0] * r.eigenvectors(0, j), 2);
  EXPECT_LT(std::sqrt(res), 1e-8);
  const ConditionResult c = dense_condition_number(a.cview(), {.tolerance = 1e-12});
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(c.condition_number, 1e4, 1e-6);
  // Near a given σ: the eigenvalue closest to 1e4 − 1.
  const EigenResult near = smallest_eigenpairs_dense(a.cview(), {.nev = 1}, 1e4 - 1.0);
  ASSERT_TRUE(near.ok());
  EXPECT_NEAR(near.eigenvalues[0], 1e4, 1e-8);
  Matrix<double> rect(3, 4);
  EXPECT_THROW((void)smallest_eigenpairs_dense(rect.cview()), InvalidArgument);
}

TEST(Spectrum, SingularMatrixHasInfiniteConditionNumber) {
  std::vector<double> values(30, 0.0);
  for (std::size_t i = 0; i < 10; ++i) values[i] = 1.0 + static_cast<double>(i);
  const Matrix<double> a = with_spectrum(values, 9);
  const DenseSymmetricOperator<double> op(a.cview());
  const ConditionResult c = condition_number(op);
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(c.lambda_max, 10.0, 1e-9);
  EXPECT_NEAR(c.lambda_min, 0.0, 1e-8);
}

TEST(Spectrum, NonConvergenceIsAStatusAndRequireThrows) {
  // A clustered spectrum and one restart cannot converge to 1e-14.
  std::vector<double> values;
  for (int i = 0; i < 400; ++i) values.push_back(1.0 + 1e-3 * i);
  const Matrix<double> a = with_spectrum(values, 4);
  const DenseSymmetricOperator<double> op(a.cview());
  const EigenResult r =
      largest_eigenpairs(op, {.nev = 5, .ncv = 11, .tolerance = 1e-14, .max_iterations = 1});
  EXPECT_EQ(r.status, EigenStatus::NotConverged);
  EXPECT_LT(r.converged, 5U);
  EXPECT_THROW((void)r.require_converged("clustered"), RuntimeError);
}

class NanOperator final : public LinearOperator {
 public:
  [[nodiscard]] std::size_t size() const override { return 10; }
  void apply(const double* x, double* y) const override {
    for (std::size_t i = 0; i < 10; ++i) y[i] = x[i] * std::nan("");
  }
};

TEST(Spectrum, NonFiniteOperatorIsNumericalIssue) {
  const NanOperator op;
  const EigenResult r = largest_eigenpairs(op, {.nev = 1, .ncv = 5});
  EXPECT_EQ(r.status, EigenStatus::NumericalIssue);
  EXPECT_THROW((void)r.require_converged("nan"), RuntimeError);
}

TEST(Spectrum, ArgumentErrorsThrow) {
  const Matrix<double> a = random_gram(10, 10, 1);
  const DenseSymmetricOperator<double> op(a.cview());
  EXPECT_THROW((void)largest_eigenpairs(op, {.nev = 0}), InvalidArgument);
  EXPECT_THROW((void)largest_eigenpairs(op, {.nev = 10}), InvalidArgument);
  EXPECT_THROW((void)largest_eigenpairs(op, {.nev = 3, .ncv = 3}), InvalidArgument);
  EXPECT_THROW((void)largest_eigenpairs(op, {.nev = 3, .ncv = 11}), InvalidArgument);
  EXPECT_THROW((void)largest_eigenpairs(op, {.tolerance = 0.0}), InvalidArgument);
  EXPECT_THROW((void)largest_eigenpairs(op, {.max_iterations = 0}), InvalidArgument);
  EXPECT_THROW((void)smallest_eigenpairs(op, std::nan("")), InvalidArgument);
  Matrix<double> rect(3, 4);
  EXPECT_THROW(DenseSymmetricOperator<double>(rect.cview()), InvalidArgument);
}

}  // namespace
}  // namespace catapult::ntk
