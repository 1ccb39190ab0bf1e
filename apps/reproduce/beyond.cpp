// Experiment 5, beyond the poster: how the number of catapults, the test accuracy and the AGOP
// alignment (the paper's feature-learning measure) depend on the batch size, with the cyclic
// schedule's peak set from the critical rate of each batch size, and the AGOP alignment over
// training of SGD with catapults against SGD at a constant rate below the critical one.
#include <algorithm>
#include <cmath>
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
  const auto [train_set, test_set, model, loss] =
      experiment_data(ctx, cfg.at("train_size").get<std::size_t>(), 0);
  const std::size_t k = model.widths.back();
  const double crit_tol = p.at("critical").value("tolerance", 1e-3);
  const std::size_t crit_iter = p.at("critical").value("max_iterations", std::size_t{100});
  const auto detector = detector_options(p);
  const auto batch_sizes = cfg.at("batch_sizes").get<std::vector<std::size_t>>();
  const std::size_t epochs = cfg.at("epochs").get<std::size_t>();
  const std::uint64_t seed = cfg.value("seed", std::uint64_t{0});
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
    auto run_sgd = [&](std::size_t b, bool cyclic) {
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
      spec.name = str_cat(cyclic ? "cyclic" : "constant", ", batch ", b);
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
    // Per-step loss, rate and detected phases of one run.
    auto write_loss = [&](const Run& r, const std::string& file) {
      const auto mask = analysis::catapult_mask(r.detection, r.result.loss.size());
      CsvTable t;
      t.columns = {"step", "loss", "lr", "in_catapult"};
      for (std::size_t i = 0; i < r.result.loss.size(); ++i)
        t.add({double(i), r.result.loss[i], r.result.lr[i], double(mask[i])});
      t.write(dir / file);
    };
    auto final_alignment = [](const Run& r) {
      return r.trace.alignment.empty() ? std::nan("") : r.trace.alignment.back();
    };
    // Per-run alignment trace with the number of catapults detected before each measurement.
    auto write_trace = [&](const Run& r, std::size_t b, const std::string& file) {
      CsvTable t;
      t.columns = {"step", "epoch", "agop_alignment", "catapults_so_far"};
      const double per_epoch = static_cast<double>(std::max<std::size_t>(1, train_set.size() / b));
      for (std::size_t i = 0; i < r.trace.step.size(); ++i) {
        std::size_t before = 0;
        for (const auto& c : r.detection.catapults)
          if (static_cast<double>(c.start) < r.trace.step[i]) ++before;
        t.add({r.trace.step[i], r.trace.step[i] / per_epoch, r.trace.alignment[i],
               static_cast<double>(before)});
      }
      t.write(dir / file);
    };

    CsvTable csv;
    csv.columns = {"batch_size", "catapults", "test_accuracy", "train_loss", "eta_crit",
                   "peak_lr",    "steps",     "diverged",      "seconds",    "agop_alignment"};
    std::vector<std::size_t> traced_batches;
    std::optional<Run> cyclic_same_batch;  // SGD + catapult at the batch size of the AGOP runs
    for (const std::size_t b : batch_sizes) {
      const auto r = run_sgd(b, true);
      csv.add({double(b), double(r.detection.catapults.size()), 100.0 * r.result.test_accuracy,
               r.result.train_loss, r.eta, peak_factor * r.eta, double(r.result.steps),
               r.result.diverged ? 1.0 : 0.0, r.result.seconds, final_alignment(r)});
      write_loss(r, str_cat("loss_b", b, ".csv"));
      if (agop_cfg) {
        write_trace(r, b, str_cat("agop_cyclic_b", b, ".csv"));
        traced_batches.push_back(b);
        if (b == agop_cfg->batch_size) cyclic_same_batch = r;
      }
      ctx.progress(
          format("beyond batch %zu: %zu catapult(s), test %.2f%%, AGOP alignment %.4f, "
                 "%.1f s",
                 b, r.detection.catapults.size(), 100.0 * r.result.test_accuracy,
                 final_alignment(r), r.result.seconds));
    }
    csv.write(dir / "batch_size.csv");

    // Without catapults: the same seed and batch size at the constant rate base_fraction·η_crit.
    std::optional<Run> constant;
    if (agop_cfg) {
      const std::size_t b = agop_cfg->batch_size;
      constant = run_sgd(b, false);
      write_trace(*constant, b, "agop_constant.csv");
      write_loss(*constant, "loss_constant.csv");
      ctx.progress(
          format("beyond constant rate, batch %zu: %zu catapult(s), test %.2f%%, AGOP "
                 "alignment %.4f, %.1f s",
                 b, constant->detection.catapults.size(), 100.0 * constant->result.test_accuracy,
                 final_alignment(*constant), constant->result.seconds));
      if (!cyclic_same_batch) {  // not in the sweep: one more cyclic run
        cyclic_same_batch = run_sgd(b, true);
        write_trace(*cyclic_same_batch, b, str_cat("agop_cyclic_b", b, ".csv"));
        write_loss(*cyclic_same_batch, str_cat("loss_b", b, ".csv"));
        traced_batches.push_back(b);
      }
    }

    std::ostringstream md;
    md << "## 5. Beyond the poster: catapults, batch size and AGOP alignment (" << ctx.label()
       << ")\n\n";
    md << format(
        "SGD on %zu MNIST images (784-%zu-10, MSE, %zu epochs, seed %llu) with a cyclic "
        "triangular rate from %.3g·η_crit to %.3g·η_crit, %zu cycles per epoch; η_crit "
        "measured at initialisation on a sample of one batch. Catapults are counted by the "
        "noise-robust detector (docs/reproduction.md).\n\n",
        train_set.size(), model.widths[1], epochs, static_cast<unsigned long long>(seed),
        base_fraction, peak_factor, cycles);
    md << "| Batch size | η_crit | Steps | Catapults detected | Test accuracy (%) | AGOP alignment "
          "|\n|---|---|---|---|---|---|\n";
    for (const auto& r : csv.rows)
      md << format("| %.0f | %.4g | %.0f | %.0f | %.2f%s | %s |\n", r[0], r[4], r[6], r[1], r[2],
                   r[7] > 0 ? " (diverged)" : "",
                   std::isfinite(r[9]) ? format("%.4f", r[9]).c_str() : "—");
    // The paper's claims, checked on the rows as measured (batch sizes in protocol order).
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
    md << "\nAs measured: the number of detected catapults " << trend(1)
       << " (the paper: fewer catapults with larger batches); the test accuracy " << trend(2);
    if (agop_cfg) md << "; the final AGOP alignment " << trend(9) << " (the paper: it decreases)";
    md << ".\n\n![batch size](beyond/beyond_batch_size.png)\n\n";
    if (agop_cfg) {
      md << "### AGOP alignment over training\n\n";
      md << format(
          "AGOP G = (1/n) Σ_i J_x(x_i)ᵀ J_x(x_i) (784 × 784, J_x the input Jacobian of the 10 "
          "outputs) on the first %zu training images; alignment = cosine similarity ⟨G, G*⟩_F / "
          "(‖G‖_F ‖G*‖_F) with the AGOP G* of a reference model, as in Zhu et al. (Section 4). "
          "The true predictor of MNIST is unknown; following the paper we use a well-trained "
          "model as its proxy: the same network trained with Adam (rate %.3g, batch %zu, %zu "
          "epochs, seed %llu), test accuracy %.2f%%. Measured %zu times per run.\n\n",
          agop_x.rows(), agop_cfg->reference_lr, agop_cfg->reference_batch_size,
          agop_cfg->reference_epochs, static_cast<unsigned long long>(agop_cfg->reference_seed),
          100.0 * reference_accuracy, agop_cfg->points);
      md << "| Run | Batch | Rate | Catapults | AGOP alignment at init | final | Test accuracy (%) "
            "|\n|---|---|---|---|---|---|---|\n";
      auto row = [&](const Run& r, const std::string& name, std::size_t b,
                     const std::string& rate) {
        md << format("| %s | %zu | %s | %zu | %.4f | %.4f | %.2f%s |\n", name.c_str(), b,
                     rate.c_str(), r.detection.catapults.size(),
                     r.trace.alignment.empty() ? std::nan("") : r.trace.alignment.front(),
                     final_alignment(r), 100.0 * r.result.test_accuracy,
                     r.result.diverged ? " (diverged)" : "");
      };
      row(*constant, "SGD, constant rate", agop_cfg->batch_size,
          format("%.3g·η_crit", base_fraction));
      if (cyclic_same_batch)
        row(*cyclic_same_batch, "SGD + catapult", agop_cfg->batch_size,
            format("%.3g → %.3g·η_crit", base_fraction, peak_factor));
      if (cyclic_same_batch) {
        const double with = final_alignment(*cyclic_same_batch);
        const double without = final_alignment(*constant);
        md << format(
            "\nAt batch %zu the final alignment is %.4f with catapults and %.4f without: %s "
            "(the paper: catapults increase the alignment).\n",
            agop_cfg->batch_size, with, without,
            with > without ? "higher with catapults" : "not higher with catapults");
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
    write_file_atomic(dir / "section.md", md.str());
    if (ctx.figures) {
      Figure f;
      f.title = "Catapults and test accuracy against batch size";
      f.subtitle = ctx.label();
      f.x_label = "batch size";
      f.y_label = "catapults detected";
      f.y2_label = "test accuracy (%)";
      f.log_x = true;
      f.series.push_back({"batch_size.csv", "batch_size", "catapults", "catapults", false,
                          "linespoints", "#d62728", 2.0});
      f.series.push_back({"batch_size.csv", "batch_size", "test_accuracy", "test accuracy", true,
                          "linespoints", "#1f77b4", 2.0});
      render_figure(f, dir, "beyond_batch_size");
      if (agop_cfg) {
        Figure a;
        a.title = "AGOP alignment with the reference model over training";
        a.subtitle = ctx.label();
        a.x_label = "epoch";
        a.y_label = "AGOP alignment (cosine similarity)";
        a.series.push_back({"agop_constant.csv", "epoch", "agop_alignment",
                            format("SGD constant %.3g·η_{crit}, batch %zu (no catapults)",
                                   base_fraction, agop_cfg->batch_size),
                            false, "linespoints", "#000000", 2.5});
        const char* colors[] = {"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b"};
        for (std::size_t i = 0; i < traced_batches.size(); ++i)
          a.series.push_back({str_cat("agop_cyclic_b", traced_batches[i], ".csv"), "epoch",
                              "agop_alignment",
                              format("SGD + catapult, batch %zu", traced_batches[i]), false,
                              "linespoints", colors[i % 6], 1.5});
        render_figure(a, dir, "beyond_agop");
      }
    }
  });
}

}  // namespace catapult::app::reproduce
