// Experiment 2: catapult dynamics under the cyclic and cyclic-exponential schedules.
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

void run_dynamics(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("dynamics");
  auto [train_set, test_set, model, loss] =
      experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 10);
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
  auto detector = detector_options(p);
  if (full_batch) {  // the GD loss is not noisy: raw trace, no noise condition
    detector.smoothing = 0.0;
    detector.noise_window = 0;
  }

  write_experiment(ctx, "dynamics", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    std::ostringstream md;
    md << "## 2. Catapult dynamics (" << ctx.label() << ")\n\n";
    md << format(
        "%s on %zu MNIST training images (784-%zu-10, MSE), %zu steps; λmax of the NTK "
        "re-measured every %zu steps on %zu images; the rate axis shows η(t) and "
        "η_crit(t) = 2/λmax(H) = 1/(c·λmax(K)). Shaded: detected catapults.\n\n",
        full_batch ? "Full-batch gradient descent" : "Mini-batch SGD", train_set.size(),
        model.widths[1], cfg.at("steps").get<std::size_t>(), every, crit_n);
    md << "| Schedule | η_crit at init | base | peak | catapults | divergence | final train loss "
          "| test accuracy (%) |\n|---|---|---|---|---|---|---|---|\n";
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& sched : cfg.at("schedules")) {
      const std::string name = sched.at("name").get<std::string>();
      RunSpec spec;
      spec.model = model;
      spec.loss = loss;
      spec.optimizer.kind = optim::OptimizerKind::Sgd;
      spec.batch_size = batch;
      spec.max_steps = cfg.at("steps").get<std::size_t>();
      spec.seed = cfg.value("seed", std::uint64_t{0});
      std::vector<double> warm;
      std::vector<double> eta_crit_trace;
      double eta0 = 0.0;
      InitHook on_init = [&](TrainState& s) {
        const auto lm = ntk_lambda_max(s.model, crit_x, &warm, crit_tol, crit_iter);
        eta0 = require_rate(critical_rate_or_nan(loss, crit_n, k, lm.value),
                            str_cat("dynamics ", name, ", initialisation"));
        eta_crit_trace.push_back(eta0);
        s.schedule = optim::Schedule(cyclic_schedule(
            sched.at("mode").get<std::string>(), sched.at("base_fraction").get<double>() * eta0,
            sched.at("peak_factor").get<double>() * eta0, sched.at("step_size").get<std::size_t>(),
            sched.value("gamma", 1.0)));
      };
      StepHook on_step = [&](const StepInfo& info, TrainState& s) {
        if ((info.step + 1) % every != 0) {
          eta_crit_trace.push_back(std::nan(""));
          return;
        }
        const auto lm = ntk_lambda_max(s.model, crit_x, &warm, crit_tol, crit_iter);
        eta_crit_trace.push_back(critical_rate_or_nan(loss, crit_n, k, lm.value));
      };
      const auto result = train(spec, train_set, test_set, on_init, on_step);
      const auto detection = analysis::detect_catapults(result.loss, detector);
      const auto mask = analysis::catapult_mask(detection, result.loss.size());
      CsvTable csv;
      csv.columns = {"step", "loss", "lr", "eta_crit", "in_catapult"};
      for (std::size_t t = 0; t < result.loss.size(); ++t)
        csv.add({double(t), result.loss[t], result.lr[t],
                 t < eta_crit_trace.size() ? eta_crit_trace[t] : std::nan(""), double(mask[t])});
      csv.write(dir / (name + ".csv"));
      CsvTable phases;
      phases.columns = {"start", "peak", "end", "baseline", "peak_loss", "ratio"};
      for (const auto& ph : detection.catapults)
        phases.add({double(ph.start), double(ph.peak), double(ph.end), ph.baseline, ph.peak_loss,
                    ph.ratio()});
      phases.write(dir / (name + "_catapults.csv"));
      const std::string div = detection.divergence
                                  ? str_cat(analysis::to_string(detection.divergence->reason),
                                            " at ", detection.divergence->step)
                                  : std::string("none");
      md << format("| %s (%s) | %.4g | %.4g | %.4g | %zu | %s | %.4g | %.2f |\n", name.c_str(),
                   sched.at("mode").get<std::string>().c_str(), eta0,
                   sched.at("base_fraction").get<double>() * eta0,
                   sched.at("peak_factor").get<double>() * eta0, detection.catapults.size(),
                   div.c_str(), result.train_loss, 100.0 * result.test_accuracy);
      runs.push_back({{"schedule", sched},
                      {"eta_crit_init", eta0},
                      {"catapults", detection.catapults.size()},
                      {"divergence", div},
                      {"train_loss", result.train_loss},
                      {"test_accuracy", result.test_accuracy},
                      {"seconds", result.seconds}});
      ctx.progress(format("dynamics %s: %zu catapult(s), divergence %s, %.1f s", name.c_str(),
                          detection.catapults.size(), div.c_str(), result.seconds));
      if (ctx.figures) {
        Figure f;
        f.title = str_cat("Catapult dynamics, ", name, " schedule (",
                          sched.at("mode").get<std::string>(), ")");
        f.subtitle = ctx.label();
        f.x_label = "step";
        f.y_label = "training loss (MSE)";
        f.y2_label = "learning rate";
        f.log_y = true;
        f.log_y2 = true;
        f.shaded = phase_intervals(detection);
        f.series.push_back(
            {name + ".csv", "step", "loss", "training loss", false, "lines", "#1f77b4", 1.5});
        f.series.push_back(
            {name + ".csv", "step", "lr", "learning rate η(t)", true, "lines", "#2ca02c", 1.2});
        f.series.push_back(
            {name + ".csv", "step", "eta_crit", "2/λmax(H)", true, "points", "#d62728", 1.0});
        render_figure(f, dir, "dynamics_" + name);
      }
      md.flush();
    }
    md << "\n";
    for (const auto& sched : cfg.at("schedules")) {
      const std::string name = sched.at("name").get<std::string>();
      md << "![" << name << "](dynamics/dynamics_" << name << ".png)\n";
    }
    meta["runs"] = runs;
    write_file_atomic(dir / "section.md", md.str());
  });
}

}  // namespace catapult::app::reproduce
