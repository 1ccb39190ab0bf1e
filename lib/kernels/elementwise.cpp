// The public elementwise entry points: each forwards to the active ISA's kernel set
// (kernels/dispatch.hpp; the implementations are in elementwise_simd.hpp).
#include "catapult/kernels/elementwise.hpp"

#include "kernels/dispatch.hpp"

namespace catapult::kernels {

// Noexcept entry points: if CATAPULT_ISA names an ISA this CPU lacks and an elementwise op is the
// first kernel call, the exception from choosing the set terminates the program with its message.
template <class T>
void apply_activation(Activation act, const T* x, T* y, std::size_t n) noexcept {
  detail::kernels<T>().apply_activation(act, x, y, n);
}

template <class T>
void activation_derivative(Activation act, const T* z, T* d, std::size_t n) noexcept {
  detail::kernels<T>().activation_derivative(act, z, d, n);
}

template <class T>
void axpy(std::size_t n, T alpha, const T* x, T* y) noexcept {
  detail::kernels<T>().axpy(n, alpha, x, y);
}

template <class T>
void scale(std::size_t n, T alpha, T* x) noexcept {
  detail::kernels<T>().scale(n, alpha, x);
}

template <class T>
void multiply(std::size_t n, const T* a, const T* b, T* out) noexcept {
  detail::kernels<T>().multiply(n, a, b, out);
}

template <class T>
double sum(const T* x, std::size_t n) noexcept {
  return detail::kernels<T>().sum(x, n);
}

template <class T>
double squared_norm(const T* x, std::size_t n) noexcept {
  return detail::kernels<T>().squared_norm(x, n);
}

template <class T>
double dot(const T* x, const T* y, std::size_t n) noexcept {
  return detail::kernels<T>().dot(x, y, n);
}

template <class T>
T max(const T* x, std::size_t n) noexcept {
  return detail::kernels<T>().max(x, n);
}

template <class T>
void argmax_rows(MatrixView<const T> x, std::size_t* out) noexcept {
  detail::kernels<T>().argmax_rows(x, out);
}

template <class T>
void softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept {
  detail::kernels<T>().softmax_rows(x, out);
}

template <class T>
void log_softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept {
  detail::kernels<T>().log_softmax_rows(x, out);
}

#define CATAPULT_INSTANTIATE(T)                                                           \
  template void apply_activation<T>(Activation, const T*, T*, std::size_t) noexcept;      \
  template void activation_derivative<T>(Activation, const T*, T*, std::size_t) noexcept; \
  template void axpy<T>(std::size_t, T, const T*, T*) noexcept;                           \
  template void scale<T>(std::size_t, T, T*) noexcept;                                    \
  template void multiply<T>(std::size_t, const T*, const T*, T*) noexcept;                \
  template double sum<T>(const T*, std::size_t) noexcept;                                 \
  template double squared_norm<T>(const T*, std::size_t) noexcept;                        \
  template double dot<T>(const T*, const T*, std::size_t) noexcept;                       \
  template T max<T>(const T*, std::size_t) noexcept;                                      \
  template void argmax_rows<T>(MatrixView<const T>, std::size_t*) noexcept;               \
  template void softmax_rows<T>(MatrixView<const T>, MatrixView<T>) noexcept;             \
  template void log_softmax_rows<T>(MatrixView<const T>, MatrixView<T>) noexcept;
CATAPULT_INSTANTIATE(float)
CATAPULT_INSTANTIATE(double)
#undef CATAPULT_INSTANTIATE

}  // namespace catapult::kernels
