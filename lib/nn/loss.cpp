#include "catapult/nn/loss.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "catapult/core/error.hpp"
#include "catapult/kernels/elementwise.hpp"

namespace catapult::nn {
namespace {

template <class T>
void check_d_out(const MatrixView<T>& d_out, std::size_t n, std::size_t k, const char* where) {
  if (d_out.data() != nullptr) require_shape(d_out, n, k, where);
}

template <class T>
void check_labels(const MatrixView<const T>& out, std::span<const std::uint8_t> labels,
                  const char* where) {
  if (labels.size() != out.rows())
    throw InvalidArgument(
        str_cat(where, ": ", labels.size(), " labels for ", out.rows(), " output rows"));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= out.cols())
      throw InvalidArgument(str_cat(where, ": label ", static_cast<int>(labels[i]), " of sample ",
                                    i, " is not below the ", out.cols(), " outputs"));
}

}  // namespace

double mse_scale(MseReduction reduction, std::size_t n, std::size_t k) noexcept {
  const double nd = static_cast<double>(n), kd = static_cast<double>(k);
  switch (reduction) {
    case MseReduction::Mean:
      return 1.0 / (nd * kd);
    case MseReduction::Sum:
      return 1.0;
    case MseReduction::HalfSum:
      return 0.5;
    case MseReduction::SampleMean:
      return 1.0 / nd;
    case MseReduction::HalfSampleMean:
      return 0.5 / nd;
  }
  return 1.0;
}

template <class T>
double mse_loss(MatrixView<const T> out, MatrixView<const T> target, MatrixView<T> d_out,
                MseReduction reduction) {
  const std::size_t n = out.rows(), k = out.cols();
  require_shape(target, n, k, "mse_loss (target)");
  check_d_out(d_out, n, k, "mse_loss (d_out)");
  if (n == 0 || k == 0) return 0.0;
  const double c = mse_scale(reduction, n, k);
  const T g = static_cast<T>(2.0 * c);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* f = out.row(i);
    const T* y = target.row(i);
    double row = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      const double e = static_cast<double>(f[j]) - static_cast<double>(y[j]);
      row += e * e;
    }
    total += row;
    if (d_out.data() != nullptr) {
      T* d = d_out.row(i);
      for (std::size_t j = 0; j < k; ++j) d[j] = g * (f[j] - y[j]);
    }
  }
  return c * total;
}

template <class T>
double mse_loss_labels(MatrixView<const T> out, std::span<const std::uint8_t> labels,
                       MatrixView<T> d_out, MseReduction reduction, double on, double off) {
  const std::size_t n = out.rows(), k = out.cols();
  check_labels(out, labels, "mse_loss_labels");
  check_d_out(d_out, n, k, "mse_loss_labels (d_out)");
  if (n == 0 || k == 0) return 0.0;
  const double c = mse_scale(reduction, n, k);
  const T g = static_cast<T>(2.0 * c);
  const T t_on = static_cast<T>(on), t_off = static_cast<T>(off);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* f = out.row(i);
    double row = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      const double y = j == labels[i] ? on : off;
      const double e = static_cast<double>(f[j]) - y;
      row += e * e;
    }
    total += row;
    if (d_out.data() != nullptr) {
      T* d = d_out.row(i);
      for (std::size_t j = 0; j < k; ++j) d[j] = g * (f[j] - (j == labels[i] ? t_on : t_off));
    }
  }
  return c * total;
}

