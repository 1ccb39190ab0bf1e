// Mlp: forward against a naive double network, backward against central finite differences of a
// naive loss, JVP against finite differences, VJP/JVP adjointness, initialisation statistics.
#include "catapult/nn/mlp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "catapult/core/threading.hpp"
#include "catapult/kernels/elementwise.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/optim/optimizer.hpp"
#include "naive_mlp.hpp"
#include "support/reference.hpp"

namespace catapult {
namespace {

using kernels::Activation;
using nn::LossKind;
using nn::MlpConfig;
using nn::MseReduction;
using nn::Parameterization;

std::vector<double> to_vector(const nn::Mlp<double>& net) {
  return {net.params(), net.params() + net.num_params()};
}

// The loss written from its formula, in double (independent of loss.cpp).
double naive_loss(LossKind kind, MseReduction red, const Matrix<double>& f,
                  const std::vector<std::uint8_t>& labels) {
  const double n = static_cast<double>(f.rows()), k = static_cast<double>(f.cols());
  double total = 0;
  for (std::size_t i = 0; i < f.rows(); ++i) {
    if (kind == LossKind::CrossEntropy) {
      double s = 0;
      for (std::size_t j = 0; j < f.cols(); ++j) s += std::exp(f(i, j));
      total += std::log(s) - f(i, labels[i]);
    } else {
      for (std::size_t j = 0; j < f.cols(); ++j) {
        const double e = f(i, j) - (j == labels[i] ? 1.0 : 0.0);
        total += e * e;
      }
    }
  }
  if (kind == LossKind::CrossEntropy) return total / n;
  switch (red) {
    case MseReduction::Mean:
      return total / (n * k);
    case MseReduction::Sum:
      return total;
    case MseReduction::HalfSum:
      return total / 2;
    case MseReduction::SampleMean:
      return total / n;
    case MseReduction::HalfSampleMean:
      return total / (2 * n);
  }
  return total;
}

MlpConfig small_config(Activation act, Parameterization p, bool bias = true,
                       Activation out_act = Activation::Identity) {
  MlpConfig c;
  c.widths = {5, 4, 3, 2};
  c.hidden_activation = act;
  c.output_activation = out_act;
  c.bias = bias;
  c.parameterization = p;
  return c;
}

std::string describe(const MlpConfig& c) {
  return str_cat("hidden=", kernels::to_string(c.hidden_activation),
                 " out=", kernels::to_string(c.output_activation),
                 " param=", nn::to_string(c.parameterization), " bias=", c.bias);
}

const Activation kActs[] = {Activation::Relu, Activation::Tanh, Activation::Identity};
const Parameterization kParams[] = {Parameterization::Standard, Parameterization::Ntk};

TEST(Mlp, LayoutAndViews) {
  nn::Mlp<float> net(
      MlpConfig{{5, 4, 3}, Activation::Relu, Activation::Identity, true, Parameterization::Ntk});
  EXPECT_EQ(net.num_params(), 4u * 5 + 4 + 3 * 4 + 3);
  EXPECT_EQ(net.num_layers(), 2u);
  EXPECT_EQ(net.weight_offset(0), 0u);
  EXPECT_EQ(net.weight_offset(1), 24u);
  const auto l1 = net.layer(1);
  EXPECT_EQ(l1.weight.data(), net.params() + 24);
  EXPECT_EQ(l1.weight.rows(), 3u);
  EXPECT_EQ(l1.weight.cols(), 4u);
  EXPECT_EQ(l1.bias, net.params() + 24 + 12);
  EXPECT_FLOAT_EQ(l1.scale, 0.5F);
  EXPECT_EQ(l1.activation, Activation::Identity);
  EXPECT_EQ(net.layer(0).activation, Activation::Relu);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(net.params()) % kAlignment, 0u);

