// `catapult ntk`: the empirical NTK spectrum of a network on MNIST samples, to JSON or CSV.
// Under mpirun: the matrix-free operator with its samples sharded over the ranks
// (catapult/dist/sharded_ntk.hpp); every rank runs the same eigen-solver and rank 0 reports.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "catapult/core/rng.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/data/fetch.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"
#include "catapult/ntk/curvature.hpp"
#include "catapult/ntk/ntk.hpp"
#include "catapult/ntk/spectrum.hpp"
#include "catapult/train/config.hpp"
#include "catapult/train/npz.hpp"
#include "command.hpp"
#ifdef CATAPULT_HAVE_MPI
#include "catapult/dist/data_parallel.hpp"
#include "catapult/dist/mpi.hpp"
#include "catapult/dist/sharded_ntk.hpp"
#endif

namespace catapult::app {
namespace {

struct NtkArgs {
  std::string dir;
  std::string split = "train";
  std::size_t samples = 1000;
  std::uint64_t seed = 0;
  std::string widths = "784,1024,10";
  std::string activation = "relu";
  std::string parameterization = "standard";
  bool no_bias = false;
  std::string mode = "traced";
  std::size_t output = 0;
  std::string method = "auto";
  std::string precision = "float";
  std::size_t nev = 1;
  std::size_t ncv = 0;
  double tolerance = 1e-6;
  std::size_t max_iterations = 1000;
  std::size_t batch = 0;
  std::size_t threads = 0;
  bool condition = false;
  bool split_residual = false;
  std::string out;
  bool no_verify = false;
  std::string model;   // weights .npz (train::export_weights_npz)
  std::string config;  // run configuration JSON whose "model" describes the weights
};

// Peak resident memory of this process in MiB (VmHWM), 0 where /proc is unavailable.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

std::vector<std::size_t> parse_widths(const std::string& s) {
  std::vector<std::size_t> w;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      w.push_back(static_cast<std::size_t>(std::stoul(item)));
    } catch (const std::exception&) {
      throw InvalidArgument(str_cat("ntk: --widths '", s, "' is not a comma-separated list"));
    }
  }
  return w;
}

// The architecture: from --config (a run configuration), else inferred from the --model weights
// (widths, biases present, scales 1 → standard, else NTK) with --activation, else the flags.
nn::MlpConfig model_config(const NtkArgs& a) {
  nn::MlpConfig config;
  config.widths = parse_widths(a.widths);
  config.hidden_activation = nn::parse_activation(a.activation);
  config.parameterization = nn::parse_parameterization(a.parameterization);
  config.bias = !a.no_bias;
  if (!a.config.empty()) {
    std::ifstream in(a.config);
    if (!in) throw IoError(str_cat("ntk: cannot read --config ", a.config));
    std::stringstream text;
    text << in.rdbuf();
    train::RunConfig run;
    train::apply_json(run, text.str());
    return run.model;
  }
  if (!a.model.empty()) {
    const std::vector<train::LoadedArray> arrays = train::read_npz(a.model);
    config.bias = false;
    for (const auto& arr : arrays) {
      if (arr.name == "widths") {
        config.widths.clear();
        for (const double w : arr.values) config.widths.push_back(static_cast<std::size_t>(w));
      } else if (arr.name == "scales" && !arr.values.empty()) {
        config.parameterization =
            arr.values.front() == 1.0 ? nn::Parameterization::Standard : nn::Parameterization::Ntk;
      } else if (arr.name == "b0") {
        config.bias = true;
      }
    }
  }
  return config;
}

// An operator wrapper counting applications and their time.
class TimedOperator final : public ntk::LinearOperator {
 public:
  explicit TimedOperator(const ntk::LinearOperator& base) : base_(&base) {}
  [[nodiscard]] std::size_t size() const override { return base_->size(); }
  void apply(const double* x, double* y) const override {
    const auto t0 = std::chrono::steady_clock::now();
    base_->apply(x, y);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++count_;
  }
  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] double seconds() const { return seconds_; }

 private:
  const ntk::LinearOperator* base_;
  mutable std::size_t count_ = 0;
  mutable double seconds_ = 0;
};

