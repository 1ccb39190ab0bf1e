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
// The poster's five rows, then the matched-rate controls of SGD + catapult and AdaGrad + catapult
// (each run after its catapult row, in the same seed): a constant rate equal to that run's
// realised mean rate (no poster value).
constexpr double kNoPoster = std::numeric_limits<double>::quiet_NaN();
constexpr Row kRows[] = {{"SGD", "sgd", 95.38},
                         {"SGD + catapult", "sgd_catapult", 97.65},
                         {"AdaGrad", "adagrad", 97.09},
                         {"AdaGrad + catapult", "adagrad_catapult", 95.91},
                         {"Adam", "adam", 98.12},
                         {"SGD at the same mean rate (control)", "sgd_matched", kNoPoster},
                         {"AdaGrad at the same mean rate (control)", "adagrad_matched", kNoPoster}};
constexpr std::size_t kNumRows = std::size(kRows);
constexpr std::size_t kSgd = 0, kSgdCatapult = 1, kAdaGrad = 2, kAdaGradCatapult = 3,
                      kSgdMatched = 5, kAdaGradMatched = 6;

}  // namespace

void run_table(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("table");
  const auto seed_list = cfg.at("seeds").get<std::vector<std::uint64_t>>();
  const ExperimentData experiment =
      experiment_data(ctx, p.at("data").at("train_size").get<std::size_t>(), 0);
  const auto& train_set = experiment.train_set;
  const auto& test_set = experiment.test_set;
  const auto& model = experiment.model;
  const auto& loss = experiment.loss;
  const auto crit = critical_sample(p, train_set);
  const std::size_t k = model.widths.back();
  const auto detector = detector_options(p);
  const auto& cat = cfg.at("catapult");
  const auto& ada_cat = cfg.at("adagrad_catapult");
  const std::size_t batch_size = cfg.at("batch_size").get<std::size_t>();
  const ChosenPeak sgd_peak = chosen_peak(ctx, "sgd", cat.at("mode").get<std::string>(), batch_size,
                                          cat.at("peak_factor").get<double>());
  const ChosenPeak ada_peak =
      chosen_peak(ctx, "adagrad", ada_cat.at("mode").get<std::string>(), batch_size,
                  ada_cat.at("peak_multiple_of_base").get<double>());

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
      // The catapult rows' realised mean rates in this seed (their controls run at them).
      double catapult_mean_lr = std::nan(""), ada_catapult_mean_lr = std::nan("");
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
            const auto lm =
                ntk_lambda_max(s.model, crit.x, &warm, crit.tolerance, crit.max_restarts);
            const double rate = require_rate(critical_rate_or_nan(loss, crit.n, k, lm.value),
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
              s.schedule = optim::Schedule(cyclic_schedule(
                  cat.at("mode").get<std::string>(), base, sgd_peak.factor * eta_crit,
                  cat.at("step_size").get<std::size_t>(), cat.value("gamma", 1.0)));
            }
            peak = s.schedule.peak();
          };
          if (key == "sgd_catapult" && cat.value("remeasure", true)) {
            // The library's controller: the peak re-measured every cycle, only ever lowered
            // (raising it with the flattening that catapults cause feeds back until the network
            // dies, docs/reproduction.md); η_crit(0) is the seed's, measured by the SGD row.
            catapult::train::CriticalPeakOptions o;
            o.peak_factor = sgd_peak.factor;
            o.every = 2 * cat.at("step_size").get<std::size_t>();
            o.samples = crit.n;
            o.tolerance = crit.tolerance;
            o.max_restarts = crit.max_restarts;
            auto it = eta_crit_at_init.find(seed);
            peak_controller.emplace(o, it != eta_crit_at_init.end() ? it->second : std::nan(""));
          }
        } else if (key == "adagrad" || key == "adagrad_catapult") {
          spec.optimizer.kind = optim::OptimizerKind::AdaGrad;
          const double base = cfg.at("adagrad_lr").get<double>();
          spec.schedule = constant_schedule(base);
          if (key == "adagrad_catapult")
            // Peak: a multiple of the base rate, chosen by the phase map's row rule (section 6)
            // when it ran in this directory; AdaGrad's critical rate over its filled parameters
            // is measured there and in section 4.
            spec.schedule = cyclic_schedule(
                ada_cat.at("mode").get<std::string>(), base, ada_peak.factor * base,
                ada_cat.at("step_size").get<std::size_t>(), ada_cat.value("gamma", 1.0));
        } else if (key == "sgd_matched" || key == "adagrad_matched") {
          // The same mean rate as the catapult row in this seed, without its spikes.
          const bool sgd = key == "sgd_matched";
          spec.optimizer.kind = sgd ? optim::OptimizerKind::Sgd : optim::OptimizerKind::AdaGrad;
          spec.schedule = constant_schedule(require_rate(
              sgd ? catapult_mean_lr : ada_catapult_mean_lr,
              str_cat("table, seed ", seed,
                      sgd ? ", SGD + catapult's mean rate" : ", AdaGrad + catapult's mean rate")));
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
        if (ri == kAdaGradCatapult) ada_catapult_mean_lr = mean_lr;
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
    md << "## 1. Test accuracy of the five optimizers, and the matched-rate controls ("
       << ctx.label() << ")\n\n";
    md << format(
        "784-%zu-10 ReLU network, MSE loss, %zu training / %zu test images, batch %zu, "
        "%zu epochs, seeds",
        model.widths[1], train_set.size(), test_set.size(), cfg.at("batch_size").get<std::size_t>(),
        cfg.at("epochs").get<std::size_t>());
    for (const auto s : seed_list) md << " " << s;
    md << ". SGD rate = " << cfg.at("sgd_lr_fraction").get<double>()
       << " × η_crit measured at initialisation; \"+ catapult\" = cyclic ("
       << cat.at("mode").get<std::string>() << ") schedule whose peak is " << sgd_peak.factor
       << " × η_crit (SGD; η_crit re-measured every cycle, the peak only lowered; the factor "
       << sgd_peak.factor << " comes from " << sgd_peak.source << ") and " << ada_peak.factor
       << " × the base rate (AdaGrad; the multiple comes from " << ada_peak.source
       << "). η_crit = 1/(c·λmax(K)) on a sample of " << crit.n
       << " training images. The last two rows are the matched-rate controls of the catapult "
          "rows: a constant rate equal to that run's realised mean rate (same seed, "
          "initialisation and data order), so the spikes and the rate are separated. Catapults "
          "per cycle are over the whole run; AdaGrad's row rule counts them over the first part "
          "of the run only (section 6), since they are expected to die out.\n\n";
    md << "| Optimizer | Ours: test accuracy (%), mean ± std over " << seed_list.size()
       << " seeds | Poster (%) | Ours − poster | Catapults detected (mean per run) | Catapults per "
          "cycle | Mean rate |\n";
    md << "|---|---|---|---|---|---|---|\n";
    nlohmann::json summary = nlohmann::json::array();
    std::vector<double> row_catapults(kNumRows, 0.0);  // detected catapults, mean per run
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
      row_catapults[ri] = cats;
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
    const auto t_sgd = paired_test(accuracy[kSgdCatapult], accuracy[kSgd]);
    const auto t_ada = paired_test(accuracy[kAdaGrad], accuracy[kAdaGradCatapult]);
    const auto t_spikes = paired_test(accuracy[kSgdCatapult], accuracy[kSgdMatched]);
    const auto t_rate = paired_test(accuracy[kSgdMatched], accuracy[kSgd]);
    const auto t_ada_spikes = paired_test(accuracy[kAdaGradCatapult], accuracy[kAdaGradMatched]);
    const auto t_ada_rate = paired_test(accuracy[kAdaGradMatched], accuracy[kAdaGrad]);
    // Two-sided reading of the one-sided p of "difference > 0".
    auto two_sided = [](const PairedTest& t) {
      return std::min(1.0, 2.0 * std::min(t.p_t, 1.0 - t.p_t));
    };
    auto describe = [&](const char* claim, const PairedTest& t) {
      const bool same = t.mean_difference > 0;
      const double p2 = two_sided(t);
      md << format(
          "- %s: mean paired difference %+.2f points; paired t = %.2f (one-sided p = %.3g, "
          "two-sided %.3g); sign test %zu/%zu (p = %.3g). %s\n",
          claim, t.mean_difference, t.t, t.p_t, p2, t.wins, t.n, t.p_sign,
          !(t.n >= 2 && std::isfinite(t.t)) ? "Too few seeds to test."
          : p2 < 0.05                       ? (same ? "Significant, in the poster's direction."
                                                    : "**Significant, and opposite to the poster's direction.**")
                      : (same ? "The poster's direction, not significant at 0.05."
                              : "Opposite to the poster's direction, not significant at 0.05."));
    };
    md << "\nPaired tests over seeds (same initialisation and data order within a seed):\n\n";
    describe("SGD + catapult > SGD", t_sgd);
    describe("AdaGrad + catapult < AdaGrad", t_ada);
    // A catapult row without a detected catapult has no spikes to credit: its difference from the
    // control is then the cycle's shape (its low start and swings), and the report says so.
    auto split = [&](const char* who, std::size_t catapult_row, const PairedTest& rate,
                     const PairedTest& spikes) {
      const bool spiked = row_catapults[catapult_row] > 0;
      md << format(
          "- Spikes or rate, %s? Of the catapult row's difference from the base row, the larger "
          "mean rate (the same mean rate − the base row) accounts for %+.2f points (paired t = "
          "%.2f, two-sided p = %.3g) and %s (the catapult row − the same mean rate) for "
          "%+.2f points (paired t = %.2f, two-sided p = %.3g; sign test %zu/%zu).%s\n",
          who, rate.mean_difference, rate.t, two_sided(rate),
          spiked ? "the spikes" : "the cycle's shape", spikes.mean_difference, spikes.t,
          two_sided(spikes), spikes.wins, spikes.n,
          spiked ? ""
                 : " **The catapult row detected no catapult in any seed**: this part is not "
                   "an effect of spikes.");
    };
    split("SGD", kSgdCatapult, t_rate, t_spikes);
    split("AdaGrad", kAdaGradCatapult, t_ada_rate, t_ada_spikes);
    md << "\nFor AdaGrad the constant control differs from the cycle in more than its spikes: "
          "AdaGrad's first steps are ≈ η·sign(g) for every parameter (its accumulator is empty), "
          "so a large constant rate also makes large first steps, which the cycle (starting at "
          "the base rate) does not; the phase map (section 6) adds cycles of the same shape with "
          "peaks below AdaGrad's critical rate, which do not catapult.\n";
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
          "tested above.\n";
    md << "\nLoss traces of the first seed: ![table loss](table/table_loss.png)\n";
    meta["summary"] = summary;
    auto test_json = [](const PairedTest& t) {
      return nlohmann::json{{"mean_difference", t.mean_difference},
                            {"t", t.t},
                            {"p_t", t.p_t},
                            {"wins", t.wins},
                            {"n", t.n},
                            {"p_sign", t.p_sign}};
    };
    meta["tests"] = {{"sgd_catapult_gt_sgd", test_json(t_sgd)},
                     {"adagrad_catapult_lt_adagrad", test_json(t_ada)},
                     {"sgd_catapult_gt_same_mean_rate", test_json(t_spikes)},
                     {"adagrad_catapult_gt_same_mean_rate", test_json(t_ada_spikes)}};
    meta["sgd_peak_factor"] = {{"value", sgd_peak.factor}, {"source", sgd_peak.source}};
    meta["adagrad_peak_multiple"] = {{"value", ada_peak.factor}, {"source", ada_peak.source}};
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
      const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                              "#9467bd", "#8c564b", "#e377c2"};
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
