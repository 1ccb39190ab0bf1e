#include "catapult/ntk/spectrum.hpp"

// GCC 12 reports false -Wmaybe-uninitialized inside its own AVX-512 intrinsics when Eigen's
// packet code is inlined here (the `__Y = __Y` idiom of avx512fintrin.h), not a bug of ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <Spectra/MatOp/DenseSymShiftSolve.h>
#include <Spectra/SymEigsShiftSolver.h>
#include <Spectra/SymEigsSolver.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "core/tsan_fork_join.hpp"

namespace catapult::ntk {
namespace {

// Spectra's operator concept over our LinearOperator; remembers whether the operator ever
// returned a non-finite value (reported as NumericalIssue instead of garbage eigenvalues).
class SpectraAdapter {
 public:
  using Scalar = double;
  explicit SpectraAdapter(const LinearOperator& op) : op_(&op) {}
  [[nodiscard]] Eigen::Index rows() const { return static_cast<Eigen::Index>(op_->size()); }
  [[nodiscard]] Eigen::Index cols() const { return rows(); }
  void perform_op(const double* x, double* y) const {
    op_->apply(x, y);
    const std::size_t n = op_->size();
    for (std::size_t i = 0; i < n; ++i)
      if (!std::isfinite(y[i])) {
        nonfinite_ = true;
        break;
      }
  }
  [[nodiscard]] bool nonfinite() const noexcept { return nonfinite_; }

