#include "catapult/train/config.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "catapult/core/error.hpp"
#include "catapult/nn/loss.hpp"

namespace catapult::train {
namespace {

using nlohmann::json;

// Reads every key of object `j` (at `where`) through `visit(key, value)`, which returns false
// for an unknown key.
template <class Visit>
void for_each_key(const json& j, const std::string& where, Visit visit) {
  if (!j.is_object()) throw InvalidArgument(str_cat("config: '", where, "' must be an object"));
  for (const auto& [key, value] : j.items()) {
    try {
      if (!visit(key, value))
        throw InvalidArgument(str_cat("config: unknown key '", where, ".", key, "'"));
    } catch (const json::exception& e) {
      throw InvalidArgument(str_cat("config: bad value ", value.dump(), " for '", where, ".", key,
                                    "' (", e.what(), ")"));
    }
  }
}

template <class T>
T get(const json& v, const std::string& key) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw InvalidArgument(str_cat("config: '", key, "' must be a boolean"));
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer() || (v.is_number_integer() && v.get<long long>() < 0))
      throw InvalidArgument(
          str_cat("config: '", key, "' must be a non-negative integer, got ", v.dump()));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number())
      throw InvalidArgument(str_cat("config: '", key, "' must be a number, got ", v.dump()));
  } else {
    if (!v.is_string())
      throw InvalidArgument(str_cat("config: '", key, "' must be a string, got ", v.dump()));
  }
  return v.get<T>();
}

}  // namespace

