#include "catapult/kernels/elementwise.hpp"

#include <cmath>
#include <limits>

namespace catapult::kernels {

template <class T>
void apply_activation(Activation act, const T* x, T* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    switch (act) {
      case Activation::Relu:
        y[i] = x[i] > T(0) ? x[i] : T(0);
        break;
      case Activation::Tanh:
        y[i] = std::tanh(x[i]);
        break;
      case Activation::Identity:
        y[i] = x[i];
        break;
    }
  }
}

template <class T>
void activation_derivative(Activation act, const T* z, T* d, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    switch (act) {
      case Activation::Relu:
        d[i] = z[i] > T(0) ? T(1) : T(0);
        break;
      case Activation::Tanh: {
        const T t = std::tanh(z[i]);
        d[i] = T(1) - t * t;
        break;
      }
      case Activation::Identity:
        d[i] = T(1);
        break;
    }
  }
}

template <class T>
void axpy(std::size_t n, T alpha, const T* x, T* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <class T>
void scale(std::size_t n, T alpha, T* x) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] *= alpha;
}

template <class T>
void multiply(std::size_t n, const T* a, const T* b, T* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

template <class T>
double sum(const T* x, std::size_t n) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
  return s;
}

template <class T>
double squared_norm(const T* x, std::size_t n) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

template <class T>
double dot(const T* x, const T* y, std::size_t n) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  return s;
}

template <class T>
T max(const T* x, std::size_t n) noexcept {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return x[i];
    if (x[i] > m) m = x[i];
  }
  return m;
}

template <class T>
void argmax_rows(MatrixView<const T> x, std::size_t* out) noexcept {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    std::size_t best = 0;
    for (std::size_t j = 1; j < x.cols(); ++j)
      if (x(i, j) > x(i, best)) best = j;
    out[i] = best;
  }
}

template <class T>
void softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T m = max(x.row(i), x.cols());
    T s = 0;
    for (std::size_t j = 0; j < x.cols(); ++j) {
      out(i, j) = std::exp(x(i, j) - m);
      s += out(i, j);
    }
    for (std::size_t j = 0; j < x.cols(); ++j) out(i, j) /= s;
  }
}

template <class T>
void log_softmax_rows(MatrixView<const T> x, MatrixView<T> out) noexcept {
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T m = max(x.row(i), x.cols());
    T s = 0;
    for (std::size_t j = 0; j < x.cols(); ++j) s += std::exp(x(i, j) - m);
    const T lse = m + std::log(s);
    for (std::size_t j = 0; j < x.cols(); ++j) out(i, j) = x(i, j) - lse;
  }
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
