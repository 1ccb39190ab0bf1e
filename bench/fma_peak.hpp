#pragma once
/// @file The FMA-throughput peak loops of kernels_bench, one set per x86 ISA (fma_peak_<isa>.cpp),
/// each compiled with the flags of the library's kernel set for that ISA
/// (CATAPULT_KERNEL_ISA_FLAGS_<isa>, lib/kernels/sources.cmake), so that every build, portable or
/// native, has the peak of every ISA the library dispatches to. Only plain functions cross the
/// boundary: the loops themselves live in per-ISA namespaces (fma_peak_loop.hpp). Call an ISA's
/// functions only where catapult::kernels::supported_isas() lists it.

namespace catapult::bench {

/// One ISA's peak loop for one element type.
struct FmaPeakLoop {
  const char* isa;           ///< avx512, avx2 or sse (catapult::kernels::to_string)
  const char* instructions;  ///< what the loop runs, e.g. "avx512f" (xsimd's names, as before)
  int chains;                ///< independent accumulator chains, each in its own register
  bool fused;                ///< FMA; else a multiply and an add (SSE2)
  double flops_per_round;    ///< floating-point operations of run(1)
  void (*run)(long rounds) noexcept;
};

FmaPeakLoop fma_peak_avx512_float() noexcept;
FmaPeakLoop fma_peak_avx512_double() noexcept;
FmaPeakLoop fma_peak_avx2_float() noexcept;
FmaPeakLoop fma_peak_avx2_double() noexcept;
FmaPeakLoop fma_peak_sse_float() noexcept;
FmaPeakLoop fma_peak_sse_double() noexcept;

}  // namespace catapult::bench
