#pragma once
/// @file Learning-rate schedules: η(t) for the step index t = 0, 1, 2, … (the rate used by the
/// t-th optimizer step; PyTorch's scheduler.last_epoch when stepped once per batch).
///
///   Constant  η(t) = lr
///   Step      η(t) = lr · γ^⌊t / step_size⌋                               (StepLR)
///   Cosine    η(t) = min_lr + (lr − min_lr)·(1 + cos(π·min(t, T)/T))/2, T = total_steps
///             (CosineAnnealingLR's closed form, held at min_lr after T)
///   Cyclic    torch.optim.lr_scheduler.CyclicLR with base_lr = lr, max_lr, step_size_up,
///             step_size_down (0: = step_size_up), mode triangular / triangular2 / exp_range:
///               S = up + down, r = up/S, cycle = ⌊1 + t/S⌋, x = 1 + t/S − cycle,
///               f = x/r if x ≤ r else (x − 1)/(r − 1),
///               η(t) = lr + (max_lr − lr)·f·scale, scale = 1 (triangular),
///               1/2^(cycle−1) (triangular2), γ^t (exp_range, γ = cyclic_gamma).
///             No momentum cycling.
/// Warm-up (any kind): for warmup_steps W > 0, η(t) is multiplied by
///   w(t) = s + (1 − s)·min(t, W)/W,   s = warmup_start_factor     (LinearLR, chained)
/// so the rate ramps linearly from s·η(0) and the warm-up ends at t = W.
///
/// "SGD + catapult" is defined by measurement: peak_multiple_of_critical = m makes the peak
/// (max_lr for Cyclic, lr otherwise) m·η_crit, with η_crit measured on the model (ntk module);
/// resolve_critical() fills it in. A Schedule cannot be built while a multiple is unresolved.

#include <cstdint>
#include <optional>
#include <string_view>

namespace catapult::optim {

enum class ScheduleKind : unsigned char { Constant, Step, Cosine, Cyclic };
enum class CyclicMode : unsigned char { Triangular, Triangular2, ExpRange };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Constant;
  double lr = 0.1;  ///< the base rate (Cyclic: base_lr)
  // Step
  std::uint64_t step_size = 1000;  ///< steps between decays
  double step_gamma = 0.1;         ///< decay factor
  // Cosine
  std::uint64_t total_steps = 0;  ///< T (> 0 for Cosine)
  double min_lr = 0.0;            ///< η at t ≥ T
  // Cyclic
  double max_lr = 0.0;                ///< peak (≥ lr)
  std::uint64_t step_size_up = 2000;  ///< steps from base to peak
  std::uint64_t step_size_down = 0;   ///< steps from peak to base; 0 = step_size_up
  CyclicMode mode = CyclicMode::Triangular;
  double cyclic_gamma = 1.0;  ///< exp_range: scale γ^t
  // Warm-up (multiplies any kind)
  std::uint64_t warmup_steps = 0;
  double warmup_start_factor = 1.0 / 3.0;  ///< PyTorch LinearLR's default
  // Critical-rate multiples (resolved by resolve_critical)
  std::optional<double> peak_multiple_of_critical;  ///< peak = m·η_crit
  std::optional<double> base_multiple_of_critical;  ///< Cyclic only: lr = m·η_crit
};

/// A copy of config with the multiples turned into rates, given the measured critical rate
/// eta_crit = 2/λmax (see nn/loss.hpp for its relation to the NTK). The multiples are cleared.
/// Throws InvalidArgument if eta_crit is not finite and > 0, or a multiple is not > 0.
[[nodiscard]] ScheduleConfig resolve_critical(const ScheduleConfig& config, double eta_crit);

/// An immutable schedule.
class Schedule {
 public:
  /// Throws InvalidArgument (naming the field and value) for a rate < 0 or non-finite,
  /// max_lr < lr, a zero step size or period, Cosine without total_steps, exp_range γ ∉ (0, 1],
  /// warmup_start_factor ∉ [0, 1], or an unresolved critical-rate multiple.
  explicit Schedule(ScheduleConfig config);
  /// η(t).
  [[nodiscard]] double lr(std::uint64_t t) const noexcept;
  [[nodiscard]] const ScheduleConfig& config() const noexcept { return config_; }
  /// The largest rate the schedule reaches (lr, or max_lr for Cyclic).
  [[nodiscard]] double peak() const noexcept;

 private:
  ScheduleConfig config_;
};

/// "constant", "step", "cosine", "cyclic".
[[nodiscard]] const char* to_string(ScheduleKind kind) noexcept;
/// "triangular", "triangular2", "exp_range".
[[nodiscard]] const char* to_string(CyclicMode mode) noexcept;
/// Inverses of to_string; throw InvalidArgument naming the value.
[[nodiscard]] ScheduleKind parse_schedule_kind(std::string_view name);
[[nodiscard]] CyclicMode parse_cyclic_mode(std::string_view name);

}  // namespace catapult::optim
