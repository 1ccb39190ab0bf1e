// Optimizers: a few steps on tiny problems against closed forms and scalar recurrences written
// here from PyTorch's update rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/optim/adagrad.hpp"
#include "catapult/optim/adam.hpp"
#include "catapult/optim/sgd.hpp"

namespace catapult::optim {
namespace {

// Runs `steps` steps of opt on the separable quadratic L = Σ ½·a_i·θ_i² (g = a ⊙ θ) and returns
// the parameter history (one vector per step, the initial one first).
template <class T>
std::vector<std::vector<double>> run_quadratic(Optimizer<T>& opt, std::vector<T> theta,
                                               const std::vector<double>& a, int steps, double lr) {
  std::vector<std::vector<double>> hist;
  hist.emplace_back(theta.begin(), theta.end());
  std::vector<T> g(theta.size());
  for (int s = 0; s < steps; ++s) {
    for (std::size_t i = 0; i < theta.size(); ++i) g[i] = static_cast<T>(a[i] * theta[i]);
    opt.step(theta.data(), g.data(), theta.size(), lr);
    hist.emplace_back(theta.begin(), theta.end());
  }
  return hist;
}

TEST(Sgd, PlainIsGeometricOnQuadratic) {
  Sgd<double> opt;
  const auto h = run_quadratic<double>(opt, {1.0, -2.0}, {2.0, 0.5}, 3, 0.1);
  // θ_t = θ_0·(1 − η·a)^t
  EXPECT_DOUBLE_EQ(h[1][0], 0.8);
  EXPECT_DOUBLE_EQ(h[2][0], 0.64);
  EXPECT_NEAR(h[3][0], 0.512, 1e-15);
  EXPECT_NEAR(h[3][1], -2.0 * std::pow(0.95, 3), 1e-15);
  EXPECT_EQ(opt.steps(), 3u);
  EXPECT_TRUE(opt.state().empty());
}

TEST(Sgd, WeightDecayAddsToCurvature) {
  Sgd<double> opt(SgdOptions{0.0, 0.0, false, 0.5});
  const auto h = run_quadratic<double>(opt, {1.0}, {2.0}, 4, 0.1);
  for (int t = 0; t <= 4; ++t) EXPECT_NEAR(h[t][0], std::pow(1 - 0.1 * 2.5, t), 1e-15);
}

TEST(Sgd, MomentumConstantGradientClosedForm) {
  // Constant g: b_s = g·(1 − μ^s)/(1 − μ) (b_1 = g), θ_t = θ_0 − η·Σ_{s≤t} b_s;
  // Nesterov: θ_t = θ_0 − η·Σ_{s≤t} (g + μ·b_s).
  const double mu = 0.9, eta = 0.01, g = 3.0;
  for (bool nesterov : {false, true}) {
    Sgd<double> opt(SgdOptions{mu, 0.0, nesterov, 0.0});
    double theta = 1.0, expected = 1.0;
    const double grad = g;
    for (int s = 1; s <= 5; ++s) {
      opt.step(&theta, &grad, 1, eta);
      const double b = g * (1 - std::pow(mu, s)) / (1 - mu);
      expected -= eta * (nesterov ? g + mu * b : b);
      EXPECT_NEAR(theta, expected, 1e-14) << "nesterov " << nesterov << " step " << s;
    }
    ASSERT_EQ(opt.state().size(), 1u);
    EXPECT_EQ(opt.state()[0].name, "momentum_buffer");
    EXPECT_NEAR(opt.state()[0].data[0], g * (1 - std::pow(mu, 5)) / (1 - mu), 1e-13);
  }
}

TEST(Sgd, DampeningAndWeightDecayRecurrence) {
  const double mu = 0.5, tau = 0.25, wd = 0.1, eta = 0.2;
  Sgd<double> opt(SgdOptions{mu, tau, false, wd});
  const auto h = run_quadratic<double>(opt, {2.0}, {1.5}, 4, eta);
  double theta = 2.0, b = 0;
  for (int s = 1; s <= 4; ++s) {
    const double g = 1.5 * theta + wd * theta;
    b = s == 1 ? g : mu * b + (1 - tau) * g;  // the first buffer is g, undamped (PyTorch)
    theta -= eta * b;
    EXPECT_NEAR(h[s][0], theta, 1e-15);
  }
}

TEST(AdaGrad, ConstantGradientClosedForm) {
  // s_t = s_0 + t·g², θ_t = θ_0 − Σ_s η_s·g/(√s_s + ε), η_s = η/(1 + (s − 1)·decay).
  const double g = -0.5, eta = 0.1, s0 = 0.2, decay = 0.3;
  AdaGrad<double> opt(AdaGradOptions{1e-10, s0, decay, 0.0});
  double theta = 1.0, expected = 1.0;
  for (int s = 1; s <= 4; ++s) {
    opt.step(&theta, &g, 1, eta);
    expected -= eta / (1 + (s - 1) * decay) * g / (std::sqrt(s0 + s * g * g) + 1e-10);
    EXPECT_NEAR(theta, expected, 1e-15);
    EXPECT_NEAR(opt.accumulator()[0], s0 + s * g * g, 1e-15);
  }
  EXPECT_EQ(opt.state()[0].name, "sum");
}

TEST(AdaGrad, FirstStepIsSignStepAndEpsIsOutsideTheRoot) {
  AdaGrad<double> opt;  // s_0 = 0, ε = 1e-10
  std::vector<double> theta = {1.0, 1.0, 1.0};
  const std::vector<double> g = {4.0, -1e-3, 0.0};
  opt.step(theta.data(), g.data(), 3, 0.5);
  EXPECT_NEAR(theta[0], 1.0 - 0.5 * 4.0 / (4.0 + 1e-10), 1e-16);
  EXPECT_NEAR(theta[1], 1.0 + 0.5 * 1e-3 / (1e-3 + 1e-10), 1e-15);
  EXPECT_EQ(theta[2], 1.0);  // 0/(0 + ε): no NaN
}

TEST(AdaGrad, WeightDecayRecurrence) {
  AdaGrad<float> opt(AdaGradOptions{1e-10, 0.1, 0.0, 0.01});
  const auto h = run_quadratic<float>(opt, {1.0F, -3.0F}, {2.0, 0.25}, 5, 0.05);
  for (std::size_t i = 0; i < 2; ++i) {
    double theta = i == 0 ? 1.0 : -3.0, s = 0.1;
    const double a = i == 0 ? 2.0 : 0.25;
    for (int t = 1; t <= 5; ++t) {
      const double g = a * theta + 0.01 * theta;
      s += g * g;
      theta -= 0.05 * g / (std::sqrt(s) + 1e-10);
      EXPECT_NEAR(h[t][i], theta, 1e-6);
    }
  }
}

TEST(Adam, ConstantGradientGivesSignSteps) {
  // Constant g: m̂ = g and v̂ = g² at every t, so each step moves η·g/(|g| + ε).
  const double g = 0.02, eta = 0.001, eps = 1e-8;
  Adam<double> opt;
  double theta = 0.5;
  for (int s = 1; s <= 6; ++s) {
    opt.step(&theta, &g, 1, eta);
    EXPECT_NEAR(theta, 0.5 - s * eta * g / (g + eps), 1e-15);
  }
  const auto st = opt.state();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "exp_avg");
  EXPECT_NEAR(st[0].data[0], g * (1 - std::pow(0.9, 6)), 1e-16);
  EXPECT_NEAR(st[1].data[0], g * g * (1 - std::pow(0.999, 6)), 1e-18);
}

TEST(Adam, QuadraticRecurrenceWithL2AndDecoupledDecay) {
  for (bool decoupled : {false, true}) {
    const double b1 = 0.8, b2 = 0.95, eps = 1e-6, wd = 0.1, eta = 0.05;
    Adam<double> opt(AdamOptions{b1, b2, eps, wd, decoupled});
    EXPECT_STREQ(opt.name(), decoupled ? "adamw" : "adam");
    const auto h = run_quadratic<double>(opt, {1.0}, {3.0}, 5, eta);
    double theta = 1.0, m = 0, v = 0;
    for (int t = 1; t <= 5; ++t) {
      double g = 3.0 * theta;
      if (decoupled) {
        theta *= 1 - eta * wd;
        g = 3.0 * (theta / (1 - eta * wd));  // the gradient was taken before the decay
      } else {
        g += wd * theta;
      }
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const double mhat = m / (1 - std::pow(b1, t));
      const double vhat = v / (1 - std::pow(b2, t));
      theta -= eta * mhat / (std::sqrt(vhat) + eps);
      EXPECT_NEAR(h[t][0], theta, 1e-14) << "decoupled " << decoupled << " t " << t;
    }
  }
}

// A gradient that is non-zero only at step 1: the moments then decay geometrically. They must
// reach exactly 0 without passing through the subnormal range (lib/kernels/update_simd.hpp), and
// the parameters must still follow the unflushed recurrence, evaluated here in double.
TEST(Optimizer, DecayingStateSkipsSubnormalsWithoutChangingTheParameters) {
  const auto is_subnormal = [](float x) {
    return x != 0 && std::abs(x) < std::numeric_limits<float>::min();
  };
  const int steps = 2000;
  const double eta = 0.01, g0 = 0.3;
  for (auto kind : {OptimizerKind::Sgd, OptimizerKind::Adam}) {
    OptimizerConfig cfg;
    cfg.kind = kind;
    cfg.momentum = 0.9;
    auto opt = make_optimizer<float>(cfg);
    float theta = 0.25F;
    double ref = 0.25, m = 0, v = 0;
    bool reached_zero = false;
    for (int t = 1; t <= steps; ++t) {
      const float g = t == 1 ? static_cast<float>(g0) : 0.0F;
      opt->step(&theta, &g, 1, eta);
      if (kind == OptimizerKind::Sgd) {
        m = t == 1 ? g0 : 0.9 * m + g;
        ref -= eta * m;
      } else {
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * double(g) * g;
        ref -= eta / (1 - std::pow(0.9, t)) * m / (std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8);
      }
      for (const auto& buf : opt->state()) {
        ASSERT_FALSE(is_subnormal(buf.data[0])) << to_string(kind) << " " << buf.name << " t " << t;
        reached_zero = reached_zero || buf.data[0] == 0;
      }
    }
    // Momentum 0.9 from 0.3 falls below 2^-126 after ~820 steps; the float run must be there.
    EXPECT_TRUE(reached_zero) << to_string(kind);
    EXPECT_NEAR(theta, ref, 32 * std::numeric_limits<float>::epsilon() * std::abs(ref))
        << to_string(kind);
  }
}

TEST(Optimizer, StateRoundTripsThroughACheckpoint) {
  // Run 3 steps, copy state + step count into a fresh optimizer, continue both: same result.
  for (auto kind :
       {OptimizerKind::Sgd, OptimizerKind::AdaGrad, OptimizerKind::Adam, OptimizerKind::AdamW}) {
    OptimizerConfig cfg;
    cfg.kind = kind;
    cfg.momentum = kind == OptimizerKind::Sgd ? 0.9 : 0.0;
    auto a = make_optimizer<float>(cfg);
    auto b = make_optimizer<float>(cfg);
    EXPECT_STREQ(a->name(), to_string(kind));
    std::vector<float> pa = {1, 2, 3}, pb;
    const std::vector<float> g1 = {0.5F, -1, 2}, g2 = {1, 1, -1};
    for (int s = 0; s < 3; ++s) a->step(pa.data(), g1.data(), 3, 0.1);
    pb = pa;
    b->reset(3);
    auto sa = a->state();
    auto sb = b->state();
    ASSERT_EQ(sa.size(), sb.size());
    for (std::size_t k = 0; k < sa.size(); ++k)
      for (std::size_t i = 0; i < 3; ++i) sb[k].data[i] = sa[k].data[i];
    b->set_steps(a->steps());
    a->step(pa.data(), g2.data(), 3, 0.1);
    b->step(pb.data(), g2.data(), 3, 0.1);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(pa[i], pb[i]) << to_string(kind);
  }
}

// P above the parallel threshold (lib/core/parallel.hpp) is split into ranges that are not
// multiples of the SIMD width: the parameters and every state buffer must be bitwise the same as
// with one thread.
TEST(Optimizer, LargeStepsAreBitwiseIndependentOfTheThreadCount) {
  const std::size_t n = 200003;
  std::vector<float> p0(n);
  std::vector<std::vector<float>> grads(4, std::vector<float>(n));
  for (std::size_t i = 0; i < n; ++i) {
    p0[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    for (std::size_t s = 0; s < grads.size(); ++s)
      grads[s][i] = i % 7 == 0 ? 0.0F : static_cast<float>(std::cos(0.11 * double(i) + double(s)));
  }
  std::vector<OptimizerConfig> configs(5);
  configs[0].kind = OptimizerKind::Sgd;
  configs[1].kind = OptimizerKind::Sgd;
  configs[1].momentum = 0.9;
  configs[1].nesterov = true;
  configs[1].weight_decay = 1e-3;
  configs[2].kind = OptimizerKind::AdaGrad;
  configs[3].kind = OptimizerKind::Adam;
  configs[4].kind = OptimizerKind::AdamW;
  configs[4].weight_decay = 0.01;
  for (const auto& cfg : configs) {
    const auto run = [&](std::size_t threads) {
      ThreadLimit limit(threads);
      auto opt = make_optimizer<float>(cfg);
      std::vector<float> p = p0;
      for (const auto& g : grads) opt->step(p.data(), g.data(), n, 0.01);
      std::vector<std::vector<float>> out{p};
      for (const auto& b : opt->state()) out.emplace_back(b.data, b.data + b.size);
      return out;
    };
    const auto one = run(1);
    const auto many = run(std::max<std::size_t>(4, max_threads()));
    ASSERT_EQ(one.size(), many.size());
    for (std::size_t k = 0; k < one.size(); ++k) {
      ASSERT_EQ(one[k].size(), n);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(one[k][i], many[k][i]) << to_string(cfg.kind) << " buffer " << k << " i " << i;
    }
    EXPECT_NE(one[0], p0) << to_string(cfg.kind);  // the steps did move the parameters
  }
}

TEST(Optimizer, RejectsBadArguments) {
  Sgd<float> sgd;
  std::vector<float> p(4), g(4);
  EXPECT_THROW(sgd.step(p.data(), g.data(), 4, -0.1), InvalidArgument);
  EXPECT_THROW(sgd.step(p.data(), g.data(), 4, std::nan("")), InvalidArgument);
  sgd.step(p.data(), g.data(), 4, 0.1);
  EXPECT_THROW(sgd.step(p.data(), g.data(), 3, 0.1), InvalidArgument);
  EXPECT_THROW(Sgd<float>(SgdOptions{1.0}), InvalidArgument);
  EXPECT_THROW(Sgd<float>(SgdOptions{0.0, 0.0, true}), InvalidArgument);
  EXPECT_THROW(AdaGrad<float>(AdaGradOptions{-1.0}), InvalidArgument);
  EXPECT_THROW(Adam<float>(AdamOptions{1.0}), InvalidArgument);
  EXPECT_THROW((void)parse_optimizer_kind("rmsprop"), InvalidArgument);
  EXPECT_EQ(parse_optimizer_kind("adamw"), OptimizerKind::AdamW);
}

}  // namespace
}  // namespace catapult::optim
