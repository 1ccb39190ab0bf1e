// The kernel set for AVX2 and FMA (no AVX-512),
// compiled with -mavx2 -mfma -mno-avx512f (sources.cmake).
#include "catapult/kernels/isa.hpp"

namespace catapult::kernels::isa_avx2 {
inline constexpr Isa kIsa = Isa::Avx2;
}  // namespace catapult::kernels::isa_avx2

#define CATAPULT_KERNELS_ISA_NS isa_avx2
#include "kernels/kernel_set.hpp"

namespace catapult::kernels::detail {

static_assert(std::is_same_v<isa_avx2::Arch, xsimd::fma3<xsimd::avx2>>,
              "kernels_avx2.cpp must be compiled with its ISA's flags (lib/kernels/sources.cmake)");

const KernelSet& kernel_set_avx2() noexcept { return isa_avx2::kKernelSet; }

}  // namespace catapult::kernels::detail
