#pragma once
/// @file Elementwise optimizer updates (PyTorch's formulas) as kernels: applied to a flat range
/// (kernels::apply_update, what optim::Optimizer::step runs) or to each finished tile of a
/// weight-gradient GEMM (GemmEpilogue::update), so that the gradient is never written and re-read.
/// Both forms compute every entry with the same vector code, so they give bitwise the same
/// parameters and state for the same gradient (on one ISA).

#include <cstddef>

namespace catapult::kernels {

/// Which update rule.
enum class UpdateKind : unsigned char { Sgd, SgdMomentum, AdaGrad, Adam };

/// The coefficients of one step of an elementwise update (built by optim::Optimizer for step t;
/// see optim/sgd.hpp, adagrad.hpp, adam.hpp for where each comes from). Per entry i, with θ the
/// parameter, g its gradient and s0, s1 its state, flush(x) = 0 for subnormal x, else x:
///   Sgd:          g' = g + wd·θ (only when wd ≠ 0);            θ ← θ − eta·g'
///   SgdMomentum:  g' as Sgd; b = first ? g' : flush(mu·s0 + keep·g'); s0 ← b;
///                 θ ← θ − eta·(nesterov ? g' + mu·b : b)
///   AdaGrad:      g' as Sgd; s0 ← s0 + g'·g';   θ ← θ − eta·g' / (√s0 + eps)
///   Adam:         θ' = shrink·θ; g' = g + wd·θ'; s0 ← flush(beta1·s0 + c1·g');
///                 s1 ← flush(beta2·s1 + c2·g'·g');   θ ← θ' − eta·s0 / (√s1 / sqrt_bc2 + eps)
/// Products written a·b + c may be computed with one rounding (FMA) on ISAs that have it.
template <class T>
struct UpdateRule {
  UpdateKind kind = UpdateKind::Sgd;
  T eta = T(0);           ///< step size (Adam: η / (1 − β1^t); AdaGrad: the decayed rate)
  T weight_decay = T(0);  ///< wd (L2 added to the gradient)
  T mu = T(0);            ///< SgdMomentum: momentum
  T keep = T(1);          ///< SgdMomentum: 1 − dampening
  bool nesterov = false;  ///< SgdMomentum
  bool first = false;     ///< SgdMomentum: first step (the buffer starts as g')
  T eps = T(0);           ///< AdaGrad, Adam
  T beta1 = T(0), beta2 = T(0), c1 = T(0), c2 = T(0);  ///< Adam: β1, β2, 1 − β1, 1 − β2
  T sqrt_bc2 = T(1);                                   ///< Adam: √(1 − β2^t)
  T shrink = T(1);  ///< Adam: 1 − η·λ for AdamW's decoupled decay, else 1
};

/// An update of parameters and state that share one indexing: entry (i, j) of a view of the
/// gradient updates params[i·ld + j], state0[i·ld + j], state1[i·ld + j] (ld given with it).
/// state0 is used by SgdMomentum, AdaGrad and Adam, state1 by Adam; null where unused.
/// nonfinite, where non-null, is set to true (an atomic relaxed store, so concurrent updates of
/// disjoint ranges may share it) when a parameter the update wrote is infinite or NaN, and is
/// never cleared: a check that every parameter is finite after the step, without reading them
/// again (the update folds it into the pass that writes them).
template <class T>
struct ParamUpdate {
  UpdateRule<T> rule;
  T* params = nullptr;
  T* state0 = nullptr;
  T* state1 = nullptr;
  bool* nonfinite = nullptr;
};

/// The number of state buffers `kind` updates (0, 1 or 2).
[[nodiscard]] constexpr std::size_t state_buffers(UpdateKind kind) noexcept {
  return kind == UpdateKind::Sgd ? 0 : kind == UpdateKind::Adam ? 2 : 1;
}

/// Applies u.rule to entries [0, n) of u.params, u.state0, u.state1 with gradient grads[0, n).
/// Assumes: the state pointers the kind uses are non-null; grads does not overlap the others.
/// Single-threaded (optim::Optimizer::step splits large ranges); noexcept, allocates nothing.
template <class T>
void apply_update(const ParamUpdate<T>& u, const T* grads, std::size_t n) noexcept;

}  // namespace catapult::kernels
