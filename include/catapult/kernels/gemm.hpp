#pragma once
/// @file General matrix multiply with fused epilogues:
///   C = act(alpha · op(A) · op(B) + beta · C + bias)
/// for float and double on strided row-major views.

#include <cstddef>

#include "catapult/core/matrix.hpp"
#include "catapult/kernels/update.hpp"

namespace catapult::kernels {

/// op(X) = X (N) or Xᵀ (T).
enum class Trans : unsigned char { N, T };

/// Implementation selected at run time (for comparisons and benchmarks). All variants compute
/// the same product; they differ in speed and in the order of floating-point sums.
/// Simd and SimdParallel give bitwise the same C for any thread count.
enum class GemmVariant : unsigned char {
  Naive,          ///< triple loop, the reference
  BlockedScalar,  ///< packed, cache-blocked, plain C++ reference micro-kernel
  /// packed, cache-blocked, xsimd micro-kernel of the active ISA (isa.hpp), one thread; for
  /// A·Bᵀ with M or N ≤ 16 an unpacked xsimd dot-product kernel (no transposing copies), and on
  /// AVX2 and AVX-512 the transposed product Cᵀ = op(B)ᵀ·Aᵀ with B read in place (only the
  /// small A is packed) for N > 16 and either A·Bᵀ with M ≤ 256, 16 ≤ K ≤ 4096 (a forward pass
  /// at a small batch) or A·B with M of 1 to 4 tiles (32-128 floats on AVX-512, 16-64 on AVX2
  /// and for AVX-512 doubles, 8-32 AVX2 doubles), 128 ≤ K ≤ 4096 (an input gradient at a small
  /// batch)
  Simd,
  /// Simd with oneTBB over a 2D partition of C (honours ThreadLimit); problems under ~4 MFLOP
  /// run on the calling thread (default)
  SimdParallel,
};

/// Elementwise activation applied by epilogues and by kernels::apply_activation.
enum class Activation : unsigned char {
  Identity,  ///< z
  Relu,      ///< max(z, 0); derivative 1 for z > 0, else 0
  Tanh,      ///< tanh z;    derivative 1 − tanh² z
};

/// What the GEMM applies to C while it is still in cache. Defaults: nothing.
template <class T>
struct GemmEpilogue {
  /// Length N, added to every row of C before the activation; null for none.
  const T* bias = nullptr;
  Activation activation = Activation::Identity;
  /// If non-empty (M × N, any ld ≥ N): receives act'(z) at the pre-activation z, which the
  /// backward pass multiplies into the incoming gradient.
  MatrixView<T> derivative{};
  /// If non-null: C = alpha·op(A)·op(B) is the gradient of parameters that this optimizer update
  /// consumes tile by tile while the tile is in registers: C(i, j) updates entry i·update_ld + j
  /// of update->params and of its state (kernels/update.hpp), exactly as apply_update on the
  /// finished C would. C is then scratch: it holds partial sums while K spans several blocks,
  /// and its content afterwards is unspecified. Needs beta = 0, no bias, Identity activation
  /// and no derivative; the parameters and state must not overlap A, B or C.
  const ParamUpdate<T>* update = nullptr;
  /// Row stride of update's buffers (≥ N).
  std::size_t update_ld = 0;
  /// With update, if non-null: receives Σ C(i, j)² (double), summed per register tile in an
  /// order that depends on the shape only (not on the thread count; not the order of
  /// kernels::squared_norm, so it may differ from that in the last bits).
  double* squared_norm = nullptr;
};

/// C = act(alpha · op(A) · op(B) + beta · C + bias).
/// Shapes: op(A) is M × K, op(B) is K × N, C is M × N. Any sizes, 0 included; with K = 0 the
/// product is zero. With beta = 0, C is never read (NaNs in C are ignored).
/// Results do not depend on the thread count: K is never split across threads.
/// Cost: 2·M·N·K flops; the fast variants keep per-thread packing buffers (a few MiB, reused
/// across calls). May be called concurrently from several threads, including from TBB tasks.
/// Throws InvalidArgument on mismatched shapes, if C aliases A or B, if the epilogue's
/// derivative has the wrong shape or overlaps A, B or C, or if an update epilogue breaks the
/// conditions above.
template <class T>
void gemm(Trans trans_a, Trans trans_b, T alpha, MatrixView<const T> a, MatrixView<const T> b,
          T beta, MatrixView<T> c, const GemmEpilogue<T>& epilogue = {},
          GemmVariant variant = GemmVariant::SimdParallel);

/// Returns the name of a variant ("naive", "blocked_scalar", "simd", "simd_parallel").
[[nodiscard]] const char* to_string(GemmVariant variant) noexcept;
/// Returns the name of an activation ("identity", "relu", "tanh").
[[nodiscard]] const char* to_string(Activation activation) noexcept;

}  // namespace catapult::kernels
