// `catapult ntk` end to end, as a user runs it: on a small network (64-64-4, ReLU, biases) and 30
// synthetic 8x8 images, the critical learning rate it prints in each mode is checked against an
// independent reference: the analytic Jacobian of the one-hidden-layer network written out here
// in double (itself checked against central differences of the naive forward pass of
// tests/nn/naive_mlp.hpp), K_full = J·Jᵀ, its blocks, and dense eigenvalues from Eigen. The full
// mode must print η_crit = n·k/λmax(K_full) (mean MSE) as "exact"; traced and output modes must
// print upper bounds (n·k/(λmax(K_traced)/k), n·k/λmax(K_cc)) that are ≥ it, and traced the lower
// bound n/λmax(K_traced), k² below its upper bound, all named as bounds.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/train/npz.hpp"
#include "nn/naive_mlp.hpp"
#include "reliability/subprocess.hpp"
#include "reliability/synthetic_data.hpp"
#include "reliability/temp_dir.hpp"

namespace catapult::test {
namespace {

namespace fs = std::filesystem;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

constexpr std::size_t kSamples = 30;
constexpr std::size_t kHidden = 64;
constexpr std::size_t kOutputs = 4;
constexpr std::uint64_t kSeed = 7;

// J [n·k, P] (row i·k + c = ∂f_c(x_i)/∂θ, parameters in mlp.hpp's flat layout) of the network
// f_c(x) = s_1·Σ_h W_1[c,h]·relu(z_h) + b_1[c], z_h = s_0·Σ_p W_0[h,p]·x_p + b_0[h], in double.
MatD analytic_jacobian(const nn::MlpConfig& cfg, const std::vector<double>& theta,
                       const Matrix<double>& x) {
  const std::size_t d = cfg.widths[0], h = cfg.widths[1], k = cfg.widths[2], n = x.rows();
  const bool ntk = cfg.parameterization == nn::Parameterization::Ntk;
  const double s0 = ntk ? 1.0 / std::sqrt(double(d)) : 1.0;
  const double s1 = ntk ? 1.0 / std::sqrt(double(h)) : 1.0;
  const std::size_t w0 = 0, b0 = h * d, w1 = b0 + h, b1 = w1 + k * h;
  MatD j = MatD::Zero(Eigen::Index(n * k), Eigen::Index(b1 + k));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t u = 0; u < h; ++u) {
      double z = theta[b0 + u];
      for (std::size_t p = 0; p < d; ++p) z += s0 * theta[w0 + u * d + p] * x(i, p);
      const double a = z > 0 ? z : 0.0;
      const double da = z > 0 ? 1.0 : 0.0;
      for (std::size_t c = 0; c < k; ++c) {
        const auto row = Eigen::Index(i * k + c);
        const double g = s1 * theta[w1 + c * h + u] * da;  // ∂f_c/∂z_u
        for (std::size_t p = 0; p < d; ++p) j(row, Eigen::Index(w0 + u * d + p)) = g * s0 * x(i, p);
        j(row, Eigen::Index(b0 + u)) = g;
        j(row, Eigen::Index(w1 + c * h + u)) = s1 * a;
      }
    }
    for (std::size_t c = 0; c < k; ++c) j(Eigen::Index(i * k + c), Eigen::Index(b1 + c)) = 1.0;
  }
  return j;
}

double largest_eigenvalue(const MatD& m) {
  const Eigen::SelfAdjointEigenSolver<MatD> es(m, Eigen::EigenvaluesOnly);
  return es.eigenvalues()(es.eigenvalues().size() - 1);  // ascending
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class NtkCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(data());
    write_synthetic_dataset(data(), kSamples, 5, /*seed=*/3);
    cfg_.widths = {64, kHidden, kOutputs};
    nn::Mlp<float> model(cfg_);
    Rng rng(kSeed);
    model.init(rng);
    train::export_weights_npz(model, weights());
    theta_.assign(model.params(), model.params() + model.num_params());

    data::LoadOptions load;
    load.verify_checksums = false;
    const data::Splits splits = data::load_mnist(data(), load);
    ASSERT_EQ(splits.train.size(), kSamples);
    x_ = Matrix<double>(kSamples, splits.train.dim());
    for (std::size_t i = 0; i < kSamples; ++i)
      for (std::size_t p = 0; p < x_.cols(); ++p) x_(i, p) = splits.train.images(i, p);
    jacobian_ = analytic_jacobian(cfg_, theta_, x_);
  }

  // `catapult ntk` on the synthetic samples and the exported weights; the JSON it writes.
  nlohmann::json ntk(const std::string& mode, const std::string& precision,
                     const std::vector<std::string>& more = {}) const {
    const fs::path out = dir_.path() / (mode + "-" + precision + ".json");
    std::vector<std::string> args = {"ntk",       "--dir", data().string(), "--no-verify",
                                     "--samples", "0",     "--model",       weights(),
                                     "--mode",    mode,    "--precision",   precision,
                                     "--method",  "dense", "--tolerance",   "1e-10",
                                     "--threads", "1",     "--out",         out.string()};
    args.insert(args.end(), more.begin(), more.end());
    const RunResult r = run_cli(args, dir_.path(), mode + "-" + precision);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_json(out);
  }

  fs::path data() const { return dir_.path() / "data"; }
  std::string weights() const { return (dir_.path() / "weights.npz").string(); }

  TempDir dir_;
  nn::MlpConfig cfg_;
  std::vector<double> theta_;
  Matrix<double> x_;
  MatD jacobian_;
};

