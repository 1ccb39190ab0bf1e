// GEMM against the naive double-precision reference of tests/support, in two tiers:
//  - exact: small-integer inputs make every partial sum exact in any order, so every variant
//    must match the reference bitwise (catches packing and edge-tile bugs);
//  - rounding: random inputs, |c − c_ref| ≤ gemm_error_bound<T>(K, (|alpha||A||B|)ij, |beta·c|ij).
#include "catapult/kernels/gemm.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/kernels/elementwise.hpp"
#include "support/reference.hpp"
#include "support/sanitizer.hpp"

namespace catapult::kernels {
namespace {

constexpr std::array<GemmVariant, 4> kVariants = {GemmVariant::Naive, GemmVariant::BlockedScalar,
                                                  GemmVariant::Simd, GemmVariant::SimdParallel};
constexpr std::array<Trans, 2> kTrans = {Trans::N, Trans::T};

const char* name(Trans t) { return t == Trans::N ? "N" : "T"; }

// A rows × cols view inside a larger buffer: ld = cols + pad and a start offset of `offset`
// elements, so rows are strided and the data is not 64-byte aligned.
template <class T>
struct Strided {
  Strided(std::size_t rows, std::size_t cols, std::size_t pad, std::size_t offset, T fill = T(0))
      : storage(offset + rows * (cols + pad) + 1, fill),
        view(storage.data() + offset, rows, cols, cols + pad) {}
  std::vector<T> storage;
  MatrixView<T> view;
};

struct Case {
  std::size_t m, n, k;
  Trans ta, tb;
  double alpha, beta;
};

std::string describe(const Case& c, GemmVariant v) {
  return str_cat("m=", c.m, " n=", c.n, " k=", c.k, " op=", name(c.ta), name(c.tb),
                 " alpha=", c.alpha, " beta=", c.beta, " variant=", to_string(v));
}

// Runs one case for every variant; exact: bitwise equality with the reference, else the bound.
template <class T>
void check_case(const Case& cs, bool exact, std::uint64_t seed, std::size_t pad = 0,
                std::size_t offset = 0) {
  Rng rng(seed);
  const std::size_t a_rows = cs.ta == Trans::N ? cs.m : cs.k;
  const std::size_t a_cols = cs.ta == Trans::N ? cs.k : cs.m;
  const std::size_t b_rows = cs.tb == Trans::N ? cs.k : cs.n;
  const std::size_t b_cols = cs.tb == Trans::N ? cs.n : cs.k;
  Strided<T> a(a_rows, a_cols, pad, offset), b(b_rows, b_cols, pad, offset + 1);
  Strided<T> c0(cs.m, cs.n, pad, offset + 2);
  if (exact) {
    test::fill_small_integers(a.view, rng);
    test::fill_small_integers(b.view, rng);
    test::fill_small_integers(c0.view, rng);
  } else {
    test::fill_uniform(a.view, rng);
    test::fill_uniform(b.view, rng);
    test::fill_uniform(c0.view, rng);
  }
  if (cs.beta == 0.0)  // beta = 0: C must never be read, NaNs included
    for (std::size_t i = 0; i < cs.m; ++i)
      for (std::size_t j = 0; j < cs.n; ++j) c0.view(i, j) = std::numeric_limits<T>::quiet_NaN();

  Matrix<double> abs_product;
  const Matrix<double> ref = test::naive_gemm<T>(cs.ta == Trans::T, cs.tb == Trans::T, cs.alpha,
                                                 a.view, b.view, cs.beta, c0.view, &abs_product);
  for (const GemmVariant v : kVariants) {
    Strided<T> c = c0;
    c.view = MatrixView<T>(c.storage.data() + offset + 2, cs.m, cs.n, cs.n + pad);
    gemm<T>(cs.ta, cs.tb, static_cast<T>(cs.alpha), a.view, b.view, static_cast<T>(cs.beta), c.view,
            {}, v);
    std::size_t failures = 0;
    for (std::size_t i = 0; i < cs.m && failures < 5; ++i) {
      for (std::size_t j = 0; j < cs.n && failures < 5; ++j) {
        const double got = static_cast<double>(c.view(i, j));
        if (exact) {
          if (c.view(i, j) != static_cast<T>(ref(i, j))) {
            ++failures;
            ADD_FAILURE() << describe(cs, v) << " seed=" << seed << " at (" << i << "," << j
                          << "): got " << got << ", want " << ref(i, j);
          }
        } else {
          const double beta_c =
              cs.beta == 0.0 ? 0.0 : std::abs(cs.beta * static_cast<double>(c0.view(i, j)));
          const double bound = test::gemm_error_bound<T>(cs.k, abs_product(i, j), beta_c);
          if (!(std::abs(got - ref(i, j)) <= bound)) {
            ++failures;
            ADD_FAILURE() << describe(cs, v) << " seed=" << seed << " at (" << i << "," << j
                          << "): got " << got << ", want " << ref(i, j) << " ± " << bound;
          }
        }
      }
    }
    // The padding between rows (ld > cols) must be untouched.
    for (std::size_t i = 0; i + 1 < cs.m; ++i)
      for (std::size_t j = cs.n; j < cs.n + pad; ++j)
        EXPECT_EQ(std::memcmp(&c.view.row(i)[j], &c0.view.row(i)[j], sizeof(T)), 0)
            << describe(cs, v) << " wrote into the padding";
  }
}

template <class T>
class GemmTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GemmTyped, Scalars);

constexpr std::array<std::size_t, 5> kSizes = {0, 1, 7, 33, 257};

TYPED_TEST(GemmTyped, ExactTierAllShapesAndTransposes) {
  std::uint64_t seed = 1;
  for (const std::size_t m : kSizes)
    for (const std::size_t n : kSizes)
      for (const std::size_t k : kSizes)
        for (const Trans ta : kTrans)
          for (const Trans tb : kTrans) {
            // Keep the suite fast. Under ThreadSanitizer (every access instrumented) only the
            // shapes up to 33 x 33 x 257: each size of kSizes still appears in every dimension,
            // and the blocked, threaded sizes are covered by ExactTierLargeAndPrime.
            const std::size_t largest = test::kThreadSanitizer ? 33 * 33 * 257 : 33 * 257 * 257;
            if (m * n * k > largest) continue;
            check_case<TypeParam>({m, n, k, ta, tb, 1.0, 0.0}, true, seed++);
            if (m * n * k <= (test::kThreadSanitizer ? 33 * 33 * 33 : 33 * 33 * 257))
              check_case<TypeParam>({m, n, k, ta, tb, 2.0, -1.0}, true, seed++);
          }
}

TYPED_TEST(GemmTyped, ExactTierLargeAndPrime) {
  // Larger than one MC × KC × NC block in every direction (MC ≤ 2048, KC ≤ 512, NC ≤ 1008),
  // with prime (edge-tile) sizes.
  check_case<TypeParam>({2053, 67, 601, Trans::N, Trans::T, 1.0, 0.0}, true, 100);
  check_case<TypeParam>({37, 4099, 211, Trans::T, Trans::N, 2.0, 0.5}, true, 101);
}

// The packing of the packed path (in-register transposes of 16 × 16 floats / 8 × 8 doubles for
// op(A) = A and op(B) = Bᵀ, masked copies for the other two): K not a multiple of the vector
// width (35 = 2·16 + 3 = 4·8 + 3, 15 < 16), M and N leaving partial MR × NR tiles in both
// micro-kernel shapes (M = 32 takes the 8-row kernel), and strided, misaligned sources. For
// op = NT, min(M, N) > 16 or K < 16 keeps these shapes off the dot-product path; op = NT with
// K >= 16 and M <= 256 takes the transposed path on AVX-512 and AVX2, so there op(B) = Bᵀ is
// packed by the TT cases and by 209 x 211 x 15, 197 x 199 x 15 and 32 x 97 x 15.
TYPED_TEST(GemmTyped, ExactTierPackingEdges) {
  std::uint64_t seed = 6000;
  for (const Trans ta : kTrans)
    for (const Trans tb : kTrans)
      for (const auto& [m, n, k] :
           {std::array<std::size_t, 3>{209, 211, 35}, std::array<std::size_t, 3>{197, 199, 15},
            std::array<std::size_t, 3>{32, 97, 15}, std::array<std::size_t, 3>{32, 201, 35},
            std::array<std::size_t, 3>{13, 7, 1}}) {
        check_case<TypeParam>({m, n, k, ta, tb, 1.0, 0.0}, true, seed++, 3, 1);
        check_case<TypeParam>({m, n, k, ta, tb, -2.0, 1.0}, true, seed++, 0, 0);
      }
}

// The dot-product path (op = NT, min(M, N) <= 16, K >= 16) in both tile shapes: 6 x 4 (M = 10)
// and 4 x 5 (N = 10, 15), with K tails (300 = 18·16 + 12 = 37·8 + 4) and strided views.
TYPED_TEST(GemmTyped, ExactTierDotProductPath) {
  std::uint64_t seed = 7000;
  for (const auto& [m, n, k] :
       {std::array<std::size_t, 3>{32, 10, 300}, std::array<std::size_t, 3>{1000, 10, 257},
        std::array<std::size_t, 3>{37, 15, 40}, std::array<std::size_t, 3>{10, 1100, 300},
        std::array<std::size_t, 3>{16, 45, 16}}) {
    check_case<TypeParam>({m, n, k, Trans::N, Trans::T, 1.0, 0.0}, true, seed++, 3, 1);
    check_case<TypeParam>({m, n, k, Trans::N, Trans::T, 0.5, -2.0}, true, seed++, 0, 0);
  }
}

// The transposed path (gemm_transposed.hpp; op(A) = A, N > 16, AVX-512 and AVX2): for op = NT
// with M <= 256 and 16 <= K <= 4096 (a layer's forward pass at a small batch), B read in place
// in tiles of 14 rows (6 on AVX2); for op = NN with M of one to four row tiles (32-128 floats on
// AVX-512, 16-64 on AVX2 and for AVX-512 doubles, 8-32 AVX2 doubles) and 128 <= K <= 4096 (the
// input gradient at a small batch), B read in place in strips of 14 (6) columns, the last one
// partial. Aᵀ packed in panels of 32 (16) rows of A, each tile of C written transposed. M and N off
// every tile edge (M = 1, 33, 255, 256; N = 17, 29 = 2·14 + 1, 45 = 7·6 + 3, 300), K tails (17, 35,
// 300 = 18·16 + 12, 129) and the whole of a long K (784), strided misaligned views, beta ≠ 0; op =
// NN also at the limits (M = 16, 32, 64, 128; K = 128) and past them (M = 1, 129, K = 127: the
// packed path).
TYPED_TEST(GemmTyped, ExactTierTransposedPath) {
  std::uint64_t seed = 8000;
  using Shape = std::array<std::size_t, 3>;
  for (const auto& [m, n, k] : {Shape{1, 17, 16}, Shape{33, 29, 35}, Shape{255, 45, 17},
                                Shape{256, 300, 300}, Shape{32, 29, 784}}) {
    check_case<TypeParam>({m, n, k, Trans::N, Trans::T, 1.0, 0.0}, true, seed++, 3, 1);
    check_case<TypeParam>({m, n, k, Trans::N, Trans::T, -0.5, 2.0}, true, seed++, 0, 0);
  }
  for (const auto& [m, n, k] : {Shape{1, 17, 128}, Shape{16, 29, 129}, Shape{33, 29, 129},
                                Shape{32, 45, 300}, Shape{64, 300, 784}, Shape{65, 31, 200},
                                Shape{128, 45, 257}, Shape{129, 29, 300}, Shape{17, 301, 127}}) {
    check_case<TypeParam>({m, n, k, Trans::N, Trans::N, 1.0, 0.0}, true, seed++, 3, 1);
    check_case<TypeParam>({m, n, k, Trans::N, Trans::N, -0.5, 2.0}, true, seed++, 0, 0);
  }
}

TYPED_TEST(GemmTyped, RoundingTierRandom) {
  std::uint64_t seed = 1000;
  for (const std::size_t m : kSizes)
    for (const std::size_t n : kSizes)
      for (const Trans ta : kTrans)
        for (const Trans tb : kTrans) {
          for (const std::size_t k : {std::size_t{0}, std::size_t{7}, std::size_t{257}}) {
            if (m * n * k > 257 * 257 * 257 / 4) continue;
            check_case<TypeParam>({m, n, k, ta, tb, 0.7, -1.3}, false, seed++);
            check_case<TypeParam>({m, n, k, ta, tb, -1.1, 0.0}, false, seed++);
          }
        }
  // Several MC x KC blocks (at least two of each under ThreadSanitizer; KC <= 512).
  const std::size_t big_m = test::kThreadSanitizer ? 401 : 1000;
  const std::size_t big_k = test::kThreadSanitizer ? 601 : 1000;
  check_case<TypeParam>({big_m, 300, big_k, Trans::N, Trans::N, 1.0, 1.0}, false, seed++);
}

TYPED_TEST(GemmTyped, StridedMisalignedViews) {
  std::uint64_t seed = 2000;
  for (const Trans ta : kTrans)
    for (const Trans tb : kTrans) {
      check_case<TypeParam>({33, 45, 257, ta, tb, 1.0, 0.0}, true, seed++, 5, 3);
      check_case<TypeParam>({61, 37, 300, ta, tb, 0.5, 2.0}, false, seed++, 3, 1);
    }
}

// SimdParallel must give bitwise the same C for 1 thread and for many (K is never split), and
// the same as Simd.
TYPED_TEST(GemmTyped, ThreadCountDoesNotChangeResults) {
  using T = TypeParam;
  Rng rng(3000);
  // The shared-A parallel scheme (chunks of at least 64 columns, so N >= 512 on 2 threads and
  // 768 on 3) takes 1030 x 520 x 530 on 2 threads, with two MC blocks (MC <= 1022 rows), two or
  // three K blocks and a short last chunk, 301 x 517 x 419 on 2 threads and 37 x 1100 x 300 on 2
  // and 3; the 2D partition takes the rest, and everything on 8 threads. The last two take the
  // dot-product path for op = NT (one side at most 16), in its 4 x 5 and 6 x 4 tile shapes, and
  // 37 x 1100 x 300 the transposed path for op = NT and NN (its pack in two panels of two blocks
  // of K steps, its tiles in chunks), the AVX-512 and AVX2 kernel sets only (for NN not AVX2
  // doubles, whose limit is 32 rows).
  for (const auto& shape :
       {std::array<std::size_t, 3>{301, 517, 419}, std::array<std::size_t, 3>{1030, 520, 530},
        std::array<std::size_t, 3>{37, 1100, 300}, std::array<std::size_t, 3>{1100, 13, 300},
        std::array<std::size_t, 3>{10, 1100, 300}}) {
    // Plain variables, not a structured binding: the lambda below captures them (clang 14).
    const std::size_t m = shape[0], n = shape[1], k = shape[2];
    for (const Trans ta : kTrans)
      for (const Trans tb : kTrans) {
        Matrix<T> a(ta == Trans::N ? m : k, ta == Trans::N ? k : m);
        Matrix<T> b(tb == Trans::N ? k : n, tb == Trans::N ? n : k);
        Matrix<T> c_init(m, n);
        test::fill_uniform(a.view(), rng);
        test::fill_uniform(b.view(), rng);
        test::fill_uniform(c_init.view(), rng);
        std::vector<T> bias(n);
        for (auto& x : bias) x = static_cast<T>(rng.uniform(-1, 1));
        auto run = [&](std::size_t threads, GemmVariant v) {
          ThreadLimit limit(threads);
          Matrix<T> c = c_init;
          Matrix<T> d(m, n);
          GemmEpilogue<T> ep;
          ep.bias = bias.data();
          ep.activation = Activation::Tanh;
          ep.derivative = d.view();
          gemm<T>(ta, tb, T(0.9), a.cview(), b.cview(), T(0.3), c.view(), ep, v);
          std::vector<T> out(c.data(), c.data() + c.size());
          out.insert(out.end(), d.data(), d.data() + d.size());
          return out;
        };
        const auto one = run(1, GemmVariant::SimdParallel);
        EXPECT_EQ(one, run(max_threads(), GemmVariant::SimdParallel)) << name(ta) << name(tb) << m;
        EXPECT_EQ(one, run(3, GemmVariant::SimdParallel)) << name(ta) << name(tb) << m;
        EXPECT_EQ(one, run(8, GemmVariant::SimdParallel)) << name(ta) << name(tb) << m;
        EXPECT_EQ(one, run(1, GemmVariant::Simd)) << name(ta) << name(tb) << m;
      }
  }
}

// The fused epilogue against gemm followed by the separate bias add and activation ops, on the
// packed path (45 × 70) and on the dot-product path in both its tile shapes (32 × 10: 4 × 5
// tiles; 10 × 45: 6 × 4 tiles), which takes K ≥ 16 (K = 700 = 43·16 + 12, a K tail).
TYPED_TEST(GemmTyped, EpilogueMatchesSeparateOps) {
  using T = TypeParam;
  Rng rng(4000);
  for (const GemmVariant v : kVariants)
    for (const Activation act : {Activation::Identity, Activation::Relu, Activation::Tanh})
      for (const auto& [m, n, k] :
           {std::array<std::size_t, 3>{45, 70, 0}, std::array<std::size_t, 3>{45, 70, 5},
            std::array<std::size_t, 3>{45, 70, 700}, std::array<std::size_t, 3>{32, 10, 700},
            std::array<std::size_t, 3>{10, 45, 700}}) {
        Matrix<T> a(m, k), b(n, k), c_init(m, n);
        test::fill_uniform(a.view(), rng);
        test::fill_uniform(b.view(), rng);
        test::fill_uniform(c_init.view(), rng);
        std::vector<T> bias(n);
        for (auto& x : bias) x = static_cast<T>(rng.uniform(-1, 1));

        Matrix<T> fused = c_init;
        Strided<T> d(m, n, 3, 1, T(-7));
        GemmEpilogue<T> ep;
        ep.bias = bias.data();
        ep.activation = act;
        ep.derivative = d.view;
        gemm<T>(Trans::N, Trans::T, T(1.5), a.cview(), b.cview(), T(-0.5), fused.view(), ep, v);

        Matrix<T> z = c_init;
        gemm<T>(Trans::N, Trans::T, T(1.5), a.cview(), b.cview(), T(-0.5), z.view(), {}, v);
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < n; ++j) z(i, j) += bias[j];
        Matrix<T> y(m, n), dref(m, n);
        apply_activation(act, z.data(), y.data(), z.size());
        activation_derivative(act, z.data(), dref.data(), z.size());

        // tanh: the scalar variants use std::tanh, the elementwise op xsimd's; a few ulps apart.
        const double tol = act == Activation::Tanh ? 8 * std::numeric_limits<T>::epsilon() : 0.0;
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < n; ++j) {
            ASSERT_NEAR(fused(i, j), y(i, j), tol) << to_string(v) << " " << to_string(act)
                                                   << " k=" << k << " (" << i << "," << j << ")";
            ASSERT_NEAR(d.view(i, j), dref(i, j), 2 * tol)
                << to_string(v) << " " << to_string(act) << " k=" << k << " (" << i << "," << j
                << ")";
          }
        for (std::size_t i = 0; i + 1 < m; ++i)
          for (std::size_t j = n; j < n + 3; ++j) ASSERT_EQ(d.view.row(i)[j], T(-7));
      }
}