  nn::Mlp<double> nobias(
      MlpConfig{{3, 2}, Activation::Relu, Activation::Identity, false, Parameterization::Standard});
  EXPECT_EQ(nobias.num_params(), 6u);
  EXPECT_EQ(nobias.layer(0).bias, nullptr);
  EXPECT_EQ(nobias.layer(0).scale, 1.0);
}

TEST(Mlp, RejectsBadConfigAndShapes) {
  EXPECT_THROW(nn::Mlp<float>(MlpConfig{{5}}), InvalidArgument);
  EXPECT_THROW(nn::Mlp<float>(MlpConfig{{5, 0, 2}}), InvalidArgument);
  nn::Mlp<float> net(MlpConfig{{3, 2}});
  Matrix<float> x(4, 3), bad_x(4, 2), out(4, 2), bad_out(3, 2);
  EXPECT_THROW(net.forward(bad_x.cview(), out.view()), InvalidArgument);
  EXPECT_THROW(net.forward(x.cview(), bad_out.view()), InvalidArgument);
  nn::ForwardCache<float> empty;
  std::vector<float> g(net.num_params());
  EXPECT_THROW(net.backward(empty, out.cview(), g.data()), InvalidArgument);
  EXPECT_THROW((void)nn::parse_activation("sigmoid"), InvalidArgument);
  EXPECT_THROW((void)nn::parse_parameterization("mup"), InvalidArgument);
  EXPECT_EQ(nn::parse_activation("tanh"), Activation::Tanh);
  EXPECT_EQ(nn::parse_parameterization("ntk"), Parameterization::Ntk);
}

template <class T>
void check_forward(const MlpConfig& cfg, std::uint64_t seed) {
  SCOPED_TRACE(describe(cfg) + " seed=" + std::to_string(seed));
  nn::Mlp<T> net(cfg);
  Rng rng(seed);
  net.init(rng);
  const std::size_t batch = 7;
  Matrix<T> x(batch, cfg.widths.front());
  test::fill_uniform(x.view(), rng);
  Matrix<double> xd(batch, cfg.widths.front());
  for (std::size_t i = 0; i < x.size(); ++i) xd.data()[i] = x.data()[i];
  std::vector<double> theta(net.params(), net.params() + net.num_params());
  const auto ref = test::naive_mlp_forward(cfg, theta, xd);

  Matrix<T> out(batch, cfg.widths.back()), out2(batch, cfg.widths.back());
  nn::ForwardCache<T> cache;
  net.forward(x.cview(), out.view());
  net.forward(x.cview(), out2.view(), &cache);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  for (std::size_t i = 0; i < batch; ++i)
    for (std::size_t j = 0; j < cfg.widths.back(); ++j) {
      EXPECT_NEAR(out(i, j), ref(i, j), tol * (1 + std::abs(ref(i, j))));
      EXPECT_EQ(out(i, j), out2(i, j));  // the cache does not change the result
    }
  ASSERT_EQ(cache.inputs.size(), net.num_layers());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(cache.inputs[0].data()[i], x.data()[i]);
}

TEST(Mlp, ForwardMatchesNaiveDouble) {
  for (auto act : kActs)
    for (auto p : kParams)
      for (bool bias : {true, false}) {
        MlpConfig cfg = small_config(act, p, bias, Activation::Tanh);
        cfg.widths = {13, 17, 9, 4};
        check_forward<float>(cfg, 11);
        check_forward<double>(cfg, 12);
      }
}

// Every activation × loss × parameterization: backward (through the loss's d_out) against
// central differences of the naive loss, in double. Also ∂L/∂x.
TEST(Mlp, GradientMatchesFiniteDifferences) {
  struct LossCase {
    LossKind kind;
    MseReduction red;
  };
  const LossCase losses[] = {{LossKind::Mse, MseReduction::Mean},
                             {LossKind::Mse, MseReduction::Sum},
                             {LossKind::Mse, MseReduction::HalfSampleMean},
                             {LossKind::CrossEntropy, MseReduction::Mean}};
  const std::vector<std::uint8_t> labels = {1, 0, 1};
  std::uint64_t seed = 100;
  for (auto act : kActs)
    for (auto p : kParams)
      for (const auto& lc : losses)
        for (bool bias : {true, false}) {
          const MlpConfig cfg = small_config(act, p, bias);
          SCOPED_TRACE(describe(cfg) + " loss=" + nn::to_string(lc.kind) +
                       " red=" + nn::to_string(lc.red) + " seed=" + std::to_string(seed));
          nn::Mlp<double> net(cfg);
          Rng rng(seed++);
          net.init(rng);
          Matrix<double> x(3, 5);
          test::fill_uniform(x.view(), rng);
          Matrix<double> out(3, 2), d_out(3, 2), d_x(3, 5);
          nn::ForwardCache<double> cache;
          net.forward(x.cview(), out.view(), &cache);
          nn::LossConfig loss{lc.kind, lc.red};
          const double value = nn::evaluate_loss(loss, out.cview(), labels, d_out.view());
          std::vector<double> theta = to_vector(net);
          EXPECT_NEAR(value,
                      naive_loss(lc.kind, lc.red, test::naive_mlp_forward(cfg, theta, x), labels),
                      1e-12 * (1 + std::abs(value)));
          std::vector<double> grad(net.num_params());
          net.backward(cache, d_out.cview(), grad.data(), d_x.view());
          // The input gradient alone (no d_params, weight gradients skipped) is the same bits.
          Matrix<double> d_x_only(3, 5);
          net.backward(cache, d_out.cview(), nullptr, d_x_only.view());
          for (std::size_t q = 0; q < x.size(); ++q)
            EXPECT_EQ(d_x_only.data()[q], d_x.data()[q]) << "input-only d_x " << q;
          EXPECT_THROW(net.backward(cache, d_out.cview(), nullptr), InvalidArgument);
          const double h = 1e-6;
          for (std::size_t q = 0; q < theta.size(); ++q) {
            auto tp = theta, tm = theta;
            tp[q] += h;
            tm[q] -= h;
            const double fd =
                (naive_loss(lc.kind, lc.red, test::naive_mlp_forward(cfg, tp, x), labels) -
                 naive_loss(lc.kind, lc.red, test::naive_mlp_forward(cfg, tm, x), labels)) /
                (2 * h);
            EXPECT_NEAR(grad[q], fd, 1e-6 * (1 + std::abs(fd))) << "parameter " << q;
          }
          for (std::size_t q = 0; q < x.size(); ++q) {
            Matrix<double> xp = x, xm = x;
            xp.data()[q] += h;
            xm.data()[q] -= h;
            const double fd =
                (naive_loss(lc.kind, lc.red, test::naive_mlp_forward(cfg, theta, xp), labels) -
                 naive_loss(lc.kind, lc.red, test::naive_mlp_forward(cfg, theta, xm), labels)) /
                (2 * h);
            EXPECT_NEAR(d_x.data()[q], fd, 1e-6 * (1 + std::abs(fd))) << "input " << q;
          }
        }
}

// A non-identity output activation goes through the same path (dZ = d_out ⊙ act').
TEST(Mlp, GradientWithTanhOutput) {
  const MlpConfig cfg =
      small_config(Activation::Relu, Parameterization::Ntk, true, Activation::Tanh);
  nn::Mlp<double> net(cfg);
  Rng rng(7);
  net.init(rng);
  Matrix<double> x(3, 5), out(3, 2), d_out(3, 2);
  test::fill_uniform(x.view(), rng);
  nn::ForwardCache<double> cache;
  net.forward(x.cview(), out.view(), &cache);
  const std::vector<std::uint8_t> labels = {0, 1, 1};
  (void)nn::evaluate_loss(nn::LossConfig{}, out.cview(), labels, d_out.view());
  std::vector<double> grad(net.num_params());
  net.backward(cache, d_out.cview(), grad.data());
  auto theta = to_vector(net);
  for (std::size_t q = 0; q < theta.size(); ++q) {
    auto tp = theta, tm = theta;
    tp[q] += 1e-6;
    tm[q] -= 1e-6;
    const double fd = (naive_loss(LossKind::Mse, MseReduction::Mean,
                                  test::naive_mlp_forward(cfg, tp, x), labels) -
                       naive_loss(LossKind::Mse, MseReduction::Mean,
                                  test::naive_mlp_forward(cfg, tm, x), labels)) /
                      2e-6;
    EXPECT_NEAR(grad[q], fd, 1e-7 * (1 + std::abs(fd))) << "parameter " << q;
  }
}

TEST(Mlp, JvpMatchesFiniteDifferences) {
  std::uint64_t seed = 300;
  for (auto act : kActs)
    for (auto p : kParams)
      for (bool bias : {true, false}) {
        const MlpConfig cfg = small_config(act, p, bias, Activation::Identity);
        SCOPED_TRACE(describe(cfg) + " seed=" + std::to_string(seed));
        nn::Mlp<double> net(cfg);
        Rng rng(seed++);
        net.init(rng);
        Matrix<double> x(3, 5);
        test::fill_uniform(x.view(), rng);
        std::vector<double> v(net.num_params());
        for (auto& e : v) e = rng.uniform(-1, 1);
        Matrix<double> tangent(3, 2), out(3, 2);
        net.jvp(x.cview(), v.data(), tangent.view(), out.view());
        const auto theta = to_vector(net);
        auto tp = theta, tm = theta;
        const double h = 1e-6;
        for (std::size_t q = 0; q < theta.size(); ++q) {
          tp[q] += h * v[q];
          tm[q] -= h * v[q];
        }
        const auto fp = test::naive_mlp_forward(cfg, tp, x);
        const auto fm = test::naive_mlp_forward(cfg, tm, x);
        const auto f0 = test::naive_mlp_forward(cfg, theta, x);
        for (std::size_t i = 0; i < tangent.size(); ++i) {
          const double fd = (fp.data()[i] - fm.data()[i]) / (2 * h);
          EXPECT_NEAR(tangent.data()[i], fd, 1e-6 * (1 + std::abs(fd)));
          EXPECT_NEAR(out.data()[i], f0.data()[i], 1e-13);
        }
        // Without the optional out, and from a forward cache: the same products.
        Matrix<double> tangent2(3, 2), tangent3(3, 2), f(3, 2);
        net.jvp(x.cview(), v.data(), tangent2.view());
        nn::ForwardCache<double> cache;
        net.forward(x.cview(), f.view(), &cache);
        net.jvp(cache, v.data(), tangent3.view());
        for (std::size_t i = 0; i < tangent.size(); ++i) {
          EXPECT_EQ(tangent2.data()[i], tangent.data()[i]);
          EXPECT_EQ(tangent3.data()[i], tangent.data()[i]);
        }
      }
}

// ⟨Jᵀu, v⟩ = ⟨u, Jv⟩ in double (tight) and float (loose) on a deeper, wider net.
template <class T>
void check_adjoint(Activation act, Parameterization p, double tol) {
  MlpConfig cfg;
  cfg.widths = {20, 33, 17, 6};
  cfg.hidden_activation = act;
  cfg.parameterization = p;
  SCOPED_TRACE(describe(cfg));
  nn::Mlp<T> net(cfg);
  Rng rng(42);
  net.init(rng);
  const std::size_t batch = 9;
  Matrix<T> x(batch, 20), u(batch, 6), out(batch, 6), jv(batch, 6);
  test::fill_uniform(x.view(), rng);
  test::fill_uniform(u.view(), rng);
  std::vector<T> v(net.num_params()), jtu(net.num_params());
  for (auto& e : v) e = static_cast<T>(rng.uniform(-1, 1));
  nn::ForwardCache<T> cache;
  net.forward(x.cview(), out.view(), &cache);
  net.backward(cache, u.cview(), jtu.data());
  net.jvp(x.cview(), v.data(), jv.view());
  double lhs = 0, rhs = 0, scale = 0;
  for (std::size_t q = 0; q < v.size(); ++q) {
    lhs += static_cast<double>(jtu[q]) * v[q];
    scale += std::abs(static_cast<double>(jtu[q]) * v[q]);
  }
  for (std::size_t i = 0; i < u.size(); ++i) rhs += static_cast<double>(u.data()[i]) * jv.data()[i];
  EXPECT_NEAR(lhs, rhs, tol * scale);
}

TEST(Mlp, VjpIsAdjointOfJvp) {
  for (auto act : kActs)
    for (auto p : kParams) {
      check_adjoint<double>(act, p, 1e-13);
      check_adjoint<float>(act, p, 1e-5);
    }
}

TEST(Mlp, InitStatistics) {
  for (auto p : kParams) {
    MlpConfig cfg;
    cfg.widths = {400, 300, 10};
    cfg.parameterization = p;
    nn::Mlp<float> net(cfg);
    Rng rng(5);
    net.init(rng);
    for (std::size_t l = 0; l < 2; ++l) {
      const auto lv = net.layer(l);
      const std::size_t nw = lv.d_out * lv.d_in;
      double sum = 0, sq = 0, maxabs = 0;
      for (std::size_t i = 0; i < nw; ++i) {
        const double w = lv.weight.data()[i];
        sum += w;
        sq += w * w;
        maxabs = std::max(maxabs, std::abs(w));
      }
      const double mean = sum / static_cast<double>(nw),
                   var = sq / static_cast<double>(nw) - mean * mean;
      const double bound = 1 / std::sqrt(static_cast<double>(lv.d_in));
      // Expected variance: bound²/3 (uniform) or 1 (normal); tolerance ~ 5 standard errors.
      const double expected_var = p == Parameterization::Standard ? bound * bound / 3 : 1.0;
      const double se_var = expected_var * std::sqrt(2.0 / static_cast<double>(nw)) * 5;
      EXPECT_NEAR(var, expected_var, se_var) << "layer " << l;
      EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(expected_var / static_cast<double>(nw)));
      if (p == Parameterization::Standard) {
        EXPECT_LE(maxabs, bound);
        EXPECT_GT(maxabs, 0.99 * bound);
        for (std::size_t i = 0; i < lv.d_out; ++i) EXPECT_LE(std::abs(lv.bias[i]), bound);
      } else {
        EXPECT_GT(maxabs, 3.0);  // normal tails, not a bounded uniform
      }
    }
    // Same seed, same parameters.
    nn::Mlp<float> again(cfg);
    Rng rng2(5);
    again.init(rng2);
    for (std::size_t q = 0; q < net.num_params(); ++q)
      ASSERT_EQ(net.params()[q], again.params()[q]);
  }
}

