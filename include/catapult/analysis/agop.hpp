#pragma once
/// @file The average gradient outer product (AGOP) of a network's input gradients and the AGOP
/// alignment of Zhu et al. (arXiv:2306.04815, "Catapults in SGD", Section 4).
///
/// For a network f : R^d → R^k and samples x_1 … x_n, with J_x(x_i) = ∂f/∂x (x_i) ∈ R^{k×d}:
///   G = (1/n) Σ_i J_x(x_i)ᵀ J_x(x_i)        (d × d, symmetric positive semi-definite)
/// i.e. the outer products of the input gradients of every output, summed over the k outputs and
/// averaged over the samples. For an MLP, J_x = s_{L−1} W_{L−1} D_{L−2} … D_0 s_0 W_0 with D_l the
/// diagonal of act'(z_l) at x_i; it is obtained with the network's own backward pass for the input
/// gradient only (one per output, batched over the samples, no weight gradients, GEMMs throughout)
/// and G with one GEMM per chunk of samples.
///
/// The alignment of two AGOPs is their cosine similarity in the Frobenius inner product:
///   align(A, B) = ⟨A, B⟩_F / (‖A‖_F ‖B‖_F) ∈ [−1, 1]   (∈ [0, 1] for PSD A and B).
/// Zhu et al. measure the alignment of the trained network's AGOP with the AGOP of the "true"
/// predictor; on real data, where the true predictor is unknown, they use a well-trained
/// high-accuracy model as its proxy (docs/reproduction.md says which model we use).

#include <cstddef>

#include "catapult/core/matrix.hpp"
#include "catapult/nn/mlp.hpp"

namespace catapult::analysis {

/// G = (1/n) Σ_i J_x(x_i)ᵀ J_x(x_i) of model at the n rows of x ([n, d_0], n ≥ 1), as a d_0 × d_0
/// matrix. Samples are processed `chunk` rows at a time (memory O(chunk · (k · d_0 + widths)) plus
/// G); the sum runs in T. Cost ≈ k input-gradient backward passes (about half a full one each) and
/// 2·n·k·d_0² flops of GEMM. Throws InvalidArgument if x has no rows, x's width is not the model's
/// input width, or chunk = 0.
template <class T>
[[nodiscard]] Matrix<T> agop(const nn::Mlp<T>& model, MatrixView<const T> x,
                             std::size_t chunk = 256);

/// align(A, B) = ⟨A, B⟩_F / (‖A‖_F ‖B‖_F), accumulated in double. Throws InvalidArgument if the
/// shapes differ or either matrix is zero (its direction is undefined).
template <class T>
[[nodiscard]] double agop_alignment(MatrixView<const T> a, MatrixView<const T> b);

}  // namespace catapult::analysis
