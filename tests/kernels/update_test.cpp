// The elementwise optimizer updates (kernels/update.hpp): apply_update against the formulas
// evaluated in double, and the GEMM's update epilogue against the finished product followed by
// apply_update (bitwise: the same code on the same gradient) and against the double reference
// (product and update in double), for every variant, transpose, edge and K split; Σ g² against
// the double sum; thread counts give the same bits.
#include "catapult/kernels/update.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/kernels/gemm.hpp"
#include "support/reference.hpp"

namespace catapult::kernels {
namespace {

// The rules under test: every kind, with the options that change its arithmetic.
template <class T>
std::vector<std::pair<std::string, UpdateRule<T>>> rules() {
  std::vector<std::pair<std::string, UpdateRule<T>>> out;
  UpdateRule<T> r;
  r.kind = UpdateKind::Sgd;
  r.eta = T(0.05);
  out.emplace_back("sgd", r);
  r.weight_decay = T(0.01);
  out.emplace_back("sgd wd", r);
  r.kind = UpdateKind::SgdMomentum;
  r.mu = T(0.9);
  r.keep = T(0.75);
  r.first = true;
  out.emplace_back("momentum first", r);
  r.first = false;
  out.emplace_back("momentum", r);
  r.keep = T(1);
  r.nesterov = true;
  out.emplace_back("nesterov", r);
  UpdateRule<T> a;
  a.kind = UpdateKind::AdaGrad;
  a.eta = T(0.05);
  a.eps = T(1e-3);
  a.weight_decay = T(0.02);
  out.emplace_back("adagrad", a);
  UpdateRule<T> m;
  m.kind = UpdateKind::Adam;
  m.eta = T(0.01 / (1 - 0.9 * 0.9));
  m.beta1 = T(0.9);
  m.beta2 = T(0.999);
  m.c1 = T(1 - 0.9);
  m.c2 = T(1 - 0.999);
  m.sqrt_bc2 = T(std::sqrt(1 - 0.999 * 0.999));
  m.eps = T(1e-3);
  out.emplace_back("adam", m);
  m.weight_decay = T(0.01);
  out.emplace_back("adam l2", m);
  m.weight_decay = T(0);
  m.shrink = T(1 - 0.01 * 0.1);
  out.emplace_back("adamw", m);
  return out;
}

// One entry of rule r in double, written from the formulas of update.hpp.
void reference_update(const UpdateRule<double>& r, double g, double& p, double& s0, double& s1) {
  switch (r.kind) {
    case UpdateKind::Sgd:
      p -= r.eta * (g + r.weight_decay * p);
      return;
    case UpdateKind::SgdMomentum: {
      const double gp = g + r.weight_decay * p;
      const double b = r.first ? gp : r.mu * s0 + r.keep * gp;
      s0 = b;
      p -= r.eta * (r.nesterov ? gp + r.mu * b : b);
      return;
    }
    case UpdateKind::AdaGrad: {
      const double gp = g + r.weight_decay * p;
      s0 += gp * gp;
      p -= r.eta * gp / (std::sqrt(s0) + r.eps);
      return;
    }
    case UpdateKind::Adam: {
      const double pp = p * r.shrink;
      const double gp = g + r.weight_decay * pp;
      s0 = r.beta1 * s0 + r.c1 * gp;
      s1 = r.beta2 * s1 + r.c2 * gp * gp;
      p = pp - r.eta * s0 / (std::sqrt(s1) / r.sqrt_bc2 + r.eps);
      return;
    }
  }
}

template <class T>
UpdateRule<double> widen(const UpdateRule<T>& r) {
  UpdateRule<double> d;
  d.kind = r.kind;
  d.eta = r.eta;
  d.weight_decay = r.weight_decay;
  d.mu = r.mu;
  d.keep = r.keep;
  d.nesterov = r.nesterov;
  d.first = r.first;
  d.eps = r.eps;
  d.beta1 = r.beta1;
  d.beta2 = r.beta2;
  d.c1 = r.c1;
  d.c2 = r.c2;
  d.sqrt_bc2 = r.sqrt_bc2;
  d.shrink = r.shrink;
  return d;
}

// Parameters and two state buffers of n entries with ld = n + pad (state ≥ 0 where a root is
// taken of it), starting `offset` elements into their storage (misaligned).
template <class T>
struct Buffers {
  Buffers(std::size_t rows, std::size_t cols, std::size_t pad, std::size_t offset, Rng& rng)
      : ld(cols + pad),
        p(offset + rows * ld, T(0)),
        s0(p.size(), T(0)),
        s1(p.size(), T(0)),
        off(offset) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      p[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
      s0[i] = static_cast<T>(rng.uniform(0.0, 0.5));
      s1[i] = static_cast<T>(rng.uniform(0.0, 0.5));
    }
  }
  ParamUpdate<T> update(const UpdateRule<T>& r) {
    return {r, p.data() + off, s0.data() + off, s1.data() + off};
  }
  std::size_t ld;
  std::vector<T> p, s0, s1;
  std::size_t off;
};

template <class T>
class UpdateTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(UpdateTyped, Scalars);

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-14;
}

