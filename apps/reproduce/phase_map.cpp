// Experiment 6, the phase map: do the spikes or the larger mean rate help? For SGD on the poster's
// network, cyclic schedules whose peak is c·η_crit(t) (η_crit measured at initialisation and
// re-measured every cycle, train::CriticalPeakController) over a grid of c, each beside its
// matched-rate controls on the same initialisation and data order:
//   - "constant": a constant rate equal to the catapult schedule's realised mean rate;
//   - "sub-critical": the same cycle with its peak held below the tracked critical rate
//     (peak = min(c·η_crit(0), f·η_crit(t)), f < 1, re-measured several times a cycle), which
//     never crosses it and so never catapults;
// and the baseline, a constant rate at the schedule's base (the table's SGD row). Every run is
// classified by the written rules of analysis/phase_map.hpp; the "+ catapult" peak is chosen from
// the map by the written row rule, and the report answers "spikes or rate?" from paired tests.
// Each run's record is written atomically under <out>/.phase-map.runs/, so with --resume a killed
// map continues run by run.
#include "catapult/analysis/phase_map.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "catapult/analysis/catapult_detector.hpp"
#include "catapult/core/error.hpp"
#include "catapult/core/threading.hpp"
#include "catapult/train/controllers.hpp"
#ifdef CATAPULT_HAVE_MPI
#include "catapult/dist/mpi.hpp"
#include "catapult/dist/task_pool.hpp"
#endif
#include "engine.hpp"
#include "experiments.hpp"
#include "output.hpp"
#include "plot.hpp"

namespace catapult::app::reproduce {
namespace {

enum Arm : int { kCatapult = 0, kConstant = 1, kSubcritical = 2, kBaseline = 3 };

// What one run left: the classification and the numbers the map reports.
struct ArmResult {
  int run_class = 0;  // analysis::RunClass
  double catapults_per_cycle = 0;
  double mean_height = 0;
  double test_accuracy = 0;  // %
  double mean_lr = 0;
  double peak_lr = 0;
  double eta_crit_final = 0;  // NaN when not measured (constant arms) or not measurable
  double seconds = 0;
  bool diverged = false;
  double last_catapult_step = 0;  // start of the last detected catapult; NaN when none
  double run_steps = 0;
  double filled_fraction = 0;  // AdaGrad baseline: filled / active parameters at the measurement
  double early_per_cycle = 0;  // catapults per cycle over the run's first early_fraction

  nlohmann::json to_json() const {
    auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
    return {{"class", run_class},
            {"catapults_per_cycle", catapults_per_cycle},
            {"mean_height", mean_height},
            {"test_accuracy", num(test_accuracy)},
            {"mean_lr", num(mean_lr)},
            {"peak_lr", num(peak_lr)},
            {"eta_crit_final", num(eta_crit_final)},
            {"seconds", seconds},
            {"diverged", diverged},
            {"last_catapult_step", num(last_catapult_step)},
            {"run_steps", run_steps},
            {"filled_fraction", num(filled_fraction)},
            {"early_per_cycle", early_per_cycle}};
  }
  static ArmResult from_json(const nlohmann::json& j) {
    auto num = [](const nlohmann::json& v) { return v.is_null() ? std::nan("") : v.get<double>(); };
    ArmResult r;
    r.run_class = j.at("class").get<int>();
    r.catapults_per_cycle = num(j.at("catapults_per_cycle"));
    r.mean_height = num(j.at("mean_height"));
    r.test_accuracy = num(j.at("test_accuracy"));
    r.mean_lr = num(j.at("mean_lr"));
    r.peak_lr = num(j.at("peak_lr"));
    r.eta_crit_final = num(j.at("eta_crit_final"));
    r.seconds = j.at("seconds").get<double>();
    r.diverged = j.at("diverged").get<bool>();
    r.last_catapult_step = num(j.at("last_catapult_step"));
    r.run_steps = j.at("run_steps").get<double>();
    r.filled_fraction = num(j.at("filled_fraction"));
    r.early_per_cycle = j.at("early_per_cycle").get<double>();
    return r;
  }
};

// Run records: one JSON file per run, valid for this protocol, build and thread count.
class RunStore {
 public:
  explicit RunStore(const Context& ctx) : dir_(ctx.out / ".phase-map.runs") {
    stamp_ = {{"protocol_config", ctx.protocol},
              {"git_commit", git_commit()},
              {"threads", max_threads()}};
    if (!ctx.resume) std::filesystem::remove_all(dir_);
  }
  std::optional<ArmResult> find(const std::string& key) const {
    std::ifstream in(dir_ / (key + ".json"));
    if (!in) return std::nullopt;
    try {
      const auto j = nlohmann::json::parse(in);
      if (j.at("stamp") != stamp_) return std::nullopt;
      return ArmResult::from_json(j.at("result"));
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;  // unreadable: rerun it
    }
  }
  void put(const std::string& key, const ArmResult& r) const {
    write_file_atomic(dir_ / (key + ".json"),
                      nlohmann::json{{"stamp", stamp_}, {"result", r.to_json()}}.dump() + "\n");
  }

 private:
  std::filesystem::path dir_;
  nlohmann::json stamp_;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x;
  return v.empty() ? std::nan("") : s / double(v.size());
}

std::vector<double> finite(const std::vector<double>& v) {
  std::vector<double> out;
  for (const double x : v)
    if (std::isfinite(x)) out.push_back(x);
  return out;
}

// The paired test over the seeds where both values are finite.
PairedTest paired_finite(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> x, y;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::isfinite(a[i]) && std::isfinite(b[i])) {
      x.push_back(a[i]);
      y.push_back(b[i]);
    }
  return paired_test(x, y);
}

std::string fmt_p(const PairedTest& t) {
  if (t.n < 2 || !std::isfinite(t.t)) return format("%+.2f (n=%zu)", t.mean_difference, t.n);
  return format("%+.2f (t=%.2f, p=%.3f, n=%zu)", t.mean_difference, t.t, t.p_t, t.n);
}

// Two-sided reading of a one-sided paired test of a − b > 0: the smaller of p and 1 − p, doubled.
double two_sided(const PairedTest& t) {
  if (t.n < 2 || !std::isfinite(t.t)) return std::nan("");
  return std::min(1.0, 2.0 * std::min(t.p_t, 1.0 - t.p_t));
}

}  // namespace

