// Experiment 5, beyond the poster: how the number of catapults, the test accuracy and the AGOP
// alignment (the paper's feature-learning measure) depend on the batch size, with the cyclic
// schedule's peak set from the critical rate of each batch size, and the AGOP alignment over
// training of SGD with catapults against SGD at a constant rate below the critical one.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "catapult/analysis/agop.hpp"
#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {
namespace {

// The AGOP part of the protocol ("beyond.agop"; absent = not run).
struct AgopProtocol {
  std::size_t samples = 1000;   // AGOP sample: the first rows of the training subset
  std::size_t points = 20;      // measurements per run (plus one at initialisation)
  std::size_t batch_size = 64;  // of the constant-rate (no catapult) run
  double reference_lr = 1e-3;   // the reference model: Adam at this rate
  std::size_t reference_batch_size = 64;
  std::size_t reference_epochs = 5;
  std::uint64_t reference_seed = 1000;
};

std::optional<AgopProtocol> agop_protocol(const nlohmann::json& cfg) {
  if (!cfg.contains("agop")) return std::nullopt;
  const auto& j = cfg.at("agop");
  AgopProtocol a;
  a.samples = j.value("samples", a.samples);
  a.points = std::max<std::size_t>(1, j.value("points", a.points));
  a.batch_size = j.value("batch_size", a.batch_size);
  a.reference_lr = j.value("reference_lr", a.reference_lr);
  a.reference_batch_size = j.value("reference_batch_size", a.reference_batch_size);
  a.reference_epochs = j.value("reference_epochs", a.reference_epochs);
  a.reference_seed = j.value("reference_seed", a.reference_seed);
  return a;
}

// AGOP alignment with the reference every `every` steps (and at the last step) of one run.
struct AlignmentTrace {
  std::vector<double> step;
  std::vector<double> alignment;
};

}  // namespace

