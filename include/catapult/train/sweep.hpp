#pragma once
/// @file A sweep: one base run configuration and a grid of values for some of its settings,
/// expanded into runs in a fixed order. Read from a JSON sweep file (`catapult sweep`):
///   {"base":        {<a run configuration: the layout of train/config.hpp, every key optional>},
///    "grid":        {"optimizer.kind": ["sgd", "adam"],
///                    "schedule.peak_multiple_of_critical": [2, 4],
///                    "train.batch_size": [32, 128], "train.seed": [0, 1]},
///    "critical_lr": 0.42}
/// - "grid" (required, non-empty): each key names one setting by its dotted path in the run
///   configuration's JSON layout ("schedule.lr", "train.seed", "model.widths", "init_seed", …;
///   a setting, not a section: "optimizer" alone is refused; "out_dir" is the sweep's own). Each
///   value list is non-empty, without repeats, and each value must be valid for its key.
/// - "base" (optional): the configuration every run starts from. A run's configuration is what
///   `catapult train --config` would read from the base document with the run's grid values
///   written into it (so document rules such as AdamW's default weight decay apply per run).
/// - "critical_lr" (optional, > 0; null = absent): the measured critical rate 2/λmax that resolves
///   schedule.peak_multiple_of_critical / base_multiple_of_critical; required when a run sets one.
/// Order: the axes are taken in lexicographic (byte) order of their keys and the runs enumerate
/// the grid like nested loops, the first axis outermost and the last varying fastest. Run i is
/// named run-%04d. At most kMaxSweepRuns runs.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catapult/train/config.hpp"

namespace catapult::train {

/// Most runs one sweep may expand to.
inline constexpr std::size_t kMaxSweepRuns = 1000;

/// One axis of the grid: a setting (dotted path) and the values it takes.
struct SweepAxis {
  std::string key;                  ///< e.g. "schedule.lr"
  std::vector<std::string> values;  ///< each value as compact JSON text, in the file's order
};

/// One run of an expanded sweep.
struct SweepRun {
  std::size_t index = 0;            ///< position in the expansion order (0-based)
  std::string name;                 ///< "run-0007": the run's directory under the sweep's output
  std::vector<std::string> values;  ///< this run's value of each axis (compact JSON), axis order
  RunConfig config;                 ///< the complete configuration, critical multiples resolved
};

/// A parsed and expanded sweep.
struct Sweep {
  std::string base;             ///< the base document as compact JSON ("{}" when absent)
  std::vector<SweepAxis> axes;  ///< in expansion order (lexicographic by key)
  std::optional<double> critical_lr;
  std::vector<SweepRun> runs;  ///< every grid point, in expansion order
};

/// Parses a sweep file and expands it. `defaults` is the configuration the base document is
/// applied to (`catapult train` uses a base learning rate of 0.1). Throws InvalidArgument naming
/// the key (and the run, for a value that is only invalid in combination) for malformed JSON, an
/// unknown or misplaced key, a value of the wrong type, an empty grid or value list, a repeated
/// value, more than kMaxSweepRuns runs, an unresolvable critical-rate multiple, or a run whose
/// schedule, optimizer or dataset is invalid.
[[nodiscard]] Sweep parse_sweep(std::string_view json, const RunConfig& defaults);
/// parse_sweep(json, RunConfig{}): the library's defaults.
[[nodiscard]] Sweep parse_sweep(std::string_view json);

/// The sweep as a canonical JSON document {"base", "grid", "critical_lr"} (keys sorted, numbers
/// as parsed): two files describe the same sweep exactly when their canonical texts are equal,
/// and parse_sweep(to_json(s)) expands to the same runs as s.
[[nodiscard]] std::string to_json(const Sweep& sweep);

}  // namespace catapult::train