// The fused epilogue for every transpose pair (NN, NT, TN, TT) against the naive double
// reference: z = alpha·op(A)·op(B) + beta·C + bias, y = act(z), d = act'(z), all in double. The
// rounding tier's bound covers z (the bias add is one more term of the sum); ReLU and tanh are
// 1-Lipschitz, tanh' = 1 − tanh² is 0.77-Lipschitz, plus a few ulps for xsimd's tanh. ReLU's
// derivative is compared only where |z| exceeds the bound (elsewhere either side is right).
// Shapes: the packed path with edge tiles and a K tail, and the dot-product path's two tiles.
TYPED_TEST(GemmTyped, EpilogueMatchesNaiveReferenceForEveryTranspose) {
  using T = TypeParam;
  Rng rng(4100);
  const double ulps = 8 * std::numeric_limits<T>::epsilon();
  for (const GemmVariant v : kVariants)
    for (const Activation act : {Activation::Identity, Activation::Relu, Activation::Tanh})
      for (const Trans ta : kTrans)
        for (const Trans tb : kTrans)
          for (const auto& [m, n, k] :
               {std::array<std::size_t, 3>{45, 70, 5}, std::array<std::size_t, 3>{37, 53, 301},
                std::array<std::size_t, 3>{32, 10, 700}, std::array<std::size_t, 3>{10, 45, 700}}) {
            Matrix<T> a(ta == Trans::N ? m : k, ta == Trans::N ? k : m);
            Matrix<T> b(tb == Trans::N ? k : n, tb == Trans::N ? n : k);
            Matrix<T> c(m, n);
            test::fill_uniform(a.view(), rng);
            test::fill_uniform(b.view(), rng);
            test::fill_uniform(c.view(), rng);
            std::vector<T> bias(n);
            for (auto& x : bias) x = static_cast<T>(rng.uniform(-1, 1));
            const double alpha = 0.75, beta = -0.5;
            Matrix<double> abs_product;
            const Matrix<double> z_ref =
                test::naive_gemm<T>(ta == Trans::T, tb == Trans::T, alpha, a.cview(), b.cview(),
                                    beta, c.cview(), &abs_product);

            Matrix<T> fused = c, d(m, n);
            GemmEpilogue<T> ep;
            ep.bias = bias.data();
            ep.activation = act;
            ep.derivative = d.view();
            gemm<T>(ta, tb, T(alpha), a.cview(), b.cview(), T(beta), fused.view(), ep, v);

            for (std::size_t i = 0; i < m; ++i)
              for (std::size_t j = 0; j < n; ++j) {
                const double z = z_ref(i, j) + bias[j];
                const double bound = test::gemm_error_bound<T>(
                    k + 1, abs_product(i, j) + std::abs(static_cast<double>(bias[j])),
                    std::abs(beta * c(i, j)));
                double y = z, dy = 1.0;
                if (act == Activation::Relu) {
                  y = std::max(z, 0.0);
                  dy = z > 0 ? 1.0 : 0.0;
                } else if (act == Activation::Tanh) {
                  y = std::tanh(z);
                  dy = 1.0 - y * y;
                }
                const std::string where =
                    str_cat(to_string(v), " ", to_string(act), " op=", name(ta), name(tb), " m=", m,
                            " n=", n, " k=", k, " (", i, ",", j, ")");
                ASSERT_NEAR(fused(i, j), y, bound + ulps) << where;
                if (act != Activation::Relu || std::abs(z) > bound) {
                  ASSERT_NEAR(d(i, j), dy, bound + 2 * ulps) << where;
                }
              }
          }
}

