#include "catapult/optim/optimizer.hpp"

#include <cmath>

#include "catapult/core/error.hpp"
#include "catapult/optim/adagrad.hpp"
#include "catapult/optim/adam.hpp"
#include "catapult/optim/sgd.hpp"
#include "core/parallel.hpp"

namespace catapult::optim {

template <class T>
kernels::ParamUpdate<T> Optimizer<T>::fused_step(T* params, std::size_t num_params, double lr) {
  if (!std::isfinite(lr) || lr < 0)
    throw InvalidArgument(str_cat(name(), "::step: learning rate ", lr, " is not finite and >= 0"));
  if (num_params > 0 && params == nullptr)
    throw InvalidArgument(str_cat(name(), "::step: null params or grads"));
  if (!sized_) {
    reset(num_params);
  } else if (num_params != num_params_) {
    throw InvalidArgument(str_cat(name(), "::step: ", num_params,
                                  " parameters, the state was sized for ", num_params_));
  }
  kernels::ParamUpdate<T> u = update_rule(lr, steps_ + 1);
  u.params = params;
  nonfinite_ = false;
  u.nonfinite = &nonfinite_;
  return u;
}

template <class T>
void Optimizer<T>::step(T* params, const T* grads, std::size_t num_params, double lr) {
  if (num_params > 0 && grads == nullptr)
    throw InvalidArgument(str_cat(name(), "::step: null params or grads"));
  const kernels::ParamUpdate<T> u = fused_step(params, num_params, lr);
  const std::size_t states = kernels::state_buffers(u.rule.kind);
  catapult::detail::for_chunks(num_params, [&](std::size_t begin, std::size_t end) {
    kernels::ParamUpdate<T> range = u;
    range.params += begin;
    if (states >= 1) range.state0 += begin;
    if (states >= 2) range.state1 += begin;
    kernels::apply_update(range, grads + begin, end - begin);
  });
  commit_fused_step();
}

template <class T>
void Optimizer<T>::reset(std::size_t num_params) {
  do_reset(num_params);
  num_params_ = num_params;
  steps_ = 0;
  sized_ = true;
}

template <class T>
std::vector<StateBuffer<T>> Optimizer<T>::state() {
  return buffers();
}

template <class T>
std::vector<StateBuffer<const T>> Optimizer<T>::state() const {
  std::vector<StateBuffer<const T>> out;
  for (auto& b : const_cast<Optimizer*>(this)->buffers()) out.push_back({b.name, b.data, b.size});
  return out;
}

const char* to_string(OptimizerKind kind) noexcept {
  switch (kind) {
    case OptimizerKind::Sgd:
      return "sgd";
    case OptimizerKind::AdaGrad:
      return "adagrad";
    case OptimizerKind::Adam:
      return "adam";
    case OptimizerKind::AdamW:
      return "adamw";
  }
  return "unknown";
}

OptimizerKind parse_optimizer_kind(std::string_view name) {
  for (auto k :
       {OptimizerKind::Sgd, OptimizerKind::AdaGrad, OptimizerKind::Adam, OptimizerKind::AdamW})
    if (name == to_string(k)) return k;
  throw InvalidArgument(str_cat("unknown optimizer '", std::string(name),
                                "' (expected sgd, adagrad, adam or adamw)"));
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& c) {
  switch (c.kind) {
    case OptimizerKind::Sgd:
      return std::make_unique<Sgd<T>>(
          SgdOptions{c.momentum, c.dampening, c.nesterov, c.weight_decay});
    case OptimizerKind::AdaGrad:
      return std::make_unique<AdaGrad<T>>(AdaGradOptions{
          c.eps < 0 ? 1e-10 : c.eps, c.initial_accumulator_value, c.lr_decay, c.weight_decay});
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      return std::make_unique<Adam<T>>(AdamOptions{c.beta1, c.beta2, c.eps < 0 ? 1e-8 : c.eps,
                                                   c.weight_decay, c.kind == OptimizerKind::AdamW});
  }
  throw InvalidArgument("make_optimizer: unknown optimizer kind");
}

template class Optimizer<float>;
template class Optimizer<double>;
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimizerConfig&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimizerConfig&);

}  // namespace catapult::optim
