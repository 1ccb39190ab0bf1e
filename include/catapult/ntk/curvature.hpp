#pragma once
/// @file Curvature of the MSE training loss and the critical learning rates built on it:
/// exact Hessian-vector products, the Gauss–Newton product, sharpness λmax(H), preconditioned
/// sharpness for adaptive methods (AdaGrad; Adam with its momentum), the poster's AdaGrad bound,
/// and the split of the residual onto the top NTK eigenvectors.
///
/// The training loss is the library's MSE over the whole sample set (nn/loss.hpp):
///   L(θ) = c·Σ_i Σ_c (f_c(x_i; θ) − y_ic)²,  c = nn::mse_scale(reduction, n, k)
/// (c = 1/(n·k) for the default 'mean'). Its Hessian is
///   H = 2c·JᵀJ + 2c·Σ_ic (f_ic − y_ic)·∇²f_ic = H_GN + (residual term),
/// so at a zero-residual minimum, and for any model linear in θ, H = H_GN. Full-batch GD with
/// rate η is stable along the top eigendirection iff η < 2/λmax(H); for the linearised model
/// λmax(H) = λmax(H_GN) = 2c·λmax(K_full), giving η_crit = 1/(c·λmax(K_full)) (ntk.hpp).

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/spectrum.hpp"

namespace catapult::ntk {

/// Value and gradient of the full-sample MSE L = c·Σ(f − y)² (c from the reduction and the whole
/// n, not per batch) for x [n, d_0] and targets y [n, k]; grad receives P entries. Processes
/// batch_size samples at a time (0: 1024) in a fixed order. Returns L (accumulated in double).
/// Throws InvalidArgument on shape mismatches.
template <class T>
double mse_loss_and_gradient(const nn::Mlp<T>& model, MatrixView<const T> x, MatrixView<const T> y,
                             T* grad, nn::MseReduction reduction = nn::MseReduction::Mean,
                             std::size_t batch_size = 0);

/// Options of the curvature operators (LossHessianOperator, GaussNewtonOperator).
struct HessianOptions {
  nn::MseReduction reduction = nn::MseReduction::Mean;
  /// Samples per batch (0: 1024). Only the memory and the order of the sums depend on it.
  std::size_t batch_size = 0;
};

/// Exact Hessian-vector product H·v of the training loss (Pearlmutter's R-operator: a forward
/// tangent along v pushed through the backward pass, written out for nn::Mlp), any depth,
/// activation, parameterization and bias setting:
///   H·v = 2c·Jᵀ(J·v) + 2c·Σ_ic (f_ic − y_ic)·∇²f_ic·v,
/// including the activations' second derivatives (tanh'' = −2·tanh·tanh'; identity and ReLU have
/// none). H·v is linear in v and exact up to rounding (measured: |error| ≤ 3e-16·max|H_ij| against
/// a dense Hessian computed independently with hyper-dual numbers, tests/ntk/curvature_test.cpp).
/// ReLU: the loss is piecewise smooth, and the product is the Hessian of the piece that contains θ
/// (a pre-activation exactly 0 counts as negative, like Mlp::backward); no step crosses a kink,
/// unlike a finite difference of gradients, whose error near a kink does not shrink with the step.
/// Always computed in double: the operator holds a double copy of the network (θ is copied at
/// construction; later changes to the model are not seen); x and y are read in their own type and
/// must outlive the operator. Cost of one apply, per batch: 8 GEMMs of each layer's size
/// (forward, forward tangent, backward, backward tangent), 3 for the first layer (its input does
/// not depend on θ), against 3 and 2 for a gradient; measured: 1.1× the time of a full-batch
/// gradient for 784-256-10 on 2048 samples (the finite difference it replaced cost 2×).
/// Memory: the forward cache and tangents of one batch. apply reuses buffers held by the operator:
/// one product at a time per operator. Throws InvalidArgument on shape mismatches.
class LossHessianOperator final : public LinearOperator {
 public:
  template <class T>
  LossHessianOperator(const nn::Mlp<T>& model, MatrixView<const T> x, MatrixView<const T> y,
                      const HessianOptions& options = {});
  ~LossHessianOperator() override;
  LossHessianOperator(LossHessianOperator&&) noexcept;
  LossHessianOperator& operator=(LossHessianOperator&&) noexcept;
  LossHessianOperator(const LossHessianOperator&) = delete;
  LossHessianOperator& operator=(const LossHessianOperator&) = delete;