 private:
  const LinearOperator* op_;
  mutable bool nonfinite_ = false;
};

std::size_t resolve_ncv(std::size_t n, const EigenOptions& o) {
  return o.ncv != 0 ? o.ncv : std::min(n, std::max<std::size_t>(2 * o.nev + 1, o.nev + 7));
}

void validate(const char* where, std::size_t n, const EigenOptions& o) {
  if (n < 2) throw InvalidArgument(str_cat(where, ": operator size ", n, " < 2"));
  if (o.nev == 0 || o.nev >= n)
    throw InvalidArgument(str_cat(where, ": nev ", o.nev, " outside [1, ", n - 1, "]"));
  const std::size_t ncv = resolve_ncv(n, o);
  if (ncv <= o.nev || ncv > n)
    throw InvalidArgument(str_cat(where, ": ncv ", ncv, " outside (nev ", o.nev, ", n ", n, "]"));
  if (!(o.tolerance > 0.0) || !std::isfinite(o.tolerance))
    throw InvalidArgument(str_cat(where, ": tolerance ", o.tolerance, " must be > 0"));
  if (o.max_iterations == 0) throw InvalidArgument(str_cat(where, ": max_iterations is 0"));
  if (!o.start.empty()) {
    if (o.start.size() != n)
      throw InvalidArgument(
          str_cat(where, ": start vector of ", o.start.size(), " entries for n = ", n));
    bool nonzero = false;
    for (const double v : o.start) {
      if (!std::isfinite(v))
        throw InvalidArgument(str_cat(where, ": start vector has a non-finite entry"));
      nonzero = nonzero || v != 0.0;
    }
    if (!nonzero) throw InvalidArgument(str_cat(where, ": start vector is zero"));
  }
}

// The starting vector of a solve: options.start (validated above) or uniform in [−0.5, 0.5)
// from options.seed.
Eigen::VectorXd starting_vector(std::size_t n, const EigenOptions& o) {
  Eigen::VectorXd start(static_cast<Eigen::Index>(n));
  if (!o.start.empty()) {
    for (Eigen::Index i = 0; i < start.size(); ++i) start[i] = o.start[static_cast<std::size_t>(i)];
    return start;
  }
  Rng rng(o.seed);
  for (Eigen::Index i = 0; i < start.size(); ++i) start[i] = rng.uniform(-0.5, 0.5);
  return start;
}

// Runs Lanczos for the largest algebraic eigenvalues; sign = −1 flips the reported values and
// order (used by the shifted solve, which reports σ − μ).
EigenResult solve_dense(const LinearOperator& a, const EigenOptions& o);

EigenResult solve(const LinearOperator& a, const EigenOptions& o) {
  const std::size_t n = a.size();
  // A Krylov subspace as large as the space buys nothing over a dense solve, and Spectra's
  // restarts are unreliable there (n = 2, ncv = nev + 1 = 2 gave a λmin 3 % off with status
  // Converged): materialise the operator (n products) and solve it exactly.
  if (resolve_ncv(n, o) == n) return solve_dense(a, o);
  SpectraAdapter op(a);
  Spectra::SymEigsSolver<SpectraAdapter> eigs(op, static_cast<Eigen::Index>(o.nev),
                                              static_cast<Eigen::Index>(resolve_ncv(n, o)));
  const Eigen::VectorXd start = starting_vector(n, o);
  eigs.init(start.data());
  EigenResult r;
  r.requested = o.nev;
  Eigen::Index nconv = 0;
  try {
    nconv =
        eigs.compute(Spectra::SortRule::LargestAlge, static_cast<Eigen::Index>(o.max_iterations),
                     o.tolerance, Spectra::SortRule::LargestAlge);
  } catch (const std::exception&) {
    // Spectra throws from its dense sub-solvers when the Krylov matrix holds NaN/Inf.
    r.status = EigenStatus::NumericalIssue;
    r.operations = static_cast<std::size_t>(eigs.num_operations());
    return r;
  }
  r.iterations = static_cast<std::size_t>(eigs.num_iterations());
  r.operations = static_cast<std::size_t>(eigs.num_operations());
  r.converged = static_cast<std::size_t>(nconv);
  if (op.nonfinite()) {
    r.status = EigenStatus::NumericalIssue;
    r.converged = 0;
    return r;
  }
  r.status = eigs.info() == Spectra::CompInfo::Successful ? EigenStatus::Converged
                                                          : EigenStatus::NotConverged;
  const Eigen::VectorXd values = eigs.eigenvalues();
  r.converged = static_cast<std::size_t>(values.size());
  r.eigenvalues.assign(values.data(), values.data() + values.size());
  if (o.compute_eigenvectors && values.size() > 0) {
    const Eigen::MatrixXd vectors = eigs.eigenvectors();  // [n, converged], column-major
    r.eigenvectors.resize(r.converged, n);
    for (std::size_t j = 0; j < r.converged; ++j)
      for (std::size_t i = 0; i < n; ++i)
        r.eigenvectors(j, i) = vectors(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
  }
  return r;
}

// The n × n matrix of `a` (column j = a·e_j, symmetrised), solved by dense_eigenpairs; the
// top o.nev pairs in the order of solve().
EigenResult solve_dense(const LinearOperator& a, const EigenOptions& o) {
  const std::size_t n = a.size();
  Matrix<double> m(n, n);
  std::vector<double> e(n, 0.0), column(n);
  bool finite = true;
  for (std::size_t j = 0; j < n; ++j) {
    e[j] = 1.0;
    a.apply(e.data(), column.data());
    e[j] = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      m(i, j) = column[i];
      finite = finite && std::isfinite(column[i]);
    }
  }
  EigenResult r;
  r.requested = o.nev;
  r.operations = n;
  r.iterations = 1;
  if (!finite) {
    r.status = EigenStatus::NumericalIssue;
    return r;
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) m(i, j) = m(j, i) = 0.5 * (m(i, j) + m(j, i));
  EigenResult all = dense_eigenpairs<double>(m.cview(), o.compute_eigenvectors);
  r.status = all.status;
  if (!all.ok()) return r;
  r.converged = std::min(o.nev, n);
  r.eigenvalues.assign(all.eigenvalues.begin(), all.eigenvalues.begin() + r.converged);
  if (o.compute_eigenvectors) {
    r.eigenvectors.resize(r.converged, n);
    for (std::size_t k = 0; k < r.converged; ++k)
      for (std::size_t i = 0; i < n; ++i) r.eigenvectors(k, i) = all.eigenvectors(k, i);
  }
  return r;
}

}  // namespace

const char* to_string(EigenStatus status) noexcept {
  switch (status) {
    case EigenStatus::Converged:
      return "converged";
    case EigenStatus::NotConverged:
      return "not_converged";
    case EigenStatus::NumericalIssue:
      return "numerical_issue";
  }
  return "unknown";
}

const EigenResult& EigenResult::require_converged(const char* what) const {
  if (!ok())
    throw RuntimeError(str_cat(what, ": eigensolver ", to_string(status), " (", converged, " of ",
                               requested, " pairs converged after ", iterations, " restarts, ",
                               operations, " operator applications)"));
  return *this;
}

const ConditionResult& ConditionResult::require_converged(const char* what) const {
  if (!ok())
    throw RuntimeError(str_cat(what, ": condition number solve ", to_string(status), " after ",
                               operations, " operator applications"));
  return *this;
}

template <class T>
DenseSymmetricOperator<T>::DenseSymmetricOperator(MatrixView<const T> matrix) : matrix_(matrix) {
  if (matrix.rows() != matrix.cols())
    throw InvalidArgument(str_cat("DenseSymmetricOperator: matrix is ", matrix.rows(), "x",
                                  matrix.cols(), ", not square"));
}

template <class T>
void DenseSymmetricOperator<T>::apply(const double* x, double* y) const {
  const std::size_t n = matrix_.rows();
  // Each row is one dot product in a fixed order, so the result does not depend on threads.
  const catapult::detail::ForkJoin fork_join;  // TSan: the region's fork and join edges
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 64),
                    fork_join.body([&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i < range.end(); ++i) {
                        // Eight independent partial sums in a fixed order: vectorizable,
                        // and the same result for any thread count.
                        const T* row = matrix_.row(i);
                        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                        std::size_t j = 0;
                        for (; j + 8 <= n; j += 8)
                          for (std::size_t u = 0; u < 8; ++u)
                            acc[u] += static_cast<double>(row[j + u]) * x[j + u];
                        double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                                       ((acc[4] + acc[5]) + (acc[6] + acc[7]));
                        for (; j < n; ++j) total += static_cast<double>(row[j]) * x[j];
                        y[i] = total;
                      }
                    }));
}

