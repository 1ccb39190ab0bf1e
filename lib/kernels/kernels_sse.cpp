// The kernel set for SSE2, the x86-64 baseline (SSE4.2 under -march=native; no AVX, no FMA),
// compiled with -mno-avx (sources.cmake).
#include "catapult/kernels/isa.hpp"

namespace catapult::kernels::isa_sse {
inline constexpr Isa kIsa = Isa::Sse;
}  // namespace catapult::kernels::isa_sse

#define CATAPULT_KERNELS_ISA_NS isa_sse
#include "kernels/kernel_set.hpp"

namespace catapult::kernels::detail {

static_assert(!std::is_base_of_v<xsimd::avx, isa_sse::Arch> && isa_sse::kHaveSimd,
              "kernels_sse.cpp must be compiled with its ISA's flags (lib/kernels/sources.cmake)");

const KernelSet& kernel_set_sse() noexcept { return isa_sse::kKernelSet; }

}  // namespace catapult::kernels::detail
