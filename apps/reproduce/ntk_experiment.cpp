// Experiment 3: the NTK of a smaller model tracked over training (condition number, ‖K‖₂, loss
// split onto the top eigenspace) with the catapult phases marked.
#include <cmath>
#include <sstream>
#include <vector>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "catapult/ntk/curvature.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {

void run_ntk(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("ntk");
  ExperimentData experiment = experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 20);
  auto& train_set = experiment.train_set;
  auto& test_set = experiment.test_set;
  auto& model = experiment.model;
  auto& loss = experiment.loss;
  model.widths = cfg.at("widths").get<std::vector<std::size_t>>();
  const std::size_t n = train_set.size();
  const std::size_t k = model.widths.back();
  const auto x = train_set.images.cview();
  const std::size_t every = cfg.at("track_every").get<std::size_t>();
  const std::size_t top_k = std::min(cfg.at("top_k").get<std::size_t>(), n);
  const auto& sched = cfg.at("schedule");
  auto detector = detector_options(p);
  detector.smoothing = 0.0;  // full-batch GD: raw trace, no noise condition
  detector.noise_window = 0;
  const double c = nn::mse_scale(loss.reduction, n, k);
  const auto seeds = section_seeds(cfg);

  write_experiment(ctx, "ntk", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    std::ostringstream md;
    md << "## 3. NTK spectrum over training (" << ctx.label() << ")\n\n";
    // Per catapult of every seed: the spectrum before its start and after its end.
    CsvTable across;
    across.columns = {"seed",        "start",      "peak",         "end",        "ratio",
                      "norm_before", "norm_after", "kappa_before", "kappa_after"};
    std::vector<double> first_lines;
    double first_eta0 = 0.0;
    std::size_t first_catapults = 0;
    for (std::size_t si = 0; si < seeds.size(); ++si) {
      const auto seed = seeds[si];
      // The first seed's files keep their plain names (the figures draw them); the others get
      // _s<seed>.
      const std::string sfx = si == 0 ? "" : format("_s%llu", (unsigned long long)seed);
      CsvTable track;
      track.columns = {"step", "lambda_max", "lambda_min", "condition_number",
                       "loss", "loss_top",   "loss_rest"};
      Matrix<float> out(n, k);
      std::vector<double> residual(n);
      auto measure = [&](std::size_t step, const nn::Mlp<float>& m) {
        const auto kt = ntk::empirical_ntk<float>(m, x, {ntk::NtkMode::Traced, 0, 0});
        const auto eig = ntk::dense_eigenpairs<float>(kt.cview());
        const double lmax = eig.eigenvalues.front();
        const double lmin = eig.eigenvalues.back();
        // The traced kernel's eigenvectors live in sample space: split each output's residual
        // r_c = f_c − y_c onto the top_k of them; the loss is the sum over the outputs.
        const auto top_vectors = eig.eigenvectors.cview().rows_range(0, top_k);
        m.forward(x, out.view());
        double top = 0;
        double rest = 0;
        for (std::size_t j = 0; j < k; ++j) {
          for (std::size_t i = 0; i < n; ++i)
            residual[i] =
                double(out(i, j)) - (train_set.labels[i] == j ? loss.target_on : loss.target_off);
          const auto split = ntk::split_residual(top_vectors, residual, c);
          top += split.loss_top;
          rest += split.loss_rest;
        }
        track.add(
            {double(step), lmax, lmin, lmin > 0 ? lmax / lmin : INFINITY, top + rest, top, rest});
      };
      RunSpec spec;
      spec.model = model;
      spec.loss = loss;
      spec.optimizer.kind = optim::OptimizerKind::Sgd;
      spec.batch_size = n;
      spec.max_steps = cfg.at("steps").get<std::size_t>();
      spec.seed = seed;
      double eta0 = 0.0;
      InitHook on_init = [&](TrainState& s) {
        const auto lm = ntk_lambda_max(s.model, x, nullptr, 1e-4, 300);
        eta0 = require_rate(critical_rate_or_nan(loss, n, k, lm.value), "ntk, initialisation");
        s.schedule = optim::Schedule(cyclic_schedule(
            sched.at("mode").get<std::string>(), sched.at("base_fraction").get<double>() * eta0,
            sched.at("peak_factor").get<double>() * eta0, sched.at("step_size").get<std::size_t>(),
            sched.value("gamma", 1.0)));
        measure(0, s.model);
      };
      StepHook on_step = [&](const StepInfo& info, TrainState& s) {
        if ((info.step + 1) % every == 0) measure(info.step + 1, s.model);
      };
      const auto result = train(spec, train_set, test_set, on_init, on_step);
      const auto detection = analysis::detect_catapults(result.loss, detector);
      CsvTable trace;
      trace.columns = {"step", "loss", "lr"};
      for (std::size_t t = 0; t < result.loss.size(); ++t)
        trace.add({double(t), result.loss[t], result.lr[t]});
      trace.write(dir / ("loss" + sfx + ".csv"));
      track.write(dir / ("ntk_track" + sfx + ".csv"));
      CsvTable phases;
      phases.columns = {"start", "peak", "end", "baseline", "peak_loss", "ratio"};
      for (const auto& ph : detection.catapults)
        phases.add({double(ph.start), double(ph.peak), double(ph.end), ph.baseline, ph.peak_loss,
                    ph.ratio()});
      phases.write(dir / ("catapults" + sfx + ".csv"));
      ctx.progress(format("ntk seed %llu: %zu catapult(s), %zu NTK spectra, %.1f s",
                          (unsigned long long)seed, detection.catapults.size(), track.rows.size(),
                          result.seconds));
      auto nearest = [&](double step, bool before) {
        const std::vector<double>* best = nullptr;
        for (const auto& row : track.rows)
          if ((before && row[0] <= step) || (!before && row[0] >= step && best == nullptr))
            best = &row;
        return best;
      };
      for (const auto& ph : detection.catapults) {
        const auto* b = nearest(double(ph.start), true);
        const auto* a = nearest(double(ph.end), false);
        const double nan = std::nan("");
        across.add({double(seed), double(ph.start), double(ph.peak), double(ph.end), ph.ratio(),
                    b ? (*b)[1] : nan, a ? (*a)[1] : nan, b ? (*b)[3] : nan, a ? (*a)[3] : nan});
      }
      if (si == 0) {
        first_eta0 = eta0;
        first_catapults = detection.catapults.size();
        for (const auto& ph : detection.catapults) {
          first_lines.push_back(double(ph.start));
          first_lines.push_back(double(ph.end));
        }
      }
      if (detection.divergence)
        md << "Seed " << seed << ": the run diverged ("
           << analysis::to_string(detection.divergence->reason) << " at step "
           << detection.divergence->step << ").\n\n";
    }
    across.write(dir / "catapults_all_seeds.csv");
    const double eta0 = first_eta0;
    // How the spectrum moved across each catapult: ‖K‖₂ before the start and after the end.
    md << format(
        "Model 784-%zu-10 (ReLU, %s parameterization), full-batch GD on %zu MNIST images, "
        "%zu steps with a cyclic (%s) rate between %.3g·η_crit and %.3g·η_crit "
        "(η_crit = %.4g at initialisation for the first seed), %zu seed(s). The traced NTK "
        "K = Σ_c J_c J_cᵀ (%zu × %zu) is built by the ntk module (structured form) and "
        "diagonalised densely every %zu steps. The figures show the first seed (the others "
        "faint in the spectrum figure); red lines: start and end of its detected catapults.\n\n",
        model.widths[1], nn::to_string(model.parameterization), n,
        cfg.at("steps").get<std::size_t>(), sched.at("mode").get<std::string>().c_str(),
        sched.at("base_fraction").get<double>(), sched.at("peak_factor").get<double>(), eta0,
        seeds.size(), n, n, every);
    md << "| Seed | start | peak | end | peak/baseline | ‖K‖₂ before | ‖K‖₂ after | κ before | "
          "κ after |\n|---|---|---|---|---|---|---|---|---|\n";
    std::vector<double> norm_ratio, kappa_ratio;
    for (const auto& r : across.rows) {
      auto num = [](double v) { return std::isfinite(v) ? format("%.4g", v) : std::string("–"); };
      md << format("| %.0f | %.0f | %.0f | %.0f | %.2f | %s | %s | %s | %s |\n", r[0], r[1], r[2],
                   r[3], r[4], num(r[5]).c_str(), num(r[6]).c_str(), num(r[7]).c_str(),
                   num(r[8]).c_str());
      if (std::isfinite(r[5]) && std::isfinite(r[6]) && r[5] > 0) norm_ratio.push_back(r[6] / r[5]);
      if (std::isfinite(r[7]) && std::isfinite(r[8]) && r[7] > 0)
        kappa_ratio.push_back(r[8] / r[7]);
    }
    if (across.rows.empty()) md << "| (none detected) | | | | | | | | |\n";
    if (!norm_ratio.empty()) {
      const auto nr = mean_std(norm_ratio);
      const auto kr = mean_std(kappa_ratio);
      std::size_t drops = 0;
      for (const double r : norm_ratio) drops += r < 1.0 ? 1 : 0;
      md << format(
          "\nAcross the %zu catapults of the %zu seeds: ‖K‖₂ after / before = %.3g ± %.2g "
          "(lower after %zu of %zu times); κ after / before = %.3g ± %.2g.\n",
          across.rows.size(), seeds.size(), nr.mean, nr.std, drops, norm_ratio.size(), kr.mean,
          kr.std);
    }
    md << "\n![NTK condition number and norm](ntk/ntk_spectrum.png)\n"
       << "![Loss split onto the top eigenspace](ntk/ntk_loss_split.png)\n";
    meta["eta_crit_init"] = eta0;
    meta["catapults"] = first_catapults;
    meta["catapults_all_seeds"] = across.rows.size();
    meta["seeds"] = seeds;
    meta["train_size"] = n;
    write_file_atomic(dir / "section.md", md.str());

    if (ctx.figures) {
      const std::vector<double>& lines = first_lines;
      Figure f;
      f.title = "Empirical NTK over training: condition number and spectral norm";
      f.subtitle = ctx.label();
      f.x_label = "step";
      f.y_label = "condition number λmax/λmin";
      f.y2_label = "‖K‖₂ = λmax(K)";
      f.log_y = true;
      f.vertical_lines = lines;
      f.series.push_back({"ntk_track.csv", "step", "condition_number", "condition number", false,
                          "linespoints", "#1f77b4", 1.2});
      f.series.push_back(
          {"ntk_track.csv", "step", "lambda_max", "‖K‖₂", true, "linespoints", "#2ca02c", 1.2});
      for (std::size_t si = 1; si < seeds.size(); ++si) {
        const std::string csv = format("ntk_track_s%llu.csv", (unsigned long long)seeds[si]);
        f.series.push_back({csv, "step", "condition_number",
                            format("condition number, seed %llu", (unsigned long long)seeds[si]),
                            false, "lines", "#9ecae1", 1.0});
        f.series.push_back({csv, "step", "lambda_max",
                            format("‖K‖₂, seed %llu", (unsigned long long)seeds[si]), true, "lines",
                            "#a1d99b", 1.0});
      }
      render_figure(f, dir, "ntk_spectrum");
      Figure g;
      g.title = str_cat("Training loss and its part in the top-", top_k, " NTK eigenspace");
      g.subtitle = ctx.label();
      g.x_label = "step";
      g.y_label = "loss (MSE)";
      g.log_y = true;
      g.vertical_lines = lines;
      g.series.push_back(
          {"ntk_track.csv", "step", "loss", "loss", false, "linespoints", "#000000", 1.2});
      g.series.push_back({"ntk_track.csv", "step", "loss_top",
                          str_cat("top-", top_k, " eigenspace part"), false, "linespoints",
                          "#d62728", 1.2});
      g.series.push_back(
          {"ntk_track.csv", "step", "loss_rest", "rest", false, "linespoints", "#1f77b4", 1.2});
      render_figure(g, dir, "ntk_loss_split");
    }
  });
}

}  // namespace catapult::app::reproduce