template <class T>
nlohmann::json run_typed(const NtkArgs& a, const data::Dataset& set) {
  using clock = std::chrono::steady_clock;
  const nn::MlpConfig config = model_config(a);
  if (config.widths.empty() || config.widths.front() != set.dim())
    throw InvalidArgument(str_cat("ntk: the network takes ", config.widths.front(),
                                  " inputs, the samples have ", set.dim()));
  nn::Mlp<T> model(config);
  if (a.model.empty()) {
    Rng rng(a.seed);
    model.init(rng);
  } else {
    train::import_weights_npz(model, a.model);
  }

  const std::size_t n = set.size();
  const std::size_t k = model.output_dim();
  Matrix<T> x(n, set.dim());
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < set.dim(); ++j) x(i, j) = static_cast<T>(set.images(i, j));

  ntk::NtkOptions o;
  o.mode = ntk::parse_ntk_mode(a.mode.c_str());
  o.output = a.output;
  o.batch_size = a.batch;
  const std::size_t side = ntk::ntk_size(o.mode, n, k);
  std::string method = a.method;
  if (method == "auto") method = side <= 4000 ? "dense" : "matrix-free";
#ifdef CATAPULT_HAVE_MPI
  const int nranks = dist::size();
  if (nranks > 1) {
    dist::collectively("", [&] {
      if (a.method == "dense")
        throw InvalidArgument(
            "ntk: --method dense does not run under MPI (the sharded operator "
            "is matrix-free): use --method matrix-free or auto");
      if (a.split_residual)
        throw InvalidArgument(
            "ntk: --split-residual does not run under MPI with more than one "
            "rank (run it in one process)");
      if (n < static_cast<std::size_t>(nranks))
        throw InvalidArgument(str_cat("ntk: ", n, " samples over ", nranks,
                                      " ranks: every rank needs at least one sample"));
    });
    method = "sharded";
  }
#else
  if (method == "sharded")
    throw InvalidArgument("ntk: --method sharded needs a build with MPI (catapult::dist)");
#endif

  ntk::EigenOptions eo;
  eo.nev = a.nev;
  eo.ncv = a.ncv;
  eo.tolerance = a.tolerance;
  eo.max_iterations = a.max_iterations;
  eo.compute_eigenvectors = a.split_residual;

  nlohmann::json j;
  j["n"] = n;
  j["k"] = k;
  j["widths"] = config.widths;
  j["mode"] = ntk::to_string(o.mode);
  j["method"] = method;
  j["precision"] = sizeof(T) == 4 ? "float" : "double";
  j["threads"] = max_threads();
  j["dataset"] = set.name;
  j["model"] = a.model.empty() ? "init" : a.model;

  const auto t0 = clock::now();
  Matrix<T> dense;
  std::unique_ptr<ntk::LinearOperator> op;
  std::unique_ptr<ntk::NtkOperator<T>> free_op;
  if (method == "dense") {
    dense = ntk::empirical_ntk(model, x.cview(), o);
    op = std::make_unique<ntk::DenseSymmetricOperator<T>>(dense.cview());
  } else if (method == "matrix-free") {
    free_op = std::make_unique<ntk::NtkOperator<T>>(model, x.cview(), o);
    j["flops_per_matvec"] = free_op->flops_per_apply();
#ifdef CATAPULT_HAVE_MPI
  } else if (method == "sharded") {
    const auto [lo, hi] = dist::shard_range(n, dist::rank(), dist::size());
    j["ranks"] = dist::size();
    op = std::make_unique<dist::ShardedNtkOperator<T>>(model, x.cview().rows_range(lo, hi - lo), o);
#endif
  } else {
    throw InvalidArgument(str_cat("ntk: --method '", method, "' (dense, matrix-free or auto)"));
  }
  const ntk::LinearOperator& base = op ? *op : *free_op;
  j["setup_seconds"] = std::chrono::duration<double>(clock::now() - t0).count();

  const TimedOperator timed(base);
  const auto t1 = clock::now();
  const ntk::EigenResult top = ntk::largest_eigenpairs(timed, eo);
