// `catapult sweep SWEEP.json --out DIR`: expands a sweep file (train/sweep.hpp) into runs, trains
// each into DIR/run-NNNN/ as `catapult train` would, and keeps a results table of the finished
// runs (DIR/results.csv, DIR/results.json, rewritten atomically after every run). A rerun of the
// same sweep skips the finished runs (and resumes an interrupted one from its checkpoint with
// --checkpoint-every); a different sweep file in the same DIR is refused.
// Under mpirun (catapult/dist/), the runs are spread over the ranks with dynamic scheduling (a
// rank that finishes a run takes the next), each rank writes its runs' directories, and rank 0
// keeps the table; the table is the one a single process writes. DIR must be on a file system
// every rank sees (a cluster's shared home or scratch).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/train/checkpoint.hpp"
#include "catapult/train/sweep.hpp"
#include "command.hpp"
#include "train_run.hpp"
#ifdef CATAPULT_HAVE_MPI
#include "catapult/dist/mpi.hpp"
#include "catapult/dist/task_pool.hpp"
#endif

namespace catapult::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct SweepArgs {
  std::string file, out, data_dir;
  std::size_t threads = 0;
  std::uint64_t checkpoint_every = 0, log_every = 1;
  bool dry_run = false;
};

std::string read_text(const fs::path& path) {
  std::ifstream f(path);
  if (!f) throw IoError(str_cat("sweep: cannot read '", path.string(), "'"));
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

json json_num(double x) { return std::isfinite(x) ? json(x) : json(); }

// A setting's value for the table: strings without their quotes, anything else as JSON.
std::string plain(const std::string& json_text) {
  const json v = json::parse(json_text);
  return v.is_string() ? v.get<std::string>() : json_text;
}

// One CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string csv_num(const json& v) {
  if (v.is_null()) return "nan";
  if (!v.is_number_float()) return v.dump();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v.get<double>());
  return buf;
}

// The row of a finished run (also its result.json).
json result_row(const train::Sweep& sweep, const train::SweepRun& run,
                const train::TrainResult& r) {
  json settings = json::object();
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    settings[sweep.axes[a].key] = json::parse(run.values[a]);
  return {{"run", run.name},
          {"index", run.index},
          {"settings", std::move(settings)},
          {"status", train::to_string(r.status)},
          {"message", r.message},
          {"steps", r.steps},
          {"epochs", r.epochs},
          {"last_loss", json_num(r.last_loss)},
          {"test_loss", json_num(r.test_loss)},
          {"test_accuracy", json_num(r.test_accuracy)},
          {"seconds", r.seconds}};
}

// The finished run's row from DIR/run-NNNN/result.json, or null if the run has not finished
// (no file; a file that does not parse cannot be one we wrote, since it is written atomically).
json finished_row(const fs::path& run_dir, const train::SweepRun& run) {
  const fs::path file = run_dir / "result.json";
  if (!fs::exists(file)) return {};
  json row = json::parse(read_text(file), nullptr, false);
  if (row.is_discarded() || !row.is_object() || row.value("run", "") != run.name)
    throw DataError(str_cat("sweep: ", file.string(),
                            " is not this run's result; remove the run's directory to rerun it"));
  return row;
}

void write_tables(const fs::path& out, const train::Sweep& sweep, const std::string& canonical,
                  const std::vector<json>& rows) {
  std::string csv = "run";
  for (const auto& axis : sweep.axes) csv += "," + csv_field(axis.key);
  csv += ",status,steps,epochs,last_loss,test_loss,test_accuracy,seconds\n";
  json runs = json::array();
  for (const json& row : rows) {
    if (row.is_null()) continue;
    csv += row.at("run").get<std::string>();
    for (const auto& axis : sweep.axes)
      csv += "," + csv_field(plain(row.at("settings").at(axis.key).dump()));
    csv += "," + row.at("status").get<std::string>() + "," + row.at("steps").dump() + "," +
           row.at("epochs").dump();
    for (const char* key : {"last_loss", "test_loss", "test_accuracy", "seconds"})
      csv += "," + csv_num(row.at(key));
    csv += "\n";
    runs.push_back(row);
  }
  const json table = {{"sweep", json::parse(canonical)},
                      {"runs_total", sweep.runs.size()},
                      {"runs_finished", runs.size()},
                      {"runs", std::move(runs)}};
  train::write_file_atomically(out / "results.csv", csv);
  train::write_file_atomically(out / "results.json", table.dump(2) + "\n");
}

