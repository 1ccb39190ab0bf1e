#pragma once
/// @file Extreme eigenvalues of symmetric operators (dense or matrix-free) with Spectra's
/// Lanczos solver: top-k eigenpairs, λmin by a spectral shift, condition number.
///
/// Everything here works in double. The operator interface is deliberately tiny (size + apply),
/// so a matrix-free NTK, a Hessian-vector product or a dense matrix all plug in the same way; the
/// adapter to Spectra's operator concept lives in lib/ (no Eigen or Spectra in this header).
///
/// Errors: caller mistakes (nev = 0, nev ≥ n, ncv out of range, tolerance ≤ 0, a non-square
/// matrix) throw InvalidArgument before any work. A solver that does not converge returns a
/// result whose status says so; call require_converged() where convergence is mandatory.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "catapult/core/matrix.hpp"

namespace catapult::ntk {

/// A symmetric linear operator A on R^n, given by its action y = A·x.
/// Implementations must be deterministic (the same x gives bitwise the same y) and may be called
/// from one thread at a time; they may use threads internally.
class LinearOperator {
 public:
  LinearOperator() = default;
  LinearOperator(const LinearOperator&) = default;
  LinearOperator& operator=(const LinearOperator&) = default;
  LinearOperator(LinearOperator&&) = default;
  LinearOperator& operator=(LinearOperator&&) = default;
  virtual ~LinearOperator() = default;

  /// n, the dimension (the operator is n × n).
  [[nodiscard]] virtual std::size_t size() const = 0;
  /// y = A·x; x and y hold size() entries and do not alias.
  virtual void apply(const double* x, double* y) const = 0;
};

/// A dense symmetric n × n matrix as an operator (the whole matrix is read; symmetry is the
/// caller's promise). T ∈ {float, double}; products accumulate in double. The view must outlive
/// the operator.
/// Throws InvalidArgument if the view is not square.
template <class T>
class DenseSymmetricOperator final : public LinearOperator {
 public:
  explicit DenseSymmetricOperator(MatrixView<const T> matrix);
  [[nodiscard]] std::size_t size() const override { return matrix_.rows(); }
  /// y = A·x, O(n²), parallel over rows.
  void apply(const double* x, double* y) const override;

 private:
  MatrixView<const T> matrix_;
};

/// The operator σ·I − A (for λmin of A by the largest eigenvalue of the shifted operator).
/// Holds a reference to `base`, which must outlive it.
class ShiftedOperator final : public LinearOperator {
 public:
  ShiftedOperator(const LinearOperator& base, double sigma) : base_(&base), sigma_(sigma) {}
  [[nodiscard]] std::size_t size() const override { return base_->size(); }
  void apply(const double* x, double* y) const override;

 private:
  const LinearOperator* base_;
  double sigma_;
};

/// Options of the Lanczos solver (Spectra::SymEigsSolver).
struct EigenOptions {
  /// Number of eigenpairs wanted, 1 ≤ nev < n.
  std::size_t nev = 1;
  /// Krylov subspace size, nev < ncv ≤ n; 0 picks min(n, max(2·nev + 1, nev + 7)). Each restart
  /// costs about ncv − nev operator applications; a small subspace suits the NTK, whose top
  /// eigenvalue is far from the rest (λmax of 60000 MNIST images converges in one pass).
  std::size_t ncv = 0;
  /// Spectra's convergence test: |residual estimate| ≤ tolerance · max(ε^{2/3}, |λ|), i.e. a
  /// relative tolerance on each Ritz value.
  double tolerance = 1e-10;
  /// Maximum number of implicit restarts (Spectra's maxit), ≥ 1.
  std::size_t max_iterations = 1000;
  /// Return the eigenvectors (n·nev doubles) as well as the eigenvalues.
  bool compute_eigenvectors = true;
  /// Seed of the starting vector (uniform in [−0.5, 0.5)); fixed for reproducibility.
  std::uint64_t seed = 0;
  /// Warm start: the starting vector (n entries, not all zero) instead of the seeded random one,
  /// e.g. the top eigenvector of an earlier solve on a slightly changed operator (an NTK
  /// re-measured during training), which then converges in fewer operator applications. Empty
  /// (the default) = random from `seed`. A wrong size or a zero vector throws InvalidArgument.
  /// condition_number and dense_condition_number use it for λmax only.
  std::vector<double> start{};
};

/// How a solve ended.
enum class EigenStatus : unsigned char {
  Converged,      ///< all nev Ritz pairs met the tolerance
  NotConverged,   ///< max_iterations reached first; `converged` says how many did
  NumericalIssue  ///< the operator produced non-finite values
};

/// Returns "converged", "not_converged" or "numerical_issue".
[[nodiscard]] const char* to_string(EigenStatus status) noexcept;

/// The outcome of a solve: the converged eigenvalues in descending order, with their
/// eigenvectors as rows (eigenvectors is [converged, n], row i belongs to eigenvalues[i]; empty
/// when not requested).
struct [[nodiscard]] EigenResult {
  std::vector<double> eigenvalues;
  Matrix<double> eigenvectors;
  EigenStatus status = EigenStatus::NotConverged;
  std::size_t iterations = 0;  ///< restarts performed (Spectra's num_iterations)
  std::size_t operations = 0;  ///< operator applications (matrix-vector products)
  std::size_t converged = 0;   ///< number of converged pairs (≤ nev)
  std::size_t requested = 0;   ///< nev

