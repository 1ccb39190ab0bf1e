#pragma once
/// @file The instruction set the kernels run on. One build carries a kernel set per x86 ISA
/// (AVX-512, AVX2+FMA, SSE2), each compiled with its own flags; the best one the CPU supports is
/// chosen once, at the first kernel call, unless the environment variable CATAPULT_ISA
/// (avx512 | avx2 | sse) or set_isa() asks for a lower one. Every GEMM and elementwise entry point
/// of catapult::kernels runs on the active set; nothing is decided inside a loop.
/// Different ISAs may round differently (SSE2 has no fused multiply-add); one ISA gives bitwise
/// the same results for any thread count.

#include <string_view>
#include <vector>

namespace catapult::kernels {

/// A kernel set, ordered from the baseline up.
enum class Isa : unsigned char {
  Sse,     ///< SSE2, the x86-64 baseline (no FMA): always available on x86-64
  Avx2,    ///< AVX2 + FMA (Haswell, Zen 1-3)
  Avx512,  ///< AVX-512 F, CD, BW, DQ, VL + FMA (Skylake-SP and later, Zen 4)
};

/// Returns the name used by CATAPULT_ISA: "sse", "avx2" or "avx512".
[[nodiscard]] const char* to_string(Isa isa) noexcept;

/// Parses "sse", "avx2" or "avx512" (as CATAPULT_ISA does). Throws InvalidArgument naming the
/// value and the accepted names otherwise.
[[nodiscard]] Isa parse_isa(std::string_view name);

/// The ISAs this build carries and this CPU (and OS) supports, lowest first; never empty.
[[nodiscard]] std::vector<Isa> supported_isas();

/// The best supported ISA: what runs when nothing forces another.
[[nodiscard]] Isa detected_isa() noexcept;

/// The ISA the kernels run on now. On first use this reads CATAPULT_ISA; an empty or unset
/// variable means detected_isa(). Throws InvalidArgument (once, at that first use) if the
/// variable names an unknown ISA or one this CPU does not support.
[[nodiscard]] Isa active_isa();

/// Runs every later kernel call on `isa` (e.g. to compare ISAs, or to test a lower one on a
/// capable CPU); overrides CATAPULT_ISA. Not to be called while kernels run on other threads.
/// Throws InvalidArgument if this CPU does not support `isa`.
void set_isa(Isa isa);

}  // namespace catapult::kernels