  /// P, the number of parameters.
  [[nodiscard]] std::size_t size() const override;
  /// hv = H·v (P entries each; v and hv must not overlap).
  void apply(const double* v, double* hv) const override;
  /// The loss at θ and its gradient (P entries).
  [[nodiscard]] double loss() const noexcept;
  [[nodiscard]] const std::vector<double>& gradient() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Gauss–Newton product G·v = 2c·Jᵀ(J·v) (JVP then VJP over the samples, batched), the
/// positive semi-definite part of the Hessian; λmax(G) = 2c·λmax(K_full). Computed in T.
/// The forward pass does not depend on v, so the constructor runs it once per batch and keeps the
/// caches (memory: n·(d_0 + … + d_L) values of T, x included); each apply then costs, per batch,
/// the JVP from the cache and a backward pass without the input gradient: 4L − 2 GEMMs for L
/// layers, two of them of the first layer's size. The model must outlive the operator and must
/// not change while it is used (its forward pass is the constructor's); x is copied. apply reuses
/// the caches' scratch: one product at a time per operator. Throws InvalidArgument on shape
/// mismatches or no samples.
template <class T>
class GaussNewtonOperator final : public LinearOperator {
 public:
  GaussNewtonOperator(const nn::Mlp<T>& model, MatrixView<const T> x,
                      const HessianOptions& options = {});
  [[nodiscard]] std::size_t size() const override { return model_->num_params(); }
  void apply(const double* v, double* gv) const override;

 private:
  const nn::Mlp<T>* model_;
  std::size_t samples_;
  HessianOptions options_;
  std::vector<nn::ForwardCache<T>> batches_;  ///< forward cache of each batch of x
};

/// D·A·D with D = diag(p)^{-1/2}: the operator whose λmax is the sharpness seen by a method with
/// the diagonal preconditioner p (its update θ ← θ − η·g/p is stable iff η < 2/λmax(D·H·D);
/// with momentum the bound moves, see adam_sharpness_threshold). λmax(D·H·D) = λmax(P^{-1}·H).
/// An entry p_i = +∞ freezes parameter i (D_ii = 0): the operator is then the restriction of A to
/// the other parameters (padded with zeros), e.g. AdaGrad's sharpness over the parameters whose
/// accumulator has filled (adagrad_filled_preconditioner). Holds a reference to `base`. Throws
/// InvalidArgument if p has the wrong size or an entry that is NaN or ≤ 0.
class PreconditionedOperator final : public LinearOperator {
 public:
  PreconditionedOperator(const LinearOperator& base, std::span<const double> preconditioner);
  [[nodiscard]] std::size_t size() const override { return base_->size(); }
  void apply(const double* x, double* y) const override;