// The oracle itself: J·v against central differences of the naive forward pass along random v.
TEST_F(NtkCli, ReferenceJacobianMatchesFiniteDifferences) {
  Rng rng(11);
  const std::size_t p = theta_.size();
  for (int trial = 0; trial < 3; ++trial) {
    Eigen::VectorXd v(static_cast<Eigen::Index>(p));
    for (Eigen::Index q = 0; q < v.size(); ++q) v(q) = rng.normal();
    v /= v.norm();
    const double eps = 1e-6;
    std::vector<double> plus = theta_, minus = theta_;
    for (std::size_t q = 0; q < p; ++q) {
      plus[q] += eps * v(Eigen::Index(q));
      minus[q] -= eps * v(Eigen::Index(q));
    }
    const Matrix<double> fp = naive_mlp_forward(cfg_, plus, x_);
    const Matrix<double> fm = naive_mlp_forward(cfg_, minus, x_);
    const Eigen::VectorXd jv = jacobian_ * v;
    for (std::size_t i = 0; i < kSamples; ++i)
      for (std::size_t c = 0; c < kOutputs; ++c) {
        const double fd = (fp(i, c) - fm(i, c)) / (2 * eps);
        EXPECT_NEAR(jv(Eigen::Index(i * kOutputs + c)), fd, 1e-6 * (1 + std::abs(fd)))
            << "trial " << trial << ", sample " << i << ", output " << c;
      }
  }
}

TEST_F(NtkCli, PrintsTheCriticalRateInFullModeAndNamedBoundsOtherwise) {
  const auto n = double(kSamples), k = double(kOutputs);
  const auto nk = Eigen::Index(kSamples * kOutputs);
  const MatD full = jacobian_ * jacobian_.transpose();  // [n·k, n·k], sample-major
  ASSERT_EQ(full.rows(), nk);
  // Blocks K_cc (rows i·k + c) and the traced kernel Σ_c K_cc.
  std::vector<MatD> block(kOutputs, MatD(Eigen::Index(kSamples), Eigen::Index(kSamples)));
  MatD traced = MatD::Zero(Eigen::Index(kSamples), Eigen::Index(kSamples));
  for (std::size_t c = 0; c < kOutputs; ++c) {
    for (std::size_t i = 0; i < kSamples; ++i)
      for (std::size_t j = 0; j < kSamples; ++j)
        block[c](Eigen::Index(i), Eigen::Index(j)) =
            full(Eigen::Index(i * kOutputs + c), Eigen::Index(j * kOutputs + c));
    traced += block[c];
  }
  const double eta_ref = n * k / largest_eigenvalue(full);  // mean MSE: η = n·k/λmax(K_full)
  const double lambda_traced = largest_eigenvalue(traced);
  const std::size_t out_c = 2;
  const double lambda_output = largest_eigenvalue(block[out_c]);

  // Full: the rate itself, in double to 1e-8 and in float (the default) to 1e-4.
  const auto f = ntk("full", "double");
  EXPECT_EQ(f.at("eta_crit_kind"), "exact") << f.dump(2);
  const double eta_full = f.at("eta_crit_gd_mean_mse").get<double>();
  EXPECT_NEAR(eta_full, eta_ref, 1e-8 * eta_ref) << f.dump(2);
  EXPECT_FALSE(f.contains("eta_crit_gd_mean_mse_upper_bound"));
  const auto ff = ntk("full", "float");
  EXPECT_NEAR(ff.at("eta_crit_gd_mean_mse").get<double>(), eta_ref, 1e-4 * eta_ref);

  // Traced: [n/λ_t, n·k²/λ_t] holds η_crit; no value under the exact name.
  const auto t = ntk("traced", "double");
  EXPECT_EQ(t.at("eta_crit_kind"), "upper_bound") << t.dump(2);
  EXPECT_FALSE(t.contains("eta_crit_gd_mean_mse")) << t.dump(2);
  const double t_upper = t.at("eta_crit_gd_mean_mse_upper_bound").get<double>();
  const double t_lower = t.at("eta_crit_gd_mean_mse_lower_bound").get<double>();
  EXPECT_NEAR(t_upper, n * k * k / lambda_traced, 1e-8 * t_upper);
  EXPECT_NEAR(t_lower, n / lambda_traced, 1e-8 * t_lower);
  EXPECT_NEAR(t_upper / t_lower, k * k, 1e-9 * k * k);
  EXPECT_GE(t_upper, eta_full * (1 - 1e-9)) << "traced upper bound below the full-mode rate";
  EXPECT_LE(t_lower, eta_full * (1 + 1e-9)) << "traced lower bound above the full-mode rate";

  // Output c: the upper bound n·k/λmax(K_cc), no lower bound.
  const auto o = ntk("output", "double", {"--output", std::to_string(out_c)});
  EXPECT_EQ(o.at("eta_crit_kind"), "upper_bound") << o.dump(2);
  EXPECT_FALSE(o.contains("eta_crit_gd_mean_mse")) << o.dump(2);
  EXPECT_FALSE(o.contains("eta_crit_gd_mean_mse_lower_bound")) << o.dump(2);
  const double o_upper = o.at("eta_crit_gd_mean_mse_upper_bound").get<double>();
  EXPECT_NEAR(o_upper, n * k / lambda_output, 1e-8 * o_upper);
  EXPECT_GE(o_upper, eta_full * (1 - 1e-9)) << "output upper bound below the full-mode rate";

  // The bounds are strict here (the output blocks differ), so the bug this guards against
  // (traced and output printing n·k/λ_t and n/λ_c, a factor k low) would fail above.
  EXPECT_LT(t_upper / k, eta_full);
  EXPECT_LT(o_upper / k, eta_full);
  std::printf("eta_crit: full %.6g, traced [%.6g, %.6g], output %zu <= %.6g\n", eta_full, t_lower,
              t_upper, out_c, o_upper);
}