TYPED_TEST(UpdateTyped, ApplyUpdateMatchesTheFormulasInDouble) {
  using T = TypeParam;
  for (const auto& [name, rule] : rules<T>()) {
    for (std::size_t n : {1, 7, 8, 15, 16, 17, 50, 131}) {
      Rng rng(n + 17);
      Buffers<T> buf(1, n, 0, n % 3, rng);
      std::vector<T> g(n);
      for (auto& v : g) v = static_cast<T>(rng.uniform(-2.0, 2.0));
      if (n > 2) g[1] = T(0);  // a zero gradient decays the state
      const Buffers<T> before = buf;
      apply_update(buf.update(rule), g.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        double p = before.p[buf.off + i], s0 = before.s0[buf.off + i], s1 = before.s1[buf.off + i];
        reference_update(widen(rule), g[i], p, s0, s1);
        const double tol = tolerance<T>() * (1 + std::abs(p));
        ASSERT_NEAR(buf.p[buf.off + i], p, tol) << name << " n " << n << " i " << i;
        if (state_buffers(rule.kind) >= 1) {
          ASSERT_NEAR(buf.s0[buf.off + i], s0, tolerance<T>() * (1 + std::abs(s0))) << name;
        }
        if (state_buffers(rule.kind) >= 2) {
          ASSERT_NEAR(buf.s1[buf.off + i], s1, tolerance<T>() * (1 + std::abs(s1))) << name;
        } else {
          ASSERT_EQ(buf.s1[buf.off + i], before.s1[buf.off + i]) << name;  // untouched
        }
      }
    }
  }
}

// The nonfinite flag: set when an updated parameter is infinite or NaN, wherever it falls
// (vector body or tail, first or last entry), left alone when all are finite (also where the
// tail's padding would give 0/0: AdaGrad with eps = 0), never cleared.
TYPED_TEST(UpdateTyped, FlagsParametersThatAreNotFinite) {
  using T = TypeParam;
  auto all = rules<T>();
  UpdateRule<T> no_eps = all[5].second;  // AdaGrad
  no_eps.eps = T(0);
  all.emplace_back("adagrad eps 0", no_eps);
  const T inf = std::numeric_limits<T>::infinity();
  for (const auto& [name, rule] : all) {
    for (std::size_t n : {1, 7, 16, 17, 50}) {
      Rng rng(n + 5);
      std::vector<T> g(n);
      for (auto& v : g) v = static_cast<T>(rng.uniform(0.5, 2.0));
      const Buffers<T> initial(1, n, 0, 1, rng);
      {
        Buffers<T> buf = initial;
        bool flag = false;
        ParamUpdate<T> u = buf.update(rule);
        u.nonfinite = &flag;
        apply_update(u, g.data(), n);
        EXPECT_FALSE(flag) << name << " n " << n;
        flag = true;
        apply_update(u, g.data(), n);
        EXPECT_TRUE(flag) << name << " n " << n << ": the flag was cleared";
      }
      for (std::size_t bad : {std::size_t{0}, n / 2, n - 1}) {
        for (T value : {inf, -inf, std::numeric_limits<T>::quiet_NaN()}) {
          Buffers<T> buf = initial;
          buf.p[buf.off + bad] = value;
          bool flag = false;
          ParamUpdate<T> u = buf.update(rule);
          u.nonfinite = &flag;
          apply_update(u, g.data(), n);
          ASSERT_FALSE(std::isfinite(buf.p[buf.off + bad])) << name;
          EXPECT_TRUE(flag) << name << " n " << n << " entry " << bad << " was " << value;
        }
      }
    }
  }
  // A finite parameter that the update itself overflows.
  std::vector<T> p(19, std::numeric_limits<T>::max()), g(19, T(-1));
  UpdateRule<T> sgd;
  sgd.eta = std::numeric_limits<T>::max();
  for (std::size_t n : {std::size_t{16}, std::size_t{19}}) {
    std::fill(p.begin(), p.end(), T(1));
    p[n - 1] = std::numeric_limits<T>::max();
    bool flag = false;
    apply_update<T>({sgd, p.data(), nullptr, nullptr, &flag}, g.data(), n);
    EXPECT_EQ(p[n - 1], inf);
    EXPECT_TRUE(flag) << "n " << n;
  }
}

