#include "catapult/optim/adam.hpp"

#include <cmath>

#include "catapult/core/error.hpp"
#include "optim/subnormal.hpp"

namespace catapult::optim {

template <class T>
Adam<T>::Adam(AdamOptions options) : options_(options) {
  const auto& o = options_;
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    throw InvalidArgument(
        str_cat(name(), ": betas (", o.beta1, ", ", o.beta2, ") must be in [0, 1)"));
  if (!(o.eps >= 0) || !(o.weight_decay >= 0))
    throw InvalidArgument(
        str_cat(name(), ": eps ", o.eps, " and weight_decay ", o.weight_decay, " must be >= 0"));
}

template <class T>
void Adam<T>::do_reset(std::size_t num_params) {
  m_.assign(num_params, T(0));
  v_.assign(num_params, T(0));
}

template <class T>
void Adam<T>::do_step(T* __restrict params, const T* __restrict grads, std::size_t begin,
                      std::size_t end, double lr, std::uint64_t t) {
  const auto& o = options_;
  const auto td = static_cast<double>(t);
  const double bc1 = 1.0 - std::pow(o.beta1, td);
  const double bc2 = 1.0 - std::pow(o.beta2, td);
  const T step_size = static_cast<T>(lr / bc1);
  const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2);
  const T c1 = static_cast<T>(1.0 - o.beta1), c2 = static_cast<T>(1.0 - o.beta2);
  const T eps = static_cast<T>(o.eps);
  const T l2 = o.decoupled ? T(0) : static_cast<T>(o.weight_decay);
  const T shrink = o.decoupled ? static_cast<T>(1.0 - lr * o.weight_decay) : T(1);
  T* __restrict m = m_.data();
  T* __restrict v = v_.data();
  for (std::size_t i = begin; i < end; ++i) {
    const T p = params[i] * shrink;
    const T g = grads[i] + l2 * p;
    m[i] = detail::flush_subnormal(b1 * m[i] + c1 * g);
    v[i] = detail::flush_subnormal(b2 * v[i] + c2 * g * g);
    params[i] = p - step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
  }
}

template <class T>
std::vector<StateBuffer<T>> Adam<T>::buffers() {
  return {{"exp_avg", m_.data(), m_.size()}, {"exp_avg_sq", v_.data(), v_.size()}};
}

template class Adam<float>;
template class Adam<double>;

}  // namespace catapult::optim