void apply_json(RunConfig& c, std::string_view text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number overflow
    throw InvalidArgument(str_cat("config: not valid JSON: ", e.what()));
  }
  for_each_key(root, "", [&](const std::string& key, const json& v) {
    if (key == "model") {
      for_each_key(v, "model", [&](const std::string& k, const json& x) {
        if (k == "widths") {
          if (!x.is_array()) throw InvalidArgument("config: 'model.widths' must be an array");
          c.model.widths.clear();
          for (const auto& w : x) c.model.widths.push_back(get<std::size_t>(w, "model.widths"));
        } else if (k == "hidden_activation") {
          c.model.hidden_activation = nn::parse_activation(get<std::string>(x, k));
        } else if (k == "output_activation") {
          c.model.output_activation = nn::parse_activation(get<std::string>(x, k));
        } else if (k == "bias") {
          c.model.bias = get<bool>(x, k);
        } else if (k == "parameterization") {
          c.model.parameterization = nn::parse_parameterization(get<std::string>(x, k));
        } else {
          return false;
        }
        return true;
      });
    } else if (key == "loss") {
      auto& l = c.train.loss;
      for_each_key(v, "loss", [&](const std::string& k, const json& x) {
        if (k == "kind")
          l.kind = nn::parse_loss_kind(get<std::string>(x, k));
        else if (k == "reduction")
          l.reduction = nn::parse_mse_reduction(get<std::string>(x, k));
        else if (k == "target_on")
          l.target_on = get<double>(x, k);
        else if (k == "target_off")
          l.target_off = get<double>(x, k);
        else
          return false;
        return true;
      });
    } else if (key == "optimizer") {
      auto& o = c.optimizer;
      for_each_key(v, "optimizer", [&](const std::string& k, const json& x) {
        if (k == "kind")
          o.kind = optim::parse_optimizer_kind(get<std::string>(x, k));
        else if (k == "momentum")
          o.momentum = get<double>(x, k);
        else if (k == "dampening")
          o.dampening = get<double>(x, k);
        else if (k == "nesterov")
          o.nesterov = get<bool>(x, k);
        else if (k == "weight_decay")
          o.weight_decay = get<double>(x, k);
        else if (k == "eps")
          o.eps = get<double>(x, k);
        else if (k == "beta1")
          o.beta1 = get<double>(x, k);
        else if (k == "beta2")
          o.beta2 = get<double>(x, k);
        else if (k == "initial_accumulator_value")
          o.initial_accumulator_value = get<double>(x, k);
        else if (k == "lr_decay")
          o.lr_decay = get<double>(x, k);
        else
          return false;
        return true;
      });
      // PyTorch's AdamW default decay, unless the document sets one.
      if (o.kind == optim::OptimizerKind::AdamW && !v.contains("weight_decay"))
        o.weight_decay = 0.01;
    } else if (key == "schedule") {
      auto& s = c.schedule;
      for_each_key(v, "schedule", [&](const std::string& k, const json& x) {
        if (k == "kind")
          s.kind = optim::parse_schedule_kind(get<std::string>(x, k));
        else if (k == "lr")
          s.lr = get<double>(x, k);
        else if (k == "max_lr")
          s.max_lr = get<double>(x, k);
        else if (k == "step_size_up")
          s.step_size_up = get<std::uint64_t>(x, k);
        else if (k == "step_size_down")
          s.step_size_down = get<std::uint64_t>(x, k);
        else if (k == "mode")
          s.mode = optim::parse_cyclic_mode(get<std::string>(x, k));
        else if (k == "gamma")
          s.cyclic_gamma = get<double>(x, k);
        else if (k == "step_size")
          s.step_size = get<std::uint64_t>(x, k);
        else if (k == "step_gamma")
          s.step_gamma = get<double>(x, k);
        else if (k == "total_steps")
          s.total_steps = get<std::uint64_t>(x, k);
        else if (k == "min_lr")
          s.min_lr = get<double>(x, k);
        else if (k == "warmup_steps")
          s.warmup_steps = get<std::uint64_t>(x, k);
        else if (k == "warmup_start_factor")
          s.warmup_start_factor = get<double>(x, k);
        else if (k == "peak_multiple_of_critical") {
          if (x.is_null())
            s.peak_multiple_of_critical.reset();
          else
            s.peak_multiple_of_critical = get<double>(x, k);
        } else if (k == "base_multiple_of_critical") {
          if (x.is_null())
            s.base_multiple_of_critical.reset();
          else
            s.base_multiple_of_critical = get<double>(x, k);
        } else {
          return false;
        }
        return true;
      });
    } else if (key == "train") {
      auto& t = c.train;
      for_each_key(v, "train", [&](const std::string& k, const json& x) {
        if (k == "batch_size")
          t.batch_size = get<std::size_t>(x, k);
        else if (k == "epochs")
          t.epochs = get<std::size_t>(x, k);
        else if (k == "steps")
          t.steps = get<std::uint64_t>(x, k);
        else if (k == "eval_every")
          t.eval_every = get<std::uint64_t>(x, k);
        else if (k == "seed")
          t.seed = get<std::uint64_t>(x, k);
        else if (k == "shuffle")
          t.shuffle = get<bool>(x, k);
        else if (k == "drop_last")
          t.drop_last = get<bool>(x, k);
        else if (k == "eval_batch_size")
          t.eval_batch_size = get<std::size_t>(x, k);
        else
          return false;
        return true;
      });
    } else if (key == "controller") {
      auto& cc = c.controller;
      auto& o = cc.critical_peak;
      for_each_key(v, "controller", [&](const std::string& k, const json& x) {
        if (k == "kind") {
          const auto kind = get<std::string>(x, k);
          if (kind == "none")
            cc.kind = ControllerConfig::Kind::None;
          else if (kind == "critical_peak")
            cc.kind = ControllerConfig::Kind::CriticalPeak;
          else
            throw InvalidArgument(str_cat("config: unknown controller kind '", kind,
                                          "' (expected none or critical_peak)"));
        } else if (k == "peak_factor") {
          o.peak_factor = get<double>(x, k);
        } else if (k == "every") {
          o.every = get<std::uint64_t>(x, k);
        } else if (k == "samples") {
          o.samples = get<std::size_t>(x, k);
        } else if (k == "tolerance") {
          o.tolerance = get<double>(x, k);
        } else if (k == "max_restarts") {
          o.max_restarts = get<std::size_t>(x, k);
        } else if (k == "only_lower") {
          o.only_lower = get<bool>(x, k);
        } else if (k == "max_peak") {  // null: no ceiling
          o.max_peak = x.is_null() ? std::numeric_limits<double>::infinity() : get<double>(x, k);
        } else {
          return false;
        }
        return true;
      });
    } else if (key == "data_dir") {
      c.data_dir = get<std::string>(v, key);
    } else if (key == "dataset") {
      c.dataset = get<std::string>(v, key);
    } else if (key == "out_dir") {
      c.out_dir = get<std::string>(v, key);
    } else if (key == "threads") {
      c.threads = get<std::size_t>(v, key);
    } else if (key == "init_seed") {
      c.init_seed = get<std::uint64_t>(v, key);
    } else {
      return false;
    }
    return true;
  });
}

