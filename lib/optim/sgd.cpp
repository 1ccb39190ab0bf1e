#include "catapult/optim/sgd.hpp"

#include <cmath>

#include "catapult/core/error.hpp"
#include "optim/subnormal.hpp"

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
void Sgd<T>::do_step(T* __restrict params, const T* __restrict grads, std::size_t begin,
                     std::size_t end, double lr, std::uint64_t t) {
  const T eta = static_cast<T>(lr);
  const T wd = static_cast<T>(options_.weight_decay);
  if (options_.momentum == 0) {
    if (options_.weight_decay == 0) {
      for (std::size_t i = begin; i < end; ++i) params[i] -= eta * grads[i];
    } else {
      for (std::size_t i = begin; i < end; ++i) params[i] -= eta * (grads[i] + wd * params[i]);
    }
    return;
  }
  const T mu = static_cast<T>(options_.momentum);
  const T keep = static_cast<T>(1.0 - options_.dampening);
  T* __restrict buf = momentum_.data();
  const bool first = t == 1;
  const bool nesterov = options_.nesterov;
  for (std::size_t i = begin; i < end; ++i) {
    const T g = grads[i] + wd * params[i];
    const T b = detail::flush_subnormal(first ? g : mu * buf[i] + keep * g);
    buf[i] = b;
    params[i] -= eta * (nesterov ? g + mu * b : b);
  }
}

template <class T>
std::vector<StateBuffer<T>> Sgd<T>::buffers() {
  if (momentum_.empty()) return {};
  return {{"momentum_buffer", momentum_.data(), momentum_.size()}};
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace catapult::optim
