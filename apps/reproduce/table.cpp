// Experiment 1, the poster's table.
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "catapult/train/controllers.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {
namespace {

struct Row {
  const char* name;
  const char* key;
  double poster;  // test accuracy (%) reported by the poster
};
// The poster's five rows, then the matched-rate control of SGD + catapult (run after it, in the
// same seed): a constant rate equal to that run's realised mean rate (no poster value).
constexpr double kNoPoster = std::numeric_limits<double>::quiet_NaN();
constexpr Row kRows[] = {{"SGD", "sgd", 95.38},
                         {"SGD + catapult", "sgd_catapult", 97.65},
                         {"AdaGrad", "adagrad", 97.09},
                         {"AdaGrad + catapult", "adagrad_catapult", 95.91},
                         {"Adam", "adam", 98.12},
                         {"SGD at the same mean rate (control)", "sgd_matched", kNoPoster}};
constexpr std::size_t kNumRows = 6;
constexpr std::size_t kSgdCatapult = 1, kSgdMatched = 5;

// The peak factor of SGD + catapult: the phase map's choice by its row rule, when the phase map of
// this protocol ran in the same results directory and chose one for the table's mode and batch
// size; the protocol's own value otherwise. Returns the factor and where it came from.
std::pair<double, std::string> sgd_peak_factor(const Context& ctx, const nlohmann::json& cat,
                                               std::size_t batch) {
  const double fallback = cat.at("peak_factor").get<double>();
  std::ifstream in(ctx.out / "phase-map" / "meta.json");
  if (!in) return {fallback, "the protocol (no phase map in this results directory)"};
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return {fallback, "the protocol (the phase map's meta.json is unreadable)"};
  }
  if (meta.value("protocol_config", nlohmann::json()) != ctx.protocol)
    return {fallback, "the protocol (the phase map in this directory ran another protocol)"};
  for (const auto& c : meta.value("chosen", nlohmann::json::array()))
    if (c.at("mode") == cat.at("mode") && c.at("batch_size").get<std::size_t>() == batch) {
      if (c.at("peak_factor").is_null())
        return {fallback, "the protocol (the phase map's row rule chose no peak)"};
      return {c.at("peak_factor").get<double>(),
              "the phase map's row rule (section 6, the smallest peak with >= 1 detected catapult "
              "per cycle in most seeds)"};
    }
  return {fallback, "the protocol (the phase map has no point at this mode and batch size)"};
}

}  // namespace

