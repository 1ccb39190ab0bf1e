// The public apply_update: forwards to the active ISA's kernel set (kernels/dispatch.hpp; the
// rules are in update_simd.hpp).
#include "catapult/kernels/update.hpp"

#include "kernels/dispatch.hpp"

namespace catapult::kernels {

template <class T>
void apply_update(const ParamUpdate<T>& u, const T* grads, std::size_t n) noexcept {
  detail::kernels<T>().apply_update(u, grads, n);
}

template void apply_update<float>(const ParamUpdate<float>&, const float*, std::size_t) noexcept;
template void apply_update<double>(const ParamUpdate<double>&, const double*, std::size_t) noexcept;

}  // namespace catapult::kernels
