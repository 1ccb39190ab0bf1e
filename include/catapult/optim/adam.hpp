#pragma once
/// @file Adam and AdamW as torch.optim.Adam / torch.optim.AdamW (amsgrad off):
///   Adam:  g ← g + λ·θ                          AdamW: θ ← θ·(1 − η·λ)   (decoupled decay)
///   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
///   θ ← θ − (η/(1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)      (ε added to √v̂, t = 1, 2, …)

#include "catapult/core/aligned.hpp"
#include "catapult/optim/optimizer.hpp"

namespace catapult::optim {

struct AdamOptions {
  double beta1 = 0.9;         ///< β1 ∈ [0, 1)
  double beta2 = 0.999;       ///< β2 ∈ [0, 1)
  double eps = 1e-8;          ///< ε ≥ 0
  double weight_decay = 0.0;  ///< λ ≥ 0 (PyTorch's AdamW default is 0.01)
  bool decoupled = false;     ///< true: AdamW
};

/// torch.optim.Adam (or AdamW when decoupled) on a flat buffer. State: "exp_avg" (m) and
/// "exp_avg_sq" (v), P entries each.
template <class T>
class Adam final : public Optimizer<T> {
 public:
  /// Throws InvalidArgument for options outside the ranges above.
  explicit Adam(AdamOptions options = {});
  [[nodiscard]] const char* name() const noexcept override {
    return options_.decoupled ? "adamw" : "adam";
  }
  [[nodiscard]] const AdamOptions& options() const noexcept { return options_; }

 private:
  void do_reset(std::size_t num_params) override;
  [[nodiscard]] kernels::ParamUpdate<T> update_rule(double lr, std::uint64_t t) override;
  std::vector<StateBuffer<T>> buffers() override;

  AdamOptions options_;
  AlignedVector<T> m_;
  AlignedVector<T> v_;
};

}  // namespace catapult::optim