// The fused step (backward_update with Optimizer::fused_step) against backward into a gradient
// and Optimizer::step: the same parameters and optimizer state, bitwise (the same kernels compute
// every entry in the same order), for every optimizer, over several steps; batch 600 spans two K
// blocks of the weight-gradient GEMMs. ‖g‖² against the squared norm of the stored gradient.
template <class T>
void check_fused_step(const MlpConfig& cfg, std::size_t batch, const optim::OptimizerConfig& oc,
                      const std::string& what) {
  nn::Mlp<T> fused(cfg), plain(cfg);
  Rng rng(batch + cfg.widths[1]);
  fused.init(rng);
  std::copy(fused.params(), fused.params() + fused.num_params(), plain.params());
  auto opt_fused = optim::make_optimizer<T>(oc);
  auto opt_plain = optim::make_optimizer<T>(oc);
  const std::size_t p = fused.num_params();
  Matrix<T> x(batch, cfg.widths.front()), out(batch, cfg.widths.back()),
      d_out(batch, cfg.widths.back());
  std::vector<std::uint8_t> labels(batch);
  nn::ForwardCache<T> cache_fused, cache_plain;
  std::vector<T> g(p);
  for (int step = 0; step < 3; ++step) {
    test::fill_uniform(x.view(), rng);
    for (auto& l : labels) l = static_cast<std::uint8_t>(rng.uniform_index(cfg.widths.back()));
    const double lr = 0.05 / (1 + step);
    plain.forward(x.cview(), out.view(), &cache_plain);
    (void)nn::mse_loss_labels<T>(out.cview(), labels, d_out.view());
    plain.backward(cache_plain, d_out.cview(), g.data());
    const double g_sq = kernels::squared_norm(g.data(), p);
    opt_plain->step(plain.params(), g.data(), p, lr);

    fused.forward(x.cview(), out.view(), &cache_fused);
    (void)nn::mse_loss_labels<T>(out.cview(), labels, d_out.view());
    const double sq = fused.backward_update(cache_fused, d_out.cview(),
                                            opt_fused->fused_step(fused.params(), p, lr));
    opt_fused->commit_fused_step();

    const std::string where = str_cat(what, " batch ", batch, " step ", step);
    EXPECT_NEAR(sq, g_sq, (sizeof(T) == 4 ? 1e-5 : 1e-13) * g_sq) << where;
    ASSERT_EQ(opt_fused->steps(), opt_plain->steps()) << where;
    for (std::size_t q = 0; q < p; ++q)
      ASSERT_EQ(fused.params()[q], plain.params()[q]) << where << " parameter " << q;
    const auto sf = std::as_const(*opt_fused).state();
    const auto sp = std::as_const(*opt_plain).state();
    ASSERT_EQ(sf.size(), sp.size());
    for (std::size_t b = 0; b < sf.size(); ++b)
      for (std::size_t q = 0; q < p; ++q)
        ASSERT_EQ(sf[b].data[q], sp[b].data[q]) << where << " " << sf[b].name << " " << q;
  }
}

