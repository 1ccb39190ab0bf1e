// Experiment 7, the detector's calibration: pure-noise controls — SGD at a constant rate below the
// critical one, where no catapult can happen — at several batch sizes and seeds, and the number of
// "catapults" the detector reports on them for several noise margins (and with the ratio rules
// alone, no noise condition). A false detection here is noise counted as a spike; the protocol's
// margin should give none. The docs quote this experiment's output, never a typed number.
#include <sstream>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"

namespace catapult::app::reproduce {

void run_calibrate(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("calibrate");
  const ExperimentData experiment =
      experiment_data(ctx, p.at("data").at("train_size").get<std::size_t>(), 0);
  const auto& train_set = experiment.train_set;
  const auto& test_set = experiment.test_set;
  const auto& model = experiment.model;
  const auto& loss = experiment.loss;
  const auto seeds = cfg.at("seeds").get<std::vector<std::uint64_t>>();
  const auto batches = cfg.at("batch_sizes").get<std::vector<std::size_t>>();
  const auto margins = cfg.at("noise_margins").get<std::vector<double>>();
  const std::size_t epochs = cfg.at("epochs").get<std::size_t>();
  const double fraction = cfg.at("lr_fraction").get<double>();
  if (!(fraction > 0.0 && fraction < 1.0))
    throw InvalidArgument(str_cat("calibrate: lr_fraction ", fraction,
                                  " must lie in (0, 1): the controls run below the critical rate"));
  const auto crit = critical_sample(p, train_set);
  const auto detector = detector_options(p);

  write_experiment(ctx, "calibrate", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    // Columns: the ratio rules alone (no noise condition), then each margin.
    CsvTable counts;
    counts.columns = {"batch_size", "seed", "steps", "ratio_rules_alone"};
    for (const double m : margins) counts.columns.push_back(format("margin_%g", m));
    std::vector<std::vector<double>> totals(batches.size(),
                                            std::vector<double>(margins.size() + 1, 0.0));
    // At the protocol's own margin: detections and steps per batch size.
    std::vector<double> at_protocol(batches.size(), 0.0), steps(batches.size(), 0.0);
    std::vector<double> eta_crit;  // per seed, at its initialisation
    for (const auto seed : seeds)
      eta_crit.push_back(
          initial_critical_rate(model, seed, crit.x, loss, crit.tolerance, crit.max_restarts,
                                str_cat("calibrate, seed ", seed, ", initialisation")));
    for (std::size_t bi = 0; bi < batches.size(); ++bi)
      for (std::size_t si = 0; si < seeds.size(); ++si) {
        const auto seed = seeds[si];
        const double eta = eta_crit[si];
        RunSpec spec;
        spec.model = model;
        spec.loss = loss;
        spec.optimizer.kind = optim::OptimizerKind::Sgd;
        spec.schedule = constant_schedule(fraction * eta);
        spec.batch_size = batches[bi];
        spec.epochs = epochs;
        spec.seed = seed;
        spec.log = ctx.log;
        spec.name = format("calibrate b%zu s%llu", batches[bi], (unsigned long long)seed);
        const auto result = train(spec, train_set, test_set);
        if (result.diverged)
          throw RuntimeError(str_cat("calibrate: the noise control at batch ", batches[bi],
                                     ", seed ", seed, " diverged below the critical rate"));
        std::vector<double> row = {double(batches[bi]), double(seed), double(result.loss.size())};
        auto ratio_only = detector;
        ratio_only.noise_window = 0;
        row.push_back(double(analysis::detect_catapults(result.loss, ratio_only).catapults.size()));
        for (const double margin : margins) {
          auto o = detector;
          o.noise_margin = margin;
          o.return_margin = std::min(o.return_margin, margin);
          row.push_back(double(analysis::detect_catapults(result.loss, o).catapults.size()));
        }
        for (std::size_t j = 0; j + 3 < row.size(); ++j) totals[bi][j] += row[j + 3];
        at_protocol[bi] +=
            double(analysis::detect_catapults(result.loss, detector).catapults.size());
        steps[bi] += double(result.loss.size());
        counts.add(row);
      }
    counts.write(dir / "calibration.csv");

    std::ostringstream md;
    md << "## 7. Calibration of the catapult detector (" << ctx.label() << ")\n\n";
    md << format(
        "Pure-noise controls: SGD at the constant rate %.2f × η_crit (below critical: no catapult "
        "can happen), %zu epoch(s) on %zu MNIST images, seeds",
        fraction, epochs, train_set.size());
    for (const auto s : seeds) md << ' ' << s;
    md << format(
        ". Every detection below is noise counted as a spike. The detector is the protocol's "
        "(smoothing %.2g, rise ×%.2g, return ×%.2g, noise window %zu, return margin %.2g) with "
        "the noise margin varied; \"ratio rules alone\" drops the noise condition. Total "
        "detections over the seeds:\n\n",
        detector.smoothing, detector.rise_factor, detector.return_factor, detector.noise_window,
        detector.return_margin);
    md << "| batch | ratio rules alone";
    for (const double m : margins) md << format(" | margin %g", m);
    md << " |\n|---|---";  // batch, ratio rules alone, then one column per margin
    for (std::size_t j = 0; j < margins.size(); ++j) md << "|---";
    md << "|\n";
    for (std::size_t bi = 0; bi < batches.size(); ++bi) {
      md << "| " << batches[bi];
      for (const double t : totals[bi]) md << format(" | %.0f", t);
      md << " |\n";
    }
    // The smallest margin of the list with no detection at any batch size.
    std::string smallest = "none of the margins tried";
    for (std::size_t j = 0; j < margins.size(); ++j) {
      bool clean = true;
      for (const auto& t : totals) clean &= t[j + 1] == 0.0;
      if (clean) {
        smallest = format("%g", margins[j]);
        break;
      }
    }
    md << format(
        "\nThe smallest margin in this list with no detection at any batch size: %s. The "
        "protocol uses margin %g.\n\n",
        smallest.c_str(), detector.noise_margin);
    // What the protocol's margin costs the phase map: false detections per cycle of its schedules
    // at the worst batch size, beside the row rule's threshold.
    if (p.contains("phase_map")) {
      const auto& pm = p.at("phase_map");
      const double cycle = 2.0 * pm.at("step_size").get<double>();
      const double threshold = pm.at("rule").at("min_catapults_per_cycle").get<double>();
      std::size_t worst = 0;
      for (std::size_t bi = 0; bi < batches.size(); ++bi)
        if (at_protocol[bi] / steps[bi] > at_protocol[worst] / steps[worst]) worst = bi;
      const double per_cycle = at_protocol[worst] * cycle / steps[worst];
      md << format(
          "At the protocol's margin %g: %.0f false detection(s) in %.0f steps at batch %zu, the "
          "worst batch size, i.e. %.3g per phase-map cycle (%.0f steps), against the row rule's "
          "threshold of %.3g detected catapults per cycle.\n\n",
          detector.noise_margin, at_protocol[worst], steps[worst], batches[worst], per_cycle, cycle,
          threshold);
      meta["false_per_cycle_at_protocol_margin"] = per_cycle;
    }
    meta["at_protocol_margin"] = at_protocol;
    meta["totals"] = totals;
    meta["margins"] = margins;
    meta["batch_sizes"] = batches;
    meta["smallest_clean_margin"] = smallest;
    write_file_atomic(dir / "section.md", md.str());
  });
}

}  // namespace catapult::app::reproduce