void run_table(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("table");
  const auto seed_list = cfg.at("seeds").get<std::vector<std::uint64_t>>();
  const auto [train_set, test_set, model, loss] =
      experiment_data(ctx, p.at("data").at("train_size").get<std::size_t>(), 0);
  const auto [crit_n, crit_x, crit_tol, crit_iter] = critical_sample(p, train_set);
  const std::size_t k = model.widths.back();
  const auto detector = detector_options(p);
  const auto& cat = cfg.at("catapult");
  const auto& ada_cat = cfg.at("adagrad_catapult");
  const std::size_t batch_size = cfg.at("batch_size").get<std::size_t>();
  const auto [sgd_factor, sgd_factor_source] = sgd_peak_factor(ctx, cat, batch_size);

  write_experiment(ctx, "table", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    CsvTable runs;
    runs.columns = {"row",
                    "seed",
                    "test_accuracy",
                    "test_loss",
                    "train_loss",
                    "train_accuracy",
                    "catapults",
                    "diverged",
                    "eta_crit_init",
                    "peak_lr",
                    "seconds",
                    "mean_lr",
                    "catapults_per_cycle"};
    std::vector<std::vector<double>> first_seed_loss(kNumRows), first_seed_lr(kNumRows);
    std::vector<std::vector<std::pair<double, double>>> first_seed_phases(kNumRows);
    std::map<std::uint64_t, double> eta_crit_at_init;
    std::vector<std::vector<double>> accuracy(kNumRows);
    nlohmann::json remeasured = nlohmann::json::array();
    std::size_t done = 0;
    const std::size_t total = seed_list.size() * kNumRows;

    for (std::size_t si = 0; si < seed_list.size(); ++si) {
      const auto seed = seed_list[si];
      double catapult_mean_lr = std::nan("");  // SGD + catapult's realised mean rate, this seed
      for (std::size_t ri = 0; ri < kNumRows; ++ri) {
        RunSpec spec;
        spec.model = model;
        spec.loss = loss;
        spec.batch_size = cfg.at("batch_size").get<std::size_t>();
        spec.epochs = cfg.at("epochs").get<std::size_t>();
        spec.seed = seed;
        spec.log = ctx.log;
        spec.name = str_cat(kRows[ri].name, " seed ", seed);
        double eta_crit = std::nan("");
        double peak = std::nan("");
        std::vector<double> warm;
        InitHook on_init;
        StepHook on_step;
        std::optional<catapult::train::CriticalPeakController> peak_controller;
        const std::string key = kRows[ri].key;
        auto measure_init = [&](TrainState& s) {
          auto it = eta_crit_at_init.find(seed);
          if (it == eta_crit_at_init.end()) {
            const auto lm = ntk_lambda_max(s.model, crit_x, &warm, crit_tol, crit_iter);
            const double rate = require_rate(critical_rate_or_nan(loss, crit_n, k, lm.value),
                                             str_cat("table, seed ", seed, ", initialisation"));
            it = eta_crit_at_init.emplace(seed, rate).first;
          }
          return it->second;
        };
        if (key == "sgd" || key == "sgd_catapult") {
          spec.optimizer.kind = optim::OptimizerKind::Sgd;
          on_init = [&, key](TrainState& s) {
            eta_crit = measure_init(s);
            const double base = cfg.at("sgd_lr_fraction").get<double>() * eta_crit;
            if (key == "sgd") {
              s.schedule = optim::Schedule(constant_schedule(base));
            } else {
              s.schedule = optim::Schedule(
                  cyclic_schedule(cat.at("mode").get<std::string>(), base, sgd_factor * eta_crit,
                                  cat.at("step_size").get<std::size_t>(), cat.value("gamma", 1.0)));
            }
            peak = s.schedule.peak();
          };
          if (key == "sgd_catapult" && cat.value("remeasure", true)) {
            // The library's controller: the peak re-measured every cycle, only ever lowered
            // (raising it with the flattening that catapults cause feeds back until the network
            // dies, docs/reproduction.md); η_crit(0) is the seed's, measured by the SGD row.
            catapult::train::CriticalPeakOptions o;
            o.peak_factor = sgd_factor;
            o.every = 2 * cat.at("step_size").get<std::size_t>();
            o.samples = crit_n;
            o.tolerance = crit_tol;
            o.max_restarts = crit_iter;
            auto it = eta_crit_at_init.find(seed);
            peak_controller.emplace(o, it != eta_crit_at_init.end() ? it->second : std::nan(""));
          }
        } else if (key == "adagrad" || key == "adagrad_catapult") {
          spec.optimizer.kind = optim::OptimizerKind::AdaGrad;
          const double base = cfg.at("adagrad_lr").get<double>();
          spec.schedule = constant_schedule(base);
          if (key == "adagrad_catapult") {
            // The peak is a multiple of the base rate: the preconditioned critical rate (measured
            // at measure_step and recorded) is dominated by rarely active parameters and lies far
            // below any useful rate, so it cannot set the peak (docs/reproduction.md).
            spec.schedule = cyclic_schedule(
                ada_cat.at("mode").get<std::string>(), base,
                ada_cat.at("peak_multiple_of_base").get<double>() * base,
                ada_cat.at("step_size").get<std::size_t>(), ada_cat.value("gamma", 1.0));
            const std::size_t at = ada_cat.at("measure_step").get<std::size_t>();
            on_step = [&, at](const StepInfo& info, TrainState& s) {
              if (info.step + 1 != at) return;
              // Preconditioned sharpness: 2/λmax(D·H_GN·D) with D = P^{-1/2}, P = √s + ε.
              eta_crit = preconditioned_critical_rate(
                  s.model, crit_x, loss, adagrad_preconditioner(s.optimizer), crit_tol, crit_iter);
            };
          }
        } else if (key == "sgd_matched") {
          // The same mean rate as SGD + catapult in this seed, without its spikes.
          spec.optimizer.kind = optim::OptimizerKind::Sgd;
          spec.schedule =
              constant_schedule(require_rate(catapult_mean_lr, str_cat("table, seed ", seed,
                                                                       ", SGD + catapult's "
                                                                       "mean rate")));
        } else {
          spec.optimizer.kind = optim::OptimizerKind::Adam;
          spec.schedule = constant_schedule(cfg.at("adam_lr").get<double>());
        }
        std::vector<catapult::train::Controller*> controllers;
        if (peak_controller) controllers.push_back(&*peak_controller);
        const auto result = train(spec, train_set, test_set, on_init, on_step, controllers);
        if (peak_controller)
          for (const auto& m : peak_controller->measurements())
            if (!std::isnan(m.eta_crit))  // nothing measured: the peak was kept
              remeasured.push_back({{"seed", seed},
                                    {"step", m.step},
                                    {"eta_crit", m.eta_crit},
                                    {"peak_lr", m.peak}});
        const auto detection = analysis::detect_catapults(result.loss, detector);
        const double acc = 100.0 * result.test_accuracy;
        accuracy[ri].push_back(result.diverged ? std::nan("") : acc);
        double mean_lr = 0.0;
        for (const double lr : result.lr) mean_lr += lr;
        mean_lr = result.lr.empty() ? std::nan("") : mean_lr / double(result.lr.size());
        if (ri == kSgdCatapult) catapult_mean_lr = mean_lr;
        // Detected catapults per cycle of the cyclic rows.
        const std::size_t cycle = key == "sgd_catapult" ? 2 * cat.at("step_size").get<std::size_t>()
                                  : key == "adagrad_catapult"
                                      ? 2 * ada_cat.at("step_size").get<std::size_t>()
                                      : 0;
        const double per_cycle =
            cycle == 0 || result.loss.empty()
                ? std::nan("")
                : double(detection.catapults.size()) * double(cycle) / double(result.loss.size());
        runs.add({double(ri), double(seed), acc, result.test_loss, result.train_loss,
                  100.0 * result.train_accuracy, double(detection.catapults.size()),
                  result.diverged ? 1.0 : 0.0, eta_crit,
                  std::isnan(peak) ? optim::Schedule(spec.schedule).peak() : peak, result.seconds,
                  mean_lr, per_cycle});
        if (si == 0) {
          first_seed_loss[ri] = result.loss;
          first_seed_lr[ri] = result.lr;
          first_seed_phases[ri] = phase_intervals(detection);
        }
        ++done;
        ctx.progress(format(
            "table [%zu/%zu] %-18s seed %llu: test %.2f%%, %zu catapult(s)%s, %.1f s", done, total,
            kRows[ri].name, static_cast<unsigned long long>(seed), acc, detection.catapults.size(),
            result.diverged ? ", DIVERGED" : "", result.seconds));
      }
    }
    // Per step of the first seed, each row's mini-batch loss, rate and smoothed loss (the
    // figure's trace over the faint raw one).
    CsvTable traces;
    traces.columns = {"step"};
    for (const auto& r : kRows) {
      traces.columns.push_back(std::string("loss_") + r.key);
      traces.columns.push_back(std::string("lr_") + r.key);
    }
    for (const auto& r : kRows) traces.columns.push_back(std::string("loss_smoothed_") + r.key);
    std::vector<std::vector<double>> first_seed_smoothed(kNumRows);
    for (std::size_t ri = 0; ri < kNumRows; ++ri)
      first_seed_smoothed[ri] = smoothed_trace(first_seed_loss[ri], kFigureLossSmoothing);
    std::size_t steps = 0;
    for (const auto& l : first_seed_loss) steps = std::max(steps, l.size());
    auto at = [](const std::vector<double>& v, std::size_t t) {
      return t < v.size() ? v[t] : std::nan("");
    };
    for (std::size_t t = 0; t < steps; ++t) {
      std::vector<double> row = {double(t)};
      for (std::size_t ri = 0; ri < kNumRows; ++ri) {
        row.push_back(at(first_seed_loss[ri], t));
        row.push_back(at(first_seed_lr[ri], t));
      }
      for (std::size_t ri = 0; ri < kNumRows; ++ri) row.push_back(at(first_seed_smoothed[ri], t));
      traces.add(std::move(row));
    }
    runs.write(dir / "runs.csv");
    traces.write(dir / "traces_first_seed.csv");

    // Summary table (markdown) and the paired tests.
    std::ostringstream md;
    md << "## 1. Test accuracy of the five optimizers, and the matched-rate control ("
       << ctx.label() << ")\n\n";
    md << format(
        "784-%zu-10 ReLU network, MSE loss, %zu training / %zu test images, batch %zu, "
        "%zu epochs, seeds",
        model.widths[1], train_set.size(), test_set.size(), cfg.at("batch_size").get<std::size_t>(),
        cfg.at("epochs").get<std::size_t>());
    for (const auto s : seed_list) md << " " << s;
    md << ". SGD rate = " << cfg.at("sgd_lr_fraction").get<double>()
       << " × η_crit measured at initialisation; \"+ catapult\" = cyclic ("
       << cat.at("mode").get<std::string>() << ") schedule whose peak is " << sgd_factor
       << " × η_crit (SGD; η_crit re-measured every cycle, the peak only lowered; the factor "
       << sgd_factor << " comes from " << sgd_factor_source << ") and "
       << ada_cat.at("peak_multiple_of_base").get<double>()
       << " × the base rate (AdaGrad). η_crit = 1/(c·λmax(K)) on a sample of " << crit_n
       << " training images. The last row is the matched-rate control of SGD + catapult: a "
          "constant rate equal to that run's realised mean rate (same seed, initialisation and "
          "data order), so the spikes and the rate are separated.\n\n";
    md << "| Optimizer | Ours: test accuracy (%), mean ± std over " << seed_list.size()
       << " seeds | Poster (%) | Ours − poster | Catapults detected (mean per run) | Catapults per "
          "cycle | Mean rate |\n";
    md << "|---|---|---|---|---|---|---|\n";
    nlohmann::json summary = nlohmann::json::array();
    for (std::size_t ri = 0; ri < kNumRows; ++ri) {
      const auto ms = mean_std(accuracy[ri]);
      double cats = 0.0, per_cycle = 0.0, mean_lr = 0.0;
      for (const auto& r : runs.rows)
        if (static_cast<std::size_t>(r[0]) == ri) {
          cats += r[6];
          per_cycle += r[runs.column("catapults_per_cycle")];
          mean_lr += r[runs.column("mean_lr")];
        }
      const double ns = static_cast<double>(seed_list.size());
      cats /= ns;
      per_cycle /= ns;
      mean_lr /= ns;
      const bool poster = !std::isnan(kRows[ri].poster);
      md << format("| %s | %.2f ± %.2f | %s | %s | %.1f | %s | %.4g |\n", kRows[ri].name, ms.mean,
                   ms.std, poster ? format("%.2f", kRows[ri].poster).c_str() : "—",
                   poster ? format("%+.2f", ms.mean - kRows[ri].poster).c_str() : "—", cats,
                   std::isnan(per_cycle) ? "—" : format("%.2f", per_cycle).c_str(), mean_lr);
      summary.push_back({{"row", kRows[ri].name},
                         {"mean", ms.mean},
                         {"std", ms.std},
                         {"poster", poster ? nlohmann::json(kRows[ri].poster) : nlohmann::json()},
                         {"catapults_per_cycle",
                          std::isnan(per_cycle) ? nlohmann::json() : nlohmann::json(per_cycle)},
                         {"mean_lr", mean_lr},
                         {"accuracies", accuracy[ri]},
                         {"catapults_mean", cats}});
    }
    const auto t_sgd = paired_test(accuracy[1], accuracy[0]);
    const auto t_ada = paired_test(accuracy[2], accuracy[3]);
    const auto t_spikes = paired_test(accuracy[kSgdCatapult], accuracy[kSgdMatched]);
    const auto t_rate = paired_test(accuracy[kSgdMatched], accuracy[0]);
    auto describe = [&](const char* claim, const PairedTest& t, bool poster_direction) {
      md << format(
          "- %s: mean paired difference %+.2f points; paired t = %.2f (one-sided p = "
          "%.3g); sign test %zu/%zu (p = %.3g). %s\n",
          claim, t.mean_difference, t.t, t.p_t, t.wins, t.n, t.p_sign,
          poster_direction ? "Same direction as the poster." : "**Not** the poster's direction.");
    };
    md << "\nPaired tests over seeds (same initialisation and data order within a seed):\n\n";
    describe("SGD + catapult > SGD", t_sgd, t_sgd.mean_difference > 0);
    describe("AdaGrad + catapult < AdaGrad", t_ada, t_ada.mean_difference > 0);
    md << format(
        "- Spikes or rate? Of SGD + catapult's gain over SGD, the larger mean rate (SGD at the "
        "same "
        "mean rate − SGD) accounts for %+.2f points (paired t = %.2f, one-sided p = %.3g) and the "
        "spikes (SGD + catapult − SGD at the same mean rate) for %+.2f points (paired t = %.2f, "
        "one-sided p = %.3g; sign test %zu/%zu).\n",
        t_rate.mean_difference, t_rate.t, t_rate.p_t, t_spikes.mean_difference, t_spikes.t,
        t_spikes.p_t, t_spikes.wins, t_spikes.n);
    if (seed_list.size() < 3)
      md << "\nWith " << seed_list.size()
         << " seeds these tests have almost no power; they are reported for completeness, not as "
            "evidence.\n";
    // Where we differ from the poster: rows outside max(3 std, 0.2 points) of its value.
    std::string differing;
    for (std::size_t ri = 0; ri < kNumRows; ++ri) {
      const auto ms = mean_std(accuracy[ri]);
      if (std::isnan(kRows[ri].poster)) continue;
      if (std::abs(ms.mean - kRows[ri].poster) > std::max(3.0 * ms.std, 0.2))
        differing += format("%s%s (%+.2f)", differing.empty() ? "" : ", ", kRows[ri].name,
                            ms.mean - kRows[ri].poster);
    }
    md << "\nDifferences from the poster: "
       << (differing.empty() ? std::string("none beyond 3 std (or 0.2 points).")
                             : differing + " differ by more than 3 std (or 0.2 points).")
       << " The poster does not give its rates, epochs, batch size or loss, so absolute accuracies "
          "depend on the choices of this protocol (docs/reproduction.md; the quick protocol "
          "trains only a few epochs); what transfers is the direction of each catapult effect, "
          "tested above. Our AdaGrad + catapult peak (a multiple of the base rate, because "
          "AdaGrad's measured critical rate is unusable) is likely milder than the poster's.\n";
    md << "\nLoss traces of the first seed: ![table loss](table/table_loss.png)\n";
    meta["summary"] = summary;
    meta["tests"] = {{"sgd_catapult_gt_sgd",
                      {{"mean_difference", t_sgd.mean_difference},
                       {"t", t_sgd.t},
                       {"p_t", t_sgd.p_t},
                       {"wins", t_sgd.wins},
                       {"n", t_sgd.n},
                       {"p_sign", t_sgd.p_sign}}},
                     {"adagrad_catapult_lt_adagrad",
                      {{"mean_difference", t_ada.mean_difference},
                       {"t", t_ada.t},
                       {"p_t", t_ada.p_t},
                       {"wins", t_ada.wins},
                       {"n", t_ada.n},
                       {"p_sign", t_ada.p_sign}}},
                     {"sgd_catapult_gt_same_mean_rate",
                      {{"mean_difference", t_spikes.mean_difference},
                       {"t", t_spikes.t},
                       {"p_t", t_spikes.p_t},
                       {"wins", t_spikes.wins},
                       {"n", t_spikes.n},
                       {"p_sign", t_spikes.p_sign}}}};
    meta["sgd_peak_factor"] = {{"value", sgd_factor}, {"source", sgd_factor_source}};
    meta["eta_crit_init"] = eta_crit_at_init;
    meta["remeasured"] = remeasured;
    meta["seeds"] = seed_list;
    write_file_atomic(dir / "table.md", md.str());
    write_file_atomic(dir / "section.md", md.str());

    if (ctx.figures) {
      // One panel per row: the faint per-step loss of the first seed, its smoothed trace, the
      // catapults detected in it (shaded) and the rate of every step on the right axis.
      Figure f;
      f.title = format("Training loss per step, seed %llu, one panel per row",
                       static_cast<unsigned long long>(seed_list.front()));
      f.subtitle = format(
          "%s; faint: mini-batch loss; dark: geometric EMA (smoothing %g); "
          "shaded: detected catapults; grey: learning rate (right axis)",
          ctx.label().c_str(), kFigureLossSmoothing);
      f.x_label = "step";
      f.width = 1100;
      f.height = 230 * static_cast<int>(kNumRows) + 80;
      const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
      for (std::size_t ri = 0; ri < kNumRows; ++ri) {
        const std::string key = kRows[ri].key;
        Panel panel;
        panel.title =
            format("%s: %zu catapult(s) detected", kRows[ri].name, first_seed_phases[ri].size());
        panel.y_label = "loss (MSE)";
        panel.y2_label = "learning rate";
        panel.log_y = true;
        panel.y2_from_zero = true;
        panel.shaded = first_seed_phases[ri];
        Series raw{"traces_first_seed.csv",
                   "step",
                   "loss_" + key,
                   "mini-batch loss",
                   false,
                   "lines",
                   colors[ri],
                   1.0};
        raw.opacity = 0.25;
        panel.series.push_back(raw);
        panel.series.push_back({"traces_first_seed.csv", "step", "loss_smoothed_" + key, "smoothed",
                                false, "lines", colors[ri], 2.0});
        panel.series.push_back({"traces_first_seed.csv", "step", "lr_" + key, "learning rate", true,
                                "lines", "#555555", 1.0});
        f.panels.push_back(panel);
      }
      render_figure(f, dir, "table_loss");
    }
  });
}

}  // namespace catapult::app::reproduce