 private:
  const LinearOperator* base_;
  std::vector<double> inv_sqrt_;
  mutable std::vector<double> scratch_;
};

/// AdaGrad's preconditioner p_i = √s_i + ε (torch.optim.Adagrad) from its accumulator s
/// (P entries, optim::AdaGrad::accumulator()). Throws InvalidArgument if ε ≤ 0 and some s_i = 0
/// (p would vanish) or if s has a negative entry.
template <class T>
[[nodiscard]] std::vector<double> adagrad_preconditioner(std::span<const T> accumulator,
                                                         double eps);

/// AdaGrad's preconditioner over the parameters whose accumulator has *filled*, the others frozen.
/// The linear stability analysis behind 2/λmax(D·H·D) treats p as fixed during the steps that
/// make a spike. That holds for parameter i only if one more step barely moves its accumulator:
/// s_i ≥ min_ratio·g_i² with g the current gradient (e.g. on the samples the sharpness is measured
/// on), i.e. s_i already holds min_ratio steps' worth of g_i². A parameter with s_i ≪ g_i² (one
/// whose input was rarely non-zero so far, such as a first-layer weight of a rare pixel) takes the
/// self-normalised step η·g_i/√(s_i + g_i²) ≈ η·sign(g_i), at most η whatever its curvature; with
/// p fixed at √s_i + ε it would instead look like a direction of huge sharpness and set
/// 2/λmax(D·H·D) orders of magnitude below any rate that makes AdaGrad spike.
/// preconditioner: √s_i + ε where filled, +∞ (frozen, see PreconditionedOperator) elsewhere;
/// active: s_i > 0; filled: active and s_i ≥ min_ratio·g_i². Throws InvalidArgument for sizes that
/// differ, a negative or non-finite s_i or g_i, min_ratio < 0, or ε < 0.
struct FilledPreconditioner {
  std::vector<double> preconditioner;
  std::size_t active = 0;
  std::size_t filled = 0;
};
template <class T>
[[nodiscard]] FilledPreconditioner adagrad_filled_preconditioner(std::span<const T> accumulator,
                                                                 std::span<const T> gradient,
                                                                 double eps, double min_ratio);

/// Adam's preconditioner after t steps (torch.optim.Adam): p_i = (√v_i/√(1 − β2^t) + ε)·(1 − β1^t),
/// from the second moment v ("exp_avg_sq", P entries); the (1 − β1^t) folds Adam's bias-corrected
/// rate η/(1 − β1^t) into p, so that Adam's update reads θ ← θ − η·m/p with m the first moment.
/// Its stability condition involves β1 (see adam_sharpness_threshold): with λ = λmax(P^{-1}·H) =
/// λmax(P^{-1/2}·H·P^{-1/2}) = sharpness(PreconditionedOperator(H, p)).lambda_max, Adam is stable
/// iff λ < (2 + 2β1)/((1 − β1)·η), not λ < 2/η (SharpnessResult::eta_crit is the latter: use
/// adam_critical_rate). Throws InvalidArgument for t = 0, β outside [0, 1), a negative v_i, or a
/// zero p_i.
template <class T>
[[nodiscard]] std::vector<double> adam_preconditioner(std::span<const T> second_moment,
                                                      std::size_t step, double beta1, double beta2,
                                                      double eps);

/// Adam's threshold on the preconditioned sharpness λmax(P^{-1}·H) at rate η with first-moment
/// coefficient β1: (2 + 2β1)/((1 − β1)·η) (Cohen et al. 2022, "Adaptive gradient methods at the
/// edge of stability", with the EMA momentum m ← β1·m + (1 − β1)·g that Adam uses). Derivation:
/// with P frozen (p from adam_preconditioner, treated as constant: once β1^t ≈ 0 and v has
/// settled, or ε ≫ √v) and a quadratic loss with Hessian H, each eigenvector of P^{-1}·H with
/// eigenvalue λ evolves by θ' = θ − η·m', m' = β1·m + (1 − β1)·λ·θ, whose characteristic
/// polynomial z² − (1 + β1 − a)·z + β1, a = η·(1 − β1)·λ, has both roots inside the unit circle iff
/// 0 < a < 2 + 2β1; at a = 2 + 2β1 a root crosses −1 (period-2 oscillation, then divergence).
/// β1 = 0 gives 2/η, gradient descent's threshold; β1 = 0.9 gives 38/η. A local statement, like
/// 2/λmax(H) for GD: on a non-quadratic loss the preconditioned sharpness moves with θ and P.
/// Throws InvalidArgument if η is not finite and > 0 or β1 is outside [0, 1).
[[nodiscard]] double adam_sharpness_threshold(double eta, double beta1);

/// Adam's critical rate η_crit = (2 + 2β1)/((1 − β1)·λmax(P^{-1}·H)) for the preconditioned
/// sharpness λmax(P^{-1}·H) (the same condition as adam_sharpness_threshold, solved for η; the
/// eigenvalue of PreconditionedOperator with adam_preconditioner's p). Throws InvalidArgument if
/// λmax is not finite and > 0 or β1 is outside [0, 1).
[[nodiscard]] double adam_critical_rate(double lambda_max_preconditioned, double beta1);

/// The poster's s_t = min_i √s_i over the AdaGrad accumulator. Throws InvalidArgument for an
/// empty accumulator.
template <class T>
[[nodiscard]] double adagrad_min_scale(std::span<const T> accumulator);

/// The poster's bound η_crit,AdaGrad ≥ 2·s_t/λmax(H). Throws InvalidArgument if λmax ≤ 0.
[[nodiscard]] double adagrad_critical_rate_bound(double min_scale, double lambda_max_hessian);

/// η_crit = 2/λmax(H) for full-batch gradient descent. Throws InvalidArgument if λmax ≤ 0.
[[nodiscard]] double critical_learning_rate_hessian(double lambda_max_hessian);

/// η_crit = 1/(c·λmax(K_full)) with c = nn::mse_scale(reduction, n, k): n·k/λmax(K) for the
/// default mean MSE (see ntk.hpp). λmax must be the full kernel's: from the traced or one-output
/// kernel, ntk::critical_learning_rate_bounds (ntk.hpp) gives the interval that η_crit lies in
/// (λmax(K_traced)/k only bounds λmax(K_full) from below, so the rate it gives is an upper bound).
/// Throws InvalidArgument if λmax ≤ 0 or n·k = 0.
[[nodiscard]] double critical_learning_rate_ntk(
    double lambda_max_ntk, std::size_t n, std::size_t k,
    nn::MseReduction reduction = nn::MseReduction::Mean);

/// Sharpness of the training loss and its critical rate.
struct [[nodiscard]] SharpnessResult {
  double lambda_max = 0;  ///< top eigenvalue of H (or of D·H·D when preconditioned)
  double eta_crit = 0;    ///< 2/λmax (0 unless λmax is finite and > 0)
  EigenStatus status = EigenStatus::NotConverged;
  std::size_t operations = 0;  ///< Hessian-vector products used
  [[nodiscard]] bool ok() const noexcept { return status == EigenStatus::Converged; }
};

/// λmax of the operator (a LossHessianOperator, GaussNewtonOperator or PreconditionedOperator)
/// by Lanczos, and 2/λmax = critical_learning_rate_hessian(λmax), or 0 where that would throw
/// (gradient descent's critical rate, and AdaGrad's on the preconditioned operator; for Adam
/// pass lambda_max to adam_critical_rate). options.nev is ignored (1); the
/// products of all three operators are exact up to rounding, so the default tolerance is
/// EigenOptions' 1e-10. Cost: one product of the
/// operator per Lanczos step (SharpnessResult::operations counts them).
[[nodiscard]] SharpnessResult sharpness(const LinearOperator& hessian,
                                        const EigenOptions& options = {});

/// The residual r = f − y (flattened like the kernel's rows: sample-major [n·k] for Full, [n]
/// otherwise) split onto m orthonormal eigenvectors u_j (rows of `eigenvectors`, [m, N]):
/// coefficients[j] = ⟨u_j, r⟩, top = Σ_j coefficients[j]², rest = ‖r‖² − top (clamped at 0).
/// With c the loss scale, loss_top = c·top and loss_rest = c·rest add up to the loss.
struct ResidualSplit {
  std::vector<double> coefficients;
  double top = 0;
  double rest = 0;
  double loss_top = 0;
  double loss_rest = 0;
};

/// Throws InvalidArgument if residual.size() != eigenvectors.cols().
[[nodiscard]] ResidualSplit split_residual(MatrixView<const double> eigenvectors,
                                           std::span<const double> residual, double loss_scale);

}  // namespace catapult::ntk
