#pragma once
/// @file Stochastic gradient descent with momentum, Nesterov and weight decay, as torch.optim.SGD:
///   g ← g + λ·θ                               (weight_decay λ)
///   if μ ≠ 0: b ← g at the first step, else b ← μ·b + (1 − τ)·g    (momentum μ, dampening τ)
///             g ← g + μ·b (Nesterov) or g ← b
///   θ ← θ − η·g

#include "catapult/core/aligned.hpp"
#include "catapult/optim/optimizer.hpp"

namespace catapult::optim {

struct SgdOptions {
  double momentum = 0.0;      ///< μ ∈ [0, 1)
  double dampening = 0.0;     ///< τ ∈ [0, 1]
  bool nesterov = false;      ///< requires μ > 0 and τ = 0 (as PyTorch)
  double weight_decay = 0.0;  ///< λ ≥ 0
};

/// torch.optim.SGD on a flat buffer. State: "momentum_buffer" (only when μ > 0).
template <class T>
class Sgd final : public Optimizer<T> {
 public:
  /// Throws InvalidArgument for options outside the ranges above.
  explicit Sgd(SgdOptions options = {});
  [[nodiscard]] const char* name() const noexcept override { return "sgd"; }
  [[nodiscard]] const SgdOptions& options() const noexcept { return options_; }

 private:
  void do_reset(std::size_t num_params) override;
  [[nodiscard]] kernels::ParamUpdate<T> update_rule(double lr, std::uint64_t t) override;
  std::vector<StateBuffer<T>> buffers() override;

  SgdOptions options_;
  AlignedVector<T> momentum_;
};

}  // namespace catapult::optim