template <class T>
double cross_entropy_loss(MatrixView<const T> logits, std::span<const std::uint8_t> labels,
                          MatrixView<T> d_out) {
  const std::size_t n = logits.rows(), k = logits.cols();
  check_labels(logits, labels, "cross_entropy_loss");
  check_d_out(d_out, n, k, "cross_entropy_loss (d_out)");
  if (n == 0) return 0.0;
  const double inv_n = 1.0 / static_cast<double>(n);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* f = logits.row(i);
    // log softmax in double: lse = m + log Σ exp(f − m)
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < k; ++j) m = std::fmax(m, static_cast<double>(f[j]));
    double s = 0.0;
    for (std::size_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(f[j]) - m);
    const double lse = m + std::log(s);
    // A NaN logit makes fmax skip it; propagate it to the loss so divergence is seen.
    double nan_guard = 0.0;
    for (std::size_t j = 0; j < k; ++j) nan_guard += static_cast<double>(f[j]) * 0.0;
    total += lse - static_cast<double>(f[labels[i]]) + nan_guard;
    if (d_out.data() != nullptr) {
      T* d = d_out.row(i);
      for (std::size_t j = 0; j < k; ++j) {
        const double p = std::exp(static_cast<double>(f[j]) - lse);
        d[j] = static_cast<T>((p - (j == labels[i] ? 1.0 : 0.0)) * inv_n);
      }
    }
  }
  return total * inv_n;
}

template <class T>
std::size_t count_correct(MatrixView<const T> out, std::span<const std::uint8_t> labels) {
  if (labels.size() != out.rows())
    throw InvalidArgument(
        str_cat("count_correct: ", labels.size(), " labels for ", out.rows(), " output rows"));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < out.rows(); ++i) {
    const T* f = out.row(i);
    std::size_t best = 0;
    for (std::size_t j = 1; j < out.cols(); ++j)
      if (f[j] > f[best]) best = j;
    if (out.cols() > 0 && best == labels[i]) ++correct;
  }
  return correct;
}

template <class T>
double evaluate_loss(const LossConfig& config, MatrixView<const T> out,
                     std::span<const std::uint8_t> labels, MatrixView<T> d_out) {
  if (config.kind == LossKind::CrossEntropy) return cross_entropy_loss(out, labels, d_out);
  return mse_loss_labels(out, labels, d_out, config.reduction, config.target_on, config.target_off);
}

const char* to_string(LossKind kind) noexcept {
  return kind == LossKind::CrossEntropy ? "cross_entropy" : "mse";
}

const char* to_string(MseReduction reduction) noexcept {
  switch (reduction) {
    case MseReduction::Mean:
      return "mean";
    case MseReduction::Sum:
      return "sum";
    case MseReduction::HalfSum:
      return "half_sum";
    case MseReduction::SampleMean:
      return "sample_mean";
    case MseReduction::HalfSampleMean:
      return "half_sample_mean";
  }
  return "unknown";
}

LossKind parse_loss_kind(std::string_view name) {
  if (name == "mse") return LossKind::Mse;
  if (name == "cross_entropy" || name == "ce") return LossKind::CrossEntropy;
  throw InvalidArgument(
      str_cat("unknown loss '", std::string(name), "' (expected mse or cross_entropy)"));
}

MseReduction parse_mse_reduction(std::string_view name) {
  for (auto r : {MseReduction::Mean, MseReduction::Sum, MseReduction::HalfSum,
                 MseReduction::SampleMean, MseReduction::HalfSampleMean})
    if (name == to_string(r)) return r;
  throw InvalidArgument(str_cat("unknown MSE reduction '", std::string(name),
                                "' (expected mean, sum, half_sum, sample_mean, half_sample_mean)"));
}

#define CATAPULT_INSTANTIATE_LOSS(T)                                                         \
  template double mse_loss<T>(MatrixView<const T>, MatrixView<const T>, MatrixView<T>,       \
                              MseReduction);                                                 \
  template double mse_loss_labels<T>(MatrixView<const T>, std::span<const std::uint8_t>,     \
                                     MatrixView<T>, MseReduction, double, double);           \
  template double cross_entropy_loss<T>(MatrixView<const T>, std::span<const std::uint8_t>,  \
                                        MatrixView<T>);                                      \
  template std::size_t count_correct<T>(MatrixView<const T>, std::span<const std::uint8_t>); \
  template double evaluate_loss<T>(const LossConfig&, MatrixView<const T>,                   \
                                   std::span<const std::uint8_t>, MatrixView<T>);
CATAPULT_INSTANTIATE_LOSS(float)
CATAPULT_INSTANTIATE_LOSS(double)
#undef CATAPULT_INSTANTIATE_LOSS

}  // namespace catapult::nn
