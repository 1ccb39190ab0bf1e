// Experiment 4: AdaGrad. s_t = min_i √(Σ_p g²) against step, the poster's bound 2·s_t/λmax(H)
// against the peak rate, the preconditioned critical rate, and AdaGrad + cyclic schedule training.
#include <cmath>
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
  const auto [train_set, test_set, model, loss] =
      experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 0);
  const std::size_t k = model.widths.back();
  const auto [crit_n, crit_x, crit_tol, crit_iter] = critical_sample(p, train_set);
  const std::size_t stats_every = cfg.at("stats_every").get<std::size_t>();
  const std::size_t lambda_every = cfg.at("lambda_every").get<std::size_t>();
  const std::size_t measure_step = cfg.at("measure_step").get<std::size_t>();
  const double base = cfg.at("base_lr").get<double>();
  const auto detector = detector_options(p);

  write_experiment(ctx, "adagrad", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    analysis::AdagradStatsRecorder recorder({0.01, 0.5, 0.99}, stats_every);
    CsvTable rates;
    rates.columns = {"step",
                     "lr",
                     "peak_lr",
                     "eta_crit_sgd",
                     "bound_poster",
                     "bound_active",
                     "eta_crit_preconditioned"};
    std::vector<double> warm;
    const double peak = cfg.at("peak_multiple_of_base").get<double>() * base;
    double eta_crit_ada0 = std::nan("");
    RunSpec spec;
    spec.model = model;
    spec.loss = loss;
    spec.optimizer.kind = optim::OptimizerKind::AdaGrad;
    spec.batch_size = cfg.at("batch_size").get<std::size_t>();
    spec.epochs = cfg.at("epochs").get<std::size_t>();
    spec.seed = cfg.value("seed", std::uint64_t{0});
    spec.log = ctx.log;
    spec.name = "adagrad";
    spec.eval_every = cfg.at("eval_every").get<std::size_t>();
    spec.schedule =
        cyclic_schedule("triangular", base, peak, cfg.at("step_size").get<std::size_t>(), 1.0);
    auto preconditioned = [&](TrainState& s) {
      return preconditioned_critical_rate(s.model, crit_x, loss,
                                          adagrad_preconditioner(s.optimizer), crit_tol, crit_iter);
    };
    StepHook on_step = [&](const StepInfo& info, TrainState& s) {
      const std::size_t step = info.step + 1;  // steps completed
      const auto acc = adagrad_accumulator(s.optimizer);
      recorder.record(step, acc);
      // The peak stays fixed (the poster's fixed cyclic schedule): as the accumulator grows the
      // effective rates shrink and catapults should die out.
      if (step == measure_step) eta_crit_ada0 = preconditioned(s);
      if (step % lambda_every == 0 || step == measure_step) {
        const auto lm = ntk_lambda_max(s.model, crit_x, &warm, crit_tol, crit_iter);
        const double eta_sgd = critical_rate_or_nan(loss, crit_n, k, lm.value);
        const auto st = analysis::adagrad_accumulator_stats<float>(acc, {}, step);
        // The poster's bound 2·s_t/λmax(H) with λmax(H) ≈ λmax(H_GN) = 2c·λmax(K_full).
        const double lambda_h = 2.0 * nn::mse_scale(loss.reduction, crit_n, k) * lm.value;
        auto bound = [&](double s_t) {
          return std::isfinite(eta_sgd) ? ntk::adagrad_critical_rate_bound(s_t, lambda_h)
                                        : std::nan("");
        };
        rates.add({double(step), info.lr, peak, eta_sgd, bound(st.s_t), bound(st.s_t_active),
                   preconditioned(s)});
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
    stats.write(dir / "accumulator.csv");
    rates.write(dir / "rates.csv");
    CsvTable trace;
    trace.columns = {"step", "loss", "lr"};
    for (std::size_t t = 0; t < result.loss.size(); ++t)
      trace.add({double(t), result.loss[t], result.lr[t]});
    trace.write(dir / "loss.csv");
    CsvTable evals;
    evals.columns = {"step", "train_loss", "train_accuracy", "test_accuracy"};
    for (std::size_t i = 0; i < result.eval_steps.size(); ++i)
      evals.add({double(result.eval_steps[i]), result.eval_train_loss[i],
                 100.0 * result.eval_train_accuracy[i], 100.0 * result.eval_test_accuracy[i]});
    evals.write(dir / "evaluation.csv");

    // Catapults in the first and second half of training: the poster expects them to die out.
    const std::size_t half = result.loss.size() / 2;
    std::size_t early = 0;
    std::size_t late = 0;
    for (const auto& ph : detection.catapults) (ph.start < half ? early : late)++;
    ctx.progress(format("adagrad: %zu catapult(s) in the first half, %zu in the second, %.1f s",
                        early, late, result.seconds));
    const auto& hist = recorder.history();
    std::ostringstream md;
    md << "## 4. AdaGrad: s_t, the critical-rate bound and dying catapults (" << ctx.label()
       << ")\n\n";
    md << format(
        "AdaGrad on %zu MNIST images (784-%zu-10, MSE, batch %zu, %zu epochs) with a cyclic "
        "triangular rate from %.3g to a fixed peak of %.3g (%.3g × base). The preconditioned "
        "critical rate 2/λmax(P⁻¹ᐟ²HP⁻¹ᐟ²) measured at step %zu was %.3g.\n\n",
        train_set.size(), model.widths[1], spec.batch_size, spec.epochs, base, peak,
        cfg.at("peak_multiple_of_base").get<double>(), measure_step, eta_crit_ada0);
    if (!hist.empty()) {
      const auto& h0 = hist.front();
      const auto& h1 = hist.back();
      md << format(
          "- Poster's s_t = min_i √(Σ_p g²): %.4g at step %zu and %.4g at step %zu. %zu of %zu "
          "parameters never receive a gradient (e.g. first-layer weights of always-black border "
          "pixels), so this minimum is 0 and the bound 2·s_t/λmax is vacuous on MNIST. Over the "
          "active parameters the minimum goes from %.3g to %.3g (parameters that only rarely see a "
          "non-zero pixel keep it tiny); the median of √sum goes from %.3g to %.3g and the 99%% "
          "quantile from %.3g to %.3g.\n",
          h0.s_t, h0.step, h1.s_t, h1.step, h1.inactive, nn::Mlp<float>(model).num_params(),
          h0.s_t_active, h1.s_t_active, h0.quantiles[1], h1.quantiles[1], h0.quantiles[2],
          h1.quantiles[2]);
    }
    if (!rates.rows.empty()) {
      const auto& first = rates.rows.front();
      const auto& last = rates.rows.back();
      md << format(
          "- Bound over active parameters 2·s_t/λmax(H): %.4g (step %.0f) → %.4g (step "
          "%.0f); peak rate %.4g. Preconditioned critical rate 2/λmax(P⁻¹ᐟ²HP⁻¹ᐟ²): %.4g → "
          "%.4g.\n",
          first[5], first[0], last[5], last[0], peak, first[6], last[6]);
    }
    md << format(
        "- Detected catapults: %zu in the first half of training, %zu in the second "
        "(the poster: strong spikes early, none later).%s\n",
        early, late, detection.divergence ? " The run diverged." : "");
    md << "\n![s_t](adagrad/adagrad_st.png)\n![rates](adagrad/adagrad_rates.png)\n"
       << "![training](adagrad/adagrad_training.png)\n";
    meta["catapults_early"] = early;
    meta["catapults_late"] = late;
    meta["peak_lr"] = peak;
    meta["eta_crit_adagrad_at_measure"] = eta_crit_ada0;
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
      g.series.push_back({"rates.csv", "step", "lr", "η(t)", false, "lines", "#000000", 1.0});
      g.series.push_back({"rates.csv", "step", "bound_active", "2·s_t/λmax(H) (active s_t)", false,
                          "linespoints", "#d62728", 1.5});
      g.series.push_back({"rates.csv", "step", "eta_crit_preconditioned",
                          "2/λmax(P^{-1/2} H P^{-1/2})", false, "linespoints", "#1f77b4", 1.5});
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