std::string to_json(const RunConfig& c) {
  json j;
  j["model"] = {{"widths", c.model.widths},
                {"hidden_activation", kernels::to_string(c.model.hidden_activation)},
                {"output_activation", kernels::to_string(c.model.output_activation)},
                {"bias", c.model.bias},
                {"parameterization", nn::to_string(c.model.parameterization)}};
  const auto& l = c.train.loss;
  j["loss"] = {{"kind", nn::to_string(l.kind)},
               {"reduction", nn::to_string(l.reduction)},
               {"target_on", l.target_on},
               {"target_off", l.target_off}};
  const auto& o = c.optimizer;
  j["optimizer"] = {{"kind", optim::to_string(o.kind)},
                    {"momentum", o.momentum},
                    {"dampening", o.dampening},
                    {"nesterov", o.nesterov},
                    {"weight_decay", o.weight_decay},
                    {"eps", o.eps},
                    {"beta1", o.beta1},
                    {"beta2", o.beta2},
                    {"initial_accumulator_value", o.initial_accumulator_value},
                    {"lr_decay", o.lr_decay}};
  const auto& s = c.schedule;
  j["schedule"] = {{"kind", optim::to_string(s.kind)},
                   {"lr", s.lr},
                   {"max_lr", s.max_lr},
                   {"step_size_up", s.step_size_up},
                   {"step_size_down", s.step_size_down},
                   {"mode", optim::to_string(s.mode)},
                   {"gamma", s.cyclic_gamma},
                   {"step_size", s.step_size},
                   {"step_gamma", s.step_gamma},
                   {"total_steps", s.total_steps},
                   {"min_lr", s.min_lr},
                   {"warmup_steps", s.warmup_steps},
                   {"warmup_start_factor", s.warmup_start_factor},
                   {"peak_multiple_of_critical",
                    s.peak_multiple_of_critical ? json(*s.peak_multiple_of_critical) : json()},
                   {"base_multiple_of_critical",
                    s.base_multiple_of_critical ? json(*s.base_multiple_of_critical) : json()}};
  const auto& t = c.train;
  j["train"] = {{"batch_size", t.batch_size},
                {"epochs", t.epochs},
                {"steps", t.steps},
                {"eval_every", t.eval_every},
                {"seed", t.seed},
                {"shuffle", t.shuffle},
                {"drop_last", t.drop_last},
                {"eval_batch_size", t.eval_batch_size}};
  const auto& cp = c.controller.critical_peak;
  j["controller"] = {
      {"kind",
       c.controller.kind == ControllerConfig::Kind::CriticalPeak ? "critical_peak" : "none"},
      {"peak_factor", cp.peak_factor},
      {"every", cp.every},
      {"samples", cp.samples},
      {"tolerance", cp.tolerance},
      {"max_restarts", cp.max_restarts},
      {"only_lower", cp.only_lower},
      {"max_peak", std::isfinite(cp.max_peak) ? json(cp.max_peak) : json()}};
  j["data_dir"] = c.data_dir;
  j["dataset"] = c.dataset;
  j["out_dir"] = c.out_dir;
  j["threads"] = c.threads;
  j["init_seed"] = c.init_seed;
  return j.dump(2);
}

std::unique_ptr<Controller> make_controller(const RunConfig& c) {
  if (c.controller.kind == ControllerConfig::Kind::None) return nullptr;
  const auto& s = c.schedule;
  if (s.kind != optim::ScheduleKind::Cyclic)
    throw InvalidArgument(str_cat("config: the critical_peak controller needs a cyclic schedule, ",
                                  "not ", optim::to_string(s.kind)));
  if (c.train.loss.kind != nn::LossKind::Mse)
    throw InvalidArgument("config: the critical_peak controller needs the MSE loss");
  CriticalPeakOptions o = c.controller.critical_peak;
  if (o.every == 0)
    o.every = s.step_size_up + (s.step_size_down > 0 ? s.step_size_down : s.step_size_up);
  if (!(o.tolerance > 0.0) || !(o.tolerance < 1.0))
    throw InvalidArgument(
        str_cat("config: controller.tolerance ", o.tolerance, " is not in (0, 1)"));
  return std::make_unique<CriticalPeakController>(o);
}

}  // namespace catapult::train
