#pragma once
/// @file The empirical neural tangent kernel of an Mlp: dense (structured, GEMM-based) and
/// matrix-free (an operator K·v for any number of samples), plus a brute-force Jacobian for tests.
///
/// ## Definitions
/// For n samples X [n, d_0] and a network with k outputs, J = ∂f/∂θ is the [n·k, P] Jacobian whose
/// row i·k + c (sample-major) is ∂f_c(x_i)/∂θ. The NTK modes are
///   Full    K = J·Jᵀ, [n·k, n·k], entry ((i,c),(j,c')) = ⟨∂f_c(x_i), ∂f_c'(x_j)⟩;
///   Traced  K = Σ_c J_c·J_cᵀ, [n, n]: the SUM over the k outputs of the per-output kernels (not
///           the average; divide by k for the average), i.e. the trace over the output block;
///   Output  K = J_c·J_cᵀ, [n, n], for one output c.
///
/// ## The normalisation that ties K to the critical learning rate
/// With the library's MSE L = c·Σ(f − y)² (nn/loss.hpp; c = 1/(n·k) for the default 'mean'),
/// full-batch gradient descent on the linearised model moves the residual r = f − y as
///   r_{t+1} = (I − 2·c·η·K_full)·r_t,
/// so it is stable iff η < η_crit = 1/(c·λmax(K_full)) = n·k/λmax(K_full) for 'mean'
/// (critical_learning_rate_ntk in curvature.hpp). Equivalently η_crit = 2/λmax(H_GN) with the
/// Gauss–Newton matrix H_GN = 2c·JᵀJ. For a wide network the off-diagonal output blocks of K_full
/// vanish and λmax(K_full) ≈ λmax(K_traced)/k.
///
/// The Traced and Output kernels only bound λmax(K_full) (critical_learning_rate_bounds). With
/// K_cc the diagonal blocks of K_full, λ_c = λmax(K_cc) and λ_t = λmax(K_traced):
///   λ_c ≤ λmax(K_full)                 (K_cc is a principal submatrix of K_full);
///   λ_t/k ≤ λmax(K_full) ≤ k·λ_t       (λ_t ≤ Σ_c λ_c ≤ k·max_c λ_c on the left; on the right
///                                        vᵀK_full·v = ‖Σ_c J_cᵀv_c‖² ≤ k·Σ_c v_cᵀK_cc·v_c and
///                                        K_cc ≼ K_traced).
/// So the Traced estimate n·k/(λ_t/k) and the Output estimate n·k/λ_c are UPPER bounds on η_crit
/// (equal to it when K_full = K_0 ⊗ I_k: identical, decoupled output blocks, as for a linear model
/// and approximately for wide networks), Traced also gives the lower bound n/λ_t (a factor k²
/// below its estimate; attained by some Jacobians), and one output's kernel gives no lower bound.
///
/// ## Structured form (no Jacobian is ever formed)
/// With a_l the input of layer l, δ_{l,i,c} = ∂f_c(x_i)/∂z_l the back-propagated signal and
/// s_l the layer scale (mlp.hpp), ∂f_c(x_i)/∂W_l = s_l·δ_{l,i,c}·a_{l,i}ᵀ and ∂/∂b_l = δ_{l,i,c},
/// so
///   K((i,c),(j,c')) = Σ_l ⟨δ_{l,i,c}, δ_{l,j,c'}⟩ · (s_l²·⟨a_{l,i}, a_{l,j}⟩ + β),  β = 1 with
/// biases, else 0: a sum over layers of Hadamard products of two Gram matrices, each a GEMM.

#include <cstddef>
#include <memory>
#include <vector>

#include "catapult/core/matrix.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/spectrum.hpp"