  [[nodiscard]] bool ok() const noexcept { return status == EigenStatus::Converged; }
  /// Returns *this if converged; otherwise throws RuntimeError naming `what`, the status, the
  /// converged count and the iterations.
  const EigenResult& require_converged(const char* what) const;
};

/// The nev algebraically largest eigenpairs of the symmetric operator A (descending).
/// Throws InvalidArgument for options that are out of range for n = A.size() (n ≥ 2 needed).
[[nodiscard]] EigenResult largest_eigenpairs(const LinearOperator& a,
                                             const EigenOptions& options = {});

/// The nev algebraically smallest eigenpairs (ascending order: eigenvalues[0] = λmin), computed
/// as the largest eigenpairs of σ·I − A with σ = `upper_bound` (any number ≥ λmax(A); pass
/// λmax). The absolute accuracy is about tolerance·(σ − λmin), so λmin of an ill-conditioned
/// matrix is known to a relative accuracy of about tolerance·κ. Same errors as above, plus
/// InvalidArgument for a non-finite upper_bound.
[[nodiscard]] EigenResult smallest_eigenpairs(const LinearOperator& a, double upper_bound,
                                              const EigenOptions& options = {});

/// The nev eigenpairs of a dense symmetric matrix nearest to σ (ascending), by Spectra's
/// shift-and-invert mode (one O(n³/3) LDLᵀ factorization of A − σI, then O(n²) per iteration):
/// converges in a few iterations even when the small eigenvalues are clustered, where the
/// spectral shift of smallest_eigenpairs stalls. sigma = NaN (the default) picks
/// σ = −1e-10·(1 + |trace|/n), just below 0, so a positive semi-definite matrix gets its smallest
/// eigenvalues. A singular A − σI gives NumericalIssue. Same argument errors as above, plus
/// InvalidArgument for a non-square matrix.
template <class T>
[[nodiscard]] EigenResult smallest_eigenpairs_dense(
    MatrixView<const T> matrix, const EigenOptions& options = {},
    double sigma = std::numeric_limits<double>::quiet_NaN());

/// λmax, λmin and κ = λmax/λmin of a symmetric positive (semi-)definite operator.
struct [[nodiscard]] ConditionResult {
  double lambda_max = 0;
  double lambda_min = 0;
  /// λmax/λmin; +∞ when λmin ≤ 0 (singular, or negative through rounding).
  double condition_number = 0;
  EigenStatus status = EigenStatus::NotConverged;  ///< the worse of the two solves
  std::size_t operations = 0;                      ///< operator applications, both solves

  [[nodiscard]] bool ok() const noexcept { return status == EigenStatus::Converged; }
  /// Returns *this if converged, else throws RuntimeError naming `what`.
  const ConditionResult& require_converged(const char* what) const;
};

/// λmax (Lanczos), then λmin by the shift σ = λmax, then κ. options.nev is ignored (1 is used);
/// eigenvectors are not computed. The shifted solve uses a subspace of at least min(n, 24)
/// vectors; when the smallest eigenvalues are clustered (typical of a full NTK) it may still not
/// converge — the status says so; for dense matrices prefer dense_condition_number.
[[nodiscard]] ConditionResult condition_number(const LinearOperator& a,
                                               const EigenOptions& options = {});

/// condition_number of a dense symmetric positive (semi-)definite matrix: λmax by Lanczos,
/// λmin by smallest_eigenpairs_dense (shift-and-invert), so clustered small eigenvalues are no
/// problem. Throws InvalidArgument for a non-square matrix or bad options.
template <class T>
[[nodiscard]] ConditionResult dense_condition_number(MatrixView<const T> matrix,
                                                     const EigenOptions& options = {});

/// All n eigenpairs of a dense symmetric matrix (the lower triangle is read), by Eigen's
/// SelfAdjointEigenSolver in double (Householder tridiagonalization, then implicit symmetric QR;
/// O(n³)), in EigenResult's convention: eigenvalues descending, eigenvectors [n, n] with row i the
/// unit eigenvector of eigenvalues[i] (its sign is the solver's), empty when compute_eigenvectors
/// is false. Every eigenvalue is returned; status is Converged, or NotConverged when the QR
/// iteration did not converge (then the values are its last iterates and converged = 0);
/// converged = requested = n, iterations = operations = 0. For small n (the NTK of a few hundred
/// samples) and as a reference. Throws InvalidArgument if the matrix is not square.
template <class T>
[[nodiscard]] EigenResult dense_eigenpairs(MatrixView<const T> matrix,
                                           bool compute_eigenvectors = true);

/// All eigenvalues of a dense symmetric matrix, descending: dense_eigenpairs without the
/// eigenvectors (the same solver, so the same bits). Throws InvalidArgument if not square.
template <class T>
[[nodiscard]] std::vector<double> dense_eigenvalues(MatrixView<const T> matrix);

}  // namespace catapult::ntk