TEST(Update, SubnormalStateIsFlushedToZero) {
  const float tiny = std::numeric_limits<float>::min() * 2;  // β·tiny is subnormal
  UpdateRule<float> r;
  r.kind = UpdateKind::SgdMomentum;
  r.eta = 0.1F;
  r.mu = 0.25F;
  r.keep = 1.0F;
  float p[20], s[20], g[20];
  for (int i = 0; i < 20; ++i) {
    p[i] = 1.0F;
    s[i] = tiny;
    g[i] = 0.0F;
  }
  apply_update<float>({r, p, s, nullptr}, g, 20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(s[i], 0.0F) << i;
    EXPECT_EQ(p[i], 1.0F) << i;
  }
}

struct UpdateCase {
  std::size_t m, n, k;
  Trans ta, tb;
  double alpha;
};

// The update epilogue on one case, every variant: bitwise against gemm then apply_update, and
// within tolerance of the double reference; Σ g² against the double sum.
template <class T>
void check_update_case(const UpdateCase& cs, const UpdateRule<T>& rule, const std::string& what) {
  Rng rng(cs.m * 1000003 + cs.n * 101 + cs.k);
  const std::size_t a_rows = cs.ta == Trans::N ? cs.m : cs.k;
  const std::size_t a_cols = cs.ta == Trans::N ? cs.k : cs.m;
  const std::size_t b_rows = cs.tb == Trans::N ? cs.k : cs.n;
  const std::size_t b_cols = cs.tb == Trans::N ? cs.n : cs.k;
  Matrix<T> a(a_rows, a_cols), b(b_rows, b_cols);
  test::fill_uniform(a.view(), rng);
  test::fill_uniform(b.view(), rng);
  const Buffers<T> initial(cs.m, cs.n, 3, 1, rng);
  const auto alpha = static_cast<T>(cs.alpha);
  const Matrix<double> ref_c = test::naive_gemm<T>(cs.ta == Trans::T, cs.tb == Trans::T, cs.alpha,
                                                   a.cview(), b.cview(), 0.0, a.cview());
  double ref_sq = 0;
  for (std::size_t i = 0; i < cs.m; ++i)
    for (std::size_t j = 0; j < cs.n; ++j) ref_sq += ref_c(i, j) * ref_c(i, j);
  for (GemmVariant v : {GemmVariant::Naive, GemmVariant::BlockedScalar, GemmVariant::Simd,
                        GemmVariant::SimdParallel}) {
    if (v == GemmVariant::Naive && cs.m * cs.n * cs.k > 2000000) continue;
    const std::string where =
        str_cat(what, " m=", cs.m, " n=", cs.n, " k=", cs.k, " op=", cs.ta == Trans::N ? "N" : "T",
                cs.tb == Trans::N ? "N" : "T", " variant=", to_string(v));
    // Unfused: the finished product, then apply_update row by row.
    Buffers<T> unfused = initial;
    Matrix<T> c(cs.m, cs.n);
    gemm<T>(cs.ta, cs.tb, alpha, a.cview(), b.cview(), T(0), c.view(), {}, v);
    for (std::size_t i = 0; i < cs.m; ++i) {
      ParamUpdate<T> u = unfused.update(rule);
      u.params += i * unfused.ld;
      u.state0 += i * unfused.ld;
      u.state1 += i * unfused.ld;
      apply_update(u, c.row(i), cs.n);
    }
    // Fused: C is scratch (NaN-filled: never read on the first K block).
    Buffers<T> fused = initial;
    Matrix<T> scratch(cs.m, cs.n);
    for (std::size_t i = 0; i < scratch.size(); ++i)
      scratch.data()[i] = std::numeric_limits<T>::quiet_NaN();
    const ParamUpdate<T> u = fused.update(rule);
    GemmEpilogue<T> ep;
    ep.update = &u;
    ep.update_ld = fused.ld;
    double sq = -1;
    ep.squared_norm = &sq;
    gemm<T>(cs.ta, cs.tb, alpha, a.cview(), b.cview(), T(0), scratch.view(), ep, v);
    ASSERT_EQ(fused.p, unfused.p) << where;
    ASSERT_EQ(fused.s0, unfused.s0) << where;
    ASSERT_EQ(fused.s1, unfused.s1) << where;
    EXPECT_NEAR(sq, ref_sq, (std::is_same_v<T, float> ? 1e-4 : 1e-12) * ref_sq) << where;
    // The independent reference: product and update in double.
    for (std::size_t i = 0; i < cs.m; ++i) {
      for (std::size_t j = 0; j < cs.n; ++j) {
        const std::size_t at = initial.off + i * initial.ld + j;
        double p = initial.p[at], s0 = initial.s0[at], s1 = initial.s1[at];
        reference_update(widen(rule), ref_c(i, j), p, s0, s1);
        // The product's rounding (|c| ≤ K for these inputs) moves θ by at most η·K·u·…
        const double tol = (std::is_same_v<T, float> ? 2e-5 : 1e-12) * (1 + std::abs(p));
        ASSERT_NEAR(fused.p[at], p, tol) << where << " i " << i << " j " << j;
      }
    }
  }
}

