#include "catapult/optim/adagrad.hpp"

#include <cmath>

#include "catapult/core/error.hpp"

namespace catapult::optim {

template <class T>
AdaGrad<T>::AdaGrad(AdaGradOptions options) : options_(options) {
  const auto& o = options_;
  if (!(o.eps >= 0) || !(o.initial_accumulator_value >= 0) || !(o.lr_decay >= 0) ||
      !(o.weight_decay >= 0))
    throw InvalidArgument(str_cat("AdaGrad: options must be >= 0 (eps ", o.eps,
                                  ", initial_accumulator_value ", o.initial_accumulator_value,
                                  ", lr_decay ", o.lr_decay, ", weight_decay ", o.weight_decay,
                                  ")"));
}

template <class T>
void AdaGrad<T>::do_reset(std::size_t num_params) {
  sum_.assign(num_params, static_cast<T>(options_.initial_accumulator_value));
}

template <class T>
kernels::ParamUpdate<T> AdaGrad<T>::update_rule(double lr, std::uint64_t t) {
  kernels::ParamUpdate<T> u;
  u.rule.kind = kernels::UpdateKind::AdaGrad;
  u.rule.eta = static_cast<T>(lr / (1.0 + static_cast<double>(t - 1) * options_.lr_decay));
  u.rule.eps = static_cast<T>(options_.eps);
  u.rule.weight_decay = static_cast<T>(options_.weight_decay);
  u.state0 = sum_.data();
  return u;
}

template <class T>
std::vector<StateBuffer<T>> AdaGrad<T>::buffers() {
  return {{"sum", sum_.data(), sum_.size()}};
}

template class AdaGrad<float>;
template class AdaGrad<double>;

}  // namespace catapult::optim