void ShiftedOperator::apply(const double* x, double* y) const {
  base_->apply(x, y);
  const std::size_t n = base_->size();
  for (std::size_t i = 0; i < n; ++i) y[i] = sigma_ * x[i] - y[i];
}

EigenResult largest_eigenpairs(const LinearOperator& a, const EigenOptions& options) {
  validate("largest_eigenpairs", a.size(), options);
  return solve(a, options);
}

EigenResult smallest_eigenpairs(const LinearOperator& a, double upper_bound,
                                const EigenOptions& options) {
  validate("smallest_eigenpairs", a.size(), options);
  if (!std::isfinite(upper_bound))
    throw InvalidArgument(
        str_cat("smallest_eigenpairs: upper_bound ", upper_bound, " is not finite"));
  const ShiftedOperator shifted(a, upper_bound);
  EigenResult r = solve(shifted, options);
  // μ = σ − λ: the largest μ are the smallest λ, already in ascending order of λ.
  for (double& v : r.eigenvalues) v = upper_bound - v;
  return r;
}

namespace {

// The skeleton of both condition numbers: λmax of `a` by Lanczos, then λmin by
// bottom(options, λmax), which returns an EigenResult whose first eigenvalue is λmin, then κ.
template <class Bottom>
ConditionResult condition_from(const char* where, const LinearOperator& a,
                               const EigenOptions& options, Bottom bottom) {
  EigenOptions o = options;
  o.nev = 1;
  o.compute_eigenvectors = false;
  validate(where, a.size(), o);
  ConditionResult c;
  const EigenResult top = solve(a, o);
  c.operations = top.operations;
  c.status = top.status;
  if (top.eigenvalues.empty()) return c;
  c.lambda_max = top.eigenvalues.front();
  EigenOptions ob = o;
  ob.start.clear();  // the warm start is meant for λmax
  const EigenResult low = bottom(ob, c.lambda_max);
  c.operations += low.operations;
  if (low.status != EigenStatus::Converged) c.status = low.status;
  if (low.eigenvalues.empty()) return c;
  c.lambda_min = low.eigenvalues.front();
  c.condition_number =
      c.lambda_min > 0 ? c.lambda_max / c.lambda_min : std::numeric_limits<double>::infinity();
  return c;
}

}  // namespace

ConditionResult condition_number(const LinearOperator& a, const EigenOptions& options) {
  return condition_from("condition_number", a, options, [&a](EigenOptions ob, double lambda_max) {
    // λmin = λmax − λmax(λmax·I − A), with a larger subspace.
    ob.ncv = std::max(resolve_ncv(a.size(), ob), std::min<std::size_t>(a.size(), 24));
    EigenResult r = solve(ShiftedOperator(a, lambda_max), ob);
    if (!r.eigenvalues.empty()) r.eigenvalues.front() = lambda_max - r.eigenvalues.front();
    return r;
  });
}

