#pragma once
/// @file AdaGrad as torch.optim.Adagrad:
///   η_t = η / (1 + (t − 1)·lr_decay)          (t = 1, 2, … the step index)
///   g ← g + λ·θ                                (weight_decay λ)
///   s ← s + g²                                 (s_0 = initial_accumulator_value)
///   θ ← θ − η_t · g / (√s + ε)                 (ε = 1e-10 by default, outside the root)
/// The accumulator s is what the s_t analysis reads (accumulator()): the per-parameter effective
/// rate is η/(√s + ε).

#include "catapult/core/aligned.hpp"
#include "catapult/optim/optimizer.hpp"

namespace catapult::optim {

struct AdaGradOptions {
  double eps = 1e-10;                      ///< ε ≥ 0
  double initial_accumulator_value = 0.0;  ///< s_0 ≥ 0
  double lr_decay = 0.0;                   ///< ≥ 0
  double weight_decay = 0.0;               ///< λ ≥ 0
};

/// torch.optim.Adagrad on a flat buffer. State: "sum" (the accumulator s, P entries).
template <class T>
class AdaGrad final : public Optimizer<T> {
 public:
  /// Throws InvalidArgument for a negative option.
  explicit AdaGrad(AdaGradOptions options = {});
  [[nodiscard]] const char* name() const noexcept override { return "adagrad"; }
  [[nodiscard]] const AdaGradOptions& options() const noexcept { return options_; }
  /// The accumulator s (num_params() entries; null before the first step or reset).
  [[nodiscard]] const T* accumulator() const noexcept {
    return sum_.empty() ? nullptr : sum_.data();
  }

 private:
  void do_reset(std::size_t num_params) override;
  [[nodiscard]] kernels::ParamUpdate<T> update_rule(double lr, std::uint64_t t) override;
  std::vector<StateBuffer<T>> buffers() override;

  AdaGradOptions options_;
  AlignedVector<T> sum_;
};

}  // namespace catapult::optim
