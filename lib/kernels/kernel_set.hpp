#pragma once
// Private to the per-ISA translation units: the table of one unit's kernels. A unit is
//   #define CATAPULT_KERNELS_ISA_NS isa_<name>
//   #include "kernels/kernel_set.hpp"
// followed by the definition of detail::kernel_set_<name>() (see kernels_avx512.cpp), and is
// compiled with its ISA's flags (sources.cmake).

#include "kernels/dispatch.hpp"
#include "kernels/elementwise_simd.hpp"
#include "kernels/gemm_simd.hpp"
#include "kernels/update_simd.hpp"

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

/// This unit's entry points for T.
template <class T>
constexpr detail::KernelTable<T> kernel_table() noexcept {
  return {&run_gemm<T>,
          &apply_activation<T>,
          &activation_derivative<T>,
          &axpy<T>,
          &scale<T>,
          &multiply<T>,
          &sum<T>,
          &squared_norm<T>,
          &dot<T>,
          &max<T>,
          &argmax_rows<T>,
          &softmax_rows<T>,
          &log_softmax_rows<T>,
          &apply_update<T>};
}

template <class Kernel>
constexpr detail::NamedGemmShape named_shape(const char* name) noexcept {
  return {name, Kernel::shape()};
}

/// This unit's kernel set.
inline constexpr detail::KernelSet kKernelSet{
    kIsa,
    Arch::name(),
    kernel_table<float>(),
    kernel_table<double>(),
    {named_shape<FastKernel<float>>("f32"), named_shape<SmallKernel<float>>("f32 small M"),
     named_shape<FastKernel<double>>("f64"), named_shape<SmallKernel<double>>("f64 small M")}};

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
