#pragma once
// The protocols and the shared machinery of the experiments of `catapult reproduce`.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/data/dataset.hpp"
#include "catapult/nn/loss.hpp"
#include "catapult/nn/mlp.hpp"

namespace catapult::app::reproduce {

/// The built-in protocol JSON (configs/reproduce_quick.json or reproduce_full.json, compiled in).
[[nodiscard]] const char* builtin_protocol_json(bool full) noexcept;

/// Everything an experiment needs.
struct Context {
  nlohmann::json protocol;             ///< the whole protocol (see configs/reproduce_*.json)
  std::filesystem::path out;           ///< results root: each experiment writes out/<name>/
  const data::Splits* data = nullptr;  ///< train and test sets (MNIST, or synthetic in tests)
  bool figures = true;                 ///< render PNGs with gnuplot
  std::string command;                 ///< the command line, for the report
  std::function<void(const std::string&)> log;  ///< progress lines (may be empty)
  /// Reuse what an interrupted run of the same protocol and build finished (`--resume`): whole
  /// experiments, and the phase map's per-run records.
  bool resume = false;

  /// "quick protocol" etc., shown on every figure and table.
  [[nodiscard]] std::string label() const;
  void progress(const std::string& line) const {
    if (log) log(line);
  }
};

/// This process's MPI rank and the number of ranks: catapult/dist under mpirun when the build found
/// MPI, rank 0 of 1 otherwise. Under mpirun only the phase map runs (its runs spread over the
/// ranks); rank 0 writes every output and the other ranks write nothing.
[[nodiscard]] int process_rank();
[[nodiscard]] int process_count();

/// The experiments, in the order of the report.
[[nodiscard]] const std::vector<std::string>& experiment_names();
/// The order `all` runs them: the phase map first, since the table's "+ catapult" peak is the
/// one its row rule chose.
[[nodiscard]] std::vector<std::string> experiment_run_order();

/// Runs one experiment by name; its outputs appear atomically under ctx.out/<name>/ and
/// ctx.out/REPORT.md is regenerated. Throws InvalidArgument for an unknown name.
void run_experiment(const std::string& name, const Context& ctx);

/// True when ctx.out/<name>/ holds a finished result of this protocol from this build and thread
/// count (its meta.json names the same protocol configuration, git commit and threads, and its
/// section.md exists): rerunning it would write the same numbers, so `catapult reproduce
/// --resume` keeps it. A missing or unreadable meta.json is simply not complete.
[[nodiscard]] bool experiment_complete(const Context& ctx, const std::string& name);

/// Regenerates ctx.out/REPORT.md from the section.md of every finished experiment.
void write_report(const Context& ctx);

// ---- helpers shared by the experiments ----

/// A random subset of n samples (all of d when n ≥ d.size()), in random order, drawn with seed.
[[nodiscard]] data::Dataset random_subset(const data::Dataset& d, std::size_t n,
                                          std::uint64_t seed);

/// What every experiment starts from: its training subset (train_size images drawn with
/// data.subset_seed + seed_offset), the test subset (data.test_size images drawn with
/// data.subset_seed + 1), and the protocol's model and loss.
struct ExperimentData {
  data::Dataset train_set;
  data::Dataset test_set;
  nn::MlpConfig model;
  nn::LossConfig loss;
};
[[nodiscard]] ExperimentData experiment_data(const Context& ctx, std::size_t train_size,
                                             std::uint64_t seed_offset);

/// The protocol's "critical" object applied to a training set: η_crit is measured on its first
/// n = min(samples, size) images x, by Lanczos with this tolerance and restart limit.
struct CriticalSample {
  std::size_t n = 0;
  MatrixView<const float> x;
  double tolerance = 1e-3;
  std::size_t max_restarts = 100;
};
[[nodiscard]] CriticalSample critical_sample(const nlohmann::json& protocol,
                                             const data::Dataset& train_set);

/// The "+ catapult" peak factor for `optimizer` ("sgd": a multiple of η_crit; "adagrad": a
/// multiple of the base rate) at this schedule mode and batch size: the phase map's choice by its
/// row rule, when the phase map of this protocol ran in ctx.out and chose one there; `fallback`
/// (the protocol's own value) otherwise. Returns the factor and, in words, where it came from.
struct ChosenPeak {
  double factor = 0;
  std::string source;
};
[[nodiscard]] ChosenPeak chosen_peak(const Context& ctx, const std::string& optimizer,
                                     const std::string& mode, std::size_t batch, double fallback);

/// The protocol's critical.adagrad_filled_ratio: AdaGrad's critical rate is measured over the
/// parameters whose accumulator holds at least this many steps' worth of their current squared
/// gradient (ntk::adagrad_filled_preconditioner). Throws InvalidArgument unless it is > 0.
[[nodiscard]] double adagrad_filled_ratio(const nlohmann::json& protocol);

/// The detector options of the protocol's "detector" object.
[[nodiscard]] analysis::CatapultDetectorOptions detector_options(const nlohmann::json& protocol);

/// Sample mean and standard deviation (n − 1; 0 for one value).
struct MeanStd {
  double mean = 0.0;
  double std = 0.0;
};
[[nodiscard]] MeanStd mean_std(const std::vector<double>& v);
/// mean_std of the finite values of v (NaN, 0 when there are none).
[[nodiscard]] MeanStd finite_mean_std(const std::vector<double>& v);
/// "mean ± std" of the finite values of v, each printed with the printf format fmt ("—" when
/// there are none).
[[nodiscard]] std::string mean_pm_std(const std::vector<double>& v, const char* fmt);
/// The seeds of an experiment's section: its "seeds" list, or the older single "seed" (default
/// 0). Throws InvalidArgument for an empty list.
[[nodiscard]] std::vector<std::uint64_t> section_seeds(const nlohmann::json& section);

/// One-sided paired tests of mean(a − b) > 0 over seeds.
struct PairedTest {
  std::size_t n = 0;
  double mean_difference = 0.0;
  double t = 0.0;        ///< paired t statistic (nan when n < 2 or all differences equal)
  double p_t = 0.0;      ///< one-sided p-value of the t-test (Student t, n − 1 dof)
  std::size_t wins = 0;  ///< pairs with a > b
  double p_sign = 0.0;   ///< one-sided sign-test p-value P(X ≥ wins), X ~ Bin(n, 1/2)
};
[[nodiscard]] PairedTest paired_test(const std::vector<double>& a, const std::vector<double>& b);

/// Student t upper tail P(T > t) with dof degrees of freedom.
[[nodiscard]] double student_t_upper_tail(double t, double dof);

/// Writes an experiment atomically: fill() writes into a fresh staging directory, which then
/// replaces ctx.out/<name>. Adds meta.json (protocol, versions, wall time) from `meta`.
void write_experiment(
    const Context& ctx, const std::string& name,
    const std::function<void(const std::filesystem::path& dir, nlohmann::json& meta)>& fill);

/// Formats with printf semantics into a std::string.
[[nodiscard]] std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace catapult::app::reproduce
