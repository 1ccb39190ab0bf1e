#include "catapult/train/sweep.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "catapult/core/error.hpp"
#include "catapult/optim/optimizer.hpp"
#include "catapult/optim/schedule.hpp"

namespace catapult::train {
namespace {

using nlohmann::json;

// A grid key split into its one or two names ("init_seed" or "schedule.lr").
struct KeyPath {
  std::string section;  // "" for a top-level setting
  std::string name;
};

// Checks that `key` names one setting of the run configuration's layout (not a section, not an
// array element) and splits it.
KeyPath parse_key(const std::string& key, const json& layout) {
  const auto dot = key.find('.');
  KeyPath p;
  bool ok = false;
  if (dot == std::string::npos) {
    p.name = key;
    ok = layout.contains(key) && !layout.at(key).is_object();
  } else {
    p.section = key.substr(0, dot);
    p.name = key.substr(dot + 1);
    ok = p.name.find('.') == std::string::npos && layout.contains(p.section) &&
         layout.at(p.section).is_object() && layout.at(p.section).contains(p.name);
  }
  if (!ok)
    throw InvalidArgument(str_cat("sweep: grid key '", key,
                                  "' is not a setting of the run configuration (use a dotted path "
                                  "such as 'schedule.lr' or 'train.seed', see train/config.hpp)"));
  if (p.section.empty() && p.name == "out_dir")
    throw InvalidArgument(
        "sweep: grid key 'out_dir' is set by the sweep (each run writes to its own directory)");
  return p;
}

// `document` with `value` written at `path` (creating the section if absent).
json with_value(json document, const KeyPath& path, const json& value) {
  if (path.section.empty())
    document[path.name] = value;
  else
    document[path.section][path.name] = value;
  return document;
}

// The configuration `catapult train --config` would read from `document`, with the critical-rate
// multiples resolved, checked as far as it can be without building the model.
RunConfig resolve(const RunConfig& defaults, const json& document,
                  const std::optional<double>& critical_lr) {
  RunConfig c = defaults;
  apply_json(c, document.dump());
  auto& s = c.schedule;
  if (s.peak_multiple_of_critical || s.base_multiple_of_critical) {
    if (!critical_lr)
      throw InvalidArgument(
          "the schedule is given as a multiple of the critical rate but the sweep has no "
          "'critical_lr' (2/λmax, measured by the ntk module)");
    s = optim::resolve_critical(s, *critical_lr);
  }
  const optim::Schedule schedule(s);  // throws for invalid rates, periods, factors
  (void)optim::make_optimizer<float>(c.optimizer);
  if (c.dataset != "mnist" && c.dataset != "fashion-mnist")
    throw InvalidArgument(
        str_cat("unknown dataset '", c.dataset, "' (expected mnist or fashion-mnist)"));
  return c;
}

std::string run_name(std::size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "run-%04zu", index);
  return buf;
}

}  // namespace

