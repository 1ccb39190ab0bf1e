// The reproduction's machinery on synthetic data: statistics against closed forms, the critical
// rate against a dense NTK, a GD catapult just above the measured critical rate (none just below),
// and every experiment end to end in a tiny configuration whose outputs parse.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <string>
#include <tuple>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/optim/adagrad.hpp"
#include "catapult/optim/sgd.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "nn/naive_mlp.hpp"
#include "output.hpp"
#include "plot.hpp"
#include "protocol.hpp"
#include "tiny_protocol.hpp"

namespace catapult::app::reproduce {
namespace {

// n samples of dimension d in `classes` Gaussian clusters (centres ~ N(0, 1), spread 0.5).
data::Dataset synthetic(std::size_t n, std::size_t d, std::size_t classes, std::uint64_t seed) {
  Rng centre_rng(99);
  std::vector<double> centres(classes * d);
  for (auto& c : centres) c = centre_rng.normal();
  Rng rng(seed);
  data::Dataset ds;
  ds.images = Matrix<float>(n, d);
  ds.labels.resize(n);
  ds.num_classes = classes;
  ds.image_rows = 1;
  ds.image_cols = d;
  ds.name = "synthetic";
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::uint8_t>(i % classes);
    ds.labels[i] = c;
    for (std::size_t j = 0; j < d; ++j)
      ds.images(i, j) = static_cast<float>(centres[c * d + j] + 0.5 * rng.normal());
  }
  return ds;
}

TEST(ReproduceStats, StudentTailMatchesClosedForms) {
  // dof 1 (Cauchy): P(T > t) = 1/2 − atan(t)/π; dof 2: 1/2 − t/(2√(2 + t²)).
  for (const double t : {-2.0, -0.3, 0.0, 0.7, 1.5, 4.0, 12.0}) {
    EXPECT_NEAR(student_t_upper_tail(t, 1.0), 0.5 - std::atan(t) / std::numbers::pi, 1e-10) << t;
    EXPECT_NEAR(student_t_upper_tail(t, 2.0), 0.5 - t / (2.0 * std::sqrt(2.0 + t * t)), 1e-10) << t;
  }
}

TEST(ReproduceStats, PairedTestAndMeanStd) {
  const auto ms = mean_std({1.0, 2.0, 3.0, 4.0});
  EXPECT_DOUBLE_EQ(ms.mean, 2.5);
  EXPECT_NEAR(ms.std, std::sqrt(5.0 / 3.0), 1e-12);
  // Differences {1, 2, 3}: mean 2, sd 1, t = 2√3, dof 2; wins 3/3, sign p = 1/8.
  const auto r = paired_test({2.0, 4.0, 6.0}, {1.0, 2.0, 3.0});
  EXPECT_EQ(r.n, 3U);
  EXPECT_EQ(r.wins, 3U);
  EXPECT_DOUBLE_EQ(r.mean_difference, 2.0);
  EXPECT_NEAR(r.t, 2.0 * std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(r.p_t, 0.5 - r.t / (2.0 * std::sqrt(2.0 + r.t * r.t)), 1e-10);
  EXPECT_NEAR(r.p_sign, 0.125, 1e-12);
  EXPECT_TRUE(std::isnan(paired_test({1.0}, {0.0}).t));
}

TEST(ReproduceOutput, CsvRoundTripAndAtomicWrite) {
  const auto dir = std::filesystem::temp_directory_path() / "catapult_reproduce_csv";
  std::filesystem::remove_all(dir);
  CsvTable t;
  t.columns = {"step", "loss"};
  t.add({0, 1.5});
  t.add({1, std::nan("")});
  EXPECT_THROW(t.add({1.0}), InvalidArgument);
  t.write(dir / "a.csv");
  // Nothing but the file itself is left behind (no temporary file).
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1U);
  const auto back = read_csv(dir / "a.csv");
  ASSERT_EQ(back.columns, t.columns);
  ASSERT_EQ(back.rows.size(), 2U);
  EXPECT_DOUBLE_EQ(back.rows[0][1], 1.5);
  EXPECT_TRUE(std::isnan(back.rows[1][1]));
  EXPECT_EQ(back.column("loss"), 1U);
  // The gnuplot script addresses columns by their 1-based index from the header.
  Figure f;
  Series series;
  series.csv = "a.csv";
  series.x_column = "step";
  series.y_column = "loss";
  f.series.push_back(series);
  const auto gp = gnuplot_script(f, dir, "a.png");
  EXPECT_NE(gp.find("using 1:2"), std::string::npos) << gp;
  f.series[0].y_column = "nope";
  EXPECT_THROW((void)gnuplot_script(f, dir, "a.png"), InvalidArgument);
  std::filesystem::remove_all(dir);
}

TEST(ReproducePlot, StackedPanelsBandsFaintLinesAndSmoothing) {
  const auto dir = std::filesystem::temp_directory_path() / "catapult_reproduce_plot";
  std::filesystem::remove_all(dir);
  CsvTable t;
  t.columns = {"step", "loss", "lo", "hi", "lr"};
  for (int i = 0; i < 20; ++i) t.add({double(i), 1.0 / (1 + i), 0.5 / (1 + i), 2.0 / (1 + i), 0.1});
  t.write(dir / "p.csv");
  Figure f;
  f.title = "stacked";
  f.subtitle = "test";
  f.x_label = "step";
  for (int k = 0; k < 3; ++k) {
    Panel panel;
    panel.title = literal_text(str_cat("panel_", k));
    panel.y_label = "loss";
    panel.log_y = true;
    Series raw{"p.csv", "step", "loss", "raw", false, "lines", "#1f77b4", 1.0};
    raw.opacity = 0.25;
    panel.series.push_back(raw);
    if (k == 1) {
      Series band{"p.csv", "step", "lo", "", false, "band", "#d62728"};
      band.y_high_column = "hi";
      band.opacity = 0.2;
      panel.series.push_back(band);
      panel.y2_label = "rate";
      panel.series.push_back({"p.csv", "step", "lr", "rate", true});
    }
    if (k == 2) panel.shaded = {{2.0, 5.0}, {9.0, 12.0}};
    f.panels.push_back(panel);
  }
  const auto gp = gnuplot_script(f, dir, "p.png");
  EXPECT_NE(gp.find("set multiplot layout 3,1"), std::string::npos) << gp;
  EXPECT_NE(gp.find("unset multiplot"), std::string::npos) << gp;
  std::size_t plots = 0;
  for (auto at = gp.find("\nplot "); at != std::string::npos; at = gp.find("\nplot ", at + 1))
    ++plots;
  EXPECT_EQ(plots, 3U) << gp;
  EXPECT_NE(gp.find("panel\\\\_1"), std::string::npos) << gp;  // a literal underscore
  EXPECT_NE(gp.find("using 1:3:4 with filledcurves"), std::string::npos) << gp;
  EXPECT_NE(gp.find("notitle"), std::string::npos) << gp;
  EXPECT_NE(gp.find("#BF1f77b4"), std::string::npos) << gp;  // opacity 0.25: alpha 0xBF
  EXPECT_NE(gp.find("axes x1y2"), std::string::npos) << gp;
  // Two shaded intervals, in the third panel only, and cleared after each panel.
  EXPECT_EQ(gp.find("set object 1 rect"), gp.rfind("set object 1 rect")) << gp;
  EXPECT_NE(gp.find("set object 2 rect from 9"), std::string::npos) << gp;
  EXPECT_GT(gp.find("set object 1 rect"), gp.find("# panel 3")) << gp;
  if (gnuplot_available()) {
    render_figure(f, dir, "p");
    EXPECT_TRUE(std::filesystem::exists(dir / "p.png"));
    EXPECT_TRUE(std::filesystem::exists(dir / "p.gp"));
  }
  f.panels[1].series[1].y_high_column.clear();
  EXPECT_THROW((void)gnuplot_script(f, dir, "p.png"), InvalidArgument);
  std::filesystem::remove_all(dir);

  // The geometric EMA: log s_t = a·log s_{t−1} + (1 − a)·log v_t; invalid entries skipped.
  const double e = std::exp(1.0);
  const auto s = smoothed_trace(std::vector<double>{1.0, e * e, std::nan(""), -1.0, e * e}, 0.5);
  ASSERT_EQ(s.size(), 5U);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_NEAR(s[1], e, 1e-12);
  EXPECT_TRUE(std::isnan(s[2]));
  EXPECT_TRUE(std::isnan(s[3]));
  EXPECT_NEAR(s[4], std::exp(1.5), 1e-12);
  EXPECT_THROW((void)smoothed_trace(std::vector<double>{1.0}, 1.0), InvalidArgument);
  EXPECT_EQ(literal_text("a_b^c{d}"), "a\\_b\\^c\\{d\\}");
}

TEST(ReproduceEngine, LambdaMaxMatchesDenseFullNtk) {
  const auto ds = synthetic(40, 12, 3, 1);
  nn::Mlp<float> model({{12, 32, 3}, nn::Activation::Tanh});
  Rng rng(4);
  model.init(rng);
  const auto lm = ntk_lambda_max(model, ds.images.cview(), nullptr, 1e-8, 2000);
  ASSERT_TRUE(lm.converged);
  const auto k = ntk::empirical_ntk<float>(model, ds.images.cview(), {ntk::NtkMode::Full, 0, 0});
  const double ref = ntk::dense_eigenvalues<float>(k.cview())[0];
  EXPECT_NEAR(lm.value, ref, 1e-3 * ref);
  // η_crit = n·k/λmax for the Mean MSE; no curvature gives NaN (the library would throw).
  EXPECT_NEAR(critical_rate_or_nan(nn::LossConfig{}, 40, 3, ref), 120.0 / ref, 1e-12);
  EXPECT_TRUE(std::isnan(critical_rate_or_nan(nn::LossConfig{}, 40, 3, 0.0)));
  EXPECT_TRUE(std::isnan(critical_rate_or_nan(nn::LossConfig{}, 40, 3, std::nan(""))));
  EXPECT_THROW((void)require_rate(std::nan(""), "test"), RuntimeError);
  EXPECT_DOUBLE_EQ(require_rate(0.5, "test"), 0.5);
  nn::LossConfig ce;
  ce.kind = nn::LossKind::CrossEntropy;
  EXPECT_THROW((void)critical_rate_or_nan(ce, 40, 3, ref), InvalidArgument);

  // A warm start from the stored top eigenvector gives the same λmax.
  std::vector<double> warm;
  const auto first = ntk_lambda_max(model, ds.images.cview(), &warm, 1e-8, 2000);
  ASSERT_EQ(warm.size(), 120U);
  const auto again = ntk_lambda_max(model, ds.images.cview(), &warm, 1e-8, 2000);
  EXPECT_NEAR(again.value, first.value, 1e-6 * ref);
  EXPECT_LE(again.operations, first.operations);
}

TEST(ReproduceEngine, PreconditionedRateMatchesDenseReference) {
  // 2/λmax(D·H_GN·D) with H_GN = 2c·JᵀJ, D = diag(p)^{-1/2}: the non-zero spectrum of
  // D·JᵀJ·D is that of J·D²·Jᵀ = J·diag(1/p)·Jᵀ (n·k × n·k), built from the brute-force Jacobian.
  const auto ds = synthetic(10, 6, 3, 3);
  nn::Mlp<float> model({{6, 8, 3}, nn::Activation::Tanh});
  Rng rng(6);
  model.init(rng);
  std::vector<double> p(model.num_params());
  for (auto& v : p) v = rng.uniform(0.5, 4.0);
  const auto jac = ntk::jacobian<float>(model, ds.images.cview());
  Matrix<double> m(jac.rows(), jac.rows());
  for (std::size_t a = 0; a < jac.rows(); ++a)
    for (std::size_t b = 0; b < jac.rows(); ++b) {
      double sum = 0.0;
      for (std::size_t q = 0; q < p.size(); ++q)
        sum += double(jac(a, q)) * double(jac(b, q)) / p[q];
      m(a, b) = sum;
    }
  const double lambda = ntk::dense_eigenvalues<double>(m.cview())[0];
  const double c = nn::mse_scale(nn::MseReduction::Mean, 10, 3);
  const double rate =
      preconditioned_critical_rate(model, ds.images.cview(), nn::LossConfig{}, p, 1e-10, 1000);
  EXPECT_NEAR(rate, 2.0 / (2.0 * c * lambda), 1e-4 * rate);
}

// AdaGrad's critical rate over the filled parameters: with ratio 0 every active parameter is
// filled and the rate is the one over the plain preconditioner (all parameters active here); with
// an accumulator of one step of the samples' own gradient, ratio 0.99 fills exactly the active
// parameters (s_i = g_i² up to float rounding) and ratio 2 none.
TEST(ReproduceEngine, FilledAdaGradRateFreezesByTheSamplesGradient) {
  const auto ds = synthetic(10, 6, 3, 4);
  nn::Mlp<float> model({{6, 8, 3}, nn::Activation::Tanh});
  Rng rng(8);
  model.init(rng);
  const std::size_t n = model.num_params();
  // The gradient of the mean MSE on the samples, as the function computes it.
  nn::ForwardCache<float> cache;
  Matrix<float> out(10, 3), d_out(10, 3);
  model.forward(ds.images.cview(), out.view(), &cache);
  (void)nn::evaluate_loss<float>(nn::LossConfig{}, out.cview(), ds.labels, d_out.view());
  std::vector<float> g(n);
  model.backward(cache, d_out.cview(), g.data());

  optim::AdaGrad<float> ada;
  std::vector<float> scratch(n, 0.0F);
  ada.step(scratch.data(), g.data(), n, 0.01);  // s = g² (s_0 = 0)
  std::size_t nonzero = 0;
  for (const float v : g) nonzero += v != 0.0F ? 1 : 0;
  const auto one = filled_preconditioned_critical_rate(model, ds.images.cview(), ds.labels,
                                                       nn::LossConfig{}, ada, 0.99, 1e-10, 1000);
  EXPECT_EQ(one.active, nonzero);
  EXPECT_EQ(one.filled, nonzero);
  const auto all = preconditioned_critical_rate(model, ds.images.cview(), nn::LossConfig{},
                                                adagrad_preconditioner(ada), 1e-10, 1000);
  EXPECT_NEAR(one.eta_crit, all, 1e-6 * all);
  const auto two = filled_preconditioned_critical_rate(model, ds.images.cview(), ds.labels,
                                                       nn::LossConfig{}, ada, 2.0, 1e-10, 1000);
  EXPECT_EQ(two.filled, 0U);
  EXPECT_TRUE(std::isnan(two.eta_crit));
  optim::Sgd<float> sgd;
  EXPECT_THROW((void)filled_preconditioned_critical_rate(model, ds.images.cview(), ds.labels,
                                                         nn::LossConfig{}, sgd, 1.0),
               InvalidArgument);
}

// Full-batch GD at a multiple of the critical rate measured at initialisation.
RunResult gd_at(double multiple, const data::Dataset& ds, double* eta_crit) {
  RunSpec spec;
  spec.model = {{12, 512, 3}, nn::Activation::Relu};
  spec.batch_size = ds.size();
  spec.max_steps = 200;
  spec.seed = 5;
  InitHook init = [&](TrainState& s) {
    const auto lm = ntk_lambda_max(s.model, ds.images.cview(), nullptr, 1e-8, 2000);
    *eta_crit = require_rate(critical_rate_or_nan(spec.loss, ds.size(), 3, lm.value), "gd_at");
    s.schedule = optim::Schedule(constant_schedule(multiple * *eta_crit));
  };
  return train(spec, ds, ds, init, {});
}

TEST(ReproduceEngine, GradientDescentCatapultsJustAboveTheCriticalRateOnly) {
  const auto ds = synthetic(48, 12, 3, 2);
  analysis::CatapultDetectorOptions o;
  o.smoothing = 0.0;
  double eta = 0.0;
  const auto below = gd_at(0.9, ds, &eta);
  const auto d_below = analysis::detect_catapults(below.loss, o);
  EXPECT_TRUE(d_below.catapults.empty()) << "eta_crit " << eta;
  EXPECT_FALSE(d_below.divergence.has_value());
  const auto above = gd_at(1.2, ds, &eta);
  const auto d_above = analysis::detect_catapults(above.loss, o);
  EXPECT_GE(d_above.catapults.size(), 1U) << "eta_crit " << eta;
  EXPECT_FALSE(d_above.divergence.has_value());
  EXPECT_FALSE(above.diverged);
  // The spike comes back: the final loss is below the loss at initialisation.
  EXPECT_LT(above.loss.back(), above.loss.front());
}

void expect_finite_csv(const std::filesystem::path& path, const std::vector<std::string>& columns,
                       bool allow_nan = false) {
  SCOPED_TRACE(path.string());
  const auto t = read_csv(path);
  for (const auto& c : columns) EXPECT_NO_THROW((void)t.column(c)) << c;
  EXPECT_FALSE(t.rows.empty());
  if (allow_nan) return;
  for (const auto& row : t.rows)
    for (const double v : row) EXPECT_TRUE(std::isfinite(v));
}

class ReproduceEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    splits_.train = synthetic(120, 16, 3, 10);
    splits_.test = synthetic(60, 16, 3, 11);
    dir_ = std::filesystem::temp_directory_path() /
           ("catapult_reproduce_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    ctx_.protocol = tiny_protocol(16, 3);
    ctx_.out = dir_;
    ctx_.data = &splits_;
    ctx_.figures = gnuplot_available();
    ctx_.command = "reproduce_test";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void expect_common(const std::string& name, const std::vector<std::string>& figures) {
    const auto d = dir_ / name;
    ASSERT_TRUE(std::filesystem::exists(d / "section.md"));
    EXPECT_FALSE(std::filesystem::exists(dir_ / ("." + name + ".partial")));
    std::ifstream in(d / "meta.json");
    const auto meta = nlohmann::json::parse(in);
    for (const char* key : {"version", "git_commit", "threads", "wall_time_s", "protocol_config"})
      EXPECT_TRUE(meta.contains(key)) << key;
    EXPECT_EQ(meta.at("protocol").get<std::string>(), "tiny");
    std::ifstream report(dir_ / "REPORT.md");
    std::stringstream ss;
    ss << report.rdbuf();
    EXPECT_NE(ss.str().find("tiny test protocol"), std::string::npos);
    if (ctx_.figures)
      for (const auto& f : figures) {
        EXPECT_TRUE(std::filesystem::exists(d / (f + ".png"))) << f;
        EXPECT_TRUE(std::filesystem::exists(d / (f + ".gp"))) << f;
      }
  }
  data::Splits splits_;
  std::filesystem::path dir_;
  Context ctx_;
};

TEST_F(ReproduceEndToEnd, Table) {
  run_experiment("table", ctx_);
  expect_common("table", {"table_loss"});
  expect_finite_csv(dir_ / "table" / "runs.csv",
                    {"row", "seed", "test_accuracy", "catapults", "diverged", "peak_lr"}, true);
  const auto runs = read_csv(dir_ / "table" / "runs.csv");
  EXPECT_EQ(runs.rows.size(), 14U);  // 7 rows × 2 seeds
  // Rows 5 and 6, the matched-rate controls, run at the constant rate SGD + catapult (row 1) and
  // AdaGrad + catapult (row 3) averaged.
  for (const auto& r : runs.rows)
    if (r[0] == 5.0 || r[0] == 6.0)
      for (const auto& c : runs.rows)
        if (c[0] == (r[0] == 5.0 ? 1.0 : 3.0) && c[1] == r[1]) {
          EXPECT_NEAR(r[runs.column("peak_lr")], c[runs.column("mean_lr")],
                      1e-9 * c[runs.column("mean_lr")]);
          EXPECT_NEAR(r[runs.column("mean_lr")], c[runs.column("mean_lr")],
                      1e-9 * c[runs.column("mean_lr")]);
        }
  for (const auto& r : runs.rows) EXPECT_TRUE(std::isfinite(r[runs.column("test_accuracy")]));
  // AdaGrad + catapult (row 3) peaks at 8 × its base rate 0.01; SGD + catapult (row 1) at 3 ×
  // η_crit measured at initialisation.
  for (const auto& r : runs.rows) {
    if (r[0] == 3.0) {
      EXPECT_NEAR(r[runs.column("peak_lr")], 0.08, 1e-12);
    }
    if (r[0] == 1.0) {
      EXPECT_NEAR(r[runs.column("peak_lr")], 3.0 * r[runs.column("eta_crit_init")], 1e-9);
    }
  }
  std::ifstream md(dir_ / "table" / "table.md");
  std::stringstream ss;
  ss << md.rdbuf();
  for (const char* row :
       {"| SGD |", "| SGD + catapult |", "| AdaGrad |", "| AdaGrad + catapult |", "| Adam |",
        "| SGD at the same mean rate (control) |", "| AdaGrad at the same mean rate (control) |",
        "95.38", "tiny test protocol", "Spikes or rate, SGD?", "Spikes or rate, AdaGrad?",
        "the protocol (no phase map in this results directory)"})
    EXPECT_NE(ss.str().find(row), std::string::npos) << row;
  // A catapult row whose runs detected no catapult gets no credit for spikes in the split.
  double ada_catapults = 0;
  for (const auto& r : runs.rows)
    if (r[0] == 3.0) ada_catapults += r[runs.column("catapults")];
  const std::string ada_split = ss.str().substr(ss.str().find("Spikes or rate, AdaGrad?"));
  EXPECT_EQ(ada_split.find("detected no catapult in any seed") != std::string::npos,
            ada_catapults == 0)
      << ada_split;
}

TEST_F(ReproduceEndToEnd, Dynamics) {
  run_experiment("dynamics", ctx_);  // the tiny protocol's single "seed"
  expect_common("dynamics", {"dynamics_cyclic", "dynamics_cyclic_exp", "dynamics_sharpness"});
  expect_finite_csv(dir_ / "dynamics" / "cyclic.csv",
                    {"step", "loss", "lr", "eta_crit", "in_catapult", "sharpness", "two_over_lr",
                     "loss_s0", "sharpness_s0", "two_over_lr_s0"},
                    true);
  const auto t = read_csv(dir_ / "dynamics" / "cyclic.csv");
  EXPECT_EQ(t.rows.size(), 20U);
  EXPECT_TRUE(std::isfinite(t.rows[0][t.column("eta_crit")]));
  EXPECT_TRUE(std::isfinite(t.rows[5][t.column("eta_crit")]));  // measured after 5 steps
  EXPECT_TRUE(std::isnan(t.rows[3][t.column("eta_crit")]));
  // The sharpness is 2/η_crit (λmax(H_GN) by the library's convention) and the threshold 2/η is
  // drawn from every step.
  for (const auto& r : t.rows) {
    EXPECT_NEAR(r[t.column("two_over_lr")], 2.0 / r[t.column("lr")],
                1e-9 * r[t.column("two_over_lr")]);
    if (std::isfinite(r[t.column("eta_crit")])) {
      EXPECT_NEAR(r[t.column("sharpness")] * r[t.column("eta_crit")], 2.0, 1e-9);
    }
  }
  // Several seeds and the sharpness runs at extra peak factors.
  ctx_.protocol["dynamics"].erase("seed");
  ctx_.protocol["dynamics"]["seeds"] = {3, 4, 5};
  ctx_.protocol["dynamics"]["sharpness"] = {{"peak_factors", {1.5}}, {"steps", 10}};
  run_experiment("dynamics", ctx_);
  expect_common("dynamics", {"dynamics_cyclic", "dynamics_cyclic_exp", "dynamics_sharpness"});
  const auto m = read_csv(dir_ / "dynamics" / "cyclic.csv");
  for (const char* c : {"loss_s3", "loss_s4", "loss_s5", "sharpness_s5", "two_over_lr_s4"})
    EXPECT_NO_THROW((void)m.column(c)) << c;
  EXPECT_EQ(m.rows.size(), 20U);
  EXPECT_EQ(m.rows[0][m.column("loss")], m.rows[0][m.column("loss_s3")]);  // the first seed's
  EXPECT_EQ(read_csv(dir_ / "dynamics" / "cyclic_c1.5.csv").rows.size(), 10U);
  std::ifstream in(dir_ / "dynamics" / "meta.json");
  EXPECT_EQ(nlohmann::json::parse(in).at("runs").size(), 9U);  // 3 schedules × 3 seeds
  std::ifstream md(dir_ / "dynamics" / "section.md");
  std::stringstream ss;
  ss << md.rdbuf();
  EXPECT_NE(ss.str().find("| cyclic_c1.5 (triangular, 10 steps) | 1.5 |"), std::string::npos)
      << ss.str();
  EXPECT_NE(ss.str().find(" ± "), std::string::npos);
  if (ctx_.figures) {
    std::ifstream gp(dir_ / "dynamics" / "dynamics_sharpness.gp");
    std::stringstream g;
    g << gp.rdbuf();
    EXPECT_NE(g.str().find("set multiplot layout 3,1"), std::string::npos);
  }
}

TEST_F(ReproduceEndToEnd, Ntk) {
  run_experiment("ntk", ctx_);
  expect_common("ntk", {"ntk_spectrum", "ntk_loss_split"});
  expect_finite_csv(
      dir_ / "ntk" / "ntk_track.csv",
      {"step", "lambda_max", "lambda_min", "condition_number", "loss", "loss_top", "loss_rest"});
  const auto t = read_csv(dir_ / "ntk" / "ntk_track.csv");
  EXPECT_EQ(t.rows.size(), 5U);  // steps 0, 5, 10, 15, 20
  for (const auto& r : t.rows) {
    EXPECT_GE(r[1], r[2]);                       // λmax ≥ λmin
    EXPECT_LE(r[5], r[4] * (1 + 1e-9) + 1e-12);  // top part ≤ total
  }
  // The second seed: its own track (another initialisation), and the per-catapult table of
  // every seed holds each seed's catapults.
  const auto t1 = read_csv(dir_ / "ntk" / "ntk_track_s1.csv");
  ASSERT_EQ(t1.rows.size(), 5U);
  EXPECT_NE(t1.rows[0][1], t.rows[0][1]);
  const auto all = read_csv(dir_ / "ntk" / "catapults_all_seeds.csv");
  std::size_t first = 0;
  for (const auto& r : all.rows) first += r[0] == 0.0 ? 1 : 0;
  EXPECT_EQ(first, read_csv(dir_ / "ntk" / "catapults.csv").rows.size());
}

TEST_F(ReproduceEndToEnd, Adagrad) {
  run_experiment("adagrad", ctx_);
  expect_common("adagrad", {"adagrad_st", "adagrad_rates", "adagrad_training"});
  expect_finite_csv(dir_ / "adagrad" / "accumulator.csv",
                    {"step", "s_t", "s_t_active", "inactive", "q01", "median", "q99"});
  expect_finite_csv(dir_ / "adagrad" / "rates.csv", {"step", "lr", "eta_crit_sgd", "bound_active",
                                                     "eta_crit_preconditioned", "filled_fraction"});
  // The critical rate over the filled parameters freezes some: it is never below the one over
  // all parameters (a restriction of the same operator), and the filled fraction is in [0, 1].
  const auto rates = read_csv(dir_ / "adagrad" / "rates.csv");
  for (const auto& r : rates.rows) {
    EXPECT_GE(r[rates.column("filled_fraction")], 0.0);
    EXPECT_LE(r[rates.column("filled_fraction")], 1.0);
    const double filled = r[rates.column("eta_crit_filled")];
    if (std::isfinite(filled)) {
      EXPECT_GE(filled, r[rates.column("eta_crit_preconditioned")] * (1 - 1e-3));
    }
  }
  // The cyclic schedule reaches its peak (8 × the base rate 0.01).
  const auto trace = read_csv(dir_ / "adagrad" / "loss.csv");
  double max_lr = 0.0;
  for (const auto& r : trace.rows) max_lr = std::max(max_lr, r[trace.column("lr")]);
  EXPECT_NEAR(max_lr, 0.08, 1e-9);
  // One row per seed in seeds.csv; the second seed's traces under their own names.
  const auto seeds = read_csv(dir_ / "adagrad" / "seeds.csv");
  ASSERT_EQ(seeds.rows.size(), 2U);
  EXPECT_EQ(seeds.rows[1][0], 1.0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "adagrad" / "rates_s1.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "adagrad" / "loss_s1.csv"));
  EXPECT_NE(read_csv(dir_ / "adagrad" / "loss_s1.csv").rows.at(5)[1],
            trace.rows.at(5)[trace.column("loss")]);  // another initialisation
  const auto acc = read_csv(dir_ / "adagrad" / "accumulator.csv");
  // The accumulator only grows, so s_t over active parameters never decreases... unless a new
  // parameter becomes active; the median does not decrease.
  for (std::size_t i = 1; i < acc.rows.size(); ++i)
    EXPECT_GE(acc.rows[i][acc.column("median")], acc.rows[i - 1][acc.column("median")]);
}

// The phase map end to end on the tiny protocol: every run present, the controls matched to their
// catapult run (the constant arm at its realised mean rate, the sub-critical arm never above the
// catapult schedule's initial peak), the baseline at the base rate, the written rules applied,
// and a rerun with resume reusing every run's record.
TEST_F(ReproduceEndToEnd, PhaseMap) {
  run_experiment("phase-map", ctx_);
  expect_common("phase-map", {"phase_map_triangular_b16"});
  const auto d = dir_ / "phase-map";
  const auto runs = read_csv(d / "runs.csv");
  const auto& cfg = ctx_.protocol.at("phase_map");
  const std::size_t seeds = cfg.at("seeds").size(), factors = cfg.at("peak_factors").size();
  const auto col = [&](const char* c) { return runs.column(c); };
  std::size_t sgd_rows = 0;
  for (const auto& r : runs.rows) sgd_rows += r[col("mode")] >= -1 ? 1 : 0;
  ASSERT_EQ(sgd_rows, seeds * (1 + 3 * factors));
  std::ifstream meta_in(d / "meta.json");
  const auto meta = nlohmann::json::parse(meta_in);
  std::map<double, double> eta0;
  for (const auto& e : meta.at("eta_crit_init")) eta0[e[0].get<double>()] = e[1].get<double>();
  ASSERT_EQ(eta0.size(), seeds);
  std::map<std::pair<double, double>, const std::vector<double>*> catapult_arm;  // (c, seed)
  for (const auto& r : runs.rows)
    if (r[col("arm")] == 0 && r[col("mode")] >= -1)
      catapult_arm[{r[col("peak_factor")], r[col("seed")]}] = &r;
  ASSERT_EQ(catapult_arm.size(), seeds * factors);
  for (const auto& r : runs.rows) {
    if (r[col("mode")] < -1) continue;  // AdaGrad's map, checked below
    const double seed = r[col("seed")], c = r[col("peak_factor")], arm = r[col("arm")];
    EXPECT_GE(r[col("class")], 0.0);
    EXPECT_LE(r[col("class")], 3.0);
    if (arm == 3) {  // baseline: constant at 0.5·η_crit(0)
      EXPECT_NEAR(r[col("mean_lr")], 0.5 * eta0[seed], 1e-9 * eta0[seed]);
      EXPECT_NEAR(r[col("peak_lr")], 0.5 * eta0[seed], 1e-9 * eta0[seed]);
      continue;
    }
    const auto& cat = *catapult_arm.at({c, seed});
    if (arm == 1) {  // constant at the catapult run's mean rate
      EXPECT_NEAR(r[col("mean_lr")], cat[col("mean_lr")], 1e-9 * cat[col("mean_lr")]);
      EXPECT_NEAR(r[col("peak_lr")], cat[col("mean_lr")], 1e-9 * cat[col("mean_lr")]);
    } else if (arm == 2) {  // sub-critical: never above c·η_crit(0), nor above the catapult run
      EXPECT_LE(r[col("peak_lr")], c * eta0[seed] * (1 + 1e-9));
      EXPECT_TRUE(std::isfinite(r[col("eta_crit_final")]));
    } else {  // the catapult schedule peaks at c·η_crit(t) (or its base when below it)
      EXPECT_GE(r[col("peak_lr")], 0.5 * eta0[seed] * (1 - 1e-9));
      EXPECT_TRUE(std::isfinite(r[col("eta_crit_final")]));
    }
  }
  // AdaGrad's map: a baseline per seed at the base rate, which measured η_crit,P; the peaks as
  // multiples of the base rate (mode −3) or of that η_crit,P (mode −4); the constant arm at its
  // catapult run's mean rate.
  const auto& ada = cfg.at("adagrad");
  const double ada_base = ada.at("base_lr").get<double>();
  std::map<double, double> eta_p;  // seed → η_crit,P of its baseline
  std::map<std::tuple<double, double, double>, const std::vector<double>*> ada_cat;
  for (const auto& r : runs.rows) {
    if (r[col("mode")] == -2) {
      EXPECT_NEAR(r[col("mean_lr")], ada_base, 1e-12);
      eta_p[r[col("seed")]] = r[col("eta_crit_final")];
    } else if (r[col("mode")] < -2 && r[col("arm")] == 0) {
      ada_cat[{r[col("mode")], r[col("peak_factor")], r[col("seed")]}] = &r;
    }
  }
  ASSERT_EQ(eta_p.size(), seeds);
  std::size_t base_family_runs = 0;
  for (const auto& r : runs.rows) {
    const double mode = r[col("mode")], c = r[col("peak_factor")], seed = r[col("seed")];
    if (mode >= -2) continue;
    const auto& cat = *ada_cat.at({mode, c, seed});
    if (r[col("arm")] == 1) {
      EXPECT_NEAR(r[col("mean_lr")], cat[col("mean_lr")], 1e-9 * cat[col("mean_lr")]);
    } else {
      ASSERT_EQ(r[col("arm")], 0.0);
      const double peak = mode == -3 ? c * ada_base : c * eta_p[seed];
      if (r[col("class")] != 3.0) {
        EXPECT_NEAR(r[col("peak_lr")], peak, 1e-6 * peak);
      }
      base_family_runs += mode == -3 ? 1 : 0;
    }
  }
  EXPECT_EQ(base_family_runs, seeds * ada.at("multiples_of_base").size());
  const auto ada_points = read_csv(d / "adagrad_points.csv");
  std::optional<double> ada_first;
  for (const auto& r : ada_points.rows)
    if (r[ada_points.column("family")] == 0 && r[ada_points.column("qualifies")] == 1.0 &&
        !ada_first)
      ada_first = r[ada_points.column("multiple")];

  const auto points = read_csv(d / "points.csv");
  ASSERT_EQ(points.rows.size(), factors);
  std::ifstream md_in(d / "section.md");
  std::stringstream md;
  md << md_in.rdbuf();
  EXPECT_NE(md.str().find("Row rule"), std::string::npos);
  EXPECT_NE(md.str().find("Written rules"), std::string::npos);
  // The chosen peak, if any, is the first point the rule accepts.
  const auto& chosen = meta.at("chosen").at(0).at("peak_factor");
  std::optional<double> first;
  for (const auto& r : points.rows)
    if (r[points.column("qualifies")] == 1.0 && !first) first = r[points.column("peak_factor")];
  if (first) {
    EXPECT_EQ(chosen.get<double>(), *first);
    EXPECT_NE(md.str().find("Spikes or rate?"), std::string::npos);
  } else {
    EXPECT_TRUE(chosen.is_null());
  }
  // Rerun with resume: every run comes from its record, with the same table.
  const auto text = [](const std::filesystem::path& f) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string before = text(d / "points.csv");
  ctx_.resume = true;
  run_experiment("phase-map", ctx_);
  std::ifstream md2_in(d / "section.md");
  std::stringstream md2;
  md2 << md2_in.rdbuf();
  EXPECT_NE(md2.str().find(str_cat("Runs: ", runs.rows.size(), " (", runs.rows.size(), " reused")),
            std::string::npos)
      << md2.str();
  EXPECT_EQ(text(d / "points.csv"), before);
  // The table's SGD + catapult takes its peak factor from the map's row rule.
  run_experiment("table", ctx_);
  std::ifstream table_meta_in(dir_ / "table" / "meta.json");
  const auto table_meta = nlohmann::json::parse(table_meta_in);
  const auto& factor = table_meta.at("sgd_peak_factor");
  if (first) {
    EXPECT_EQ(factor.at("value").get<double>(), *first);
    EXPECT_NE(factor.at("source").get<std::string>().find("row rule"), std::string::npos);
  } else {
    EXPECT_NE(factor.at("source").get<std::string>().find("chose no peak"), std::string::npos);
  }
  // And AdaGrad + catapult its multiple of the base rate.
  const auto& multiple = table_meta.at("adagrad_peak_multiple");
  ASSERT_EQ(meta.at("chosen").size(), 2U);
  EXPECT_EQ(meta.at("chosen").at(1).at("optimizer"), "adagrad");
  if (ada_first) {
    EXPECT_EQ(multiple.at("value").get<double>(), *ada_first);
  } else {
    EXPECT_TRUE(meta.at("chosen").at(1).at("peak_factor").is_null());
    EXPECT_NE(multiple.at("source").get<std::string>().find("chose no peak"), std::string::npos);
  }
}

// The calibration: one row per (batch, seed), the totals in meta.json are the column sums, more
// margin never finds more, and the smallest clean margin is reported from the counts.
TEST_F(ReproduceEndToEnd, Calibrate) {
  run_experiment("calibrate", ctx_);
  expect_common("calibrate", {});
  const auto t = read_csv(dir_ / "calibrate" / "calibration.csv");
  ASSERT_EQ(t.rows.size(), 4U);  // 2 batch sizes × 2 seeds
  std::ifstream in(dir_ / "calibrate" / "meta.json");
  const auto meta = nlohmann::json::parse(in);
  const auto totals = meta.at("totals").get<std::vector<std::vector<double>>>();
  ASSERT_EQ(totals.size(), 2U);
  for (std::size_t bi = 0; bi < 2; ++bi)
    for (std::size_t j = 0; j < 3; ++j) {
      double sum = 0;
      for (const auto& r : t.rows)
        if (r[0] == (bi == 0 ? 16.0 : 32.0)) sum += r[3 + j];
      EXPECT_EQ(totals[bi][j], sum) << bi << " " << j;
    }
  for (const auto& r : t.rows) {
    EXPECT_EQ(r[2], 2.0 * 96.0 / r[0]);  // steps: 2 epochs of the 96 training images
    EXPECT_LE(r[5], r[4]);               // margin 8 finds no more than margin 0
  }
  const bool clean0 = totals[0][1] == 0 && totals[1][1] == 0;
  const bool clean8 = totals[0][2] == 0 && totals[1][2] == 0;
  EXPECT_EQ(meta.at("smallest_clean_margin").get<std::string>(),
            clean0 ? "0" : (clean8 ? "8" : "none of the margins tried"));
  // The markdown table: header, separator and rows all have 1 + 1 + 2 columns.
  std::ifstream md_in(dir_ / "calibrate" / "section.md");
  std::string line;
  std::size_t table_lines = 0;
  while (std::getline(md_in, line))
    if (line.rfind("| ", 0) == 0 || line.rfind("|---", 0) == 0) {
      EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 5) << line;
      ++table_lines;
    }
  EXPECT_EQ(table_lines, 4U);  // header, separator, 2 batch sizes
}

TEST_F(ReproduceEndToEnd, BeyondAndAllRegenerateTheReport) {
  run_experiment("beyond", ctx_);
  expect_common("beyond", {"beyond_batch_size"});
  expect_common("beyond", {"beyond_agop"});
  expect_finite_csv(dir_ / "beyond" / "batch_size.csv",
                    {"batch_size", "catapults", "test_accuracy", "eta_crit", "agop_alignment"});
  // AGOP alignment traces: the sweep's batch sizes, and batch 16 with and without catapults
  // (16 is not in the sweep, so its cyclic run is extra). 4 steps per epoch at batch 16:
  // measured at initialisation and every step (points 3 → every 4/3 → 1 step).
  for (const char* f :
       {"agop_cyclic_b8.csv", "agop_cyclic_b32.csv", "agop_cyclic_b16.csv", "agop_constant.csv"}) {
    expect_finite_csv(dir_ / "beyond" / f, {"step", "epoch", "agop_alignment", "catapults_so_far"});
    const auto t = read_csv(dir_ / "beyond" / f);
    EXPECT_EQ(t.rows.front()[0], 0.0) << f;  // at initialisation
  }
  EXPECT_EQ(read_csv(dir_ / "beyond" / "agop_constant.csv").rows.size(), 5U);
  // Step 0 of every trace aligns the initial model (the runs' seed) with the reference model
  // (Adam, reference_seed). Both models are rebuilt here with the engine, and their AGOPs and
  // alignment recomputed in double from the naive MLP's analytic input Jacobians.
  {
    const auto& beyond = ctx_.protocol.at("beyond");
    const auto& agop = beyond.at("agop");
    const auto data = experiment_data(ctx_, beyond.at("train_size").get<std::size_t>(), 0);
    const auto params = [](const nn::Mlp<float>& m) {
      return std::vector<double>(m.params(), m.params() + m.num_params());
    };
    RunSpec spec;
    spec.model = data.model;
    spec.loss = data.loss;
    spec.optimizer.kind = optim::OptimizerKind::Adam;
    spec.schedule = constant_schedule(agop.at("reference_lr").get<double>());
    spec.batch_size = agop.at("reference_batch_size").get<std::size_t>();
    spec.epochs = agop.at("reference_epochs").get<std::size_t>();
    spec.seed = agop.at("reference_seed").get<std::uint64_t>();
    std::vector<double> reference, init;
    (void)train(spec, data.train_set, data.test_set, {},
                [&](const StepInfo&, TrainState& s) { reference = params(s.model); });
    spec.optimizer.kind = optim::OptimizerKind::Sgd;
    spec.seed = beyond.value("seed", std::uint64_t{0});
    spec.max_steps = 1;
    (void)train(spec, data.train_set, data.test_set,
                [&](TrainState& s) { init = params(s.model); });
    const std::size_t n = agop.at("samples").get<std::size_t>();
    const std::size_t d = data.model.widths.front();
    const auto naive_agop = [&](const std::vector<double>& theta) {
      Matrix<double> g(d, d);
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> x(d);
        for (std::size_t j = 0; j < d; ++j) x[j] = data.train_set.images(i, j);
        const Matrix<double> jac = test::naive_mlp_input_jacobian(data.model, theta, x);
        for (std::size_t a = 0; a < d; ++a)
          for (std::size_t b = 0; b < d; ++b)
            for (std::size_t c = 0; c < jac.rows(); ++c)
              g(a, b) += jac(c, a) * jac(c, b) / static_cast<double>(n);
      }
      return g;
    };
    const Matrix<double> g_init = naive_agop(init), g_ref = naive_agop(reference);
    double dot = 0, norm_init = 0, norm_ref = 0;
    for (std::size_t i = 0; i < d * d; ++i) {
      dot += g_init.data()[i] * g_ref.data()[i];
      norm_init += g_init.data()[i] * g_init.data()[i];
      norm_ref += g_ref.data()[i] * g_ref.data()[i];
    }
    const double expected = dot / std::sqrt(norm_init * norm_ref);
    EXPECT_LT(expected, 0.999);  // the two models differ: the check can tell them apart
    for (const char* f :
         {"agop_cyclic_b8.csv", "agop_cyclic_b32.csv", "agop_cyclic_b16.csv", "agop_constant.csv"})
      EXPECT_NEAR(read_csv(dir_ / "beyond" / f).rows.front()[2], expected, 1e-5) << f;
  }
  // Per-step losses of every run: 8 steps at batch 8, 4 at batch 16 (constant and cyclic).
  expect_finite_csv(dir_ / "beyond" / "loss_b8.csv", {"step", "loss", "lr", "in_catapult"});
  EXPECT_EQ(read_csv(dir_ / "beyond" / "loss_b8.csv").rows.size(), 8U);
  EXPECT_EQ(read_csv(dir_ / "beyond" / "loss_constant.csv").rows.size(), 4U);
  EXPECT_EQ(read_csv(dir_ / "beyond" / "loss_b16.csv").rows.size(), 4U);
  std::ifstream md(dir_ / "beyond" / "section.md");
  std::stringstream ss;
  ss << md.rdbuf();
  for (const char* text :
       {"AGOP alignment over training", "| SGD, constant rate | 16 |", "| SGD + catapult | 16 |"})
    EXPECT_NE(ss.str().find(text), std::string::npos) << text;
  EXPECT_EQ(read_csv(dir_ / "beyond" / "batch_size_runs.csv").rows.size(), 2U);
  if (ctx_.figures) expect_common("beyond", {"beyond_loss"});
  // With the AGOP batch size in the sweep, its cyclic run is reused (no extra run); two seeds.
  ctx_.protocol["beyond"]["agop"]["batch_size"] = 8;
  ctx_.protocol["beyond"].erase("seed");
  ctx_.protocol["beyond"]["seeds"] = {0, 1};
  run_experiment("beyond", ctx_);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "beyond" / "agop_cyclic_b16.csv"));
  EXPECT_EQ(read_csv(dir_ / "beyond" / "batch_size_runs.csv").rows.size(), 4U);
  {
    const auto a = read_csv(dir_ / "beyond" / "agop_constant.csv");
    for (const auto& r : a.rows)
      EXPECT_NEAR(r[a.column("agop_alignment")],
                  0.5 * (r[a.column("agop_alignment_s0")] + r[a.column("agop_alignment_s1")]),
                  1e-9);
    const auto b = read_csv(dir_ / "beyond" / "batch_size.csv");
    EXPECT_NO_THROW((void)b.column("test_accuracy_std"));
  }
  std::ifstream md8(dir_ / "beyond" / "section.md");
  std::stringstream ss8;
  ss8 << md8.rdbuf();
  EXPECT_NE(ss8.str().find("| SGD + catapult | 8 |"), std::string::npos) << ss8.str();
  EXPECT_NE(ss8.str().find("| SGD, constant rate | 8 |"), std::string::npos);
  EXPECT_THROW(run_experiment("nope", ctx_), InvalidArgument);
}

}  // namespace
}  // namespace catapult::app::reproduce
