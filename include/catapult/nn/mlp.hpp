#pragma once
/// @file Fully connected networks (MLPs) whose parameters live in one flat aligned buffer.
///
/// Layer l (0-based, L layers) maps a_l [B, d_l] to a_{l+1} [B, d_{l+1}]:
///   z_l     = s_l · a_l · W_lᵀ + b_l       W_l is [d_{l+1}, d_l] (row-major, PyTorch's layout)
///   a_{l+1} = act_l(z_l)                    act = hidden activation, output activation for l = L−1
/// with s_l = 1 (standard parameterization) or 1/√d_l (NTK parameterization).
/// Flat layout (what params(), gradients, checkpoints and .npz exports see), layer by layer:
///   [W_0 (d_1·d_0, row-major), b_0 (d_1), W_1, b_1, …]; biases absent when bias is off.
/// Initialisation:
///   standard: W, b ~ U(−1/√d_l, 1/√d_l) (PyTorch's nn.Linear default);
///   NTK:      W, b ~ N(0, 1) — the 1/√d_l lives in s_l (biases are not scaled).

#include <cstddef>
#include <string_view>
#include <vector>

#include "catapult/core/aligned.hpp"
#include "catapult/core/matrix.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/kernels/gemm.hpp"
#include "catapult/kernels/update.hpp"

namespace catapult::nn {

using kernels::Activation;

/// Where the 1/√fan_in of a layer lives: in the initial weights (Standard) or in the forward
/// pass (Ntk, s_l = 1/√d_l), see the file comment.
enum class Parameterization : unsigned char { Standard, Ntk };

/// "standard" / "ntk".
[[nodiscard]] const char* to_string(Parameterization p) noexcept;
/// Inverse of to_string; throws InvalidArgument naming the value.
[[nodiscard]] Parameterization parse_parameterization(std::string_view name);
/// Inverse of kernels::to_string(Activation) ("identity" also as "linear"); throws
/// InvalidArgument naming the value.
[[nodiscard]] Activation parse_activation(std::string_view name);

/// Architecture: widths = {d_0, d_1, …, d_L}, e.g. {784, 256, 10}.
struct MlpConfig {
  std::vector<std::size_t> widths;
  Activation hidden_activation = Activation::Relu;
  Activation output_activation = Activation::Identity;
  bool bias = true;
  Parameterization parameterization = Parameterization::Standard;
};

/// Layer l as views into the flat buffer.
template <class T>
struct LayerView {
  MatrixView<T> weight;  ///< [d_out, d_in]
  T* bias;               ///< d_out entries, or null when bias is off
  std::size_t d_in;
  std::size_t d_out;
  Activation activation;
  T scale;  ///< s_l: 1 or 1/√d_in
};

/// What forward keeps for backward and the NTK: the input of every layer and act'(z_l).
template <class T>
struct ForwardCache {
  std::vector<Matrix<T>> inputs;       ///< inputs[l] = a_l, [B, d_l], l = 0..L−1 (a_0 = x copy)
  std::vector<Matrix<T>> derivatives;  ///< derivatives[l] = act_l'(z_l), [B, d_{l+1}]
  /// Scratch of backward (dZ and dA of one layer), kept so that repeated steps allocate nothing.
  /// Mutable: backward takes the cache const; one backward per cache at a time.
  mutable Matrix<T> scratch[2];
  /// Scratch of backward_update: the weight-gradient GEMMs' C (partial sums while the batch spans
  /// several K blocks) and one bias gradient.
  mutable Matrix<T> update_scratch[2];
};

/// A multilayer perceptron over T ∈ {float, double}.
template <class T>
class Mlp {
 public:
  /// Throws InvalidArgument for fewer than two widths or a zero width.
  explicit Mlp(MlpConfig config);

