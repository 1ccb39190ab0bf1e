// The kernel set for AVX-512 (F, CD, BW, DQ, VL) and FMA,
// compiled with -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl -mfma (sources.cmake).
#include "catapult/kernels/isa.hpp"

namespace catapult::kernels::isa_avx512 {
inline constexpr Isa kIsa = Isa::Avx512;
}  // namespace catapult::kernels::isa_avx512

#define CATAPULT_KERNELS_ISA_NS isa_avx512
#include "kernels/kernel_set.hpp"

namespace catapult::kernels::detail {

static_assert(
    std::is_base_of_v<xsimd::avx512bw, isa_avx512::Arch>,
    "kernels_avx512.cpp must be compiled with its ISA's flags (lib/kernels/sources.cmake)");

const KernelSet& kernel_set_avx512() noexcept { return isa_avx512::kKernelSet; }

}  // namespace catapult::kernels::detail
