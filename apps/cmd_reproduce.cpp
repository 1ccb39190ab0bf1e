// `catapult reproduce`: the poster's MNIST experiments, their figures and results/REPORT.md.
// Under mpirun (more than one rank) only `reproduce phase-map` runs: its runs are spread over the
// ranks, every rank loads the data, and rank 0 alone writes the outputs (the same files as one
// process writes).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "command.hpp"
#include "plot.hpp"
#include "protocol.hpp"
#ifdef CATAPULT_HAVE_MPI
#include "catapult/dist/mpi.hpp"
#endif

namespace catapult::app {
namespace {

struct ReproduceArgs {
  std::string experiment = "all";
  bool full = false;
  bool quick = false;
  std::string config;
  std::string data_dir;
  std::string dataset = "mnist";
  bool resume = false;
  std::string out = "results";
  bool no_figures = false;
  std::size_t threads = 0;
  std::string command_line;
};

// Runs f on every rank; under MPI an error on any rank becomes the same error on every rank
// (reported once by rank 0).
template <class F>
void on_every_rank(F&& f) {
#ifdef CATAPULT_HAVE_MPI
  dist::collectively("", std::forward<F>(f));
#else
  f();
#endif
}

void run_reproduce(const ReproduceArgs& args) {
  const int rank = reproduce::process_rank(), nranks = reproduce::process_count();
#ifdef CATAPULT_HAVE_MPI
  if (nranks > 1 && args.experiment != "phase-map")
    throw dist::CollectiveError(
        str_cat("reproduce: '", args.experiment,
                "' does not run under MPI with more than one rank (distributed: reproduce "
                "phase-map, sweep, train, ntk); run it without mpirun"),
        true);
#endif
  reproduce::Context ctx;
  on_every_rank([&] {
    if (args.full && args.quick)
      throw InvalidArgument("reproduce: --quick and --full exclude each other");
    if (!args.config.empty()) {
      std::ifstream in(args.config);
      if (!in) throw InvalidArgument(str_cat("reproduce: cannot open config ", args.config));
      try {
        ctx.protocol = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception& e) {
        throw InvalidArgument(str_cat("reproduce: ", args.config, ": ", e.what()));
      }
    } else {
      ctx.protocol = nlohmann::json::parse(reproduce::builtin_protocol_json(args.full));
    }
    // Only rank 0 draws figures.
    if (!args.no_figures && rank == 0) reproduce::require_gnuplot();
  });
#ifdef CATAPULT_HAVE_MPI
  if (nranks > 1)
    dist::require_same("reproduce: the protocol and the command line",
                       str_cat(ctx.protocol.dump(), '\n', args.command_line, '\n', args.resume));
#endif
  ctx.figures = !args.no_figures;
  ctx.resume = args.resume;
  ctx.out = args.out;
  ctx.command = args.command_line;
  ctx.log = [](const std::string& line) {
    std::printf("reproduce: %s\n", line.c_str());
    std::fflush(stdout);
  };
  // The lines of the whole reproduction come from rank 0; the other ranks print only the lines
  // of the runs they train (naming their rank).
  auto say = [&](const std::string& line) {
    if (rank == 0) ctx.progress(line);
  };
  std::unique_ptr<ThreadLimit> limit;
  if (args.threads > 0) {
    limit = std::make_unique<ThreadLimit>(args.threads);
  } else if (nranks > 1) {
#ifdef CATAPULT_HAVE_MPI
    // The node's cores shared out between its ranks (catapult/dist/mpi.hpp).
    limit = std::make_unique<ThreadLimit>(dist::layout().threads);
#endif
  }

  if (args.experiment == "report") {
    reproduce::write_report(ctx);
    ctx.progress(str_cat("report regenerated: ", (ctx.out / "REPORT.md").string()));
    return;
  }
  const bool fashion = args.dataset == "fashion-mnist";
  const auto data_dir = !args.data_dir.empty() ? std::filesystem::path(args.data_dir)
                        : fashion              ? std::filesystem::path(data::kFashionMnistDir)
                                               : data::default_mnist_dir();
  say(str_cat("loading ", args.dataset, " from ", data_dir.string()));
  data::Splits splits;
  on_every_rank(
      [&] { splits = fashion ? data::load_fashion_mnist(data_dir) : data::load_mnist(data_dir); });
  ctx.data = &splits;
  say(str_cat(ctx.label(), ", ", max_threads(), " thread(s)",
              nranks > 1 ? str_cat(" per rank on ", nranks, " ranks") : std::string(),
              ", results in ", ctx.out.string()));

  std::vector<std::string> names;
  if (args.experiment == "all") {
    names = reproduce::experiment_run_order();
  } else {
    names = {args.experiment};
  }
  const auto t0 = std::chrono::steady_clock::now();
  bool kept = false;
  for (const auto& name : names) {
    // Rank 0 decides (only it reads the results).
    bool complete = args.resume && rank == 0 && reproduce::experiment_complete(ctx, name);
#ifdef CATAPULT_HAVE_MPI
    if (nranks > 1) complete = dist::broadcast(complete ? "1" : "0") == "1";
#endif
    if (complete) {
      // Finished by an earlier (interrupted) run of the same protocol, build and thread count.
      say(str_cat("== ", name, ": already complete in ", (ctx.out / name).string(),
                  " (same protocol, build and threads), kept"));
      kept = true;
      continue;
    }
    const auto t1 = std::chrono::steady_clock::now();
    say(str_cat("== ", name));
    try {
      reproduce::run_experiment(name, ctx);
    } catch (const nlohmann::json::exception& e) {
      // A missing or mistyped protocol field is the caller's mistake (exit 2).
      throw InvalidArgument(str_cat("reproduce ", name, ": bad protocol: ", e.what()));
    }
    const auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    say(str_cat("== ", name, " done in ", static_cast<int>(dt), " s -> ",
                (ctx.out / name).string()));
  }
  if (kept && rank == 0) reproduce::write_report(ctx);
  const auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  say(str_cat("finished in ", static_cast<int>(dt),
              " s; report: ", (ctx.out / "REPORT.md").string()));
}

const CommandRegistrar kReproduce{
    30, [](CLI::App& program) {
      auto args = std::make_shared<ReproduceArgs>();
      auto* cmd = program.add_subcommand(
          "reproduce",
          "Reproduce the poster's MNIST experiments (table, dynamics, ntk, adagrad, beyond, "
          "phase-map, calibrate, all): "
          "CSV, JSON, PNG figures and <out>/REPORT.md");
      std::vector<std::string> choices = {"all", "report"};
      for (const auto& n : reproduce::experiment_names()) choices.push_back(n);
      cmd->add_option("experiment", args->experiment,
                      "Which experiment (default: all); `report` only regenerates <out>/REPORT.md")
          ->check(CLI::IsMember(choices));
      cmd->add_flag(
          "--quick", args->quick,
          "The quick protocol (default; < 10 min on 2 cores): configs/reproduce_quick.json");
      cmd->add_flag("--full", args->full,
                    "The documented full protocol: configs/reproduce_full.json");
      cmd->add_option("--config", args->config, "A protocol JSON file (overrides --quick/--full)");
      cmd->add_option("--data-dir", args->data_dir,
                      "Dataset directory (default for mnist: the fetch-data cache, see `catapult "
                      "fetch-data`; for fashion-mnist: /usr/share/datasets/fashion-mnist)");
      cmd->add_option("--dataset", args->dataset,
                      "mnist (the poster's data, default) or fashion-mnist (the protocol's model "
                      "widths must fit the images)")
          ->check(CLI::IsMember({"mnist", "fashion-mnist"}));
      cmd->add_flag("--resume", args->resume,
                    "Keep the experiments that an earlier, interrupted run of the same protocol "
                    "finished in --out (same protocol, build and thread count: rerunning them "
                    "would write the same numbers) and run the others");
      cmd->add_option("--out", args->out, "Results directory (default: results)");
      cmd->add_flag("--no-figures", args->no_figures, "Skip the gnuplot figures");
      cmd->add_option("--threads", args->threads, "Thread limit (default: all)");
      cmd->callback([args] {
        std::string line = "catapult reproduce";
        line += " " + args->experiment;
        line += args->full ? " --full" : (args->config.empty() ? " --quick" : "");
        if (!args->config.empty()) line += " --config " + args->config;
        if (!args->data_dir.empty()) line += " --data-dir " + args->data_dir;
        if (args->dataset != "mnist") line += " --dataset " + args->dataset;
        // --resume is left out: the results are those of the command without it.
        line += " --out " + args->out;
        if (args->no_figures) line += " --no-figures";
        if (args->threads > 0) line += " --threads " + std::to_string(args->threads);
        args->command_line = line;
        run_reproduce(*args);
      });
    }};

}  // namespace
}  // namespace catapult::app
