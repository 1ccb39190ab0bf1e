#pragma once
// Private to the per-ISA translation units (kernels_<isa>.cpp): the SIMD architecture of the
// unit (its -m flags, see sources.cmake) and the vector forms of the activations, shared by the
// GEMM epilogue and the elementwise ops so both round identically.
//
// ODR: every unit compiles these inline functions and templates with different instructions, so
// all of them live in the unit's own namespace, CATAPULT_KERNELS_ISA_NS (isa_avx512, isa_avx2,
// isa_sse): no two units define the same symbol, and the linker cannot pick one unit's AVX-512
// copy for another's callers.

#include <cstddef>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "catapult/kernels/gemm.hpp"

#if !defined(CATAPULT_KERNELS_ISA_NS)
#error "kernels/simd.hpp is for the per-ISA translation units kernels_<isa>.cpp only"
#endif

namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS {

/// The widest instruction set xsimd 8.1 enables for this unit's flags (avx512bw, fma3<avx2>,
/// sse2; with -march=native, what the build machine has). Decided here, never inside a loop.
using Arch = xsimd::default_arch;

/// True when xsimd found a usable SIMD architecture; otherwise every kernel takes its scalar path.
inline constexpr bool kHaveSimd = !std::is_same_v<Arch, xsimd::unavailable>;

template <class T>
using Batch = xsimd::batch<T, Arch>;

/// x·y + z rounded once. xsimd 8.1 has no AVX-512 kernel for fma: there xsimd::fma is the generic
/// x·y + z, fused only when the compiler happens to contract it (-O3 does, the -O1 sanitizer
/// builds do not), so results would depend on the optimisation level. AVX-512 batches therefore
/// call the intrinsic; other architectures have real fma kernels in xsimd.
template <class B>
inline B fmadd(const B& x, const B& y, const B& z) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, typename B::arch_type>) {
    if constexpr (std::is_same_v<typename B::value_type, float>)
      return B(_mm512_fmadd_ps(x, y, z));
    else if constexpr (std::is_same_v<typename B::value_type, double>)
      return B(_mm512_fmadd_pd(x, y, z));
  }
#endif
  return xsimd::fma(x, y, z);
}

/// Lanes of one register of T (1 when there is no SIMD).
template <class T>
constexpr std::size_t simd_width() noexcept {
  if constexpr (kHaveSimd)
    return Batch<T>::size;
  else
    return 1;
}

/// act(z), and act'(z) into d when Derivative is true. The only definition of the vector
/// activations: the elementwise ops and the GEMM epilogue both call it.
template <bool Derivative, class B>
inline B activate_batch(Activation act, const B& z, B& d) noexcept {
  const B zero(0);
  const B one(1);
  switch (act) {
    case Activation::Relu: {
      const auto pos = z > zero;
      if constexpr (Derivative) d = xsimd::select(pos, one, zero);
      return xsimd::select(pos, z, zero);
    }
    case Activation::Tanh: {
      const B t = xsimd::tanh(z);
      if constexpr (Derivative) d = one - t * t;
      return t;
    }
    case Activation::Identity:
      break;
  }
  if constexpr (Derivative) d = one;
  return z;
}

}  // namespace catapult::kernels::CATAPULT_KERNELS_ISA_NS
