// The sharded matrix-free NTK (dist::ShardedNtkOperator) under mpirun with 2 and 4 ranks
// against the brute-force kernel K = J·Jᵀ of the whole sample set, which every rank builds on
// its own from the materialised Jacobian (ntk::jacobian, accumulated in double).
#include "catapult/dist/sharded_ntk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "catapult/core/rng.hpp"
#include "catapult/dist/data_parallel.hpp"
#include "catapult/dist/mpi.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"

namespace catapult::dist {
namespace {

template <class T>
struct Problem {
  nn::Mlp<T> model{nn::MlpConfig{{10, 16, 3}}};
  Matrix<T> x{37, 10};  // 37 samples: unequal shards on 2 and 4 ranks
  Problem() {
    Rng rng(5);
    model.init(rng);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.normal());
  }
};

template <class T>
void check_mode(ntk::NtkOptions options, double matvec_tol, double lambda_tol) {
  Problem<T> p;
  const Matrix<T> jac = ntk::jacobian(p.model, p.x.cview());
  const Matrix<double> k_ref = ntk::ntk_from_jacobian(jac.cview(), 3, options);
  const auto [lo, hi] = shard_range(37, rank(), size());
  options.batch_size = 5;  // several batches per shard
  const ShardedNtkOperator<T> op(p.model, p.x.cview().rows_range(lo, hi - lo), options);
  const std::size_t n = op.size();
  ASSERT_EQ(n, k_ref.rows());
  ASSERT_EQ(op.samples(), 37U);

  // K·v for a vector every rank draws alike.
  Rng rng(9);
  std::vector<double> v(n), y(n);
  for (auto& e : v) e = rng.normal();
  op.apply(v.data(), y.data());
  double norm_k = 0, norm_v = 0, err = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double ref = 0;
    for (std::size_t j = 0; j < n; ++j) {
      ref += k_ref(i, j) * v[j];
      norm_k = std::max(norm_k, std::abs(k_ref(i, j)));
    }
    err = std::max(err, std::abs(y[i] - ref));
    norm_v += v[i] * v[i];
  }
  EXPECT_LE(err, matvec_tol * norm_k * std::sqrt(norm_v) * static_cast<double>(n))
      << ntk::to_string(options.mode);

  // λmax: Lanczos on the sharded operator vs the dense symmetric eigenvalues of K_ref.
  const std::vector<double> dense = ntk::dense_eigenvalues<double>(k_ref.cview());
  const double lambda_ref = *std::max_element(dense.begin(), dense.end());
  ntk::EigenOptions eo;
  eo.nev = 1;
  eo.tolerance = 1e-10;
  const ntk::EigenResult top = ntk::largest_eigenpairs(op, eo);
  ASSERT_EQ(top.status, ntk::EigenStatus::Converged);
  EXPECT_LE(std::abs(top.eigenvalues[0] - lambda_ref), lambda_tol * lambda_ref)
      << ntk::to_string(options.mode) << " " << top.eigenvalues[0] << " vs " << lambda_ref;
  // The solver took the same path on every rank: the same bits.
  EXPECT_NO_THROW(require_same_fingerprint(
      "eigenvalues", fingerprint(std::as_bytes(std::span<const double>(top.eigenvalues)))));
}

TEST(ShardedNtk, FullKernelInDoubleMatchesTheBruteForceKernel) {
  check_mode<double>({.mode = ntk::NtkMode::Full}, 1e-13, 1e-9);
}

TEST(ShardedNtk, TracedKernelInDoubleMatchesTheBruteForceKernel) {
  check_mode<double>({.mode = ntk::NtkMode::Traced}, 1e-13, 1e-9);
}

TEST(ShardedNtk, OneOutputsKernelInDoubleMatchesTheBruteForceKernel) {
  check_mode<double>({.mode = ntk::NtkMode::Output, .output = 2}, 1e-13, 1e-9);
}

TEST(ShardedNtk, FullKernelInFloatMatchesTheBruteForceKernel) {
  check_mode<float>({.mode = ntk::NtkMode::Full}, 1e-6, 1e-5);
}

TEST(ShardedNtk, LambdaMaxEqualsTheSingleProcessMatrixFreeOperator) {
  // The library's own single-process matrix-free operator on all 37 samples, same solver.
  Problem<double> p;
  ntk::EigenOptions eo;
  eo.nev = 3;
  eo.tolerance = 1e-10;
  const ntk::NtkOperator<double> single(p.model, p.x.cview(), {.mode = ntk::NtkMode::Full});
  const ntk::EigenResult ref = ntk::largest_eigenpairs(single, eo);
  const auto [lo, hi] = shard_range(37, rank(), size());
  const ShardedNtkOperator<double> op(p.model, p.x.cview().rows_range(lo, hi - lo),
                                      {.mode = ntk::NtkMode::Full});
  const ntk::EigenResult got = ntk::largest_eigenpairs(op, eo);
  ASSERT_EQ(got.eigenvalues.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_LE(std::abs(got.eigenvalues[i] - ref.eigenvalues[i]), 1e-9 * ref.eigenvalues[0]) << i;
}

TEST(ShardedNtk, ARankWithTheWrongShardIsAnErrorOnEveryRank) {
  Problem<double> p;
  // Rank 0 passes 4 rows, the others 3: of 3·N + 1 samples rank 0's shard has 3 rows (and the
  // last rank's 4), so the shards do not match the balanced split.
  const std::size_t rows = rank() == 0 ? 4 : 3;
  EXPECT_THROW(
      {
        const ShardedNtkOperator<double> op(p.model, p.x.cview().rows_range(0, rows), {});
        (void)op;
      },
      CollectiveError);
}

}  // namespace
}  // namespace catapult::dist
