#include "catapult/optim/sgd.hpp"

#include <cmath>

#include "catapult/core/error.hpp"

namespace catapult::optim {

template <class T>
Sgd<T>::Sgd(SgdOptions options) : options_(options) {
  const auto& o = options_;
  if (!(o.momentum >= 0 && o.momentum < 1))
    throw InvalidArgument(str_cat("Sgd: momentum ", o.momentum, " is not in [0, 1)"));
  if (!(o.dampening >= 0 && o.dampening <= 1))
    throw InvalidArgument(str_cat("Sgd: dampening ", o.dampening, " is not in [0, 1]"));
  if (!(o.weight_decay >= 0 && std::isfinite(o.weight_decay)))
    throw InvalidArgument(str_cat("Sgd: weight_decay ", o.weight_decay, " is negative"));
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw InvalidArgument(str_cat("Sgd: Nesterov needs momentum > 0 and dampening 0 (momentum ",
                                  o.momentum, ", dampening ", o.dampening, ")"));
}

template <class T>
void Sgd<T>::do_reset(std::size_t num_params) {
  momentum_.assign(options_.momentum > 0 ? num_params : 0, T(0));
}

template <class T>
kernels::ParamUpdate<T> Sgd<T>::update_rule(double lr, std::uint64_t t) {
  kernels::ParamUpdate<T> u;
  u.rule.eta = static_cast<T>(lr);
  u.rule.weight_decay = static_cast<T>(options_.weight_decay);
  if (options_.momentum == 0) {
    u.rule.kind = kernels::UpdateKind::Sgd;
    return u;
  }
  // SgdMomentum flushes the buffer's subnormals (lib/kernels/update_simd.hpp says why).
  u.rule.kind = kernels::UpdateKind::SgdMomentum;
  u.rule.mu = static_cast<T>(options_.momentum);
  u.rule.keep = static_cast<T>(1.0 - options_.dampening);
  u.rule.nesterov = options_.nesterov;
  u.rule.first = t == 1;
  u.state0 = momentum_.data();
  return u;
}

template <class T>
std::vector<StateBuffer<T>> Sgd<T>::buffers() {
  if (momentum_.empty()) return {};
  return {{"momentum_buffer", momentum_.data(), momentum_.size()}};
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace catapult::optim
