// Experiment 4: AdaGrad. s_t = min_i √(Σ_p g²) against step, the poster's bound 2·s_t/λmax(H)
// against the peak rate, the preconditioned critical rate, and AdaGrad + cyclic schedule training.
#include <cmath>
#include <limits>
#include <sstream>

#include "catapult/analysis/adagrad_stats.hpp"
#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "catapult/ntk/curvature.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {

void run_adagrad(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("adagrad");
  const ExperimentData experiment =
      experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 0);
  const auto& train_set = experiment.train_set;
  const auto& test_set = experiment.test_set;
  const auto& model = experiment.model;
  const auto& loss = experiment.loss;
  const std::size_t k = model.widths.back();
  const auto crit = critical_sample(p, train_set);
  const std::size_t stats_every = cfg.at("stats_every").get<std::size_t>();
  const std::size_t lambda_every = cfg.at("lambda_every").get<std::size_t>();
  const std::size_t measure_step = cfg.at("measure_step").get<std::size_t>();
  const double base = cfg.at("base_lr").get<double>();
  const auto detector = detector_options(p);
  const auto seeds = section_seeds(cfg);
  // The peak: the multiple of the base rate that the phase map's AdaGrad row rule chose (as for
  // the table's AdaGrad + catapult row), the protocol's own otherwise.
  const ChosenPeak chosen =
      chosen_peak(ctx, "adagrad", "triangular", cfg.at("batch_size").get<std::size_t>(),
                  cfg.at("peak_multiple_of_base").get<double>());
  const double multiple = chosen.factor;
  const double peak = multiple * base;

  write_experiment(ctx, "adagrad", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    std::ostringstream md;
    md << "## 4. AdaGrad: s_t, the critical-rate bound and dying catapults (" << ctx.label()
       << ")\n\n";
    md << format("AdaGrad on %zu MNIST images (784-%zu-10, MSE, batch %zu, %zu epochs, seeds",
                 train_set.size(), model.widths[1], cfg.at("batch_size").get<std::size_t>(),
                 cfg.at("epochs").get<std::size_t>());
    for (const auto seed : seeds) md << ' ' << seed;
    md << format(
        ") with a cyclic triangular rate from %.3g to a fixed peak of %.3g (%g × base; the "
        "multiple comes from %s). The bullets and figures are the first seed's; the table after "
        "them has every seed.\n\n",
        base, peak, multiple, chosen.source.c_str());
    CsvTable per_seed;
    per_seed.columns = {"seed",
                        "test_accuracy",
                        "catapults_first_half",
                        "catapults_second_half",
                        "last_catapult_step",
                        "steps",
                        "eta_crit_all_at_measure",
                        "eta_crit_filled_at_measure",
                        "filled_fraction_at_measure",
                        "eta_crit_filled_final",
                        "diverged"};
    analysis::CatapultDetection first_detection;
    for (std::size_t si = 0; si < seeds.size(); ++si) {
      const auto seed = seeds[si];
      const bool first_seed = si == 0;
      // The first seed's files keep their plain names (the figures draw them); the others get
      // _s<seed>.
      const std::string sfx = first_seed ? "" : format("_s%llu", (unsigned long long)seed);
      analysis::AdagradStatsRecorder recorder({0.01, 0.5, 0.99}, stats_every);
      CsvTable rates;
      rates.columns = {"step",
                       "lr",
                       "peak_lr",
                       "eta_crit_sgd",
                       "bound_poster",
                       "bound_active",
                       "eta_crit_preconditioned",
                       "eta_crit_filled",
                       "filled_fraction"};
      std::vector<double> warm;
      double eta_crit_ada0 = std::nan("");
      RunSpec spec;
      spec.model = model;
      spec.loss = loss;
      spec.optimizer.kind = optim::OptimizerKind::AdaGrad;
      spec.batch_size = cfg.at("batch_size").get<std::size_t>();
      spec.epochs = cfg.at("epochs").get<std::size_t>();
      spec.seed = seed;
      spec.log = ctx.log;
      spec.name = format("adagrad seed %llu", (unsigned long long)seed);
      spec.eval_every = cfg.at("eval_every").get<std::size_t>();
      spec.schedule =
          cyclic_schedule("triangular", base, peak, cfg.at("step_size").get<std::size_t>(), 1.0);
      auto preconditioned = [&](TrainState& s) {
        return preconditioned_critical_rate(s.model, crit.x, loss,
                                            adagrad_preconditioner(s.optimizer), crit.tolerance,
                                            crit.max_restarts);
      };
      // Over the parameters whose accumulator has filled (s_i ≥ ratio·g_i² on the critical sample),
      // where the fixed-preconditioner analysis applies.
      const double filled_ratio = adagrad_filled_ratio(p);
      const std::span<const std::uint8_t> crit_labels(train_set.labels.data(), crit.n);
      FilledCriticalRate filled_at_measure;
      auto filled = [&](TrainState& s) {
        return filled_preconditioned_critical_rate(s.model, crit.x, crit_labels, loss, s.optimizer,
                                                   filled_ratio, crit.tolerance, crit.max_restarts);
      };
      StepHook on_step = [&](const StepInfo& info, TrainState& s) {
        const std::size_t step = info.step + 1;  // steps completed
        const auto acc = adagrad_accumulator(s.optimizer);
        recorder.record(step, acc);
        // The peak stays fixed (the poster's fixed cyclic schedule): as the accumulator grows the
        // effective rates shrink and catapults should die out.
        if (step % lambda_every == 0 || step == measure_step) {
          const auto lm = ntk_lambda_max(s.model, crit.x, &warm, crit.tolerance, crit.max_restarts);
          const double eta_sgd = critical_rate_or_nan(loss, crit.n, k, lm.value);
          const auto st = analysis::adagrad_accumulator_stats<float>(acc, {}, step);
          // The poster's bound 2·s_t/λmax(H) with λmax(H) ≈ λmax(H_GN) = 2c·λmax(K_full).
          const double lambda_h = 2.0 * nn::mse_scale(loss.reduction, crit.n, k) * lm.value;
          auto bound = [&](double s_t) {
            return std::isfinite(eta_sgd) ? ntk::adagrad_critical_rate_bound(s_t, lambda_h)
                                          : std::nan("");
          };
          const double all = preconditioned(s);
          const auto f = filled(s);
          if (step == measure_step) {
            eta_crit_ada0 = all;
            filled_at_measure = f;
          }
          rates.add({double(step), info.lr, peak, eta_sgd, bound(st.s_t), bound(st.s_t_active), all,
                     f.eta_crit,
                     f.active > 0 ? double(f.filled) / double(f.active) : std::nan("")});
        }
      };
      const auto result = train(spec, train_set, test_set, {}, on_step);
      const auto detection = analysis::detect_catapults(result.loss, detector);

      CsvTable stats;
      stats.columns = {"step",   "s_t", "s_t_active", "inactive", "q01",
                       "median", "q99", "mean",       "max"};
      for (const auto& h : recorder.history())
        stats.add({double(h.step), h.s_t, h.s_t_active, double(h.inactive), h.quantiles[0],
                   h.quantiles[1], h.quantiles[2], h.mean, h.max});
      stats.write(dir / ("accumulator" + sfx + ".csv"));
      rates.write(dir / ("rates" + sfx + ".csv"));
      CsvTable trace;
      trace.columns = {"step", "loss", "lr"};
      for (std::size_t t = 0; t < result.loss.size(); ++t)
        trace.add({double(t), result.loss[t], result.lr[t]});
      trace.write(dir / ("loss" + sfx + ".csv"));
      CsvTable evals;
      evals.columns = {"step", "train_loss", "train_accuracy", "test_accuracy"};
      for (std::size_t i = 0; i < result.eval_steps.size(); ++i)
        evals.add({double(result.eval_steps[i]), result.eval_train_loss[i],
                   100.0 * result.eval_train_accuracy[i], 100.0 * result.eval_test_accuracy[i]});
      evals.write(dir / ("evaluation" + sfx + ".csv"));

      // Catapults in the first and second half of training: the poster expects them to die out.
      const std::size_t half = result.loss.size() / 2;
      std::size_t early = 0;
      std::size_t late = 0;
      for (const auto& ph : detection.catapults) (ph.start < half ? early : late)++;
      ctx.progress(
          format("adagrad seed %llu: %zu catapult(s) in the first half, %zu in the second, "
                 "%.1f s",
                 (unsigned long long)seed, early, late, result.seconds));
      per_seed.add(
          {double(seed), 100.0 * result.test_accuracy, double(early), double(late),
           detection.catapults.empty() ? std::nan("") : double(detection.catapults.back().start),
           double(result.loss.size()), eta_crit_ada0, filled_at_measure.eta_crit,
           filled_at_measure.active > 0
               ? double(filled_at_measure.filled) / double(filled_at_measure.active)
               : std::nan(""),
           rates.rows.empty() ? std::nan("") : rates.rows.back()[rates.column("eta_crit_filled")],
           result.diverged ? 1.0 : 0.0});
      if (!first_seed) continue;
      first_detection = detection;
      const auto& hist = recorder.history();
      if (!hist.empty()) {
        const auto& h0 = hist.front();
        const auto& h1 = hist.back();
        md << format(
            "- Poster's s_t = min_i √(Σ_p g²): %.4g at step %zu and %.4g at step %zu. %zu of %zu "
            "parameters never receive a gradient (e.g. first-layer weights of always-black border "
            "pixels), so this minimum is 0 and the bound 2·s_t/λmax is vacuous on MNIST. Over the "
            "active parameters the minimum goes from %.3g to %.3g (parameters that only rarely see "
            "a "
            "non-zero pixel keep it tiny); the median of √sum goes from %.3g to %.3g and the 99%% "
            "quantile from %.3g to %.3g.\n",
            h0.s_t, h0.step, h1.s_t, h1.step, h1.inactive, nn::Mlp<float>(model).num_params(),
            h0.s_t_active, h1.s_t_active, h0.quantiles[1], h1.quantiles[1], h0.quantiles[2],
            h1.quantiles[2]);
      }
      if (!rates.rows.empty()) {
        const auto& first = rates.rows.front();
        const auto& last = rates.rows.back();
        const std::size_t c_all = rates.column("eta_crit_preconditioned");
        const std::size_t c_filled = rates.column("eta_crit_filled");
        const std::size_t c_frac = rates.column("filled_fraction");
        // How far apart the two measurements are over the run: the all-parameter rate's smallest
        // ratio to the filled one.
        double worst = std::numeric_limits<double>::infinity();
        double worst_step = 0, worst_frac = 1;
        for (const auto& r : rates.rows)
          if (std::isfinite(r[c_all]) && std::isfinite(r[c_filled]) &&
              r[c_all] / r[c_filled] < worst) {
            worst = r[c_all] / r[c_filled];
            worst_step = r[0];
            worst_frac = r[c_frac];
          }
        md << format(
            "- Bound over active parameters 2·s_t/λmax(H): %.4g (step %.0f) → %.4g (step %.0f); "
            "peak rate %.4g.\n",
            first[5], first[0], last[5], last[0], peak);
        md << format(
            "- **AdaGrad's critical rate, measured where its analysis applies.** "
            "2/λmax(P⁻¹ᐟ²HP⁻¹ᐟ²) "
            "treats the preconditioner P = √s + ε as fixed while a spike grows. A parameter whose "
            "accumulator s_i holds less than %g steps' worth of its current squared gradient g_i² "
            "(on the %zu-image critical sample) breaks that: its next step adds g_i² to s_i and is "
            "≈ η·g_i/√(s_i + g_i²), at most η, whatever the curvature; with P frozen at √s_i + ε "
            "it "
            "instead looks like a direction of enormous sharpness. Over the *filled* parameters "
            "(s_i ≥ %g·g_i², the others frozen: ntk::adagrad_filled_preconditioner) the critical "
            "rate is %.4g at step %.0f (%.2f%% of the active parameters filled) and %.4g at step "
            "%.0f (%.2f%%). Over all parameters it is %.4g at step %.0f, orders of magnitude below "
            "any rate at which AdaGrad spikes: that value is the artefact of the unfilled "
            "parameters, not AdaGrad's critical rate. The two differ most at step %.0f, by a "
            "factor %.3g, with only %.2f%% of the active parameters not filled.\n",
            filled_ratio, crit.n, filled_ratio, first[c_filled], first[0], 100.0 * first[c_frac],
            last[c_filled], last[0], 100.0 * last[c_frac], first[c_all], first[0], worst_step,
            std::isfinite(worst) ? 1.0 / worst : std::nan(""), 100.0 * (1.0 - worst_frac));
      }
      const std::string stop =
          detection.catapults.empty()
              ? std::string("none was detected")
              : format("the last one starts at step %zu of %zu (%.0f%% of the run)",
                       detection.catapults.back().start, result.loss.size(),
                       100.0 * double(detection.catapults.back().start) /
                           double(std::max<std::size_t>(1, result.loss.size())));
      md << format(
          "- Detected catapults: %zu in the first half of training, %zu in the second; %s "
          "(the poster: strong spikes early, none later; the phase map, section 6, gives the step "
          "at which they stop for every peak).%s\n",
          early, late, stop.c_str(), detection.divergence ? " The run diverged." : "");
      meta["eta_crit_adagrad_at_measure"] = eta_crit_ada0;
      meta["eta_crit_adagrad_filled_at_measure"] = filled_at_measure.eta_crit;
      meta["catapults_early"] = early;
      meta["catapults_late"] = late;
      meta["last_catapult_step"] = detection.catapults.empty()
                                       ? nlohmann::json()
                                       : nlohmann::json(detection.catapults.back().start);
    }
    per_seed.write(dir / "seeds.csv");
    // Every seed, and mean ± std over them.
    md << "\n| seed | test acc. (%) | catapults, first / second half | last catapult (step) | "
          "η_crit,P all parameters, step "
       << measure_step << " | η_crit,P filled, step " << measure_step
       << " | filled share | η_crit,P filled, last measurement |\n"
          "|---|---|---|---|---|---|---|---|\n";
    std::vector<double> acc, last_fraction, filled_end;
    for (const auto& r : per_seed.rows) {
      md << format("| %.0f | %.2f%s | %.0f / %.0f | %s | %.3g | %.3g | %.2f%% | %.3g |\n", r[0],
                   r[1], r[10] != 0 ? " (diverged)" : "", r[2], r[3],
                   std::isfinite(r[4]) ? format("%.0f of %.0f", r[4], r[5]).c_str() : "none", r[6],
                   r[7], 100.0 * r[8], r[9]);
      acc.push_back(r[1]);
      if (std::isfinite(r[4])) last_fraction.push_back(r[4] / r[5]);
      filled_end.push_back(r[9]);
    }
    const auto ms_acc = finite_mean_std(acc);
    const auto ms_filled = finite_mean_std(filled_end);
    const auto ms_last = finite_mean_std(last_fraction);
    md << format(
        "\nOver the %zu seeds: test accuracy %.2f ± %.2f %%; the critical rate over the filled "
        "parameters at the last measurement %.3g ± %.2g against the peak %.3g; the last detected "
        "catapult at %s of the run (%zu of %zu seeds had one).\n",
        seeds.size(), ms_acc.mean, ms_acc.std, ms_filled.mean, ms_filled.std, peak,
        last_fraction.empty()
            ? std::string("–").c_str()
            : format("%.0f ± %.0f%%", 100.0 * ms_last.mean, 100.0 * ms_last.std).c_str(),
        last_fraction.size(), seeds.size());
    const auto& detection = first_detection;
    md << "\n![s_t](adagrad/adagrad_st.png)\n![rates](adagrad/adagrad_rates.png)\n"
       << "![training](adagrad/adagrad_training.png)\n";
    meta["peak_lr"] = peak;
    meta["peak_multiple"] = {{"value", multiple}, {"source", chosen.source}};
    meta["seeds"] = seeds;
    write_file_atomic(dir / "section.md", md.str());

    if (ctx.figures) {
      Figure f;
      f.title = "AdaGrad accumulator: s_t = min_i √(Σ_p g_{p,i}^2) and quantiles of √(Σ_p g^2)";
      f.subtitle = ctx.label();
      f.x_label = "step";
      f.y_label = "√(accumulated squared gradient)";
      f.log_y = true;
      f.series.push_back({"accumulator.csv", "step", "s_t_active", "s_t over active parameters",
                          false, "lines", "#d62728", 2.0});
      f.series.push_back(
          {"accumulator.csv", "step", "q01", "1% quantile", false, "lines", "#ff7f0e", 1.2});
      f.series.push_back(
          {"accumulator.csv", "step", "median", "median", false, "lines", "#2ca02c", 1.2});
      f.series.push_back(
          {"accumulator.csv", "step", "q99", "99% quantile", false, "lines", "#1f77b4", 1.2});
      render_figure(f, dir, "adagrad_st");
      Figure g;
      g.title = "AdaGrad: learning rate against critical-rate estimates";
      g.subtitle = ctx.label();
      g.x_label = "step";
      g.y_label = "rate";
      g.log_y = true;
      g.series.push_back(
          {"loss.csv", "step", "lr", "η(t), every step", false, "lines", "#000000", 1.0});
      g.series.push_back({"rates.csv", "step", "bound_active", "2·s_t/λmax(H) (active s_t)", false,
                          "linespoints", "#d62728", 1.5});
      g.series.push_back({"rates.csv", "step", "eta_crit_preconditioned",
                          "2/λmax(P^{-1/2} H P^{-1/2}), all parameters", false, "linespoints",
                          "#9ecae1", 1.2});
      g.series.push_back({"rates.csv", "step", "eta_crit_filled",
                          "2/λmax(P^{-1/2} H P^{-1/2}), filled parameters", false, "linespoints",
                          "#1f77b4", 2.0});
      for (std::size_t si = 1; si < seeds.size(); ++si)
        g.series.push_back({format("rates_s%llu.csv", (unsigned long long)seeds[si]), "step",
                            "eta_crit_filled",
                            format("filled parameters, seed %llu", (unsigned long long)seeds[si]),
                            false, "lines", "#6baed6", 1.0});
      render_figure(g, dir, "adagrad_rates");
      Figure h;
      h.title = "AdaGrad + cyclic schedule: training loss and accuracy";
      h.subtitle = ctx.label();
      h.x_label = "step";
      h.y_label = "loss (MSE)";
      h.y2_label = "train accuracy (%)";
      h.log_y = true;
      h.shaded = phase_intervals(detection);
      h.series.push_back(
          {"loss.csv", "step", "loss", "mini-batch loss", false, "lines", "#9ecae1", 1.0});
      h.series.push_back({"evaluation.csv", "step", "train_loss", "train loss", false,
                          "linespoints", "#1f77b4", 1.5});
      h.series.push_back({"evaluation.csv", "step", "train_accuracy", "train accuracy", true,
                          "linespoints", "#2ca02c", 1.5});
      render_figure(h, dir, "adagrad_training");
    }
  });
}

}  // namespace catapult::app::reproduce