  [[nodiscard]] const MlpConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::size_t num_layers() const noexcept { return config_.widths.size() - 1; }
  [[nodiscard]] std::size_t input_dim() const noexcept { return config_.widths.front(); }
  [[nodiscard]] std::size_t output_dim() const noexcept { return config_.widths.back(); }
  /// P, the number of parameters.
  [[nodiscard]] std::size_t num_params() const noexcept { return params_.size(); }
  /// The flat parameter buffer (P entries, 64-byte aligned).
  [[nodiscard]] T* params() noexcept { return params_.data(); }
  [[nodiscard]] const T* params() const noexcept { return params_.data(); }
  /// Offset of layer l's weight (and of its bias, after the weight) in the flat buffer.
  [[nodiscard]] std::size_t weight_offset(std::size_t l) const noexcept { return offsets_[l]; }
  [[nodiscard]] LayerView<T> layer(std::size_t l) noexcept;
  [[nodiscard]] LayerView<const T> layer(std::size_t l) const noexcept;

  /// Draws the parameters as documented above.
  void init(Rng& rng);

  /// out = f(x): x is [B, d_0], out is [B, d_L]. With a cache, keeps what backward needs.
  void forward(MatrixView<const T> x, MatrixView<T> out, ForwardCache<T>* cache = nullptr) const;

  /// Vector–Jacobian product: d_params (P entries, overwritten) = J_θᵀ d_out, summed over the
  /// batch, with d_out [B, d_L] the gradient of a loss w.r.t. the outputs. If d_x is non-empty,
  /// it receives ∂/∂x ([B, d_0]). d_params may be null when d_x is asked for: then only ∂/∂x is
  /// computed (the weight-gradient GEMMs are skipped, about half the cost; d_x is the same bits).
  /// Requires the cache of forward on the same batch.
  void backward(const ForwardCache<T>& cache, MatrixView<const T> d_out, T* d_params,
                MatrixView<T> d_x = {}) const;

  /// backward, then the optimizer update `update` of the parameters with the batch gradient g,
  /// fused: each layer's input gradient is computed first (from the weights before the update),
  /// then its weight gradient is consumed tile by tile by the update in the GEMM's epilogue
  /// (kernels::GemmEpilogue::update) and never written out, and its bias gradient (column sums
  /// of dZ, taken in the same pass as dZ = dA ⊙ act') is updated right after. `update` comes
  /// from optim::Optimizer::fused_step(params(), num_params(), lr); its state buffers index like
  /// params(). Parameters and state end bitwise as after backward into g and
  /// kernels::apply_update(update, g, num_params()) (= Optimizer::step) on the same ISA.
  /// Returns ‖g‖² in double, summed per register tile (it may differ from
  /// kernels::squared_norm(g) in the last bits; it is not finite iff g is not).
  /// Requires the cache of forward on the same batch; throws InvalidArgument as backward does or
  /// if update.params is not params().
  [[nodiscard]] double backward_update(const ForwardCache<T>& cache, MatrixView<const T> d_out,
                                       const kernels::ParamUpdate<T>& update);

  /// Jacobian–vector product (forward mode): tangent [B, d_L] = J_θ(x)·v for a parameter
  /// direction v (P entries); out [B, d_L] receives f(x) when non-empty.
  void jvp(MatrixView<const T> x, const T* v, MatrixView<T> tangent, MatrixView<T> out = {}) const;

  /// The same tangent J_θ(x)·v from the cache of a forward pass on x (its inputs and act'), so
  /// repeated products on one batch (matrix-free NTK) skip the forward GEMMs: 2 GEMMs per layer
  /// instead of 3. Throws InvalidArgument if the cache does not match the network.
  void jvp(const ForwardCache<T>& cache, const T* v, MatrixView<T> tangent) const;

 private:
  [[nodiscard]] T layer_scale(std::size_t l) const noexcept;
  [[nodiscard]] Activation layer_activation(std::size_t l) const noexcept;

  MlpConfig config_;
  std::vector<std::size_t> offsets_;
  AlignedVector<T> params_;
};

}  // namespace catapult::nn