#ifdef CATAPULT_HAVE_MPI
  // The solver saw the same vectors on every rank: its eigenvalues must have the same bits.
  dist::require_same_fingerprint(
      "ntk: the eigenvalues",
      dist::fingerprint(std::as_bytes(std::span<const double>(top.eigenvalues))));
#endif
  j["eigenvalues"] = top.eigenvalues;
  j["status"] = ntk::to_string(top.status);
  j["restarts"] = top.iterations;
  j["matvecs"] = top.operations;
  if (!top.eigenvalues.empty()) {
    const double lmax = top.eigenvalues.front();
    j["lambda_max"] = lmax;
    // η_crit of full-batch GD with the mean MSE over these n samples, 1/(c·λmax(K_full)): exact
    // from the full kernel, only bounded by the traced or one output's kernel (ntk.hpp).
    if (std::isfinite(lmax) && lmax > 0) {
      const ntk::CriticalRateBounds b = ntk::critical_learning_rate_bounds(o.mode, lmax, n, k);
      if (b.exact()) {
        j["eta_crit_kind"] = "exact";
        j["eta_crit_gd_mean_mse"] = b.upper;
      } else {
        j["eta_crit_kind"] = "upper_bound";
        j["eta_crit_gd_mean_mse_upper_bound"] = b.upper;
        if (b.lower > 0) j["eta_crit_gd_mean_mse_lower_bound"] = b.lower;
      }
    }
  }
  if (a.condition && !top.eigenvalues.empty()) {
    ntk::EigenOptions co = eo;
    co.nev = 1;
    co.compute_eigenvectors = false;
    // Dense: shift-and-invert; matrix-free: the spectral shift σ = λmax with a larger subspace.
    co.ncv = std::max<std::size_t>(co.ncv, std::min<std::size_t>(side, 24));
    const ntk::EigenResult bottom =
        method == "dense" ? ntk::smallest_eigenpairs_dense(dense.cview(), co)
                          : ntk::smallest_eigenpairs(timed, top.eigenvalues.front(), co);
    j["lambda_min_status"] = ntk::to_string(bottom.status);
    if (!bottom.eigenvalues.empty()) {
      j["lambda_min"] = bottom.eigenvalues.front();
      j["condition_number"] = top.eigenvalues.front() / bottom.eigenvalues.front();
    }
  }
  if (a.split_residual && top.eigenvectors.rows() > 0) {
    Matrix<T> f(n, k);
    model.forward(x.cview(), f.view());
    const Matrix<float> y = data::one_hot(set.labels, k);
    std::vector<double> r;
    for (std::size_t i = 0; i < n; ++i) {
      if (o.mode == ntk::NtkMode::Full) {
        for (std::size_t c = 0; c < k; ++c) r.push_back(static_cast<double>(f(i, c)) - y(i, c));
      } else if (o.mode == ntk::NtkMode::Output) {
        r.push_back(static_cast<double>(f(i, o.output)) - y(i, o.output));
      }
    }
    if (!r.empty()) {
      const double c =
          nn::mse_scale(nn::MseReduction::Mean, n, o.mode == ntk::NtkMode::Full ? k : 1);
      const ntk::ResidualSplit s = ntk::split_residual(top.eigenvectors.cview(), r, c);
      j["residual_top_coefficients"] = s.coefficients;
      j["loss_top"] = s.loss_top;
      j["loss_rest"] = s.loss_rest;
    }
  }
  j["solve_seconds"] = std::chrono::duration<double>(clock::now() - t1).count();
  j["seconds_per_matvec"] =
      timed.count() > 0 ? timed.seconds() / static_cast<double>(timed.count()) : 0.0;
  j["total_seconds"] = std::chrono::duration<double>(clock::now() - t0).count();
  j["peak_rss_mib"] = peak_rss_mib();
  return j;
}

