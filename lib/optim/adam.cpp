#include "catapult/optim/adam.hpp"

#include <cmath>

#include "catapult/core/error.hpp"

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
kernels::ParamUpdate<T> Adam<T>::update_rule(double lr, std::uint64_t t) {
  const auto& o = options_;
  const auto td = static_cast<double>(t);
  const double bc1 = 1.0 - std::pow(o.beta1, td);
  const double bc2 = 1.0 - std::pow(o.beta2, td);
  kernels::ParamUpdate<T> u;
  kernels::UpdateRule<T>& r = u.rule;
  r.kind = kernels::UpdateKind::Adam;  // flushes the moments' subnormals (update_simd.hpp)
  r.eta = static_cast<T>(lr / bc1);
  r.sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  r.beta1 = static_cast<T>(o.beta1);
  r.beta2 = static_cast<T>(o.beta2);
  r.c1 = static_cast<T>(1.0 - o.beta1);
  r.c2 = static_cast<T>(1.0 - o.beta2);
  r.eps = static_cast<T>(o.eps);
  r.weight_decay = o.decoupled ? T(0) : static_cast<T>(o.weight_decay);
  r.shrink = o.decoupled ? static_cast<T>(1.0 - lr * o.weight_decay) : T(1);
  u.state0 = m_.data();
  u.state1 = v_.data();
  return u;
}

template <class T>
std::vector<StateBuffer<T>> Adam<T>::buffers() {
  return {{"exp_avg", m_.data(), m_.size()}, {"exp_avg_sq", v_.data(), v_.size()}};
}

template class Adam<float>;
template class Adam<double>;

}  // namespace catapult::optim