// DIR/sweep.json holds the sweep that owns DIR; another one is refused naming the first
// difference.
void claim_output(const fs::path& out, const std::string& canonical) {
  const fs::path file = out / "sweep.json";
  if (!fs::exists(file)) {
    fs::create_directories(out);
    train::write_file_atomically(file, canonical + "\n");
    return;
  }
  const json stored = json::parse(read_text(file), nullptr, false);
  const json current = json::parse(canonical);
  if (stored == current) return;
  std::string where = "the file";
  if (!stored.is_discarded()) {
    const auto patch = json::diff(stored, current);
    if (!patch.empty()) {
      const std::string path = patch[0].value("path", "");
      const json::json_pointer pointer(path);
      where = str_cat(path, ": ", stored.contains(pointer) ? stored.at(pointer).dump() : "absent",
                      " there, ", current.contains(pointer) ? current.at(pointer).dump() : "absent",
                      " here");
    }
  }
  throw InvalidArgument(str_cat("sweep: ", out.string(), " holds the runs of another sweep (",
                                where, "); use another --out, or the sweep file that made it"));
}

// Runs f on every rank; under MPI an error on any rank becomes the same error on every rank
// (reported once by rank 0).
template <class F>
void on_every_rank(const char* what, F&& f) {
#ifdef CATAPULT_HAVE_MPI
  dist::collectively(what, std::forward<F>(f));
#else
  (void)what;
  f();
#endif
}

int this_rank() {
#ifdef CATAPULT_HAVE_MPI
  return dist::rank();
#else
  return 0;
#endif
}

int ranks() {
#ifdef CATAPULT_HAVE_MPI
  return dist::size();
#else
  return 1;
#endif
}

// Every rank must be able to create files in the output directory (a rank on a node where it is
// missing or read-only would lose its runs).
void check_writable(const fs::path& out) {
  const fs::path probe = out / str_cat(".write-test-rank-", this_rank());
  std::ofstream f(probe);
  if (!f || !(f << "ok\n") || !f.flush())
    throw IoError(str_cat("sweep: cannot write in the output directory ", out.string()));
  f.close();
  std::error_code ec;
  fs::remove(probe, ec);
}