TYPED_TEST(UpdateTyped, GemmEpilogueIsApplyUpdateOnTheProduct) {
  using T = TypeParam;
  const auto all = rules<T>();
  const std::vector<UpdateCase> cases = {
      {1, 1, 1, Trans::T, Trans::N, 1.0},     {10, 37, 32, Trans::T, Trans::N, 0.5},
      {33, 50, 129, Trans::T, Trans::N, 1.0}, {7, 13, 600, Trans::T, Trans::N, 0.25},  // K split
      {29, 70, 128, Trans::N, Trans::N, 1.0}, {16, 17, 9, Trans::N, Trans::T, 1.0},  // no dot path
      {31, 33, 40, Trans::T, Trans::T, 2.0},
  };
  for (const auto& cs : cases)
    for (const auto& [name, rule] : all) check_update_case<T>(cs, rule, name);
  // Larger: parallel partitions (2D and shared-A) and a split K, for two rules.
  for (const UpdateCase& cs : {UpdateCase{150, 200, 600, Trans::T, Trans::N, 1.0},
                               UpdateCase{100, 600, 600, Trans::T, Trans::N, 1.0}}) {
    check_update_case<T>(cs, all[0].second, all[0].first);
    check_update_case<T>(cs, all.back().second, all.back().first);
  }
}

TYPED_TEST(UpdateTyped, EpilogueIsBitwiseIndependentOfTheThreadCount) {
  using T = TypeParam;
  const auto rule = rules<T>().back().second;  // AdamW
  for (const UpdateCase& cs : {UpdateCase{150, 200, 600, Trans::T, Trans::N, 1.0},
                               UpdateCase{100, 600, 600, Trans::T, Trans::N, 1.0},
                               UpdateCase{1024, 80, 128, Trans::T, Trans::N, 1.0}}) {
    Rng rng(cs.m + cs.n);
    Matrix<T> a(cs.k, cs.m), b(cs.k, cs.n), c(cs.m, cs.n);
    test::fill_uniform(a.view(), rng);
    test::fill_uniform(b.view(), rng);
    const Buffers<T> initial(cs.m, cs.n, 0, 0, rng);
    std::vector<Buffers<T>> results;
    std::vector<double> norms;
    for (std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
      ThreadLimit limit(threads);
      Buffers<T> buf = initial;
      const ParamUpdate<T> u = buf.update(rule);
      GemmEpilogue<T> ep;
      ep.update = &u;
      ep.update_ld = buf.ld;
      double sq = 0;
      ep.squared_norm = &sq;
      gemm<T>(cs.ta, cs.tb, T(1), a.cview(), b.cview(), T(0), c.view(), ep);
      results.push_back(buf);
      norms.push_back(sq);
    }
    for (std::size_t r = 1; r < results.size(); ++r) {
      EXPECT_EQ(results[r].p, results[0].p) << "m=" << cs.m << " n=" << cs.n;
      EXPECT_EQ(results[r].s0, results[0].s0);
      EXPECT_EQ(results[r].s1, results[0].s1);
      EXPECT_EQ(norms[r], norms[0]);
    }
  }
}

