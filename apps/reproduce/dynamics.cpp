// Experiment 2: catapult dynamics under the cyclic and cyclic-exponential schedules.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {

/// Shaded intervals [start, end) of the detected catapults, in steps.
std::vector<std::pair<double, double>> phase_intervals(const analysis::CatapultDetection& d) {
  std::vector<std::pair<double, double>> out;
  for (const auto& p : d.catapults) out.emplace_back(double(p.start), double(p.end));
  return out;
}

namespace {

// One GD run of the dynamics experiment.
struct DynamicsRun {
  std::uint64_t seed = 0;
  RunResult result;
  analysis::CatapultDetection detection;
  std::vector<double> eta_crit;  // per step: η_crit(t) where measured, NaN elsewhere
  double eta0 = 0.0;             // η_crit at initialisation
};

const char* const kSeedColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};

}  // namespace

void run_dynamics(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("dynamics");
  ExperimentData experiment = experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 10);
  auto& train_set = experiment.train_set;
  auto& test_set = experiment.test_set;
  auto& model = experiment.model;
  auto& loss = experiment.loss;
  if (cfg.contains("widths")) model.widths = cfg.at("widths").get<std::vector<std::size_t>>();
  const std::size_t batch = std::min(cfg.at("batch_size").get<std::size_t>(), train_set.size());
  const bool full_batch = batch == train_set.size();
  // λmax on the training batch itself for GD (then 2/λmax(H) is exactly the critical rate), on
  // the protocol's critical sample otherwise.
  const std::size_t crit_n =
      full_batch ? train_set.size()
                 : std::min(p.at("critical").at("samples").get<std::size_t>(), train_set.size());
  const auto crit_x = first_rows(train_set, crit_n);
  const double crit_tol = p.at("critical").value("tolerance", 1e-3);
  const std::size_t crit_iter = p.at("critical").value("max_iterations", std::size_t{100});
  const std::size_t k = model.widths.back();
  const std::size_t every = cfg.at("lambda_every").get<std::size_t>();
  const auto seeds = section_seeds(cfg);
  auto detector = detector_options(p);
  if (full_batch) {  // the GD loss is not noisy: raw trace, no noise condition
    detector.smoothing = 0.0;
    detector.noise_window = 0;
  }
  // The schedules: the configured ones, then (for the sharpness figure) the first one with each
  // of sharpness.peak_factors as its peak, over sharpness.steps steps.
  struct Schedule {
    nlohmann::json config;
    std::string name;
    std::size_t steps = 0;
    bool own_figure = true;  // a dynamics_<name> figure and a section of its own
  };
  std::vector<Schedule> schedules;
  for (const auto& sched : cfg.at("schedules"))
    schedules.push_back(
        {sched, sched.at("name").get<std::string>(), cfg.at("steps").get<std::size_t>(), true});
  if (cfg.contains("sharpness")) {
    const auto& sh = cfg.at("sharpness");
    for (const double c : sh.at("peak_factors").get<std::vector<double>>()) {
      auto sched = cfg.at("schedules").at(0);
      sched["peak_factor"] = c;
      sched["name"] = format("%s_c%g", sched.at("name").get<std::string>().c_str(), c);
      schedules.push_back({sched, sched.at("name").get<std::string>(),
                           sh.value("steps", cfg.at("steps").get<std::size_t>()), false});
    }
  }

  auto run_one = [&](const Schedule& sc, std::uint64_t seed) {
    const auto& sched = sc.config;
    DynamicsRun r;
    r.seed = seed;
    RunSpec spec;
    spec.model = model;
    spec.loss = loss;
    spec.optimizer.kind = optim::OptimizerKind::Sgd;
    spec.batch_size = batch;
    spec.max_steps = sc.steps;
    spec.seed = seed;
    std::vector<double> warm;
    InitHook on_init = [&](TrainState& s) {
      const auto lm = ntk_lambda_max(s.model, crit_x, &warm, crit_tol, crit_iter);
      r.eta0 = require_rate(critical_rate_or_nan(loss, crit_n, k, lm.value),
                            str_cat("dynamics ", sc.name, ", seed ", seed, ", initialisation"));
      r.eta_crit.push_back(r.eta0);
      s.schedule = optim::Schedule(cyclic_schedule(
          sched.at("mode").get<std::string>(), sched.at("base_fraction").get<double>() * r.eta0,
          sched.at("peak_factor").get<double>() * r.eta0, sched.at("step_size").get<std::size_t>(),
          sched.value("gamma", 1.0)));
    };
    StepHook on_step = [&](const StepInfo& info, TrainState& s) {
      if ((info.step + 1) % every != 0) {
        r.eta_crit.push_back(std::nan(""));
        return;
      }
      const auto lm = ntk_lambda_max(s.model, crit_x, &warm, crit_tol, crit_iter);
      r.eta_crit.push_back(critical_rate_or_nan(loss, crit_n, k, lm.value));
    };
    r.result = train(spec, train_set, test_set, on_init, on_step);
    r.detection = analysis::detect_catapults(r.result.loss, detector);
    return r;
  };
  auto divergence = [](const DynamicsRun& r) {
    return r.detection.divergence ? str_cat(analysis::to_string(r.detection.divergence->reason),
                                            " at ", r.detection.divergence->step)
                                  : std::string("none");
  };

  write_experiment(ctx, "dynamics", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    std::ostringstream md;
    md << "## 2. Catapult dynamics (" << ctx.label() << ")\n\n";
    md << format("%s on %zu MNIST training images (784-%zu-10, MSE), %zu steps, seeds",
                 full_batch ? "Full-batch gradient descent" : "Mini-batch SGD", train_set.size(),
                 model.widths[1], cfg.at("steps").get<std::size_t>());
    for (const auto s : seeds) md << " " << s;
    md << format(
        "; the schedules' rates are multiples of η_crit measured at initialisation of each seed. "
        "λmax of the NTK re-measured every %zu steps on %zu images. Each figure: the training "
        "loss of every seed (shaded: the catapults detected in seed %llu's loss), and below it "
        "the sharpness λmax(H_GN) = 2/η_crit(t) = 2·c_L·λmax(K) (c_L = 1/(n·k), the scale of "
        "this project's mean MSE: η_crit = 1/(c_L·λmax(K)) = 2/λmax(H_GN)) against the stability "
        "threshold 2/η(t), drawn at "
        "every step: GD is unstable along the top eigendirection while the sharpness is above "
        "2/η(t). Mean ± std over the seeds.\n\n",
        every, crit_n, static_cast<unsigned long long>(seeds.front()));
    md << "| Schedule | Peak c (× η_crit) | η_crit at init | Catapults per run | Diverged runs | "
          "Final train loss | Test accuracy (%) |\n|---|---|---|---|---|---|---|\n";
    nlohmann::json runs = nlohmann::json::array();
    std::vector<std::vector<DynamicsRun>> all;
    for (const auto& sc : schedules) {
      const auto& sched = sc.config;
      std::vector<DynamicsRun> rs;
      for (const auto seed : seeds) {
        rs.push_back(run_one(sc, seed));
        const auto& r = rs.back();
        runs.push_back({{"schedule", sched},
                        {"seed", seed},
                        {"steps", sc.steps},
                        {"eta_crit_init", r.eta0},
                        {"catapults", r.detection.catapults.size()},
                        {"divergence", divergence(r)},
                        {"train_loss", r.result.train_loss},
                        {"test_accuracy", r.result.test_accuracy},
                        {"seconds", r.result.seconds}});
        ctx.progress(format("dynamics %s seed %llu: %zu catapult(s), divergence %s, %.1f s",
                            sc.name.c_str(), static_cast<unsigned long long>(seed),
                            r.detection.catapults.size(), divergence(r).c_str(), r.result.seconds));
      }
      // Per step: seed 0's loss, rate, η_crit and phases (the columns of one run), then every
      // seed's loss, sharpness 2/η_crit and stability threshold 2/η.
      const auto& r0 = rs.front();
      const auto mask = analysis::catapult_mask(r0.detection, r0.result.loss.size());
      CsvTable csv;
      csv.columns = {"step", "loss", "lr", "eta_crit", "in_catapult", "sharpness", "two_over_lr"};
      for (const auto& r : rs)
        for (const char* c : {"loss_s", "sharpness_s", "two_over_lr_s"})
          csv.columns.push_back(str_cat(c, r.seed));
      std::size_t steps = 0;
      for (const auto& r : rs) steps = std::max(steps, r.result.loss.size());
      auto at = [](const std::vector<double>& v, std::size_t t) {
        return t < v.size() ? v[t] : std::nan("");
      };
      for (std::size_t t = 0; t < steps; ++t) {
        const double ec = at(r0.eta_crit, t);
        std::vector<double> row = {double(t),
                                   at(r0.result.loss, t),
                                   at(r0.result.lr, t),
                                   ec,
                                   t < mask.size() ? double(mask[t]) : std::nan(""),
                                   2.0 / ec,
                                   2.0 / at(r0.result.lr, t)};
        for (const auto& r : rs) {
          row.push_back(at(r.result.loss, t));
          row.push_back(2.0 / at(r.eta_crit, t));
          row.push_back(2.0 / at(r.result.lr, t));
        }
        csv.add(std::move(row));
      }
      csv.write(dir / (sc.name + ".csv"));
      CsvTable phases;
      phases.columns = {"seed", "start", "peak", "end", "baseline", "peak_loss", "ratio"};
      for (const auto& r : rs)
        for (const auto& ph : r.detection.catapults)
          phases.add({double(r.seed), double(ph.start), double(ph.peak), double(ph.end),
                      ph.baseline, ph.peak_loss, ph.ratio()});
      phases.write(dir / (sc.name + "_catapults.csv"));
      std::vector<double> eta0, cats, train_loss, acc;
      std::size_t diverged = 0;
      for (const auto& r : rs) {
        eta0.push_back(r.eta0);
        cats.push_back(double(r.detection.catapults.size()));
        train_loss.push_back(r.result.train_loss);
        acc.push_back(100.0 * r.result.test_accuracy);
        if (r.detection.divergence || r.result.diverged) ++diverged;
      }
      md << format("| %s (%s, %zu steps) | %g | %s | %s | %zu/%zu | %s | %s |\n", sc.name.c_str(),
                   sched.at("mode").get<std::string>().c_str(), sc.steps,
                   sched.at("peak_factor").get<double>(), mean_pm_std(eta0, "%.4g").c_str(),
                   mean_pm_std(cats, "%.1f").c_str(), diverged, rs.size(),
                   mean_pm_std(train_loss, "%.4g").c_str(), mean_pm_std(acc, "%.2f").c_str());
      all.push_back(std::move(rs));
    }
    md << "\n";

    // The sharpness panel of one schedule: every seed's 2/η_crit(t) (points) and 2/η(t) (lines).
    auto sharpness_panel = [&](const Schedule& sc, const std::vector<DynamicsRun>& rs) {
      Panel panel;
      panel.title = format("%s (%s), peak %g·η_{crit}(0): sharpness against 2/η(t)",
                           literal_text(sc.name).c_str(),
                           literal_text(sc.config.at("mode").get<std::string>()).c_str(),
                           sc.config.at("peak_factor").get<double>());
      panel.y_label = "λ_{max}(H_{GN}) and 2/η";
      panel.log_y = true;
      panel.shaded = phase_intervals(rs.front().detection);
      for (std::size_t i = 0; i < rs.size(); ++i) {
        const char* color = kSeedColors[i % 5];
        const double opacity = i == 0 ? 1.0 : 0.6;
        Series two_over_lr{sc.name + ".csv",
                           "step",
                           str_cat("two_over_lr_s", rs[i].seed),
                           i == 0 ? "2/η(t), each seed" : "",
                           false,
                           "lines",
                           color,
                           1.2};
        two_over_lr.opacity = opacity;
        Series sharp{sc.name + ".csv",
                     "step",
                     str_cat("sharpness_s", rs[i].seed),
                     str_cat("λ_{max}(H_{GN}) seed ", rs[i].seed),
                     false,
                     "linespoints",
                     color,
                     1.0};
        sharp.opacity = opacity;
        panel.series.push_back(two_over_lr);
        panel.series.push_back(sharp);
      }
      return panel;
    };

    if (ctx.figures) {
      for (std::size_t si = 0; si < schedules.size(); ++si) {
        const auto& sc = schedules[si];
        if (!sc.own_figure) continue;
        const auto& rs = all[si];
        Figure f;
        f.title = str_cat("Catapult dynamics, ", literal_text(sc.name), " schedule (",
                          literal_text(sc.config.at("mode").get<std::string>()), ")");
        f.subtitle = ctx.label();
        f.x_label = "step";
        f.width = 1000;
        f.height = 800;
        Panel lossp;
        lossp.title = format("training loss, %zu seed(s); shaded: catapults of seed %llu",
                             rs.size(), static_cast<unsigned long long>(rs.front().seed));
        lossp.y_label = "training loss (MSE)";
        lossp.log_y = true;
        lossp.shaded = phase_intervals(rs.front().detection);
        for (std::size_t i = 0; i < rs.size(); ++i) {
          Series s{sc.name + ".csv",
                   "step",
                   str_cat("loss_s", rs[i].seed),
                   str_cat("seed ", rs[i].seed),
                   false,
                   "lines",
                   kSeedColors[i % 5],
                   i == 0 ? 1.8 : 1.2};
          s.opacity = i == 0 ? 1.0 : 0.6;
          lossp.series.push_back(s);
        }
        f.panels = {lossp, sharpness_panel(sc, rs)};
        render_figure(f, dir, "dynamics_" + sc.name);
      }
      // Sharpness against 2/η for every schedule, by peak factor.
      std::vector<std::size_t> order(schedules.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return schedules[a].config.at("peak_factor").get<double>() <
               schedules[b].config.at("peak_factor").get<double>();
      });
      Figure f;
      f.title = "Sharpness λ_{max}(H_{GN}) = 2/η_{crit}(t) against 2/η(t), by peak factor";
      f.subtitle = ctx.label();
      f.x_label = "step";
      f.width = 1000;
      f.height = std::max<int>(500, 260 * static_cast<int>(order.size()));
      for (const std::size_t i : order) f.panels.push_back(sharpness_panel(schedules[i], all[i]));
      render_figure(f, dir, "dynamics_sharpness");
    }
    for (const auto& sc : schedules)
      if (sc.own_figure) md << "![" << sc.name << "](dynamics/dynamics_" << sc.name << ".png)\n";
    md << "\nSharpness against the stability threshold 2/η(t), one panel per schedule (by peak "
          "factor c; shaded: the catapults of seed "
       << seeds.front() << "):\n\n![sharpness](dynamics/dynamics_sharpness.png)\n";
    meta["runs"] = runs;
    meta["seeds"] = seeds;
    write_file_atomic(dir / "section.md", md.str());
  });
}

}  // namespace catapult::app::reproduce
