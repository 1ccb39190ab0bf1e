#include "catapult/dist/sharded_ntk.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "catapult/core/aligned.hpp"
#include "catapult/core/error.hpp"
#include "catapult/dist/data_parallel.hpp"
#include "catapult/dist/mpi.hpp"

namespace catapult::dist {

template <class T>
struct ShardedNtkOperator<T>::Impl {
  const nn::Mlp<T>* model;
  ntk::NtkOptions options;
  std::size_t n_global = 0, lo = 0, hi = 0, k = 0, p = 0;
  std::vector<std::size_t> batch_begin;  // local batch b covers rows [begin[b], begin[b+1])
  std::vector<nn::ForwardCache<T>> caches;
  // Output slots: Full uses one (all outputs), Output one (output c), Traced k (one per output).
  std::size_t slots = 1;
  mutable AlignedVector<T> u;  // slots·P: Jᵀv per slot
  mutable AlignedVector<T> grad;
  mutable Matrix<T> d_out, tangent;
  mutable std::vector<double> local_y;
  mutable double comm_seconds = 0;

  // Which outputs slot s covers: [first, last).
  [[nodiscard]] std::pair<std::size_t, std::size_t> outputs(std::size_t s) const {
    switch (options.mode) {
      case ntk::NtkMode::Full:
        return {0, k};
      case ntk::NtkMode::Output:
        return {options.output, options.output + 1};
      case ntk::NtkMode::Traced:
        return {s, s + 1};
    }
    return {0, k};
  }
  // Entries of K·v per sample: k for Full, 1 otherwise.
  [[nodiscard]] std::size_t per_sample() const {
    return options.mode == ntk::NtkMode::Full ? k : 1;
  }
};

template <class T>
ShardedNtkOperator<T>::ShardedNtkOperator(const nn::Mlp<T>& model, MatrixView<const T> x_local,
                                          const ntk::NtkOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.model = &model;
  m.options = options;
  m.k = model.output_dim();
  m.p = model.num_params();
  collectively("ntk (sharded)", [&] {
    if (x_local.cols() != model.input_dim())
      throw InvalidArgument(str_cat("dist::ShardedNtkOperator: samples have ", x_local.cols(),
                                    " features, the model takes ", model.input_dim()));
    if (options.mode == ntk::NtkMode::Output && options.output >= m.k)
      throw InvalidArgument(str_cat("dist::ShardedNtkOperator: output ", options.output,
                                    " of a model with ", m.k, " outputs"));
  });
  double count = static_cast<double>(x_local.rows());
  allreduce_sum(std::span<double>(&count, 1));
  m.n_global = static_cast<std::size_t>(count);
  std::tie(m.lo, m.hi) = shard_range(m.n_global, dist::rank(), dist::size());
  collectively("ntk (sharded)", [&] {
    if (m.hi - m.lo != x_local.rows())
      throw InvalidArgument(str_cat("dist::ShardedNtkOperator: this rank holds ", x_local.rows(),
                                    " samples, its shard of ", m.n_global, " is [", m.lo, ", ",
                                    m.hi, ")"));
  });
  m.slots = options.mode == ntk::NtkMode::Traced ? m.k : 1;
  const std::size_t batch = options.batch_size > 0 ? options.batch_size : 4096;
  const std::size_t n_local = x_local.rows();
  Matrix<T> out;
  for (std::size_t r0 = 0; r0 < n_local; r0 += batch) {
    const std::size_t rows = std::min(batch, n_local - r0);
    m.batch_begin.push_back(r0);
    out.resize(rows, m.k);
    m.caches.emplace_back();
    model.forward(x_local.rows_range(r0, rows), out.view(), &m.caches.back());
  }
  m.batch_begin.push_back(n_local);
  m.u.resize(m.slots * m.p);
  m.grad.resize(m.p);
  m.local_y.resize(n_local * m.per_sample());
}

template <class T>
ShardedNtkOperator<T>::~ShardedNtkOperator() = default;

template <class T>
std::size_t ShardedNtkOperator<T>::size() const {
  return impl_->n_global * impl_->per_sample();
}

template <class T>
std::size_t ShardedNtkOperator<T>::samples() const noexcept {
  return impl_->n_global;
}

template <class T>
double ShardedNtkOperator<T>::communication_seconds() const noexcept {
  return impl_->comm_seconds;
}

template <class T>
void ShardedNtkOperator<T>::apply(const double* x, double* y) const {
  const Impl& m = *impl_;
  const std::size_t ps = m.per_sample();
  const double* v = x + m.lo * ps;  // this rank's block of v
  // u_s = Σ over local samples J_sᵀ·v (one VJP per batch and slot).
  std::fill(m.u.begin(), m.u.end(), T(0));
  for (std::size_t b = 0; b + 1 < m.batch_begin.size(); ++b) {
    const std::size_t r0 = m.batch_begin[b], rows = m.batch_begin[b + 1] - r0;
    for (std::size_t s = 0; s < m.slots; ++s) {
      const auto [c0, c1] = m.outputs(s);
      m.d_out.resize(rows, m.k);
      m.d_out.fill(T(0));
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t c = c0; c < c1; ++c)
          m.d_out(i, c) = static_cast<T>(ps == 1 ? v[r0 + i] : v[(r0 + i) * m.k + c]);
      m.model->backward(m.caches[b], m.d_out.cview(), m.grad.data());
      T* u = m.u.data() + s * m.p;
      for (std::size_t j = 0; j < m.p; ++j) u[j] += m.grad[j];
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  if constexpr (std::is_same_v<T, float>) {
    allreduce_sum(std::span<float>(m.u.data(), m.u.size()));
  } else {
    allreduce_sum(std::span<double>(m.u.data(), m.u.size()));
  }
  m.comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // (K·v)_i = Σ_s J_s(x_i)·u_s on the slot's outputs (one JVP per batch and slot).
  std::fill(m.local_y.begin(), m.local_y.end(), 0.0);
  for (std::size_t b = 0; b + 1 < m.batch_begin.size(); ++b) {
    const std::size_t r0 = m.batch_begin[b], rows = m.batch_begin[b + 1] - r0;
    for (std::size_t s = 0; s < m.slots; ++s) {
      const auto [c0, c1] = m.outputs(s);
      m.tangent.resize(rows, m.k);
      m.model->jvp(m.caches[b], m.u.data() + s * m.p, m.tangent.view());
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t c = c0; c < c1; ++c) {
          double& out = ps == 1 ? m.local_y[r0 + i] : m.local_y[(r0 + i) * m.k + c];
          out += static_cast<double>(m.tangent(i, c));
        }
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  allgather(m.local_y, std::span<double>(y, size()));
  m.comm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
}

template class ShardedNtkOperator<float>;
template class ShardedNtkOperator<double>;

}  // namespace catapult::dist