// The update epilogue sets the flag too, on every variant and thread count: one NaN parameter
// in the middle of a product large enough to be split across threads, and none.
TYPED_TEST(UpdateTyped, EpilogueFlagsParametersThatAreNotFinite) {
  using T = TypeParam;
  const std::size_t m = 150, n = 200, k = 600;
  Rng rng(3);
  Matrix<T> a(k, m), b(k, n), c(m, n);
  test::fill_uniform(a.view(), rng);
  test::fill_uniform(b.view(), rng);
  const Buffers<T> initial(m, n, 3, 1, rng);
  for (const auto& [name, rule] : {rules<T>().front(), rules<T>().back()}) {
    for (bool poisoned : {false, true}) {
      for (GemmVariant v : {GemmVariant::Naive, GemmVariant::BlockedScalar, GemmVariant::Simd,
                            GemmVariant::SimdParallel}) {
        for (std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
          ThreadLimit limit(threads);
          Buffers<T> buf = initial;
          if (poisoned) buf.p[buf.off + 77 * buf.ld + 133] = std::numeric_limits<T>::quiet_NaN();
          bool flag = false;
          ParamUpdate<T> u = buf.update(rule);
          u.nonfinite = &flag;
          GemmEpilogue<T> ep;
          ep.update = &u;
          ep.update_ld = buf.ld;
          gemm<T>(Trans::T, Trans::N, T(1), a.cview(), b.cview(), T(0), c.view(), ep, v);
          EXPECT_EQ(flag, poisoned)
              << name << " variant " << to_string(v) << " threads " << threads;
        }
      }
    }
  }
}

TEST(Update, GemmRejectsBadUpdateEpilogues) {
  Matrix<float> a(4, 3), b(4, 5), c(3, 5), p(3, 5), s(3, 5);
  UpdateRule<float> r;
  r.kind = UpdateKind::Adam;
  const ParamUpdate<float> no_state{r, p.data(), nullptr, nullptr};
  const ParamUpdate<float> good{r, p.data(), s.data(), s.data() + 0};
  GemmEpilogue<float> ep;
  ep.update_ld = 5;
  ep.update = &no_state;
  EXPECT_THROW(gemm<float>(Trans::T, Trans::N, 1.0F, a.cview(), b.cview(), 0.0F, c.view(), ep),
               InvalidArgument);
  ep.update = &good;
  EXPECT_THROW(gemm<float>(Trans::T, Trans::N, 1.0F, a.cview(), b.cview(), 1.0F, c.view(), ep),
               InvalidArgument);  // beta ≠ 0
  GemmEpilogue<float> bias = ep;
  const float bias_values[5] = {};
  bias.bias = bias_values;
  EXPECT_THROW(gemm<float>(Trans::T, Trans::N, 1.0F, a.cview(), b.cview(), 0.0F, c.view(), bias),
               InvalidArgument);
  GemmEpilogue<float> narrow = ep;
  narrow.update_ld = 4;
  EXPECT_THROW(gemm<float>(Trans::T, Trans::N, 1.0F, a.cview(), b.cview(), 0.0F, c.view(), narrow),
               InvalidArgument);
  const ParamUpdate<float> on_b{r, b.data(), s.data(), s.data()};
  GemmEpilogue<float> aliased = ep;
  aliased.update = &on_b;
  EXPECT_THROW(gemm<float>(Trans::T, Trans::N, 1.0F, a.cview(), b.cview(), 0.0F, c.view(), aliased),
               InvalidArgument);  // the parameters are the operand B
}

}  // namespace
}  // namespace catapult::kernels