Sweep parse_sweep(std::string_view text, const RunConfig& defaults) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number overflow
    throw InvalidArgument(str_cat("sweep: not valid JSON: ", e.what()));
  }
  if (!root.is_object()) throw InvalidArgument("sweep: the sweep file must be a JSON object");
  for (const auto& [key, value] : root.items())
    if (key != "base" && key != "grid" && key != "critical_lr")
      throw InvalidArgument(
          str_cat("sweep: unknown key '", key, "' (expected base, grid, critical_lr)"));

  Sweep sweep;
  json base = json::object();
  if (root.contains("base")) {
    base = root.at("base");
    if (!base.is_object()) throw InvalidArgument("sweep: 'base' must be an object");
    if (base.contains("out_dir") && base.at("out_dir") != json(""))
      throw InvalidArgument(
          "sweep: 'base.out_dir' must be absent or empty: each run writes to <sweep out>/run-NNNN");
  }
  sweep.base = base.dump();

  if (root.contains("critical_lr") && !root.at("critical_lr").is_null()) {
    const json& v = root.at("critical_lr");
    if (!v.is_number() || !std::isfinite(v.get<double>()) || !(v.get<double>() > 0))
      throw InvalidArgument(
          str_cat("sweep: 'critical_lr' must be a positive number, got ", v.dump()));
    sweep.critical_lr = v.get<double>();
  }

  try {
    RunConfig check = defaults;
    apply_json(check, sweep.base);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(str_cat("sweep: 'base': ", e.what()));
  }

  if (!root.contains("grid")) throw InvalidArgument("sweep: no 'grid' (the settings to vary)");
  const json& grid = root.at("grid");
  if (!grid.is_object()) throw InvalidArgument("sweep: 'grid' must be an object");
  if (grid.empty()) throw InvalidArgument("sweep: 'grid' is empty (name at least one setting)");

  const json layout = json::parse(to_json(defaults));  // every key, whatever the values
  std::vector<KeyPath> paths;
  std::vector<std::vector<json>> values;
  std::size_t total = 1;
  for (const auto& [key, list] : grid.items()) {  // nlohmann's objects iterate in key order
    paths.push_back(parse_key(key, layout));
    if (!list.is_array())
      throw InvalidArgument(
          str_cat("sweep: grid '", key, "' must be an array of values, got ", list.dump()));
    if (list.empty()) throw InvalidArgument(str_cat("sweep: grid '", key, "' has no values"));
    SweepAxis axis{key, {}};
    values.emplace_back();
    for (const json& v : list) {
      for (const json& seen : values.back())
        if (seen == v)
          throw InvalidArgument(str_cat("sweep: grid '", key, "' lists ", v.dump(), " twice"));
      // Each value alone over the base, so an invalid one is named with its key.
      try {
        RunConfig check = defaults;
        apply_json(check, with_value(base, paths.back(), v).dump());
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(str_cat("sweep: grid '", key, "' value ", v.dump(), ": ", e.what()));
      }
      values.back().push_back(v);
      axis.values.push_back(v.dump());
    }
    if (values.back().size() > kMaxSweepRuns / total)
      throw InvalidArgument(str_cat("sweep: grid '", key, "' brings the sweep to more than ",
                                    kMaxSweepRuns, " runs"));
    total *= values.back().size();
    sweep.axes.push_back(std::move(axis));
  }

  // Nested loops, the first axis outermost: run i's digit for axis a is (i / stride_a) % size_a.
  sweep.runs.reserve(total);
  for (std::size_t i = 0; i < total; ++i) {
    SweepRun run;
    run.index = i;
    run.name = run_name(i);
    json document = base;
    std::string settings;
    std::size_t rest = i;
    std::vector<std::size_t> digit(paths.size());
    for (std::size_t a = paths.size(); a-- > 0;) {
      digit[a] = rest % values[a].size();
      rest /= values[a].size();
    }
    for (std::size_t a = 0; a < paths.size(); ++a) {
      const json& v = values[a][digit[a]];
      document = with_value(std::move(document), paths[a], v);
      run.values.push_back(sweep.axes[a].values[digit[a]]);
      settings += str_cat(a == 0 ? "" : ", ", sweep.axes[a].key, "=", run.values.back());
    }
    try {
      run.config = resolve(defaults, document, sweep.critical_lr);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(str_cat("sweep: ", run.name, " (", settings, "): ", e.what()));
    }
    sweep.runs.push_back(std::move(run));
  }
  return sweep;
}

Sweep parse_sweep(std::string_view text) {
  static const RunConfig defaults;
  return parse_sweep(text, defaults);
}

std::string to_json(const Sweep& sweep) {
  json j;
  j["base"] = json::parse(sweep.base);
  json grid = json::object();
  for (const auto& axis : sweep.axes) {
    json list = json::array();
    for (const auto& v : axis.values) list.push_back(json::parse(v));
    grid[axis.key] = std::move(list);
  }
  j["grid"] = std::move(grid);
  j["critical_lr"] = sweep.critical_lr ? json(*sweep.critical_lr) : json();
  return j.dump(2);
}

}  // namespace catapult::train