void write_csv(std::FILE* f, const nlohmann::json& j) {
  std::fprintf(f, "index,eigenvalue\n");
  const auto& ev = j["eigenvalues"];
  for (std::size_t i = 0; i < ev.size(); ++i)
    std::fprintf(f, "%zu,%.17g\n", i, ev[i].get<double>());
}

void run_ntk(const NtkArgs& a) {
  std::unique_ptr<ThreadLimit> limit;
  std::size_t threads = a.threads;
#ifdef CATAPULT_HAVE_MPI
  if (threads == 0 && dist::size() > 1) threads = dist::layout().threads;
#endif
  if (threads > 0) limit = std::make_unique<ThreadLimit>(threads);
  const auto dir = a.dir.empty() ? data::default_mnist_dir() : std::filesystem::path(a.dir);
  data::LoadOptions load;
  load.verify_checksums = !a.no_verify;
  data::Splits splits;
#ifdef CATAPULT_HAVE_MPI
  if (dist::size() > 1) {
    // Every rank reads the same files and the same settings (a rank with others would shard
    // another problem).
    dist::require_same(
        "ntk: the options",
        str_cat(a.dir, '\n', a.split, '\n', a.samples, '\n', a.seed, '\n', a.widths, '\n',
                a.activation, '\n', a.parameterization, '\n', a.no_bias, '\n', a.mode, '\n',
                a.output, '\n', a.method, '\n', a.precision, '\n', a.nev, '\n', a.ncv, '\n',
                a.tolerance, '\n', a.max_iterations, '\n', a.batch, '\n', a.condition, '\n',
                a.model, '\n', a.config, '\n', a.out));
    dist::collectively("", [&] { splits = data::load_mnist(dir, load); });
  } else {
    splits = data::load_mnist(dir, load);
  }
#else
  splits = data::load_mnist(dir, load);
#endif
  data::Dataset& all = a.split == "test" ? splits.test : splits.train;
  data::Dataset set;
  if (a.samples == 0 || a.samples >= all.size()) {
    set = std::move(all);
  } else {
    Rng rng(a.seed + 1);
    set = data::sample(all, a.samples, rng, /*stratified=*/true);
  }
  splits = {};
  const nlohmann::json j =
      a.precision == "double" ? run_typed<double>(a, set) : run_typed<float>(a, set);
#ifdef CATAPULT_HAVE_MPI
  if (dist::rank() != 0) return;  // rank 0 reports
#endif
  const bool csv = a.out.size() > 4 && a.out.substr(a.out.size() - 4) == ".csv";
  if (a.out.empty() || a.out == "-") {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::FILE* f = std::fopen(a.out.c_str(), "w");
  if (f == nullptr) throw IoError(str_cat("ntk: cannot write ", a.out));
  if (csv)
    write_csv(f, j);
  else
    std::fprintf(f, "%s\n", j.dump(2).c_str());
  std::fclose(f);
  std::printf("lambda_max %.9g (%s, %zu matvecs, %.2f s) -> %s\n", j.value("lambda_max", 0.0),
              j["status"].get<std::string>().c_str(), j["matvecs"].get<std::size_t>(),
              j["total_seconds"].get<double>(), a.out.c_str());
}

const CommandRegistrar kNtk{
    40, [](CLI::App& program) {
      auto a = std::make_shared<NtkArgs>();
      auto* cmd = program.add_subcommand(
          "ntk", "Empirical NTK spectrum (λmax, top-k, λmin, κ, η_crit) on MNIST samples");
      cmd->footer(
          "η_crit: the critical rate of full-batch GD on the mean MSE over the n samples, "
          "n·k/λmax(K_full).\n"
          "  --mode full    eta_crit_kind \"exact\", eta_crit_gd_mean_mse = n·k/λmax.\n"
          "  --mode traced  eta_crit_kind \"upper_bound\": eta_crit_gd_mean_mse_upper_bound = "
          "n·k/(λmax/k)\n"
          "                 and eta_crit_gd_mean_mse_lower_bound = n/λmax (k² below it).\n"
          "  --mode output  eta_crit_kind \"upper_bound\": eta_crit_gd_mean_mse_upper_bound = "
          "n·k/λmax (no lower bound).\n"
          "The upper bounds are the usual estimates, equal to η_crit when the output blocks of "
          "K_full are identical\nand decoupled (about so for wide networks at initialisation). "
          "For the rate itself (e.g. a sweep's\ncritical_lr) use --mode full.");
      cmd->add_option("--dir", a->dir, "MNIST directory (default: the fetch-data cache)");
      cmd->add_flag("--no-verify", a->no_verify, "Skip the SHA-256 check of the MNIST files");
      cmd->add_option("--split", a->split, "train or test")
          ->check(CLI::IsMember({"train", "test"}));
      cmd->add_option("--samples", a->samples,
                      "Number of samples (stratified random subset; 0 = the whole split)");
      cmd->add_option("--seed", a->seed, "Seed of the initialisation and the subset");
      cmd->add_option("--widths", a->widths, "Layer widths, e.g. 784,1024,10");
      cmd->add_option("--activation", a->activation, "Hidden activation: relu, tanh, identity");
      cmd->add_option("--parameterization", a->parameterization, "standard or ntk");
      cmd->add_flag("--no-bias", a->no_bias, "Layers without biases");
      cmd->add_option("--mode", a->mode,
                      "full (exact η_crit), traced (sum over outputs; η_crit bounds) or output "
                      "(one output; an upper bound on η_crit)")
          ->check(CLI::IsMember({"full", "traced", "output"}));
      cmd->add_option("--output", a->output, "The output for --mode output");
      cmd->add_option("--method", a->method,
                      "dense, matrix-free, auto (dense up to 4000 rows; under mpirun: sharded) "
                      "or sharded (the MPI operator, also on one rank)")
          ->check(CLI::IsMember({"dense", "matrix-free", "auto", "sharded"}));
      cmd->add_option("--precision", a->precision, "float or double")
          ->check(CLI::IsMember({"float", "double"}));
      cmd->add_option("--nev", a->nev, "Number of top eigenvalues");
      cmd->add_option("--ncv", a->ncv, "Lanczos subspace size (0: automatic)");
      cmd->add_option("--tolerance", a->tolerance, "Relative tolerance of the eigenvalues");
      cmd->add_option("--max-iterations", a->max_iterations, "Lanczos restarts at most");
      cmd->add_option("--batch", a->batch, "Samples per batch/block (0: automatic)");
      cmd->add_option("--threads", a->threads, "Threads (0: all)");
      cmd->add_flag("--condition", a->condition, "Also λmin (spectral shift) and κ = λmax/λmin");
      cmd->add_flag("--split-residual", a->split_residual,
                    "Split the one-hot MSE residual onto the top eigenvectors (full/output modes)");
      cmd->add_option("--model", a->model,
                      "Weights .npz written by the trainer (default: a fresh initialisation)");
      cmd->add_option("--config", a->config,
                      "Run configuration JSON describing --model's architecture (else inferred "
                      "from the .npz and --activation)");
      cmd->add_option("--out", a->out, "Output file: .json or .csv (default: JSON to stdout)");
      cmd->callback([a] { run_ntk(*a); });
    }};

}  // namespace
}  // namespace catapult::app