// The library function behind the CLI: k = 1 makes every mode exact; argument errors throw.
TEST(CriticalLearningRateBounds, ModesAndErrors) {
  using ntk::NtkMode;
  const auto full = ntk::critical_learning_rate_bounds(NtkMode::Full, 8.0, 3, 4);
  EXPECT_TRUE(full.exact());
  EXPECT_DOUBLE_EQ(full.upper, 3.0 * 4.0 / 8.0);
  const auto traced = ntk::critical_learning_rate_bounds(NtkMode::Traced, 8.0, 3, 4);
  EXPECT_FALSE(traced.exact());
  EXPECT_DOUBLE_EQ(traced.upper, 3.0 * 4.0 / (8.0 / 4.0));
  EXPECT_DOUBLE_EQ(traced.lower, 3.0 / 8.0);
  const auto output = ntk::critical_learning_rate_bounds(NtkMode::Output, 8.0, 3, 4);
  EXPECT_DOUBLE_EQ(output.upper, 3.0 * 4.0 / 8.0);
  EXPECT_EQ(output.lower, 0.0);
  for (const NtkMode m : {NtkMode::Full, NtkMode::Traced, NtkMode::Output}) {
    const auto one = ntk::critical_learning_rate_bounds(m, 8.0, 3, 1);
    EXPECT_TRUE(one.exact()) << ntk::to_string(m);
    EXPECT_DOUBLE_EQ(one.upper, 3.0 / 8.0);
  }
  // Sum reduction: c = 1, η = 1/λmax(K_full).
  const auto sum =
      ntk::critical_learning_rate_bounds(NtkMode::Traced, 8.0, 3, 4, nn::MseReduction::Sum);
  EXPECT_DOUBLE_EQ(sum.upper, 1.0 / (8.0 / 4.0));
  EXPECT_DOUBLE_EQ(sum.lower, 1.0 / (4.0 * 8.0));
  EXPECT_THROW((void)ntk::critical_learning_rate_bounds(NtkMode::Full, 0.0, 3, 4), InvalidArgument);
  EXPECT_THROW((void)ntk::critical_learning_rate_bounds(NtkMode::Full, std::nan(""), 3, 4),
               InvalidArgument);
  EXPECT_THROW((void)ntk::critical_learning_rate_bounds(NtkMode::Traced, 1.0, 0, 4),
               InvalidArgument);
}

}  // namespace
}  // namespace catapult::test
