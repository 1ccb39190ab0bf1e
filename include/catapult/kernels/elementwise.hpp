#pragma once
/// @file Vectorized elementwise operations and reductions on contiguous arrays and row-major
/// views. All are noexcept and allocate nothing; any alignment. Arrays of 2^16 elements or more
/// (matrices of as many entries, split by rows) run in parallel with oneTBB, honouring
/// ThreadLimit. Every result is bitwise independent of the thread count: elementwise ops compute
/// each element the same way wherever it falls, and the reductions add fixed blocks of 2^14
/// elements in a fixed order.

#include <cstddef>

#include "catapult/core/matrix.hpp"
#include "catapult/kernels/gemm.hpp"

namespace catapult::kernels {

/// y[i] = act(x[i]); x and y may be the same array.
template <class T>
void apply_activation(Activation act, const T* x, T* y, std::size_t n) noexcept;
/// d[i] = act'(z[i]) (the derivative at the pre-activation z).
template <class T>
void activation_derivative(Activation act, const T* z, T* d, std::size_t n) noexcept;

/// y[i] += alpha · x[i].
template <class T>
void axpy(std::size_t n, T alpha, const T* x, T* y) noexcept;
/// x[i] *= alpha.
template <class T>
void scale(std::size_t n, T alpha, T* x) noexcept;
/// out[i] = a[i] · b[i]; out may alias a or b.
template <class T>
void multiply(std::size_t n, const T* a, const T* b, T* out) noexcept;

/// Σ x[i] (accumulated in double for float inputs).
template <class T>
[[nodiscard]] double sum(const T* x, std::size_t n) noexcept;
/// Σ x[i]² (accumulated in double for float inputs).
template <class T>
[[nodiscard]] double squared_norm(const T* x, std::size_t n) noexcept;
/// Σ x[i]·y[i] (accumulated in double for float inputs).
template <class T>
[[nodiscard]] double dot(const T* x, const T* y, std::size_t n) noexcept;
/// max x[i]; −∞ for n = 0; NaN if any element is NaN.
template <class T>
[[nodiscard]] T max(const T* x, std::size_t n) noexcept;

/// out[i] = argmax_j x(i, j) (first index on ties); out has x.rows() entries.
template <class T>
void argmax_rows(MatrixView<const T> x, std::size_t* out) noexcept;
/// out(i, :) = softmax(x(i, :)), computed stably (max subtracted). out may equal x. Same shapes.
template <class T>
void softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept;
/// out(i, :) = log_softmax(x(i, :)) = x − max − log Σ exp(x − max). out may equal x.
template <class T>
void log_softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept;

}  // namespace catapult::kernels