template <class T>
class MlpFusedStep : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MlpFusedStep, Scalars);

TYPED_TEST(MlpFusedStep, BackwardUpdateIsBackwardThenStep) {
  using optim::OptimizerKind;
  std::vector<std::pair<std::string, optim::OptimizerConfig>> opts;
  optim::OptimizerConfig c;
  opts.emplace_back("sgd", c);
  c.momentum = 0.9;
  c.dampening = 0.1;
  c.weight_decay = 0.01;
  opts.emplace_back("sgd momentum dampening wd", c);
  c.dampening = 0;
  c.nesterov = true;
  opts.emplace_back("sgd nesterov", c);
  c = {};
  c.kind = OptimizerKind::AdaGrad;
  c.weight_decay = 0.01;
  c.lr_decay = 0.1;
  opts.emplace_back("adagrad", c);
  c = {};
  c.kind = OptimizerKind::Adam;
  opts.emplace_back("adam", c);
  c.kind = OptimizerKind::AdamW;
  c.weight_decay = 0.01;
  opts.emplace_back("adamw", c);
  MlpConfig relu;
  relu.widths = {13, 33, 17, 3};
  MlpConfig tanh_out = relu;
  tanh_out.hidden_activation = Activation::Tanh;
  tanh_out.output_activation = Activation::Tanh;
  tanh_out.parameterization = Parameterization::Ntk;
  MlpConfig no_bias = relu;
  no_bias.bias = false;
  for (const auto& [name, oc] : opts) {
    for (const MlpConfig& cfg : {relu, tanh_out, no_bias})
      check_fused_step<TypeParam>(cfg, 9, oc, name + " " + describe(cfg));
    MlpConfig wide;
    wide.widths = {40, 70, 10};
    check_fused_step<TypeParam>(wide, 600, oc, name + " wide");
  }
}

