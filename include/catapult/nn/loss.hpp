#pragma once
/// @file Losses on a batch of network outputs: each returns the loss value and writes d_out,
/// the gradient of that value with respect to the outputs, ready for Mlp::backward.
///
/// ## The MSE convention and the critical learning rate
/// For outputs f [n, k] (n samples of the batch, k outputs) and targets y [n, k] the default is
/// PyTorch's `MSELoss(reduction='mean')`:
///
///     L(θ) = 1/(n·k) · Σ_i Σ_c (f_ic − y_ic)²,      ∂L/∂f_ic = 2·(f_ic − y_ic)/(n·k).
///
/// With J = ∂f/∂θ the [n·k, P] Jacobian, the Gauss–Newton part of the Hessian is
/// H_GN = (2/(n·k))·JᵀJ, and for a linearised (NTK-regime) model H = H_GN. Gradient descent with
/// rate η is stable along the top eigendirection iff η < 2/λmax(H), hence
///
///     η_crit = 2/λmax(H) ≈ 2/((2/(n·k))·λmax(JᵀJ)) = n·k/λmax(J·Jᵀ) = n·k/λmax(K),
///
/// K = J·Jᵀ the [n·k, n·k] empirical NTK (same non-zero spectrum as JᵀJ). The other reductions
/// change the factor c in L = c·Σ (f − y)², and then η_crit = 1/(c·λmax(K)):
///   Mean           c = 1/(n·k)   η_crit = n·k/λmax(K)   (default, PyTorch 'mean')
///   Sum            c = 1         η_crit = 1/λmax(K)     (PyTorch 'sum')
///   HalfSum        c = 1/2       η_crit = 2/λmax(K)
///   SampleMean     c = 1/n       η_crit = n/λmax(K)     (per-sample squared norm, averaged)
///   HalfSampleMean c = 1/(2n)    η_crit = 2n/λmax(K)
/// mse_scale() returns c so callers (the NTK module) never hard-code it.
///
/// ## Cross-entropy
///     L = −1/n · Σ_i log softmax(f_i)_{y_i},    ∂L/∂f_ic = (softmax(f_i)_c − [c = y_i])/n,
/// computed with a stable log-softmax (the row maximum subtracted). Labels are class indices.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "catapult/core/matrix.hpp"

namespace catapult::nn {

/// How the squared errors of a batch are reduced (see the file comment for c and η_crit).
enum class MseReduction : unsigned char {
  Mean,            ///< 1/(n·k) Σ (f − y)²   (PyTorch MSELoss default)
  Sum,             ///< Σ (f − y)²
  HalfSum,         ///< ½ Σ (f − y)²
  SampleMean,      ///< 1/n Σ (f − y)²
  HalfSampleMean,  ///< 1/(2n) Σ (f − y)²
};

/// The factor c of L = c·Σ_i Σ_c (f_ic − y_ic)² for a batch of n samples with k outputs.
[[nodiscard]] double mse_scale(MseReduction reduction, std::size_t n, std::size_t k) noexcept;

/// Mean squared error. out, target and d_out are [n, k]; d_out = ∂L/∂out = 2c·(out − target)
/// (d_out may be empty to skip it). Returns L, accumulated in double.
/// Throws InvalidArgument on mismatched shapes.
template <class T>
[[nodiscard]] double mse_loss(MatrixView<const T> out, MatrixView<const T> target,
                              MatrixView<T> d_out, MseReduction reduction = MseReduction::Mean);

/// MSE against one-hot style targets built on the fly from labels: y_ic = on if c = labels[i],
/// off otherwise (so no [n, k] target matrix is needed). Same value and gradient as mse_loss.
/// Throws InvalidArgument on a label ≥ k or a size mismatch.
template <class T>
[[nodiscard]] double mse_loss_labels(MatrixView<const T> out, std::span<const std::uint8_t> labels,
                                     MatrixView<T> d_out,
                                     MseReduction reduction = MseReduction::Mean, double on = 1.0,
                                     double off = 0.0);

/// Softmax cross-entropy averaged over the n samples: logits and d_out are [n, k]; labels has n
/// entries in [0, k). d_out = (softmax − onehot)/n (may be empty to skip it). Returns L in double.
/// Throws InvalidArgument on a label ≥ k or a size mismatch.
template <class T>
[[nodiscard]] double cross_entropy_loss(MatrixView<const T> logits,
                                        std::span<const std::uint8_t> labels, MatrixView<T> d_out);

/// Number of rows whose argmax (first index on ties) equals the label.
/// Throws InvalidArgument on a size mismatch.
template <class T>
[[nodiscard]] std::size_t count_correct(MatrixView<const T> out,
                                        std::span<const std::uint8_t> labels);

/// Fraction of rows whose argmax equals the label (0 for an empty batch).
template <class T>
[[nodiscard]] double accuracy(MatrixView<const T> out, std::span<const std::uint8_t> labels) {
  return labels.empty()
             ? 0.0
             : static_cast<double>(count_correct(out, labels)) / static_cast<double>(labels.size());
}

/// Which loss a training run minimises.
enum class LossKind : unsigned char {
  Mse,           ///< mse_loss_labels with the reduction and target values of LossConfig
  CrossEntropy,  ///< cross_entropy_loss
};

/// A loss and its options, as chosen by a run's configuration.
struct LossConfig {
  LossKind kind = LossKind::Mse;
  MseReduction reduction = MseReduction::Mean;  ///< MSE only
  double target_on = 1.0;                       ///< MSE only: y at the true class
  double target_off = 0.0;                      ///< MSE only: y elsewhere
};

/// Evaluates the configured loss on labelled outputs; d_out as for the individual losses.
template <class T>
[[nodiscard]] double evaluate_loss(const LossConfig& config, MatrixView<const T> out,
                                   std::span<const std::uint8_t> labels, MatrixView<T> d_out);

/// "mse" / "cross_entropy"; "mean", "sum", "half_sum", "sample_mean", "half_sample_mean".
[[nodiscard]] const char* to_string(LossKind kind) noexcept;
[[nodiscard]] const char* to_string(MseReduction reduction) noexcept;
/// Inverse of to_string (also accepts "ce"); throws InvalidArgument naming the value.
[[nodiscard]] LossKind parse_loss_kind(std::string_view name);
[[nodiscard]] MseReduction parse_mse_reduction(std::string_view name);

}  // namespace catapult::nn
