#pragma once
/// @file The optimizer interface: every optimizer updates one flat parameter buffer of P entries
/// (Mlp::params()) from one flat gradient of P entries, with PyTorch's semantics, and exposes its
/// state as named flat buffers (readable for analysis, writable for checkpoints).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/kernels/update.hpp"

namespace catapult::optim {

/// One state buffer of an optimizer, e.g. {"sum", ptr, P} for AdaGrad. T may be const.
template <class T>
struct StateBuffer {
  std::string name;
  T* data;
  std::size_t size;
};

/// Base of all optimizers over T ∈ {float, double}.
/// The step counter t counts completed steps (PyTorch's state['step']); set_steps() and the
/// buffers of state() restore an optimizer exactly from a checkpoint.
template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer() = default;
  Optimizer(const Optimizer&) = default;
  Optimizer& operator=(const Optimizer&) = default;
  Optimizer(Optimizer&&) noexcept = default;
  Optimizer& operator=(Optimizer&&) noexcept = default;

  /// One update of params (P entries) with the gradient grads (P entries) at learning rate lr.
  /// The first call (or the first after reset) sizes the state for P; later calls must pass the
  /// same P. Throws InvalidArgument for lr < 0 or non-finite, a null pointer or a changed P.
  /// Large P is updated by several threads (at most max_threads()); every entry is updated the
  /// same way whatever the thread count, so results are bitwise independent of it.
  void step(T* params, const T* grads, std::size_t num_params, double lr);

  /// The next step (t = steps() + 1 at rate lr) as an elementwise rule with pointers to the
  /// starts of params and of the state buffers, for an update fused into the computation of the
  /// gradient (nn::Mlp::backward_update applies it to each finished gradient tile): applying it
  /// to every entry with that entry's gradient is bitwise what step() does (both run
  /// kernels::apply_update's code). Sizes the state like step() and throws as it does; call
  /// commit_fused_step() once every entry was updated.
  [[nodiscard]] kernels::ParamUpdate<T> fused_step(T* params, std::size_t num_params, double lr);
  /// Counts the step whose fused_step() update was applied to every entry.
  void commit_fused_step() noexcept { ++steps_; }
  /// After step(), or a fused_step() update applied to every entry: whether every parameter the
  /// update wrote is finite (false once any is infinite or NaN). Computed by the update itself
  /// (kernels::ParamUpdate::nonfinite), so the check costs no second pass over the parameters.
  [[nodiscard]] bool last_update_finite() const noexcept { return !nonfinite_; }

  /// (Re)initialises the state for P parameters, as before the first step; t = 0.
  void reset(std::size_t num_params);

  /// Completed steps t.
  [[nodiscard]] std::uint64_t steps() const noexcept { return steps_; }
  /// Sets t (after writing the state buffers from a checkpoint).
  void set_steps(std::uint64_t t) noexcept { steps_ = t; }
  /// P the state is sized for (0 before the first step or reset).
  [[nodiscard]] std::size_t num_params() const noexcept { return num_params_; }

  /// The state buffers (each num_params() entries), writable. Empty for plain SGD.
  [[nodiscard]] std::vector<StateBuffer<T>> state();
  /// The state buffers, read-only.
  [[nodiscard]] std::vector<StateBuffer<const T>> state() const;

  /// "sgd", "adagrad", "adam", "adamw".
  [[nodiscard]] virtual const char* name() const noexcept = 0;

 protected:
  /// Sizes (and initialises) the state for num_params.
  virtual void do_reset(std::size_t num_params) = 0;
  /// The elementwise rule of step t (1-based, PyTorch's state['step']) at rate lr, with the
  /// state pointers set to the starts of the state buffers (params is filled in by the caller).
  /// step() applies it to disjoint ranges that cover [0, P), concurrently when P is large; every
  /// entry is computed from itself alone, so the result does not depend on the split.
  [[nodiscard]] virtual kernels::ParamUpdate<T> update_rule(double lr, std::uint64_t t) = 0;
  /// Named views of the state buffers.
  virtual std::vector<StateBuffer<T>> buffers() = 0;

 private:
  std::uint64_t steps_ = 0;
  std::size_t num_params_ = 0;
  bool sized_ = false;
  bool nonfinite_ = false;  // the flag of the last fused_step()'s update
};

/// Which optimizer a run uses.
enum class OptimizerKind : unsigned char { Sgd, AdaGrad, Adam, AdamW };

/// "sgd", "adagrad", "adam", "adamw".
[[nodiscard]] const char* to_string(OptimizerKind kind) noexcept;
/// Inverse of to_string; throws InvalidArgument naming the value.
[[nodiscard]] OptimizerKind parse_optimizer_kind(std::string_view name);

/// Every optimizer's options in one place (for configs and the CLI); each optimizer reads its own.
/// Defaults are PyTorch's, except weight_decay for AdamW which the caller sets (PyTorch: 0.01).
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double momentum = 0.0;      ///< SGD
  double dampening = 0.0;     ///< SGD
  bool nesterov = false;      ///< SGD
  double weight_decay = 0.0;  ///< all: L2 added to the gradient; AdamW: decoupled decay
  double eps = -1.0;          ///< AdaGrad (1e-10) and Adam (1e-8); negative = that default
  double beta1 = 0.9;         ///< Adam/AdamW
  double beta2 = 0.999;       ///< Adam/AdamW
  double initial_accumulator_value = 0.0;  ///< AdaGrad
  double lr_decay = 0.0;                   ///< AdaGrad
};

/// Builds the optimizer of config.kind with its options. Throws InvalidArgument on bad options.
template <class T>
[[nodiscard]] std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config);

}  // namespace catapult::optim