void run_beyond(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("beyond");
  const ExperimentData experiment =
      experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 0);
  const auto& train_set = experiment.train_set;
  const auto& test_set = experiment.test_set;
  const auto& model = experiment.model;
  const auto& loss = experiment.loss;
  const std::size_t k = model.widths.back();
  const double crit_tol = p.at("critical").value("tolerance", 1e-3);
  const std::size_t crit_iter = p.at("critical").value("max_iterations", std::size_t{100});
  const auto detector = detector_options(p);
  const auto batch_sizes = cfg.at("batch_sizes").get<std::vector<std::size_t>>();
  const std::size_t epochs = cfg.at("epochs").get<std::size_t>();
  const auto seeds = section_seeds(cfg);
  const double base_fraction = cfg.at("base_fraction").get<double>();
  const double peak_factor = cfg.at("peak_factor").get<double>();
  const std::size_t cycles = cfg.at("cycles_per_epoch").get<std::size_t>();
  const auto agop_cfg = agop_protocol(cfg);
  const auto agop_x =
      agop_cfg ? first_rows(train_set, agop_cfg->samples) : MatrixView<const float>{};

  write_experiment(ctx, "beyond", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    // The reference AGOP: a well-trained model (Adam) stands in for the unknown true predictor.
    Matrix<float> reference;
    double reference_accuracy = std::nan("");
    if (agop_cfg) {
      RunSpec spec;
      spec.model = model;
      spec.loss = loss;
      spec.optimizer.kind = optim::OptimizerKind::Adam;
      spec.schedule = constant_schedule(agop_cfg->reference_lr);
      spec.batch_size = agop_cfg->reference_batch_size;
      spec.epochs = agop_cfg->reference_epochs;
      spec.seed = agop_cfg->reference_seed;
      spec.log = ctx.log;
      spec.name = "AGOP reference (Adam)";
      const std::size_t total =
          spec.epochs *
          std::max<std::size_t>(1, train_set.size() / std::min(spec.batch_size, train_set.size()));
      StepHook at_end = [&](const StepInfo& info, TrainState& s) {
        if (info.step + 1 == total) reference = analysis::agop<float>(s.model, agop_x);
      };
      const auto result = train(spec, train_set, test_set, {}, at_end);
      if (reference.empty())
        throw RuntimeError(
            "beyond: the AGOP reference model diverged; lower beyond.agop.reference_lr");
      reference_accuracy = result.test_accuracy;
      ctx.progress(format("beyond AGOP reference: Adam, %zu epochs, test %.2f%%, %.1f s",
                          spec.epochs, 100.0 * result.test_accuracy, result.seconds));
    }

    // One SGD run: constant rate base_fraction·η_crit, or the cyclic schedule up to
    // peak_factor·η_crit; η_crit measured at initialisation on a sample of one batch.
    struct Run {
      RunResult result;
      analysis::CatapultDetection detection;
      AlignmentTrace trace;
      double eta = 0.0;
    };
    auto run_sgd = [&](std::size_t b, bool cyclic, std::uint64_t seed) {
      Run r;
      const std::size_t crit_n = std::min(b, train_set.size());
      const auto crit_x = first_rows(train_set, crit_n);
      RunSpec spec;
      spec.model = model;
      spec.loss = loss;
      spec.optimizer.kind = optim::OptimizerKind::Sgd;
      spec.batch_size = b;
      spec.epochs = epochs;
      spec.seed = seed;
      spec.log = ctx.log;
      spec.name = str_cat(cyclic ? "cyclic" : "constant", ", batch ", b, ", seed ", seed);
      const std::size_t per_epoch = std::max<std::size_t>(1, train_set.size() / b);
      const std::size_t total = epochs * per_epoch;
      const std::size_t step_size = std::max<std::size_t>(1, per_epoch / (2 * cycles));
      const std::size_t every =
          agop_cfg ? std::max<std::size_t>(1, total / agop_cfg->points) : total + 1;
      auto measure = [&](std::size_t step, const nn::Mlp<float>& m) {
        const auto g = analysis::agop<float>(m, agop_x);
        r.trace.step.push_back(static_cast<double>(step));
        r.trace.alignment.push_back(analysis::agop_alignment<float>(g.cview(), reference.cview()));
      };
      InitHook on_init = [&](TrainState& s) {
        r.eta =
            require_rate(critical_rate_or_nan(
                             loss, crit_n, k,
                             ntk_lambda_max(s.model, crit_x, nullptr, crit_tol, crit_iter).value),
                         str_cat("beyond, batch ", b, ", initialisation"));
        s.schedule = optim::Schedule(cyclic ? cyclic_schedule("triangular", base_fraction * r.eta,
                                                              peak_factor * r.eta, step_size, 1.0)
                                            : constant_schedule(base_fraction * r.eta));
        if (agop_cfg) measure(0, s.model);
      };
      StepHook on_step = [&](const StepInfo& info, TrainState& s) {
        const std::size_t done = info.step + 1;
        if (agop_cfg && (done % every == 0 || done == total)) measure(done, s.model);
      };
      r.result = train(spec, train_set, test_set, on_init, on_step);
      r.detection = analysis::detect_catapults(r.result.loss, detector);
      return r;
    };
    // Per-step loss, rate and detected phases of the runs of one configuration, one per seed:
    // the first seed's loss, rate, phases and smoothed loss (the columns of one run), then every
    // seed's loss.
    auto write_loss = [&](const std::vector<Run>& rs, const std::string& file) {
      const Run& r0 = rs.front();
      const auto mask = analysis::catapult_mask(r0.detection, r0.result.loss.size());
      const auto smooth = smoothed_trace(r0.result.loss, kFigureLossSmoothing);
      CsvTable t;
      t.columns = {"step", "loss", "lr", "in_catapult", "loss_smoothed"};
      for (std::size_t si = 0; si < rs.size(); ++si)
        t.columns.push_back(str_cat("loss_s", seeds[si]));
      std::size_t steps = 0;
      for (const auto& r : rs) steps = std::max(steps, r.result.loss.size());
      auto at = [](const std::vector<double>& v, std::size_t i) {
        return i < v.size() ? v[i] : std::nan("");
      };
      for (std::size_t i = 0; i < steps; ++i) {
        std::vector<double> row = {double(i), at(r0.result.loss, i), at(r0.result.lr, i),
                                   i < mask.size() ? double(mask[i]) : std::nan(""), at(smooth, i)};
        for (const auto& r : rs) row.push_back(at(r.result.loss, i));
        t.add(std::move(row));
      }
      t.write(dir / file);
    };
    auto final_alignment = [](const Run& r) {
      return r.trace.alignment.empty() ? std::nan("") : r.trace.alignment.back();
    };
    auto initial_alignment = [](const Run& r) {
      return r.trace.alignment.empty() ? std::nan("") : r.trace.alignment.front();
    };
    // Alignment traces of the runs of one configuration (same measurement steps in every seed):
    // mean, std and mean ± std over the seeds, the mean number of catapults detected before each
    // measurement, and every seed's alignment.
    auto write_trace = [&](const std::vector<Run>& rs, std::size_t b, const std::string& file) {
      CsvTable t;
      t.columns = {"step",
                   "epoch",
                   "agop_alignment",
                   "agop_alignment_std",
                   "agop_alignment_lo",
                   "agop_alignment_hi",
                   "catapults_so_far"};
      for (std::size_t si = 0; si < rs.size(); ++si)
        t.columns.push_back(str_cat("agop_alignment_s", seeds[si]));
      const double per_epoch = static_cast<double>(std::max<std::size_t>(1, train_set.size() / b));
      const Run* longest = &rs.front();
      for (const auto& r : rs)
        if (r.trace.step.size() > longest->trace.step.size()) longest = &r;
      for (std::size_t i = 0; i < longest->trace.step.size(); ++i) {
        const double step = longest->trace.step[i];
        std::vector<double> values;
        double before = 0.0;
        for (const auto& r : rs) {
          values.push_back(i < r.trace.alignment.size() ? r.trace.alignment[i] : std::nan(""));
          for (const auto& c : r.detection.catapults)
            if (static_cast<double>(c.start) < step) before += 1.0;
        }
        const auto ms = finite_mean_std(values);
        std::vector<double> row = {step,
                                   step / per_epoch,
                                   ms.mean,
                                   ms.std,
                                   ms.mean - ms.std,
                                   ms.mean + ms.std,
                                   before / static_cast<double>(rs.size())};
        row.insert(row.end(), values.begin(), values.end());
        t.add(std::move(row));
      }
      t.write(dir / file);
    };
    auto run_seeds = [&](std::size_t b, bool cyclic) {
      std::vector<Run> rs;
      for (const auto seed : seeds) rs.push_back(run_sgd(b, cyclic, seed));
      return rs;
    };
    // Mean ± std over the seeds of a quantity of the runs.
    auto over_seeds = [](const std::vector<Run>& rs, const auto& quantity) {
      std::vector<double> v;
      for (const auto& r : rs) v.push_back(quantity(r));
      return v;
    };
    auto catapults = [](const Run& r) { return double(r.detection.catapults.size()); };
    auto accuracy = [](const Run& r) {
      return r.result.diverged ? std::nan("") : 100.0 * r.result.test_accuracy;
    };

    // Per batch size, over the seeds: means, std and mean ± std (the figure's bands).
    CsvTable csv;
    csv.columns = {"batch_size",
                   "catapults",
                   "test_accuracy",
                   "train_loss",
                   "eta_crit",
                   "peak_lr",
                   "steps",
                   "diverged",
                   "seconds",
                   "agop_alignment",
                   "catapults_std",
                   "catapults_lo",
                   "catapults_hi",
                   "test_accuracy_std",
                   "test_accuracy_lo",
                   "test_accuracy_hi",
                   "agop_alignment_std"};
    // One row per run.
    CsvTable per_run;
    per_run.columns = {"batch_size", "seed",     "catapults", "test_accuracy", "train_loss",
                       "eta_crit",   "diverged", "seconds",   "agop_alignment"};
    std::vector<std::size_t> traced_batches;
    std::map<std::size_t, std::vector<Run>> by_batch;
    std::optional<std::vector<Run>> cyclic_same_batch;  // SGD + catapult at the AGOP batch size
    for (const std::size_t b : batch_sizes) {
      auto rs = run_seeds(b, true);
      for (std::size_t si = 0; si < rs.size(); ++si) {
        const auto& r = rs[si];
        per_run.add({double(b), double(seeds[si]), catapults(r), 100.0 * r.result.test_accuracy,
                     r.result.train_loss, r.eta, r.result.diverged ? 1.0 : 0.0, r.result.seconds,
                     final_alignment(r)});
        ctx.progress(
            format("beyond batch %zu seed %llu: %zu catapult(s), test %.2f%%, AGOP alignment "
                   "%.4f, %.1f s",
                   b, static_cast<unsigned long long>(seeds[si]), r.detection.catapults.size(),
                   100.0 * r.result.test_accuracy, final_alignment(r), r.result.seconds));
      }
      const auto cats = finite_mean_std(over_seeds(rs, catapults));
      const auto acc = finite_mean_std(over_seeds(rs, accuracy));
      const auto align = finite_mean_std(over_seeds(rs, final_alignment));
      double diverged = 0.0, seconds = 0.0;
      for (const auto& r : rs) {
        diverged += r.result.diverged ? 1.0 : 0.0;
        seconds += r.result.seconds;
      }
      const double eta = finite_mean_std(over_seeds(rs, [](const Run& r) { return r.eta; })).mean;
      const double train_loss =
          finite_mean_std(over_seeds(rs, [](const Run& r) { return r.result.train_loss; })).mean;
      csv.add({double(b), cats.mean, acc.mean, train_loss, eta, peak_factor * eta,
               double(rs.front().result.steps), diverged, seconds, align.mean, cats.std,
               cats.mean - cats.std, cats.mean + cats.std, acc.std, acc.mean - acc.std,
               acc.mean + acc.std, align.std});
      write_loss(rs, str_cat("loss_b", b, ".csv"));
      if (agop_cfg) {
        write_trace(rs, b, str_cat("agop_cyclic_b", b, ".csv"));
        traced_batches.push_back(b);
        if (b == agop_cfg->batch_size) cyclic_same_batch = rs;
      }
      by_batch[b] = std::move(rs);
    }
    csv.write(dir / "batch_size.csv");
    per_run.write(dir / "batch_size_runs.csv");

    // Without catapults: the same seeds and batch size at the constant rate base_fraction·η_crit.
    std::optional<std::vector<Run>> constant;
    if (agop_cfg) {
      const std::size_t b = agop_cfg->batch_size;
      constant = run_seeds(b, false);
      write_trace(*constant, b, "agop_constant.csv");
      write_loss(*constant, "loss_constant.csv");
      ctx.progress(
          format("beyond constant rate, batch %zu: %s catapult(s), test %s%%, AGOP "
                 "alignment %s",
                 b, mean_pm_std(over_seeds(*constant, catapults), "%.1f").c_str(),
                 mean_pm_std(over_seeds(*constant, accuracy), "%.2f").c_str(),
                 mean_pm_std(over_seeds(*constant, final_alignment), "%.4f").c_str()));
      if (!cyclic_same_batch) {  // not in the sweep: one more cyclic configuration
        cyclic_same_batch = run_seeds(b, true);
        write_trace(*cyclic_same_batch, b, str_cat("agop_cyclic_b", b, ".csv"));
        write_loss(*cyclic_same_batch, str_cat("loss_b", b, ".csv"));
        traced_batches.push_back(b);
        by_batch[b] = *cyclic_same_batch;
      }
    }

    std::ostringstream md;
    md << "## 5. Beyond the poster: catapults, batch size and AGOP alignment (" << ctx.label()
       << ")\n\n";
    std::string seed_text;
    for (const auto s : seeds) seed_text += str_cat(seed_text.empty() ? "" : ", ", s);
    md << format(
        "SGD on %zu MNIST images (784-%zu-10, MSE, %zu epochs, seeds %s) with a cyclic "
        "triangular rate from %.3g·η_crit to %.3g·η_crit, %zu cycles per epoch; η_crit "
        "measured at initialisation on a sample of one batch. Catapults are counted by the "
        "noise-robust detector (docs/reproduction.md). Mean ± std over the %zu seeds (per run: "
        "batch_size_runs.csv).\n\n",
        train_set.size(), model.widths[1], epochs, seed_text.c_str(), base_fraction, peak_factor,
        cycles, seeds.size());
    md << "| Batch size | η_crit | Steps | Catapults detected | Test accuracy (%) | AGOP alignment "
          "|\n|---|---|---|---|---|---|\n";
    for (const auto& r : csv.rows) {
      const auto& rs = by_batch.at(static_cast<std::size_t>(r[0]));
      md << format("| %.0f | %.4g | %.0f | %s | %s%s | %s |\n", r[0], r[4], r[6],
                   mean_pm_std(over_seeds(rs, catapults), "%.1f").c_str(),
                   mean_pm_std(over_seeds(rs, accuracy), "%.2f").c_str(),
                   r[7] > 0 ? format(" (%.0f diverged)", r[7]).c_str() : "",
                   mean_pm_std(over_seeds(rs, final_alignment), "%.4f").c_str());
    }
    // The paper's claims, checked on the means as measured (batch sizes in protocol order).
    auto trend = [&](std::size_t column) {
      std::vector<std::pair<double, double>> v;
      for (const auto& r : csv.rows) v.emplace_back(r[0], r[column]);
      std::sort(v.begin(), v.end());
      bool down = true;  // strictly
      bool up = true;
      bool non_increasing = true;
      bool non_decreasing = true;
      for (std::size_t i = 1; i < v.size(); ++i) {
        down = down && v[i].second < v[i - 1].second;
        up = up && v[i].second > v[i - 1].second;
        non_increasing = non_increasing && v[i].second <= v[i - 1].second;
        non_decreasing = non_decreasing && v[i].second >= v[i - 1].second;
      }
      return v.size() < 2     ? std::string("is not defined (one batch size)")
             : down           ? std::string("decreases strictly with the batch size")
             : up             ? std::string("increases strictly with the batch size")
             : non_increasing ? std::string("does not increase with the batch size")
             : non_decreasing ? std::string("does not decrease with the batch size")
                              : std::string("is not monotone in the batch size");
    };
    md << "\nAs measured (means over the seeds): the number of detected catapults " << trend(1)
       << " (the paper: fewer catapults with larger batches); the test accuracy " << trend(2);
    if (agop_cfg) md << "; the final AGOP alignment " << trend(9) << " (the paper: it decreases)";
    md << ".\n\n![batch size](beyond/beyond_batch_size.png)\n\n";
    md << "Training loss of the first seed at each batch size (faint: per step; line: geometric "
          "EMA, smoothing "
       << kFigureLossSmoothing
       << "; shaded: the detected catapults; right axis: the rate at every step):\n\n"
          "![loss](beyond/beyond_loss.png)\n\n";
    if (agop_cfg) {
      md << "### AGOP alignment over training\n\n";
      md << format(
          "AGOP G = (1/n) Σ_i J_x(x_i)ᵀ J_x(x_i) (784 × 784, J_x the input Jacobian of the 10 "
          "outputs) on the first %zu training images; alignment = cosine similarity ⟨G, G*⟩_F / "
          "(‖G‖_F ‖G*‖_F) with the AGOP G* of a reference model, as in Zhu et al. (Section 4). "
          "The true predictor of MNIST is unknown; following the paper we use a well-trained "
          "model as its proxy: the same network trained with Adam (rate %.3g, batch %zu, %zu "
          "epochs, seed %llu), test accuracy %.2f%%. Measured %zu times per run; mean ± std over "
          "the %zu seeds.\n\n",
          agop_x.rows(), agop_cfg->reference_lr, agop_cfg->reference_batch_size,
          agop_cfg->reference_epochs, static_cast<unsigned long long>(agop_cfg->reference_seed),
          100.0 * reference_accuracy, agop_cfg->points, seeds.size());
      md << "| Run | Batch | Rate | Catapults | AGOP alignment at init | final | Test accuracy (%) "
            "|\n|---|---|---|---|---|---|---|\n";
      auto row = [&](const std::vector<Run>& rs, const std::string& name, std::size_t b,
                     const std::string& rate) {
        std::size_t diverged = 0;
        for (const auto& r : rs) diverged += r.result.diverged ? 1 : 0;
        md << format("| %s | %zu | %s | %s | %s | %s | %s%s |\n", name.c_str(), b, rate.c_str(),
                     mean_pm_std(over_seeds(rs, catapults), "%.1f").c_str(),
                     mean_pm_std(over_seeds(rs, initial_alignment), "%.4f").c_str(),
                     mean_pm_std(over_seeds(rs, final_alignment), "%.4f").c_str(),
                     mean_pm_std(over_seeds(rs, accuracy), "%.2f").c_str(),
                     diverged > 0 ? format(" (%zu diverged)", diverged).c_str() : "");
      };
      row(*constant, "SGD, constant rate", agop_cfg->batch_size,
          format("%.3g·η_crit", base_fraction));
      if (cyclic_same_batch)
        row(*cyclic_same_batch, "SGD + catapult", agop_cfg->batch_size,
            format("%.3g → %.3g·η_crit", base_fraction, peak_factor));
      if (cyclic_same_batch) {
        const auto with = over_seeds(*cyclic_same_batch, final_alignment);
        const auto without = over_seeds(*constant, final_alignment);
        std::size_t higher = 0;
        for (std::size_t i = 0; i < std::min(with.size(), without.size()); ++i)
          higher += with[i] > without[i] ? 1 : 0;
        const double mean_with = finite_mean_std(with).mean;
        const double mean_without = finite_mean_std(without).mean;
        md << format(
            "\nAt batch %zu the final alignment is %s with catapults and %s without: %s on "
            "average, higher in %zu of %zu seeds (the paper: catapults increase the "
            "alignment).\n",
            agop_cfg->batch_size, mean_pm_std(with, "%.4f").c_str(),
            mean_pm_std(without, "%.4f").c_str(),
            mean_with > mean_without ? "higher with catapults" : "not higher with catapults",
            higher, std::min(with.size(), without.size()));
      }
      md << format(
          "\nThe batch-size table above gives the final alignment of SGD + catapult at each batch "
          "size. Caveat: the cyclic schedule also has a larger mean rate than the constant one, "
          "so the comparison does not separate the catapults from the larger steps.\n\n"
          "![AGOP alignment](beyond/beyond_agop.png)\n");
      meta["agop_reference_test_accuracy"] = reference_accuracy;
      meta["agop_samples"] = agop_x.rows();
    } else {
      md << "AGOP alignment was not run (the protocol has no beyond.agop object).\n";
    }
    meta["batch_sizes"] = batch_sizes;
    meta["seeds"] = seeds;
    write_file_atomic(dir / "section.md", md.str());
    if (ctx.figures) {
      Figure f;
      f.title = "Catapults and test accuracy against batch size";
      f.subtitle =
          format("%s; mean over %zu seeds, band: ± 1 std", ctx.label().c_str(), seeds.size());
      f.x_label = "batch size";
      f.y_label = "catapults detected";
      f.y2_label = "test accuracy (%)";
      f.log_x = true;
      Series cat_band{"batch_size.csv", "batch_size", "catapults_lo", "", false, "band", "#d62728"};
      cat_band.y_high_column = "catapults_hi";
      cat_band.opacity = 0.2;
      Series acc_band{"batch_size.csv", "batch_size", "test_accuracy_lo", "", true,
                      "band",           "#1f77b4"};
      acc_band.y_high_column = "test_accuracy_hi";
      acc_band.opacity = 0.2;
      f.series.push_back(cat_band);
      f.series.push_back(acc_band);
      f.series.push_back({"batch_size.csv", "batch_size", "catapults", "catapults (mean)", false,
                          "linespoints", "#d62728", 2.0});
      f.series.push_back({"batch_size.csv", "batch_size", "test_accuracy", "test accuracy (mean)",
                          true, "linespoints", "#1f77b4", 2.0});
      render_figure(f, dir, "beyond_batch_size");

      // The loss of the first seed at each batch size, one panel per batch size.
      Figure l;
      l.title = format("Training loss at each batch size, seed %llu",
                       static_cast<unsigned long long>(seeds.front()));
      l.subtitle = ctx.label();
      l.x_label = "step";
      l.width = 1000;
      l.height = std::max<int>(500, 230 * static_cast<int>(by_batch.size()));
      for (const auto& [b, rs] : by_batch) {
        Panel panel;
        panel.title = format("batch %zu: %zu catapult(s) detected (shaded)", b,
                             rs.front().detection.catapults.size());
        panel.y_label = "mini-batch loss";
        panel.y2_label = "learning rate";
        panel.log_y = true;
        panel.y2_from_zero = true;
        panel.shaded = phase_intervals(rs.front().detection);
        const std::string file = str_cat("loss_b", b, ".csv");
        Series raw{file, "step", "loss", "per step", false, "lines", "#1f77b4", 1.0};
        raw.opacity = 0.25;
        panel.series.push_back(raw);
        panel.series.push_back({file, "step", "loss_smoothed",
                                format("EMA %g", kFigureLossSmoothing), false, "lines", "#08306b",
                                1.8});
        panel.series.push_back({file, "step", "lr", "η(t)", true, "lines", "#2ca02c", 1.2});
        l.panels.push_back(panel);
      }
      render_figure(l, dir, "beyond_loss");
      if (agop_cfg) {
        Figure a;
        a.title = "AGOP alignment with the reference model over training";
        a.subtitle =
            format("%s; mean over %zu seeds, band: ± 1 std", ctx.label().c_str(), seeds.size());
        a.x_label = "epoch";
        a.y_label = "AGOP alignment (cosine similarity)";
        auto add = [&](const std::string& file, const std::string& title, const char* color,
                       double width) {
          Series band{file, "epoch", "agop_alignment_lo", "", false, "band", color};
          band.y_high_column = "agop_alignment_hi";
          band.opacity = 0.15;
          a.series.push_back(band);
          a.series.push_back(
              {file, "epoch", "agop_alignment", title, false, "linespoints", color, width});
        };
        add("agop_constant.csv",
            format("SGD constant %.3g·η_{crit}, batch %zu (no catapults)", base_fraction,
                   agop_cfg->batch_size),
            "#000000", 2.5);
        const char* colors[] = {"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b"};
        for (std::size_t i = 0; i < traced_batches.size(); ++i)
          add(str_cat("agop_cyclic_b", traced_batches[i], ".csv"),
              format("SGD + catapult, batch %zu", traced_batches[i]), colors[i % 6], 1.5);
        render_figure(a, dir, "beyond_agop");
      }
    }
  });
}

}  // namespace catapult::app::reproduce