template <class T>
EigenResult smallest_eigenpairs_dense(MatrixView<const T> matrix, const EigenOptions& o,
                                      double sigma) {
  if (matrix.rows() != matrix.cols())
    throw InvalidArgument(str_cat("smallest_eigenpairs_dense: matrix is ", matrix.rows(), "x",
                                  matrix.cols(), ", not square"));
  const std::size_t n = matrix.rows();
  validate("smallest_eigenpairs_dense", n, o);
  const auto ni = static_cast<Eigen::Index>(n);
  Eigen::MatrixXd m(ni, ni);
  double trace = 0;
  for (Eigen::Index i = 0; i < ni; ++i) {
    for (Eigen::Index j = 0; j < ni; ++j)
      m(i, j) =
          static_cast<double>(matrix(static_cast<std::size_t>(i), static_cast<std::size_t>(j)));
    trace += m(i, i);
  }
  if (std::isnan(sigma)) sigma = -1e-10 * (1.0 + std::abs(trace) / static_cast<double>(n));
  EigenResult r;
  r.requested = o.nev;
  Spectra::DenseSymShiftSolve<double> op(m);
  std::unique_ptr<Spectra::SymEigsShiftSolver<Spectra::DenseSymShiftSolve<double>>> eigs;
  try {
    eigs = std::make_unique<Spectra::SymEigsShiftSolver<Spectra::DenseSymShiftSolve<double>>>(
        op, static_cast<Eigen::Index>(o.nev), static_cast<Eigen::Index>(resolve_ncv(n, o)), sigma);
  } catch (const std::invalid_argument&) {  // the factorization of A − σI failed
    r.status = EigenStatus::NumericalIssue;
    return r;
  }
  const Eigen::VectorXd start = starting_vector(n, o);
  eigs->init(start.data());
  try {
    (void)eigs->compute(Spectra::SortRule::LargestMagn, static_cast<Eigen::Index>(o.max_iterations),
                        o.tolerance, Spectra::SortRule::SmallestAlge);
  } catch (const std::exception&) {
    r.status = EigenStatus::NumericalIssue;
    return r;
  }
  r.iterations = static_cast<std::size_t>(eigs->num_iterations());
  r.operations = static_cast<std::size_t>(eigs->num_operations());
  r.status = eigs->info() == Spectra::CompInfo::Successful ? EigenStatus::Converged
                                                           : EigenStatus::NotConverged;
  const Eigen::VectorXd values = eigs->eigenvalues();
  for (Eigen::Index i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) r.status = EigenStatus::NumericalIssue;
  r.converged = static_cast<std::size_t>(values.size());
  r.eigenvalues.assign(values.data(), values.data() + values.size());
  if (o.compute_eigenvectors && values.size() > 0) {
    const Eigen::MatrixXd vectors = eigs->eigenvectors();
    r.eigenvectors.resize(r.converged, n);
    for (std::size_t j = 0; j < r.converged; ++j)
      for (std::size_t i = 0; i < n; ++i)
        r.eigenvectors(j, i) = vectors(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
  }
  return r;
}

template <class T>
ConditionResult dense_condition_number(MatrixView<const T> matrix, const EigenOptions& options) {
  const DenseSymmetricOperator<T> op(matrix);
  return condition_from("dense_condition_number", op, options,
                        [matrix](const EigenOptions& ob, double /*lambda_max*/) {
                          return smallest_eigenpairs_dense(matrix, ob);
                        });
}

template <class T>
EigenResult dense_eigenpairs(MatrixView<const T> matrix, bool compute_eigenvectors) {
  if (matrix.rows() != matrix.cols())
    throw InvalidArgument(
        str_cat("dense_eigenpairs: matrix is ", matrix.rows(), "x", matrix.cols(), ", not square"));
  const std::size_t n = matrix.rows();
  const auto ni = static_cast<Eigen::Index>(n);
  Eigen::MatrixXd m(ni, ni);
  for (Eigen::Index i = 0; i < ni; ++i)
    for (Eigen::Index j = 0; j < ni; ++j)
      m(i, j) =
          static_cast<double>(matrix(static_cast<std::size_t>(i), static_cast<std::size_t>(j)));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(
      m, compute_eigenvectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
  EigenResult r;
  r.requested = n;
  r.status = solver.info() == Eigen::Success ? EigenStatus::Converged : EigenStatus::NotConverged;
  r.converged = r.ok() ? n : 0;
  // Eigen's order is ascending; ours is descending: pair i is Eigen's n − 1 − i.
  const Eigen::VectorXd& values = solver.eigenvalues();
  r.eigenvalues.assign(values.data(), values.data() + values.size());
  std::reverse(r.eigenvalues.begin(), r.eigenvalues.end());
  if (compute_eigenvectors) {
    const Eigen::MatrixXd& vectors = solver.eigenvectors();
    r.eigenvectors.resize(n, n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        r.eigenvectors(i, j) =
            vectors(static_cast<Eigen::Index>(j), ni - 1 - static_cast<Eigen::Index>(i));
  }
  return r;
}

template <class T>
std::vector<double> dense_eigenvalues(MatrixView<const T> matrix) {
  return dense_eigenpairs(matrix, false).eigenvalues;
}

template class DenseSymmetricOperator<float>;
template class DenseSymmetricOperator<double>;
template EigenResult smallest_eigenpairs_dense<float>(MatrixView<const float>, const EigenOptions&,
                                                      double);
template EigenResult smallest_eigenpairs_dense<double>(MatrixView<const double>,
                                                       const EigenOptions&, double);
template ConditionResult dense_condition_number<float>(MatrixView<const float>,
                                                       const EigenOptions&);
template ConditionResult dense_condition_number<double>(MatrixView<const double>,
                                                        const EigenOptions&);
template EigenResult dense_eigenpairs<float>(MatrixView<const float>, bool);
template EigenResult dense_eigenpairs<double>(MatrixView<const double>, bool);
template std::vector<double> dense_eigenvalues<float>(MatrixView<const float>);
template std::vector<double> dense_eigenvalues<double>(MatrixView<const double>);

}  // namespace catapult::ntk
