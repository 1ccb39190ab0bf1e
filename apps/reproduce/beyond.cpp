// Experiment 5, beyond the poster: how the number of catapults and the test accuracy depend on
// the batch size, with the cyclic schedule's peak set from the critical rate of each batch size.
#include <cmath>
#include <sstream>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {

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

  write_experiment(ctx, "beyond", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    CsvTable csv;
    csv.columns = {"batch_size", "catapults", "test_accuracy", "train_loss", "eta_crit",
                   "peak_lr",    "steps",     "diverged",      "seconds"};
    for (const std::size_t b : batch_sizes) {
      const std::size_t crit_n = std::min(b, train_set.size());
      const auto crit_x = first_rows(train_set, crit_n);
      RunSpec spec;
      spec.model = model;
      spec.loss = loss;
      spec.optimizer.kind = optim::OptimizerKind::Sgd;
      spec.batch_size = b;
      spec.epochs = cfg.at("epochs").get<std::size_t>();
      spec.seed = cfg.value("seed", std::uint64_t{0});
      spec.log = ctx.log;
      spec.name = str_cat("batch ", b);
      const std::size_t per_epoch = std::max<std::size_t>(1, train_set.size() / b);
      const std::size_t step_size =
          std::max<std::size_t>(1, per_epoch / (2 * cfg.at("cycles_per_epoch").get<std::size_t>()));
      double eta = 0.0;
      InitHook on_init = [&](TrainState& s) {
        eta = critical_rate(loss, crit_n, k,
                            ntk_lambda_max(s.model, crit_x, nullptr, crit_tol, crit_iter).value);
        s.schedule = optim::Schedule(
            cyclic_schedule("triangular", cfg.at("base_fraction").get<double>() * eta,
                            cfg.at("peak_factor").get<double>() * eta, step_size, 1.0));
      };
      const auto result = train(spec, train_set, test_set, on_init, {});
      const auto detection = analysis::detect_catapults(result.loss, detector);
      csv.add({double(b), double(detection.catapults.size()), 100.0 * result.test_accuracy,
               result.train_loss, eta, cfg.at("peak_factor").get<double>() * eta,
               double(result.steps), result.diverged ? 1.0 : 0.0, result.seconds});
      ctx.progress(format("beyond batch %zu: %zu catapult(s), test %.2f%%, %.1f s", b,
                          detection.catapults.size(), 100.0 * result.test_accuracy,
                          result.seconds));
    }
    csv.write(dir / "batch_size.csv");
    std::ostringstream md;
    md << "## 5. Beyond the poster: catapults against batch size (" << ctx.label() << ")\n\n";
    md << format(
        "SGD on %zu MNIST images (784-%zu-10, MSE, %zu epochs, seed %llu) with a cyclic "
        "triangular rate from %.3g·η_crit to %.3g·η_crit, %zu cycles per epoch; η_crit "
        "measured at initialisation on a sample of one batch.\n\n",
        train_set.size(), model.widths[1], cfg.at("epochs").get<std::size_t>(),
        static_cast<unsigned long long>(cfg.value("seed", std::uint64_t{0})),
        cfg.at("base_fraction").get<double>(), cfg.at("peak_factor").get<double>(),
        cfg.at("cycles_per_epoch").get<std::size_t>());
    md << "| Batch size | η_crit | Steps | Catapults detected | Test accuracy (%) |\n"
          "|---|---|---|---|---|\n";
    for (const auto& r : csv.rows)
      md << format("| %.0f | %.4g | %.0f | %.0f | %.2f%s |\n", r[0], r[4], r[6], r[1], r[2],
                   r[7] > 0 ? " (diverged)" : "");
    md << "\nAGOP alignment over training was not run (lowest priority; see docs/reproduction.md)."
          "\n\n![batch size](beyond/beyond_batch_size.png)\n";
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
    }
  });
}

}  // namespace catapult::app::reproduce