// The elementwise passes of forward, backward and backward_update (the input copy, act' products,
// bias column sums) split large batches across threads by blocks of rows or columns: every
// output must have the same bits on one thread as on all of them. 160 × 500 and 160 × 520 are
// past the size at which they split (detail::kParallelMin elements).
TEST(Mlp, SameBitsOnOneThreadAndAll) {
  if (max_threads() < 2) GTEST_SKIP() << "needs at least 2 threads, this machine gives 1";
  MlpConfig cfg;
  cfg.widths = {500, 520, 10};
  cfg.hidden_activation = Activation::Tanh;
  cfg.output_activation = Activation::Tanh;
  const std::size_t batch = 160;
  struct Result {
    std::vector<float> out, grad, dx, updated;
  };
  const auto run = [&] {
    nn::Mlp<float> net(cfg);
    Rng rng(11);
    net.init(rng);
    Matrix<float> x(batch, 500), out(batch, 10), d_out(batch, 10), dx(batch, 500);
    test::fill_uniform(x.view(), rng);
    std::vector<std::uint8_t> labels(batch);
    for (auto& l : labels) l = static_cast<std::uint8_t>(rng.uniform_index(10));
    nn::ForwardCache<float> cache;
    net.forward(x.cview(), out.view(), &cache);
    (void)nn::mse_loss_labels<float>(out.cview(), labels, d_out.view());
    Result r;
    r.out.assign(out.data(), out.data() + out.size());
    r.grad.resize(net.num_params());
    net.backward(cache, d_out.cview(), r.grad.data(), dx.view());
    r.dx.assign(dx.data(), dx.data() + dx.size());
    auto opt = optim::make_optimizer<float>(optim::OptimizerConfig{});
    (void)net.backward_update(cache, d_out.cview(),
                              opt->fused_step(net.params(), net.num_params(), 0.1));
    opt->commit_fused_step();
    r.updated.assign(net.params(), net.params() + net.num_params());
    return r;
  };
  Result one;
  {
    ThreadLimit limit(1);
    one = run();
  }
  const Result all = run();
  const std::pair<const char*, const std::vector<float>*> parts[] = {
      {"output", &one.out}, {"gradient", &one.grad}, {"d_x", &one.dx}, {"updated", &one.updated}};
  const std::vector<float>* others[] = {&all.out, &all.grad, &all.dx, &all.updated};
  for (std::size_t k = 0; k < 4; ++k) {
    ASSERT_EQ(parts[k].second->size(), others[k]->size()) << parts[k].first;
    for (std::size_t q = 0; q < others[k]->size(); ++q)
      ASSERT_EQ((*parts[k].second)[q], (*others[k])[q]) << parts[k].first << " entry " << q;
  }
}

TEST(Mlp, BackwardUpdateRejectsAnotherNetworksParameters) {
  nn::Mlp<float> net(small_config(Activation::Relu, Parameterization::Standard));
  Rng rng(3);
  net.init(rng);
  Matrix<float> x(2, 5), out(2, 2), d_out(2, 2);
  test::fill_uniform(x.view(), rng);
  nn::ForwardCache<float> cache;
  net.forward(x.cview(), out.view(), &cache);
  std::vector<float> other(net.num_params());
  kernels::ParamUpdate<float> u;
  u.params = other.data();
  EXPECT_THROW((void)net.backward_update(cache, d_out.cview(), u), InvalidArgument);
  nn::ForwardCache<float> empty;
  u.params = net.params();
  EXPECT_THROW((void)net.backward_update(empty, d_out.cview(), u), InvalidArgument);
}

}  // namespace
}  // namespace catapult