void run_phase_map(const Context& ctx) {
  const auto& p = ctx.protocol;
  const auto& cfg = p.at("phase_map");
  const std::size_t train_size =
      cfg.value("train_size", p.at("data").at("train_size").get<std::size_t>());
  const ExperimentData experiment = experiment_data(ctx, train_size, 0);
  const auto& train_set = experiment.train_set;
  const auto& test_set = experiment.test_set;
  const auto& model = experiment.model;
  const auto& loss = experiment.loss;
  const auto seeds = cfg.at("seeds").get<std::vector<std::uint64_t>>();
  const auto batches = cfg.at("batch_sizes").get<std::vector<std::size_t>>();
  const auto modes = cfg.at("modes").get<std::vector<std::string>>();
  const auto factors = cfg.at("peak_factors").get<std::vector<double>>();
  if (seeds.empty() || batches.empty() || modes.empty() || factors.empty())
    throw InvalidArgument(
        "phase_map: seeds, batch_sizes, modes and peak_factors must be non-empty");
  for (std::size_t i = 1; i < factors.size(); ++i)
    if (!(factors[i] > factors[i - 1]))
      throw InvalidArgument("phase_map: peak_factors must increase (the row rule scans them)");
  const std::size_t epochs = cfg.at("epochs").get<std::size_t>();
  const std::size_t step_size = cfg.at("step_size").get<std::size_t>();
  const std::size_t cycle = 2 * step_size;
  // Every run takes the whole cycles that fit in `epochs` epochs at its batch size and so ends at
  // the bottom of a cycle: a spike in progress at the end is not mistaken for a divergence.
  const double gamma = cfg.value("gamma", 1.0);
  const double base_fraction = cfg.at("base_fraction").get<double>();
  const bool only_lower = cfg.value("only_lower", false);
  const auto& control = cfg.at("control");
  const double sub_factor = control.at("subcritical_factor").get<double>();
  const std::size_t sub_every =
      std::max<std::size_t>(1, cycle / control.at("measurements_per_cycle").get<std::size_t>());
  const auto& rule_cfg = cfg.at("rule");
  const analysis::RowRuleOptions rule{rule_cfg.at("min_catapults_per_cycle").get<double>(),
                                      rule_cfg.at("min_seed_fraction").get<double>()};
  const auto& cls_cfg = cfg.at("classifier");
  const analysis::RunClassOptions cls_opt{cls_cfg.at("collapse_fraction").get<double>(),
                                          cls_cfg.at("collapse_ceiling").get<double>(),
                                          cls_cfg.at("tail").get<std::size_t>()};
  const auto crit = critical_sample(p, train_set);
  const std::size_t k = model.widths.back();
  const auto detector = detector_options(p);
  const double constant_loss = analysis::constant_predictor_mse(train_set.labels, k, loss);
  // AdaGrad's map (optional): cyclic peaks as multiples of its base rate and of its critical rate
  // over the filled parameters, measured on its baseline run.
  const nlohmann::json ada_cfg = cfg.value("adagrad", nlohmann::json());
  const bool with_adagrad = !ada_cfg.is_null();
  std::vector<double> ada_multiples, ada_critical;
  double ada_base = 0, ada_measure_at = 0, early_fraction = 1;
  std::string ada_mode;
  if (with_adagrad) {
    ada_base = ada_cfg.at("base_lr").get<double>();
    ada_multiples = ada_cfg.at("multiples_of_base").get<std::vector<double>>();
    ada_critical = ada_cfg.at("multiples_of_critical").get<std::vector<double>>();
    ada_measure_at = ada_cfg.at("measure_at").get<double>();
    ada_mode = ada_cfg.at("mode").get<std::string>();
    early_fraction = ada_cfg.at("rule_early_fraction").get<double>();
    if (!(early_fraction > 0 && early_fraction <= 1))
      throw InvalidArgument("phase_map.adagrad.rule_early_fraction must be in (0, 1]");
    if (!(ada_base > 0) || !(ada_measure_at > 0 && ada_measure_at <= 1))
      throw InvalidArgument("phase_map.adagrad: base_lr must be > 0 and measure_at in (0, 1]");
    for (const auto* f : {&ada_multiples, &ada_critical})
      for (std::size_t i = 0; i < f->size(); ++i)
        if (!((*f)[i] > 0) || (i > 0 && !((*f)[i] > (*f)[i - 1])))
          throw InvalidArgument("phase_map.adagrad: the multiples must be > 0 and increase");
  }
  const double filled_ratio = adagrad_filled_ratio(p);
  const std::span<const std::uint8_t> crit_labels(train_set.labels.data(), crit.n);

  const int rank = process_rank(), nranks = process_count();
  // The run records live with rank 0 (the only process that reads or writes files here).
  std::optional<RunStore> store;
  if (rank == 0) store.emplace(ctx);
  // η_crit(0) of each seed's initialisation (the controllers start from it), measured by rank 0
  // and shared, so every rank starts its runs from the same numbers.
  std::map<std::uint64_t, double> eta0;
  if (rank == 0)
    for (const auto seed : seeds)
      eta0[seed] =
          initial_critical_rate(model, seed, crit.x, loss, crit.tolerance, crit.max_restarts,
                                str_cat("phase_map, seed ", seed, ", initialisation"));
#ifdef CATAPULT_HAVE_MPI
  if (nranks > 1) {
    nlohmann::json shared = nlohmann::json::array();
    for (const auto& [seed, eta] : eta0) shared.push_back({seed, eta});
    for (const auto& pair : nlohmann::json::parse(dist::broadcast(shared.dump())))
      eta0[pair[0].get<std::uint64_t>()] = pair[1].get<double>();
  }
#endif

  const std::size_t total =
      batches.size() * seeds.size() *
      (1 + modes.size() * factors.size() * 3 +
       (with_adagrad ? 1 + 2 * (ada_multiples.size() + ada_critical.size()) : 0));
  auto run_steps = [&](std::size_t batch) {
    const std::size_t per_epoch = train_set.size() / std::min(batch, train_set.size());
    return (epochs * per_epoch / cycle) * cycle;
  };
  // One training run and what the map keeps of it.
  auto train_arm = [&](const std::string& key, RunSpec spec, std::uint64_t seed,
                       catapult::train::CriticalPeakController* controller,
                       optim::OptimizerKind optimizer, const StepHook& on_step,
                       const std::function<void(ArmResult&)>& finish) {
    spec.model = model;
    spec.loss = loss;
    spec.optimizer.kind = optimizer;
    spec.epochs = epochs;
    spec.max_steps = run_steps(spec.batch_size);
    if (spec.max_steps == 0)
      throw InvalidArgument(str_cat("phase_map: ", epochs, " epoch(s) at batch ", spec.batch_size,
                                    " are fewer steps than one cycle (", cycle, ")"));
    spec.seed = seed;
    spec.log = ctx.log;
    spec.name = nranks > 1 ? format("%s [rank %d]", key.c_str(), rank) : key;
    std::vector<catapult::train::Controller*> controllers;
    if (controller != nullptr) controllers.push_back(controller);
    const auto result = train(spec, train_set, test_set, {}, on_step, controllers);
    const auto detection = analysis::detect_catapults(result.loss, detector);
    const auto cls = analysis::classify_run(result.loss, detection, result.diverged, constant_loss,
                                            cycle, cls_opt);
    ArmResult r;
    r.run_class = static_cast<int>(cls.run_class);
    r.catapults_per_cycle = cls.catapults_per_cycle;
    r.mean_height = cls.mean_height;
    r.test_accuracy = 100.0 * result.test_accuracy;
    r.mean_lr = mean_of(result.lr);
    r.peak_lr =
        result.lr.empty() ? std::nan("") : *std::max_element(result.lr.begin(), result.lr.end());
    r.eta_crit_final = std::nan("");
    if (controller != nullptr && !controller->measurements().empty())
      r.eta_crit_final = controller->measurements().back().eta_crit;
    r.seconds = result.seconds;
    r.diverged = result.diverged;
    r.last_catapult_step =
        detection.catapults.empty() ? std::nan("") : double(detection.catapults.back().start);
    r.run_steps = double(result.loss.size());
    r.filled_fraction = std::nan("");
    {
      // Catapults per cycle over the first early_fraction of the planned steps (AdaGrad's row
      // rule: its catapults are expected to die out).
      const double window = early_fraction * double(spec.max_steps);
      std::size_t early = 0;
      for (const auto& ph : detection.catapults) early += double(ph.start) < window ? 1 : 0;
      r.early_per_cycle = window > 0 ? double(early) * double(cycle) / window : 0.0;
    }
    if (finish) finish(r);
    return r;
  };
  // Rank 0's runs for the report: the stored record when there is one (--resume, or made by the
  // ranks below), else trained here and stored.
  std::size_t done = 0, reused = 0;
  std::set<std::string> fresh;  // records the ranks made in this call (not reused)
  auto run_arm = [&](const std::string& key, RunSpec spec, std::uint64_t seed,
                     catapult::train::CriticalPeakController* controller,
                     optim::OptimizerKind optimizer = optim::OptimizerKind::Sgd,
                     const StepHook& on_step = {},
                     const std::function<void(ArmResult&)>& finish = {}) {
    ++done;
    if (const auto cached = store->find(key)) {
      if (fresh.count(key) == 0) ++reused;
      return *cached;
    }
    const ArmResult r =
        train_arm(key, std::move(spec), seed, controller, optimizer, on_step, finish);
    store->put(key, r);
    if (done % 10 == 0 || done == total)
      ctx.progress(format("phase-map: %zu/%zu runs (%zu reused)", done, total, reused));
    return r;
  };

  // The map's runs, each defined once here: a unit takes an arm runner (run_arm above, or a
  // rank's runner in the task pools below) and returns its arms' results. Within a unit an arm
  // may need an earlier one (the constant arm runs at the catapult arm's mean rate).
  auto sgd_baseline = [&](auto&& arm, std::size_t batch, std::uint64_t seed) {
    // Constant at the base rate (mode and peak independent).
    RunSpec spec;
    spec.batch_size = batch;
    spec.schedule = constant_schedule(base_fraction * eta0.at(seed));
    return arm(format("b%zu-s%llu-baseline", batch, (unsigned long long)seed), spec, seed, nullptr);
  };
  auto sgd_point = [&](auto&& arm, const std::string& mode, std::size_t batch, double c,
                       std::uint64_t seed) {
    const double e0 = eta0.at(seed);
    const std::string key =
        format("%s-b%zu-c%g-s%llu", mode.c_str(), batch, c, (unsigned long long)seed);
    // The catapult schedule: peak c·η_crit(t), re-measured every cycle.
    RunSpec cat_spec;
    cat_spec.batch_size = batch;
    cat_spec.schedule = cyclic_schedule(mode, base_fraction * e0, c * e0, step_size, gamma);
    catapult::train::CriticalPeakOptions co;
    co.peak_factor = c;
    co.every = cycle;
    co.samples = crit.n;
    co.tolerance = crit.tolerance;
    co.max_restarts = crit.max_restarts;
    co.only_lower = only_lower;
    catapult::train::CriticalPeakController cat_ctl(co, e0);
    const ArmResult cat = arm(key + "-catapult", cat_spec, seed, &cat_ctl);
    // Constant at its realised mean rate.
    RunSpec const_spec;
    const_spec.batch_size = batch;
    const_spec.schedule =
        constant_schedule(std::isfinite(cat.mean_lr) ? cat.mean_lr : base_fraction * e0);
    const ArmResult cst = arm(key + "-constant", const_spec, seed, nullptr);
    // The same cycle held below the tracked critical rate.
    catapult::train::CriticalPeakOptions so = co;
    so.peak_factor = sub_factor;
    so.every = sub_every;
    so.only_lower = false;
    so.max_peak = c * e0;
    catapult::train::CriticalPeakController sub_ctl(so, e0);
    const ArmResult sub = arm(key + "-subcritical", cat_spec, seed, &sub_ctl);
    return std::array<ArmResult, 3>{cat, cst, sub};
  };
  auto ada_measure_step = [&](std::size_t batch) {
    return std::max<std::size_t>(
        1, static_cast<std::size_t>(std::llround(ada_measure_at * double(run_steps(batch)))));
  };
  auto ada_baseline = [&](auto&& arm, std::size_t batch, std::uint64_t seed) {
    // Constant at the base rate; η_crit,P measured at measure_at of the run.
    const std::size_t measure_step = ada_measure_step(batch);
    RunSpec spec;
    spec.batch_size = batch;
    spec.schedule = constant_schedule(ada_base);
    FilledCriticalRate measured{std::nan(""), 0, 0};
    const StepHook hook = [&](const StepInfo& info, TrainState& st) {
      if (info.step + 1 == measure_step)
        measured =
            filled_preconditioned_critical_rate(st.model, crit.x, crit_labels, loss, st.optimizer,
                                                filled_ratio, crit.tolerance, crit.max_restarts);
    };
    return arm(format("adagrad-b%zu-s%llu-baseline", batch, (unsigned long long)seed), spec, seed,
               nullptr, optim::OptimizerKind::AdaGrad, hook, [&](ArmResult& r) {
                 r.eta_crit_final = measured.eta_crit;
                 r.filled_fraction = measured.active > 0
                                         ? double(measured.filled) / double(measured.active)
                                         : std::nan("");
               });
  };
  // AdaGrad's peak in family 0 (multiples of the base rate) or 1 (of the seed's η_crit,P): a
  // cycle only when it is above the base rate.
  auto ada_peak = [&](int family, double c, double eta_crit_p) {
    return family == 0 ? c * ada_base : c * eta_crit_p;
  };
  auto ada_point = [&](auto&& arm, int family, double c, std::size_t batch, std::uint64_t seed,
                       double peak) {
    const std::string key = format("adagrad-%s-b%zu-%s%g-s%llu", ada_mode.c_str(), batch,
                                   family == 0 ? "m" : "k", c, (unsigned long long)seed);
    RunSpec cat_spec;
    cat_spec.batch_size = batch;
    cat_spec.schedule = cyclic_schedule(ada_mode, ada_base, peak, step_size, gamma);
    const ArmResult cat =
        arm(key + "-catapult", cat_spec, seed, nullptr, optim::OptimizerKind::AdaGrad);
    RunSpec const_spec;
    const_spec.batch_size = batch;
    const_spec.schedule = constant_schedule(std::isfinite(cat.mean_lr) ? cat.mean_lr : ada_base);
    const ArmResult cst =
        arm(key + "-constant", const_spec, seed, nullptr, optim::OptimizerKind::AdaGrad);
    return std::array<ArmResult, 2>{cat, cst};
  };

#ifdef CATAPULT_HAVE_MPI
  if (nranks > 1) {
    // Under mpirun: every run of the map in task pools over the ranks (dynamic scheduling: a rank
    // that finishes a unit takes the next), rank 0 storing each record as it arrives, so that its
    // report below finds them all and writes exactly what one process writes. Pool 1: AdaGrad's
    // baselines (their η_crit,P sets the peaks of its second family), SGD's points and SGD's
    // baselines; pool 2: AdaGrad's points. A unit's arms run in order on one rank.
    struct Unit {
      int kind = 0;  // 0 SGD baseline, 1 SGD point, 2 AdaGrad baseline, 3 AdaGrad point
      std::size_t batch = 0;
      std::uint64_t seed = 0;
      std::string mode;  // SGD point
      double c = 0;      // peak factor (SGD) or multiple (AdaGrad)
      int family = 0;    // AdaGrad point: 0 multiples of the base rate, 1 of η_crit,P
      double peak = 0;   // AdaGrad point
    };
    auto run_unit = [&](auto&& arm, const Unit& u) {
      if (u.kind == 0)
        (void)sgd_baseline(arm, u.batch, u.seed);
      else if (u.kind == 1)
        (void)sgd_point(arm, u.mode, u.batch, u.c, u.seed);
      else if (u.kind == 2)
        (void)ada_baseline(arm, u.batch, u.seed);
      else
        (void)ada_point(arm, u.family, u.c, u.batch, u.seed, u.peak);
    };
    auto unit_name = [&](const Unit& u) {
      const auto seed = (unsigned long long)u.seed;
      if (u.kind == 0) return format("SGD baseline, batch %zu, seed %llu", u.batch, seed);
      if (u.kind == 1)
        return format("SGD %s c=%g, batch %zu, seed %llu (3 runs)", u.mode.c_str(), u.c, u.batch,
                      seed);
      if (u.kind == 2) return format("AdaGrad baseline, batch %zu, seed %llu", u.batch, seed);
      return format("AdaGrad peak %g·%s, batch %zu, seed %llu (2 runs)", u.c,
                    u.family == 0 ? "base" : "η_crit,P", u.batch, seed);
    };
    std::size_t pooled = 0;  // runs finished by the ranks (rank 0's count)
    // Collective; `units` is read on rank 0 only.
    auto run_pool = [&](const std::vector<Unit>& units) {
      // Rank 0 hands out the units that lack a record (all of them unless --resume), with the
      // records they have (a unit interrupted part-way keeps its finished arms).
      nlohmann::json plan = {{"units", nlohmann::json::array()},
                             {"known", nlohmann::json::object()}};
      if (rank == 0)
        for (const auto& u : units) {
          bool missing = false;
          nlohmann::json known = nlohmann::json::object();
          auto probe = [&](const std::string& key, const RunSpec&, std::uint64_t,
                           catapult::train::CriticalPeakController*,
                           optim::OptimizerKind = optim::OptimizerKind::Sgd, const StepHook& = {},
                           const std::function<void(ArmResult&)>& = {}) {
            if (const auto r = store->find(key)) {
              known[key] = r->to_json();
              return *r;
            }
            missing = true;
            ArmResult none;
            none.mean_lr = std::nan("");
            return none;
          };
          run_unit(probe, u);
          if (!missing) continue;
          plan["units"].push_back({u.kind, u.batch, u.seed, u.mode, u.c, u.family, u.peak});
          plan["known"].update(known);
        }
      plan = nlohmann::json::parse(dist::broadcast(plan.dump()));
      std::vector<Unit> todo;
      for (const auto& j : plan.at("units"))
        todo.push_back({j[0].get<int>(), j[1].get<std::size_t>(), j[2].get<std::uint64_t>(),
                        j[3].get<std::string>(), j[4].get<double>(), j[5].get<int>(),
                        j[6].get<double>()});
      const nlohmann::json& known = plan.at("known");
      std::vector<std::size_t> tasks(todo.size());
      std::iota(tasks.begin(), tasks.end(), std::size_t{0});
      // On whichever rank takes unit i: its arms, those without a record trained here; returns
      // the new records.
      auto work = [&](std::size_t i) -> std::string {
        ctx.progress(format("phase-map: %s [rank %d]", unit_name(todo[i]).c_str(), rank));
        nlohmann::json made = nlohmann::json::object();
        auto arm = [&](const std::string& key, RunSpec spec, std::uint64_t seed,
                       catapult::train::CriticalPeakController* controller,
                       optim::OptimizerKind optimizer = optim::OptimizerKind::Sgd,
                       const StepHook& on_step = {},
                       const std::function<void(ArmResult&)>& finish = {}) {
          if (known.contains(key)) return ArmResult::from_json(known.at(key));
          const ArmResult r =
              train_arm(key, std::move(spec), seed, controller, optimizer, on_step, finish);
          made[key] = r.to_json();
          return r;
        };
        run_unit(arm, todo[i]);
        return made.dump();
      };
      // Rank 0, one call at a time: the records join the store.
      auto on_result = [&](std::size_t, const std::string& text) {
        const auto records = nlohmann::json::parse(text);
        for (const auto& [key, record] : records.items()) {
          store->put(key, ArmResult::from_json(record));
          fresh.insert(key);
          if (++pooled % 10 == 0)
            ctx.progress(format("phase-map: %zu runs finished on %d ranks", pooled, nranks));
        }
      };
      (void)dist::run_task_pool(tasks, work, on_result);
    };

    std::vector<Unit> units;
    if (rank == 0) {
      for (const auto batch : batches)
        for (const auto seed : seeds)
          if (with_adagrad) units.push_back({2, batch, seed, "", 0, 0, 0});
      for (const auto batch : batches)
        for (const auto& mode : modes)
          for (const double c : factors)
            for (const auto seed : seeds) units.push_back({1, batch, seed, mode, c, 0, 0});
      for (const auto batch : batches)
        for (const auto seed : seeds) units.push_back({0, batch, seed, "", 0, 0, 0});
    }
    run_pool(units);
    if (with_adagrad) {
      // AdaGrad's points, their peaks from the stored baselines' η_crit,P (as the report reads
      // them).
      units.clear();
      auto stored = [&](const std::string& key, const RunSpec&, std::uint64_t,
                        catapult::train::CriticalPeakController*,
                        optim::OptimizerKind = optim::OptimizerKind::Sgd, const StepHook& = {},
                        const std::function<void(ArmResult&)>& = {}) {
        const auto r = store->find(key);
        if (!r) throw RuntimeError(str_cat("phase_map: no record of run ", key));
        return *r;
      };
      if (rank == 0)
        for (const auto batch : batches) {
          std::map<std::uint64_t, double> eta_p;
          for (const auto seed : seeds)
            eta_p[seed] = ada_baseline(stored, batch, seed).eta_crit_final;
          for (int family = 0; family < 2; ++family)
            for (const double c : family == 0 ? ada_multiples : ada_critical)
              for (const auto seed : seeds) {
                const double peak = ada_peak(family, c, eta_p[seed]);
                if (peak > ada_base) units.push_back({3, batch, seed, "", c, family, peak});
              }
        }
      run_pool(units);
    }
    if (rank != 0) return;  // rank 0 writes every output
  }
#endif

  write_experiment(ctx, "phase-map", [&](const std::filesystem::path& dir, nlohmann::json& meta) {
    CsvTable runs;
    runs.columns = {"mode",    "batch_size",          "peak_factor", "seed",          "arm",
                    "class",   "catapults_per_cycle", "mean_height", "test_accuracy", "mean_lr",
                    "peak_lr", "eta_crit_final",      "seconds"};
    CsvTable points;
    points.columns = {"mode",
                      "batch_size",
                      "peak_factor",
                      "n_none",
                      "n_catapult",
                      "n_collapse",
                      "n_divergence",
                      "catapults_per_cycle",
                      "mean_height",
                      "mean_lr_over_eta0",
                      "acc_catapult",
                      "acc_catapult_std",
                      "acc_constant",
                      "acc_subcritical",
                      "acc_baseline",
                      "spikes_gain",
                      "spikes_p",
                      "rate_gain",
                      "rate_p",
                      "vs_subcritical_gain",
                      "vs_subcritical_p",
                      "qualifies"};
    nlohmann::json chosen = nlohmann::json::array();
    std::ostringstream md;
    md << "## 6. Phase map: do the spikes or the larger rate help? (" << ctx.label() << ")\n\n";
    md << format(
        "SGD on %zu MNIST training images (784-%zu-10, MSE), %zu epoch(s), cyclic schedules "
        "(half-cycle %zu steps) from the base rate %.3g·η_crit(0) to the peak c·η_crit(t): "
        "η_crit = 1/(c·λmax(K)) on %zu images, measured at initialisation and re-measured every "
        "cycle (%s). Seeds %zu per point; the test accuracy is on %zu images.\n\n",
        train_set.size(), model.widths[1], epochs, step_size, base_fraction, crit.n,
        only_lower ? "the peak only lowered" : "the peak follows it both ways", seeds.size(),
        test_set.size());
    md << format(
        "Each catapult schedule runs beside, on the same initialisation and data order: "
        "**constant** — a constant rate equal to its realised mean rate (the same rate without "
        "spikes); **sub-critical** — the same cycle with its peak held at min(c·η_crit(0), "
        "%.2f·η_crit(t)), re-measured every %zu steps (the same shape, never crossing the critical "
        "rate); and the **baseline**, the constant base rate (the table's SGD row).\n\n",
        sub_factor, sub_every);
    md << format(
        "Written rules (analysis/phase_map.hpp), fixed before the results. *Class*: divergence "
        "when the loop stops on a non-finite value or the mean loss of the last %zu steps exceeds "
        "%.2f× the constant predictor's loss (%.4g here); collapse when it is at least %.2f× it; "
        "divergence when the detector reports an excursion that does not come back; catapult "
        "when the detector (the protocol's thresholds) finds at least one spike that comes back; "
        "none otherwise. *Row rule*: the chosen peak is the smallest c at which at least %.0f%% "
        "of the seeds run without divergence or collapse with ≥ %.3g detected catapults per "
        "cycle.\n\n",
        cls_opt.tail, cls_opt.collapse_ceiling, constant_loss, cls_opt.collapse_fraction,
        100.0 * rule.min_seed_fraction, rule.min_catapults_per_cycle);

    for (std::size_t bi = 0; bi < batches.size(); ++bi) {
      const std::size_t batch = batches[bi];
      // The baseline: constant at the base rate (mode and peak independent).
      std::map<std::uint64_t, ArmResult> baseline;
      for (const auto seed : seeds) {
        baseline[seed] = sgd_baseline(run_arm, batch, seed);
        runs.add({-1, double(batch), 0, double(seed), double(kBaseline),
                  double(baseline[seed].run_class), baseline[seed].catapults_per_cycle,
                  baseline[seed].mean_height, baseline[seed].test_accuracy, baseline[seed].mean_lr,
                  baseline[seed].peak_lr, baseline[seed].eta_crit_final, baseline[seed].seconds});
      }
      for (std::size_t mi = 0; mi < modes.size(); ++mi) {
        const std::string& mode = modes[mi];
        std::vector<std::vector<analysis::MapRun>> map_points;
        struct PointSummary {
          double c;
          PairedTest spikes, rate, sub;
          double acc_cat, acc_const, acc_sub, acc_base, per_cycle;
          std::size_t counts[4];
          bool qualifies;
        };
        std::vector<PointSummary> summaries;
        for (const double c : factors) {
          std::vector<double> acc[4];
          std::vector<analysis::MapRun> seed_runs;
          PointSummary s{};
          s.c = c;
          double per_cycle = 0, height = 0, rate_ratio = 0;
          for (const auto seed : seeds) {
            const double e0 = eta0.at(seed);
            const auto [cat, cst, sub] = sgd_point(run_arm, mode, batch, c, seed);
            const ArmResult* arms[] = {&cat, &cst, &sub, &baseline[seed]};
            for (int a = 0; a < 3; ++a)
              runs.add({double(mi), double(batch), c, double(seed), double(a),
                        double(arms[a]->run_class), arms[a]->catapults_per_cycle,
                        arms[a]->mean_height, arms[a]->test_accuracy, arms[a]->mean_lr,
                        arms[a]->peak_lr, arms[a]->eta_crit_final, arms[a]->seconds});
            // A diverged run has no meaningful accuracy: NaN, left out of its arm's mean and of
            // every pair it is in.
            for (int a = 0; a < 4; ++a)
              acc[a].push_back(arms[a]->diverged ? std::nan("") : arms[a]->test_accuracy);
            seed_runs.push_back(
                {static_cast<analysis::RunClass>(cat.run_class), cat.catapults_per_cycle});
            ++s.counts[cat.run_class];
            per_cycle += cat.catapults_per_cycle;
            height += cat.mean_height;
            rate_ratio += cat.mean_lr / e0;
          }
          const double ns = double(seeds.size());
          s.per_cycle = per_cycle / ns;
          s.spikes = paired_finite(acc[kCatapult], acc[kConstant]);
          s.rate = paired_finite(acc[kConstant], acc[kBaseline]);
          s.sub = paired_finite(acc[kCatapult], acc[kSubcritical]);
          s.acc_cat = mean_of(finite(acc[kCatapult]));
          s.acc_const = mean_of(finite(acc[kConstant]));
          s.acc_sub = mean_of(finite(acc[kSubcritical]));
          s.acc_base = mean_of(finite(acc[kBaseline]));
          s.qualifies = analysis::point_qualifies(seed_runs, rule);
          map_points.push_back(seed_runs);
          points.add({double(mi),
                      double(batch),
                      c,
                      double(s.counts[0]),
                      double(s.counts[1]),
                      double(s.counts[2]),
                      double(s.counts[3]),
                      s.per_cycle,
                      height / ns,
                      rate_ratio / ns,
                      s.acc_cat,
                      mean_std(finite(acc[kCatapult])).std,
                      s.acc_const,
                      s.acc_sub,
                      s.acc_base,
                      s.spikes.mean_difference,
                      two_sided(s.spikes),
                      s.rate.mean_difference,
                      two_sided(s.rate),
                      s.sub.mean_difference,
                      two_sided(s.sub),
                      s.qualifies ? 1.0 : 0.0});
          summaries.push_back(s);
        }
        const auto pick = analysis::select_row(map_points, rule);

        md << format("### %s, batch %zu\n\n", mode.c_str(), batch);
        md << "| c | none / catapult / collapse / divergence | catapults per cycle | test acc. "
              "catapult (%) | constant at its mean | sub-critical | baseline | spikes: catapult − "
              "constant | rate: constant − baseline | catapult − sub-critical |\n"
              "|---|---|---|---|---|---|---|---|---|---|\n";
        for (const auto& s : summaries)
          md << format(
              "| %s%g%s | %zu / %zu / %zu / %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s "
              "| %s |\n",
              s.qualifies ? "**" : "", s.c, s.qualifies ? "**" : "", s.counts[0], s.counts[1],
              s.counts[2], s.counts[3], s.per_cycle, s.acc_cat, s.acc_const, s.acc_sub, s.acc_base,
              fmt_p(s.spikes).c_str(), fmt_p(s.rate).c_str(), fmt_p(s.sub).c_str());
        md << "\nBold: the peaks that satisfy the row rule. Differences are in accuracy points, "
              "means over the seeds where no arm diverged, with one-sided paired t-tests of the "
              "difference > 0.\n\n";
        nlohmann::json choice = {{"optimizer", "sgd"}, {"mode", mode}, {"batch_size", batch}};
        if (!pick) {
          md << "**Row rule: no peak qualifies** — no c on this grid gives ≥ "
             << rule.min_catapults_per_cycle
             << " detected catapult per cycle in enough seeds without divergence or collapse, so "
                "no \"+ catapult\" row can be chosen from it.\n\n";
          choice["peak_factor"] = nullptr;
        } else {
          const auto& s = summaries[*pick];
          choice["peak_factor"] = s.c;
          choice["spikes"] = {{"gain", s.spikes.mean_difference},
                              {"p_two_sided", two_sided(s.spikes)}};
          choice["rate"] = {{"gain", s.rate.mean_difference}, {"p_two_sided", two_sided(s.rate)}};
          const double total_gain = s.acc_cat - s.acc_base;
          md << format(
              "**Row rule: c = %g** (%.2f detected catapults per cycle on average). Against the "
              "baseline the catapult schedule gains %+.2f points; of it, the larger mean rate "
              "(constant at the same mean − baseline) accounts for %s and the spikes (catapult − "
              "constant at the same mean) for %s.\n\n",
              s.c, s.per_cycle, total_gain, fmt_p(s.rate).c_str(), fmt_p(s.spikes).c_str());
          const double ps = two_sided(s.spikes);
          std::string verdict;
          if (!std::isfinite(ps))
            verdict = "too few paired seeds to test the spikes";
          else if (ps < 0.05 && s.spikes.mean_difference > 0)
            verdict = "the spikes help beyond the larger mean rate (p < 0.05, two-sided)";
          else if (ps < 0.05)
            verdict =
                "the spikes hurt compared with the same mean rate without them (p < 0.05, "
                "two-sided)";
          else
            verdict = format(
                "no significant effect of the spikes at the same mean rate "
                "(two-sided p = %.2f with %zu seeds)",
                ps, s.spikes.n);
          md << "**Spikes or rate?** " << verdict << ".\n\n";
        }
        chosen.push_back(choice);
      }
    }

    // AdaGrad: the same arms (catapult, constant at its mean, the baseline at the base rate) over
    // peaks that are multiples of the base rate and of the critical rate over the filled
    // parameters (FilledCriticalRate), measured on each seed's baseline run at measure_at of it.
    CsvTable ada_points;
    ada_points.columns = {"batch_size",
                          "family",
                          "multiple",
                          "peak_over_base",
                          "n_none",
                          "n_catapult",
                          "n_collapse",
                          "n_divergence",
                          "catapults_per_cycle",
                          "early_catapults_per_cycle",
                          "last_catapult_fraction",
                          "acc_catapult",
                          "acc_constant",
                          "acc_baseline",
                          "spikes_gain",
                          "spikes_p",
                          "rate_gain",
                          "rate_p",
                          "qualifies"};
    for (std::size_t bi = 0; with_adagrad && bi < batches.size(); ++bi) {
      const std::size_t batch = batches[bi];
      const std::size_t steps = run_steps(batch);
      const std::size_t measure_step = ada_measure_step(batch);
      std::map<std::uint64_t, ArmResult> base_runs;
      for (const auto seed : seeds) {
        base_runs[seed] = ada_baseline(run_arm, batch, seed);
        const auto& b = base_runs[seed];
        runs.add({-2, double(batch), 0, double(seed), double(kBaseline), double(b.run_class),
                  b.catapults_per_cycle, b.mean_height, b.test_accuracy, b.mean_lr, b.peak_lr,
                  b.eta_crit_final, b.seconds});
      }
      double eta_mean = 0, filled_mean = 0;
      for (const auto seed : seeds) {
        eta_mean += base_runs[seed].eta_crit_final / double(seeds.size());
        filled_mean += base_runs[seed].filled_fraction / double(seeds.size());
      }
      md << format("### AdaGrad, %s, batch %zu\n\n", ada_mode.c_str(), batch);
      md << format(
          "AdaGrad (PyTorch's, ε = 1e-10) at the base rate %.3g; cyclic schedules from it to a "
          "fixed peak (AdaGrad's own accumulator shrinks the effective rates as it grows). Its "
          "critical rate over the filled parameters (those whose accumulator holds ≥ %g steps' "
          "worth of their current squared gradient on the critical sample; the others, mostly "
          "first-layer weights of rarely lit pixels, take self-normalised steps of at most η and "
          "are frozen in the analysis), measured at step %zu of %zu of each seed's baseline run: "
          "η_crit,P = %.4g on average (%.1f%% of the active parameters filled). Peaks are "
          "multiples of the base rate and of that η_crit,P (the latter below 1 are sub-critical "
          "controls).\n\n",
          ada_base, filled_ratio, measure_step, steps, eta_mean, 100.0 * filled_mean);
      md << format(
          "| peak | peak / base | none / catapult / collapse / divergence | catapults per cycle "
          "(whole run / first %.0f%%) | last catapult (fraction of the run) | test acc. catapult "
          "(%%) | constant at its mean | baseline | spikes: catapult − constant | rate: constant "
          "− baseline |\n|---|---|---|---|---|---|---|---|---|---|\n",
          100.0 * early_fraction);
      // The AdaGrad map's two readings of the row rule: catapults per cycle over the whole run
      // and over its first early_fraction (the one the table uses).
      std::vector<std::vector<analysis::MapRun>> base_family, base_family_early;
      std::vector<double> base_family_c;
      for (int family = 0; family < 2; ++family) {
        const auto& multiples = family == 0 ? ada_multiples : ada_critical;
        for (const double c : multiples) {
          std::vector<double> acc[4];
          std::vector<analysis::MapRun> seed_runs, seed_runs_early;
          std::size_t counts[4] = {0, 0, 0, 0};
          double per_cycle = 0, early_per_cycle = 0, last = 0, ratio = 0;
          std::size_t with_last = 0, n_run = 0;
          for (const auto seed : seeds) {
            const double peak = ada_peak(family, c, base_runs[seed].eta_crit_final);
            if (!(peak > ada_base)) continue;  // not a cycle (or η_crit,P not measured)
            ++n_run;
            const auto [cat, cst] = ada_point(run_arm, family, c, batch, seed, peak);
            const ArmResult* arms[] = {&cat, &cst, nullptr, &base_runs[seed]};
            for (const int a : {0, 1})
              runs.add({double(-3 - family), double(batch), c, double(seed), double(a),
                        double(arms[a]->run_class), arms[a]->catapults_per_cycle,
                        arms[a]->mean_height, arms[a]->test_accuracy, arms[a]->mean_lr,
                        arms[a]->peak_lr, arms[a]->eta_crit_final, arms[a]->seconds});
            for (const int a : {0, 1, 3})
              acc[a].push_back(arms[a]->diverged ? std::nan("") : arms[a]->test_accuracy);
            seed_runs.push_back(
                {static_cast<analysis::RunClass>(cat.run_class), cat.catapults_per_cycle});
            seed_runs_early.push_back(
                {static_cast<analysis::RunClass>(cat.run_class), cat.early_per_cycle});
            ++counts[cat.run_class];
            per_cycle += cat.catapults_per_cycle;
            early_per_cycle += cat.early_per_cycle;
            ratio += peak / ada_base;
            if (std::isfinite(cat.last_catapult_step) && cat.run_steps > 0) {
              last += cat.last_catapult_step / cat.run_steps;
              ++with_last;
            }
          }
          if (n_run == 0) {
            md << format(
                "| %g·%s | – | not run (peak ≤ base rate or η_crit,P not measured) "
                "| | | | | | | |\n",
                c, family == 0 ? "base" : "η_crit,P");
            continue;
          }
          const auto spikes = paired_finite(acc[kCatapult], acc[kConstant]);
          const auto rate = paired_finite(acc[kConstant], acc[kBaseline]);
          const bool qualifies = analysis::point_qualifies(seed_runs_early, rule);
          if (family == 0 && n_run == seeds.size()) {
            base_family.push_back(seed_runs);
            base_family_early.push_back(seed_runs_early);
            base_family_c.push_back(c);
          }
          const double last_fraction = with_last > 0 ? last / double(with_last) : std::nan("");
          ada_points.add(
              {double(batch), double(family), c, ratio / double(n_run), double(counts[0]),
               double(counts[1]), double(counts[2]), double(counts[3]), per_cycle / double(n_run),
               early_per_cycle / double(n_run), last_fraction, mean_of(finite(acc[kCatapult])),
               mean_of(finite(acc[kConstant])), mean_of(finite(acc[kBaseline])),
               spikes.mean_difference, two_sided(spikes), rate.mean_difference, two_sided(rate),
               qualifies ? 1.0 : 0.0});
          md << format(
              "| %s%g·%s%s | %.3g | %zu / %zu / %zu / %zu | %.2f / %.2f | %s | %.2f | "
              "%.2f | %.2f | %s | %s |\n",
              qualifies ? "**" : "", c, family == 0 ? "base" : "η_crit,P", qualifies ? "**" : "",
              ratio / double(n_run), counts[0], counts[1], counts[2], counts[3],
              per_cycle / double(n_run), early_per_cycle / double(n_run),
              std::isfinite(last_fraction) ? format("%.2f", last_fraction).c_str() : "–",
              mean_of(finite(acc[kCatapult])), mean_of(finite(acc[kConstant])),
              mean_of(finite(acc[kBaseline])), fmt_p(spikes).c_str(), fmt_p(rate).c_str());
        }
      }
      md << format(
          "\nBold: the peaks that satisfy AdaGrad's row rule. *Last catapult*: the start of the "
          "last detected catapult as a fraction of the run's steps, averaged over the seeds that "
          "had one (the poster: AdaGrad's catapults die out as its accumulator grows). *Constant "
          "at its mean* is a weaker control for AdaGrad than for SGD: AdaGrad's first steps are "
          "≈ η·sign(g) for every parameter (its accumulator is empty), so a large constant rate "
          "differs from the cycle, which starts at the base rate, in its first steps as well as "
          "in its spikes; the cycles with peaks below η_crit,P (which do not catapult) are the "
          "spike-free control of the same shape.\n\n");
      // AdaGrad's row rule, a variant of SGD's written after the whole-run rule chose nothing on
      // the first quick map (docs/reproduction.md): the same thresholds on the catapults per
      // cycle over the run's first early_fraction, since the claim under test is that AdaGrad's
      // catapults stop.
      const auto pick_whole = analysis::select_row(base_family, rule);
      const auto pick = analysis::select_row(base_family_early, rule);
      nlohmann::json choice = {{"optimizer", "adagrad"}, {"mode", ada_mode}, {"batch_size", batch}};
      md << format(
          "*AdaGrad's row rule*: the smallest multiple of the base rate at which at least %.0f%% "
          "of the seeds run without divergence or collapse with ≥ %.3g detected catapults per "
          "cycle over the first %.0f%% of the run. (Over the whole run, as for SGD: %s.)\n\n",
          100.0 * rule.min_seed_fraction, rule.min_catapults_per_cycle, 100.0 * early_fraction,
          pick_whole ? format("%g × base", base_family_c[*pick_whole]).c_str()
                     : "no multiple qualifies");
      if (!pick) {
        md << "**Row rule: no multiple qualifies**, so no \"AdaGrad + catapult\" row can be "
              "chosen from this map.\n\n";
        choice["peak_factor"] = nullptr;
      } else {
        choice["peak_factor"] = base_family_c[*pick];
        md << format("**Row rule: peak = %g × base.**\n\n", base_family_c[*pick]);
      }
      choice["peak_factor_whole_run"] =
          pick_whole ? nlohmann::json(base_family_c[*pick_whole]) : nlohmann::json();
      chosen.push_back(choice);
    }
    if (with_adagrad) ada_points.write(dir / "adagrad_points.csv");
    runs.write(dir / "runs.csv");
    points.write(dir / "points.csv");
    if (ctx.figures) {
      for (std::size_t bi = 0; bi < batches.size(); ++bi)
        for (std::size_t mi = 0; mi < modes.size(); ++mi) {
          const std::string name = format("phase_map_%s_b%zu", modes[mi].c_str(), batches[bi]);
          CsvTable sub;
          sub.columns = points.columns;
          for (const auto& row : points.rows)
            if (row[0] == double(mi) && row[1] == double(batches[bi])) sub.rows.push_back(row);
          sub.write(dir / (name + ".csv"));
          Figure f;
          f.title = format("Phase map, SGD, %s, batch %zu", modes[mi].c_str(), batches[bi]);
          f.subtitle = ctx.label();
          f.x_label = "peak factor c (peak = c·η_{crit}(t))";  // gnuplot enhanced text: _{…}
          f.y_label = "test accuracy (%)";
          f.y2_label = "detected catapults per cycle";
          f.log_x = true;
          f.series.push_back({name + ".csv", "peak_factor", "acc_catapult", "catapult schedule",
                              false, "linespoints", "#d62728", 2.0});
          f.series.push_back({name + ".csv", "peak_factor", "acc_constant",
                              "constant at its mean rate", false, "linespoints", "#1f77b4", 1.5});
          f.series.push_back({name + ".csv", "peak_factor", "acc_subcritical", "sub-critical cycle",
                              false, "linespoints", "#2ca02c", 1.5});
          f.series.push_back({name + ".csv", "peak_factor", "acc_baseline", "baseline (base rate)",
                              false, "lines", "#7f7f7f", 1.0});
          f.series.push_back({name + ".csv", "peak_factor", "catapults_per_cycle",
                              "catapults per cycle", true, "points", "#ff7f0e", 1.5});
          render_figure(f, dir, name);
          md << "![" << name << "](phase-map/" << name << ".png)\n";
        }
      for (std::size_t bi = 0; with_adagrad && bi < batches.size(); ++bi) {
        const std::string name = format("phase_map_adagrad_b%zu", batches[bi]);
        // One CSV per peak family (multiples of the base rate; of η_crit,P), so each draws a line.
        const std::string family_csv[2] = {name + "_base.csv", name + "_critical.csv"};
        for (int family = 0; family < 2; ++family) {
          CsvTable sub;
          sub.columns = ada_points.columns;
          for (const auto& row : ada_points.rows)
            if (row[0] == double(batches[bi]) && row[1] == double(family)) sub.rows.push_back(row);
          sub.write(dir / family_csv[family]);
        }
        Figure f;
        f.title = format("Phase map, AdaGrad, %s, batch %zu", ada_mode.c_str(), batches[bi]);
        f.subtitle = ctx.label();
        f.x_label = "peak / base rate";
        f.y_label = "test accuracy (%)";
        f.y2_label = "detected catapults per cycle";
        f.log_x = true;
        f.series.push_back({family_csv[0], "peak_over_base", "acc_catapult",
                            "catapult schedule (peak = multiple of the base rate)", false,
                            "linespoints", "#d62728", 2.0});
        f.series.push_back({family_csv[0], "peak_over_base", "acc_constant",
                            "constant at its mean rate", false, "linespoints", "#1f77b4", 1.5});
        f.series.push_back({family_csv[1], "peak_over_base", "acc_catapult",
                            "cycle with peak = multiple of η_{crit,P}", false, "linespoints",
                            "#2ca02c", 1.5});
        f.series.push_back({family_csv[0], "peak_over_base", "acc_baseline", "baseline (base rate)",
                            false, "lines", "#7f7f7f", 1.0});
        f.series.push_back(
            {family_csv[0], "peak_over_base", "early_catapults_per_cycle",
             format("catapults per cycle, first %.0f%% of the run", 100.0 * early_fraction), true,
             "linespoints", "#ff7f0e", 1.0});
        f.series.push_back({family_csv[0], "peak_over_base", "catapults_per_cycle",
                            "catapults per cycle, whole run", true, "points", "#ff7f0e", 1.5});
        render_figure(f, dir, name);
        md << "![" << name << "](phase-map/" << name << ".png)\n";
      }
      md << "\n";
    }
    md << format(
        "Runs: %zu (%zu reused from an interrupted run's records). Per-run numbers: "
        "`phase-map/runs.csv` (mode −1: SGD's baseline; −2: AdaGrad's baseline, its eta_crit_final "
        "the η_crit,P it measured; −3/−4: AdaGrad's peaks as multiples of the base rate / of "
        "η_crit,P; arm 0 catapult, 1 constant, 2 sub-critical, 3 baseline; class 0 none, "
        "1 catapult, 2 collapse, 3 divergence); per point: `phase-map/points.csv` and "
        "`phase-map/adagrad_points.csv`.\n\n",
        done, reused);
    meta["eta_crit_init"] = eta0;
    meta["chosen"] = chosen;
    meta["constant_predictor_loss"] = constant_loss;
    meta["runs"] = done;
    if (nranks > 1) meta["ranks"] = nranks;  // the runs were spread over them
    write_file_atomic(dir / "section.md", md.str());
  });
}

}  // namespace catapult::app::reproduce