TEST(Gemm, RejectsBadShapesAndAliasing) {
  Matrix<float> a(4, 3), b(3, 5), c(4, 5), wrong(4, 4);
  EXPECT_THROW(gemm<float>(Trans::N, Trans::N, 1.F, a.cview(), b.cview(), 0.F, wrong.view()),
               InvalidArgument);
  EXPECT_THROW(gemm<float>(Trans::T, Trans::N, 1.F, a.cview(), b.cview(), 0.F, c.view()),
               InvalidArgument);
  Matrix<float> square(4, 4);
  EXPECT_THROW(
      gemm<float>(Trans::N, Trans::N, 1.F, square.cview(), square.cview(), 0.F, square.view()),
      InvalidArgument);
  GemmEpilogue<float> ep;
  ep.derivative = wrong.view();
  EXPECT_THROW(gemm<float>(Trans::N, Trans::N, 1.F, a.cview(), b.cview(), 0.F, c.view(), ep),
               InvalidArgument);
  ep.derivative = c.view();
  EXPECT_THROW(gemm<float>(Trans::N, Trans::N, 1.F, a.cview(), b.cview(), 0.F, c.view(), ep),
               InvalidArgument);
}

// Blocks of one matrix that share no element are legal operands: here A is the left 6 columns
// and C the right 5 columns of the same 6 x 11 buffer (their address ranges interleave).
TEST(Gemm, AcceptsDisjointBlocksOfOneMatrixAndRejectsOverlappingOnes) {
  Matrix<double> big(6, 11);
  Rng rng(5);
  test::fill_small_integers(big.view(), rng);
  Matrix<double> b(6, 5);
  test::fill_small_integers(b.view(), rng);
  const MatrixView<const double> a = big.cview().block(0, 0, 6, 6);
  const MatrixView<double> c = big.view().block(0, 6, 6, 5);
  const Matrix<double> expected =
      test::naive_gemm<double>(false, false, 1.0, a, b.cview(), 0.0, MatrixView<const double>(c));
  gemm<double>(Trans::N, Trans::N, 1.0, a, b.cview(), 0.0, c);
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 5; ++j) ASSERT_EQ(c(i, j), expected(i, j)) << i << "," << j;
  // Column 5 belongs to both [0, 6) and [5, 10): rejected.
  const MatrixView<double> c_overlap = big.view().block(0, 5, 6, 5);
  EXPECT_THROW(gemm<double>(Trans::N, Trans::N, 1.0, a, b.cview(), 0.0, c_overlap),
               InvalidArgument);
  // A block that wraps onto the next row: rows 1.. of columns 0..4 against row 0's tail.
  const MatrixView<const double> a_low = big.cview().block(1, 0, 5, 6);
  const MatrixView<double> c_high = big.view().block(0, 6, 5, 5);
  Matrix<double> b6(6, 5);
  EXPECT_NO_THROW(gemm<double>(Trans::N, Trans::N, 1.0, a_low, b6.cview(), 0.0, c_high));
}

TEST(Gemm, VariantNames) {
  EXPECT_STREQ(to_string(GemmVariant::SimdParallel), "simd_parallel");
  EXPECT_STREQ(to_string(GemmVariant::BlockedScalar), "blocked_scalar");
  EXPECT_STREQ(to_string(Activation::Tanh), "tanh");
}

}  // namespace
}  // namespace catapult::kernels