namespace catapult::ntk {

/// Which kernel (see the file comment).
enum class NtkMode : unsigned char { Full, Traced, Output };

/// "full", "traced", "output".
[[nodiscard]] const char* to_string(NtkMode mode) noexcept;
/// Inverse of to_string; throws InvalidArgument naming the value.
[[nodiscard]] NtkMode parse_ntk_mode(const char* name);

struct NtkOptions {
  NtkMode mode = NtkMode::Traced;
  /// The output c for NtkMode::Output (< k).
  std::size_t output = 0;
  /// Samples per block (dense) or per batch (matrix-free); bounds the temporary memory.
  /// 0 picks a default (dense: about 2048 kernel rows per block; matrix-free: 4096 samples).
  std::size_t batch_size = 0;
};

/// Side length of the kernel for n samples and k outputs: n·k (Full) or n.
[[nodiscard]] std::size_t ntk_size(NtkMode mode, std::size_t n, std::size_t k) noexcept;

/// What λmax of one mode's kernel tells about the critical rate of full-batch gradient descent on
/// the MSE, η_crit = 1/(c·λmax(K_full)) with c = nn::mse_scale(reduction, n, k) (n·k/λmax(K_full)
/// for the default mean): an interval [lower, upper] that holds it (see the file comment).
///   Full    lower = upper = 1/(c·λ)                 (exact)
///   Traced  lower = 1/(c·k·λ), upper = 1/(c·λ/k)    (upper/lower = k²; the upper end is the usual
///                                                    estimate λmax(K_full) ≈ λ/k)
///   Output  lower = 0 (no bound), upper = 1/(c·λ)
/// With k = 1 every mode's kernel is K_full, so the result is exact. "Exact" is for the linearised
/// model and up to the accuracy of λ.
struct CriticalRateBounds {
  double lower = 0;  ///< η_crit ≥ lower; 0 when the mode gives no lower bound
  double upper = 0;  ///< η_crit ≤ upper; the estimate a Traced or Output λmax gives
  /// True when lower == upper: the kernel was K_full (mode Full, or k = 1).
  [[nodiscard]] bool exact() const noexcept { return lower == upper; }
};

/// The bounds above from lambda_max = λmax of the `mode` kernel of n samples with k outputs.
/// Throws InvalidArgument unless lambda_max is finite and > 0 and n, k > 0.
[[nodiscard]] CriticalRateBounds critical_learning_rate_bounds(
    NtkMode mode, double lambda_max, std::size_t n, std::size_t k,
    nn::MseReduction reduction = nn::MseReduction::Mean);

/// Dense empirical NTK of `model` at the samples x [n, d_0] by the structured per-layer form.
/// Returns [ntk_size, ntk_size] (symmetric). Cost ≈ dense_ntk_flops; memory: the kernel, the
/// forward cache of the n samples and the back-propagated signals of one layer
/// (n·k'·d_{l+1} scalars, k' = k for Full/Traced, 1 for Output) plus a block of temporaries.
/// Results do not depend on the thread count. Throws InvalidArgument on a shape mismatch or an
/// output index ≥ k.
template <class T>
[[nodiscard]] Matrix<T> empirical_ntk(const nn::Mlp<T>& model, MatrixView<const T> x,
                                      const NtkOptions& options = {});

/// The nominal floating-point operations of empirical_ntk (a multiply-add counts 2; the two Gram
/// products of each layer count only their symmetric half): per layer, the signal Gram
/// N²·w_l (N the kernel side, w_l the signal width per kernel row: d_{l+1} for Full, k'·d_{l+1}
/// otherwise; not for the last layer, whose signal Gram needs no product), the input Gram n²·d_l
/// and the signal back-propagation 2·n·k'·d_{l+1}·d_l (l > 0). What the benchmarks turn into
/// GFLOP/s.
[[nodiscard]] double dense_ntk_flops(const nn::MlpConfig& config, std::size_t n,
                                     const NtkOptions& options = {});

/// The Jacobian J [n·k, P] (row i·k + c is ∂f_c(x_i)/∂θ in the flat parameter layout), built one
/// row at a time with Mlp::backward. O(n·k·P) memory: for tests and tiny problems only.
template <class T>
[[nodiscard]] Matrix<T> jacobian(const nn::Mlp<T>& model, MatrixView<const T> x);

/// The NTK from a materialised Jacobian (J·Jᵀ with the mode's selection), accumulated in double:
/// the brute-force reference for empirical_ntk.
template <class T>
[[nodiscard]] Matrix<double> ntk_from_jacobian(MatrixView<const T> jacobian, std::size_t k,
                                               const NtkOptions& options = {});

/// Matrix-free NTK operator: apply(v) = K·v without forming K, for any n.
///   Full:   K·v = J(Jᵀv): one backward (VJP) pass then one forward-tangent (JVP) pass.
///   Output: the same with v placed in output c.
///   Traced: Σ_l [(U_l·U_lᵀ) ∘ (s_l²·A_l·A_lᵀ + β)]·v with U_l the per-layer signal features
///           (ψ' for the last layer; ω-weighted φ' for the layer below it when the output
///           activation is the identity, which makes one traced product cost about one Full
///           product instead of k; the k back-propagated signals otherwise).
/// The forward caches of all samples are kept (n·Σ_l (d_l + d_{l+1}) scalars; about 680 MB for
/// 60000 MNIST images and 784-1024-10 in float); the rest is bounded by the batch size.
/// Batches are processed in a fixed order and parallelism is inside the GEMMs, so results do not
/// depend on the thread count. The model and x must outlive the operator and stay unchanged.
/// Throws InvalidArgument on a shape mismatch or an output index ≥ k.
template <class T>
class NtkOperator final : public LinearOperator {
 public:
  NtkOperator(const nn::Mlp<T>& model, MatrixView<const T> x, const NtkOptions& options = {});
  ~NtkOperator() override;
  NtkOperator(const NtkOperator&) = delete;
  NtkOperator& operator=(const NtkOperator&) = delete;
  NtkOperator(NtkOperator&&) noexcept;
  NtkOperator& operator=(NtkOperator&&) noexcept;

  /// ntk_size(mode, n, k).
  [[nodiscard]] std::size_t size() const override;
  /// y = K·x (x and y hold size() doubles; computed in T).
  void apply(const double* x, double* y) const override;
  /// The network outputs f(x) [n, k] (from the cached forward pass).
  [[nodiscard]] Matrix<T> outputs() const;
  /// Nominal floating-point operations of one apply().
  [[nodiscard]] double flops_per_apply() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// λmax, λmin and κ of the NTK of `model` at x in one call (what a training observer tracks):
/// the dense structured kernel when its side is ≤ dense_limit, else the matrix-free operator;
/// then dense_condition_number (λmin by shift-and-invert) or condition_number (λmin by the
/// spectral shift, which may not converge when the small eigenvalues are clustered). Same errors as
/// empirical_ntk/NtkOperator and condition_number; non-convergence is in the result's status.
template <class T>
[[nodiscard]] ConditionResult ntk_condition_number(const nn::Mlp<T>& model, MatrixView<const T> x,
                                                   const NtkOptions& options = {},
                                                   const EigenOptions& eigen = {.tolerance = 1e-8},
                                                   std::size_t dense_limit = 4000);

}  // namespace catapult::ntk