void run_sweep(const SweepArgs& args, const CLI::App& cmd) {
  const int rank = this_rank(), nranks = ranks();
  train::Sweep sweep;
  std::string canonical;
  const fs::path out = args.out;
  on_every_rank("", [&] {
    if (args.file.empty())
      throw InvalidArgument("sweep: no sweep file given (catapult sweep FILE)");
    if (args.out.empty() && !args.dry_run)
      throw InvalidArgument("sweep: no --out DIR given (where the runs and results go)");
    if (cmd.count("--checkpoint-every") > 0 && args.checkpoint_every == 0)
      throw InvalidArgument("sweep: --checkpoint-every 0 (must be >= 1)");
    if (args.log_every == 0) throw InvalidArgument("sweep: --log-every 0");
    sweep = train::parse_sweep(read_text(args.file), default_run_config());
    canonical = train::to_json(sweep);
    for (auto& run : sweep.runs) {
      if (cmd.count("--data-dir") > 0) run.config.data_dir = args.data_dir;
      if (cmd.count("--threads") > 0) run.config.threads = args.threads;
      run.config.out_dir = (out / run.name).string();
      // What only the model can check (the widths), for every run before the first starts.
      if (run.config.train.batch_size == 0)
        throw InvalidArgument(str_cat("sweep: ", run.name, ": train.batch_size is 0"));
      try {
        const nn::Mlp<float> probe(run.config.model);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(str_cat("sweep: ", run.name, ": ", e.what()));
      }
    }
  });
#ifdef CATAPULT_HAVE_MPI
  if (nranks > 1) {
    // The ranks must run the same sweep into the same place with the same options.
    dist::require_same(
        "sweep: the sweep (file contents, --out, --data-dir, --checkpoint-every, "
        "--log-every)",
        str_cat(canonical, '\n', args.out, '\n', args.data_dir, '\n', args.checkpoint_every, '\n',
                args.log_every, '\n', args.dry_run));
    if (static_cast<std::size_t>(nranks) > sweep.runs.size())
      throw dist::CollectiveError(
          str_cat("sweep: ", nranks, " ranks for ", sweep.runs.size(),
                  " runs: every rank needs at least one run (use mpirun -n ", sweep.runs.size(),
                  " or fewer)"),
          true);
    // Threads per rank from the rank layout unless the sweep or --threads sets them.
    for (auto& run : sweep.runs)
      if (run.config.threads == 0) run.config.threads = dist::layout().threads;
  }
#endif
  if (rank == 0) {
    std::cout << "sweep: " << sweep.runs.size() << " runs over";
    for (const auto& axis : sweep.axes) std::cout << ' ' << axis.key;
    if (nranks > 1) std::cout << " on " << nranks << " ranks";
    std::cout << '\n';
  }
  if (args.dry_run) {
    if (rank != 0) return;
    for (const auto& run : sweep.runs) {
      std::cout << run.name;
      for (std::size_t a = 0; a < sweep.axes.size(); ++a)
        std::cout << ' ' << sweep.axes[a].key << '=' << run.values[a];
      std::cout << '\n';
    }
    return;
  }

  // Rank 0 claims DIR and reads which runs are finished; then every rank checks it can write
  // there, and learns the runs left to do from rank 0.
  std::vector<json> rows(sweep.runs.size());
  std::size_t skipped = 0;
  std::string todo_text;
  on_every_rank("", [&] {
    if (rank != 0) return;
    claim_output(out, canonical);
    for (const auto& run : sweep.runs) {
      rows[run.index] = finished_row(out / run.name, run);
      if (rows[run.index].is_null())
        todo_text += str_cat(todo_text.empty() ? "" : " ", run.index);
      else
        ++skipped;
    }
    write_tables(out, sweep, canonical, rows);
  });
  on_every_rank("", [&] { check_writable(out); });
#ifdef CATAPULT_HAVE_MPI
  todo_text = dist::broadcast(todo_text);
#endif
  std::vector<std::size_t> todo;
  {
    std::istringstream in(todo_text);
    for (std::size_t i = 0; in >> i;) todo.push_back(i);
  }
  if (rank == 0 && skipped > 0)
    std::cout << "sweep: " << skipped << " runs already finished in " << out.string()
              << ", skipped\n";

  std::map<std::pair<std::string, std::string>, data::Splits> datasets;  // loaded once each
  const bool tty = rank == 0 && nranks == 1 && isatty(fileno(stdout)) != 0;
  // Trains run i on this rank and returns its row (written to its result.json first: that file
  // is what marks the run finished, written atomically after everything else).
  auto work = [&](std::size_t i) -> std::string {
    const train::SweepRun& run = sweep.runs[i];
    const fs::path dir = out / run.name;
    {
      std::ostringstream line;
      line << run.name << " (" << run.index + 1 << "/" << sweep.runs.size() << "):";
      for (std::size_t a = 0; a < sweep.axes.size(); ++a)
        line << ' ' << sweep.axes[a].key << '=' << run.values[a];
      if (nranks > 1) line << " [rank " << rank << "]";
      std::cout << line.str() << std::endl;
    }
    const auto key = std::make_pair(run.config.dataset, run.config.data_dir);
    if (datasets.count(key) == 0) datasets.emplace(key, load_run_data(run.config));
    TrainRunOptions options;
    options.log_every = args.log_every;
    options.checkpoint_every = args.checkpoint_every;
    options.data = &datasets.at(key);
    options.progress = nranks == 1 ? &std::cout : nullptr;
    options.tty = tty;
    if (args.checkpoint_every > 0 && fs::exists(dir / "checkpoint.ckpt"))
      options.resume = dir / "checkpoint.ckpt";
    const train::TrainResult r = run_training(run.config, options);
    const json row = result_row(sweep, run, r);
    train::write_file_atomically(dir / "result.json", row.dump(2) + "\n");
    return row.dump();
  };
  std::size_t diverged = 0;
  // Rank 0 only, one call at a time: the row joins the table, rewritten atomically.
  auto on_result = [&](std::size_t i, const std::string& text) {
    rows[i] = json::parse(text);
    diverged += rows[i].value("status", "") == "diverged" ? 1 : 0;
    write_tables(out, sweep, canonical, rows);
  };
#ifdef CATAPULT_HAVE_MPI
  (void)dist::run_task_pool(todo, work, on_result);
  dist::barrier();
#else
  for (const std::size_t i : todo) on_result(i, work(i));
#endif
  if (rank == 0)
    std::cout << "sweep: " << sweep.runs.size() << " runs finished (" << skipped
              << " before this call, " << diverged << " diverged now); results in "
              << (out / "results.csv").string() << " and results.json\n";
}

const CommandRegistrar kSweep{
    35, [](CLI::App& program) {
      auto a = std::make_shared<SweepArgs>();
      auto* cmd = program.add_subcommand(
          "sweep",
          "Train every run of a sweep file (a base config and a grid of values) into --out; "
          "a rerun skips the finished runs");
      // Not ->required(): CLI11 would report a missing argument before an unknown flag.
      cmd->add_option("sweep", a->file, "Sweep file (JSON, see docs/sweep.md)")
          ->check(CLI::ExistingFile);
      cmd->add_option("--out", a->out,
                      "Output directory (required): run-NNNN/, results.csv, results.json");
      cmd->add_option("--data-dir", a->data_dir,
                      "Dataset directory for every run (default: the base config's)");
      cmd->add_option("--threads", a->threads, "Threads per run (default: the base config's)");
      cmd->add_option("--checkpoint-every", a->checkpoint_every,
                      "Checkpoint each run every N steps; a rerun resumes an interrupted run");
      cmd->add_option("--log-every", a->log_every, "CSV: log every N-th step (default 1)");
      cmd->add_flag("--dry-run", a->dry_run, "List the runs and exit");
      cmd->callback([a, cmd] { run_sweep(*a, *cmd); });
    }};

}  // namespace
}  // namespace catapult::app
