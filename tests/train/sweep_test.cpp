// Sweep files: expansion order, the base document, per-run document rules, critical-rate
// multiples, the canonical form, and errors that name the key (or the run).
#include "catapult/train/sweep.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "catapult/core/error.hpp"

namespace catapult::train {
namespace {

using ::testing::HasSubstr;

// The message of the InvalidArgument that parse_sweep throws for `text` ("" if none).
std::string error_of(const std::string& text) {
  try {
    (void)parse_sweep(text);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(Sweep, ExpandsInKeyOrderWithTheLastAxisFastest) {
  // Written out of order on purpose: the order is the keys' lexicographic order, not the file's.
  const Sweep s = parse_sweep(R"({"grid": {"train.seed": [0, 1],
                                           "schedule.lr": [0.1, 0.2, 0.3],
                                           "optimizer.kind": ["sgd", "adam"]}})");
  ASSERT_EQ(s.axes.size(), 3U);
  EXPECT_EQ(s.axes[0].key, "optimizer.kind");
  EXPECT_EQ(s.axes[1].key, "schedule.lr");
  EXPECT_EQ(s.axes[2].key, "train.seed");
  EXPECT_EQ(s.axes[1].values, (std::vector<std::string>{"0.1", "0.2", "0.3"}));
  ASSERT_EQ(s.runs.size(), 12U);
  for (std::size_t i = 0; i < 12; ++i) {
    const SweepRun& r = s.runs[i];
    EXPECT_EQ(r.index, i);
    // i = 6·optimizer + 2·lr + seed
    EXPECT_EQ(r.config.optimizer.kind,
              i / 6 == 0 ? optim::OptimizerKind::Sgd : optim::OptimizerKind::Adam)
        << i;
    EXPECT_EQ(r.config.schedule.lr, (std::vector<double>{0.1, 0.2, 0.3})[(i / 2) % 3]) << i;
    EXPECT_EQ(r.config.train.seed, i % 2) << i;
    EXPECT_EQ(r.values.size(), 3U);
  }
  EXPECT_EQ(s.runs[0].name, "run-0000");
  EXPECT_EQ(s.runs[11].name, "run-0011");
  EXPECT_EQ(s.runs[11].values, (std::vector<std::string>{"\"adam\"", "0.3", "1"}));
}

TEST(Sweep, RunsStartFromTheBaseAndApplyDocumentRulesPerRun) {
  const RunConfig defaults = [] {
    RunConfig c;
    c.schedule.lr = 0.1;
    return c;
  }();
  const Sweep s = parse_sweep(R"({"base": {"model": {"widths": [4, 3]},
                                           "train": {"batch_size": 7, "seed": 5},
                                           "dataset": "fashion-mnist"},
                                  "grid": {"optimizer.kind": ["sgd", "adamw"],
                                           "train.seed": [9], "model.widths": [[4, 2, 3]]}})",
                              defaults);
  ASSERT_EQ(s.runs.size(), 2U);
  for (const auto& r : s.runs) {
    EXPECT_EQ(r.config.model.widths, (std::vector<std::size_t>{4, 2, 3}));  // the grid wins
    EXPECT_EQ(r.config.train.batch_size, 7U);                               // from the base
    EXPECT_EQ(r.config.train.seed, 9U);
    EXPECT_EQ(r.config.dataset, "fashion-mnist");
    EXPECT_EQ(r.config.schedule.lr, 0.1);  // from the defaults
  }
  // As `catapult train --config` would read the run's document: AdamW's default decay applies
  // to the AdamW run only.
  EXPECT_EQ(s.runs[0].config.optimizer.kind, optim::OptimizerKind::Sgd);
  EXPECT_EQ(s.runs[0].config.optimizer.weight_decay, 0.0);
  EXPECT_EQ(s.runs[1].config.optimizer.kind, optim::OptimizerKind::AdamW);
  EXPECT_EQ(s.runs[1].config.optimizer.weight_decay, 0.01);
  // ... unless the base sets a decay, which then holds for both.
  const Sweep t = parse_sweep(R"({"base": {"optimizer": {"weight_decay": 0.5}},
                                  "grid": {"optimizer.kind": ["sgd", "adamw"]}})");
  EXPECT_EQ(t.runs[0].config.optimizer.weight_decay, 0.5);
  EXPECT_EQ(t.runs[1].config.optimizer.weight_decay, 0.5);
}

TEST(Sweep, CriticalMultiplesAreResolvedWithTheSweepsCriticalRate) {
  const Sweep s = parse_sweep(R"({"base": {"schedule": {"kind": "cyclic", "step_size_up": 10,
                                                        "base_multiple_of_critical": 0.5}},
                                  "grid": {"schedule.peak_multiple_of_critical": [2, 4]},
                                  "critical_lr": 0.25})");
  ASSERT_EQ(s.runs.size(), 2U);
  EXPECT_DOUBLE_EQ(s.runs[0].config.schedule.max_lr, 0.5);
  EXPECT_DOUBLE_EQ(s.runs[1].config.schedule.max_lr, 1.0);
  EXPECT_DOUBLE_EQ(s.runs[1].config.schedule.lr, 0.125);
  EXPECT_FALSE(s.runs[1].config.schedule.peak_multiple_of_critical);  // resolved
  ASSERT_TRUE(s.critical_lr);
  EXPECT_EQ(*s.critical_lr, 0.25);

  const std::string e = error_of(
      R"({"base": {"schedule": {"kind": "cyclic"}},
          "grid": {"schedule.peak_multiple_of_critical": [2, 4]}})");
  EXPECT_THAT(e, HasSubstr("run-0000"));
  EXPECT_THAT(e, HasSubstr("schedule.peak_multiple_of_critical=2"));
  EXPECT_THAT(e, HasSubstr("critical_lr"));
}

TEST(Sweep, CanonicalFormIsIndependentOfTheFilesLayoutAndRoundTrips) {
  const Sweep a = parse_sweep(R"({"grid": {"train.seed": [1, 0], "schedule.lr": [0.5]},
                                  "base": {"train": {"epochs": 2}}})");
  const Sweep b = parse_sweep(
      R"({"base":{"train":{"epochs":2}},"grid":{"schedule.lr":[0.5],"train.seed":[1,0]}})");
  EXPECT_EQ(to_json(a), to_json(b));
  const Sweep c = parse_sweep(to_json(a));
  EXPECT_EQ(to_json(c), to_json(a));
  ASSERT_EQ(c.runs.size(), a.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i)
    EXPECT_EQ(to_json(c.runs[i].config), to_json(a.runs[i].config));
  // The value order is the file's: seed 1 runs first.
  EXPECT_EQ(a.runs[0].config.train.seed, 1U);
  // Another value is another sweep.
  EXPECT_NE(to_json(parse_sweep(R"({"grid": {"train.seed": [1, 2], "schedule.lr": [0.5]},
                                    "base": {"train": {"epochs": 2}}})")),
            to_json(a));
}

TEST(Sweep, MistakesAreRefusedNamingTheKey) {
  EXPECT_THAT(error_of("{\"grid\": "), HasSubstr("not valid JSON"));
  EXPECT_THAT(error_of("[1]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(error_of(R"({"grids": {}})"), HasSubstr("unknown key 'grids'"));
  EXPECT_THAT(error_of(R"({"base": {}})"), HasSubstr("no 'grid'"));
  EXPECT_THAT(error_of(R"({"grid": {}})"), HasSubstr("'grid' is empty"));
  EXPECT_THAT(error_of(R"({"grid": [1]})"), HasSubstr("'grid' must be an object"));
  EXPECT_THAT(error_of(R"({"grid": {"train.seed": []}})"),
              HasSubstr("grid 'train.seed' has no values"));
  EXPECT_THAT(error_of(R"({"grid": {"train.seed": 3}})"),
              HasSubstr("grid 'train.seed' must be an array"));
  EXPECT_THAT(error_of(R"({"grid": {"train.seed": [1, 2, 1]}})"),
              HasSubstr("grid 'train.seed' lists 1 twice"));
  EXPECT_THAT(error_of(R"({"grid": {"schedule.learning_rate": [0.1]}})"),
              HasSubstr("grid key 'schedule.learning_rate' is not a setting"));
  EXPECT_THAT(error_of(R"({"grid": {"optimizer": [{"kind": "sgd"}]}})"),
              HasSubstr("grid key 'optimizer' is not a setting"));
  EXPECT_THAT(error_of(R"({"grid": {"model.widths.0": [4]}})"),
              HasSubstr("grid key 'model.widths.0' is not a setting"));
  EXPECT_THAT(error_of(R"({"grid": {"out_dir": ["a", "b"]}})"), HasSubstr("'out_dir'"));
  const std::string wrong_type = error_of(R"({"grid": {"train.batch_size": [32, "big"]}})");
  EXPECT_THAT(wrong_type, HasSubstr("grid 'train.batch_size' value \"big\""));
  EXPECT_THAT(wrong_type, HasSubstr("non-negative integer"));
  EXPECT_THAT(error_of(R"({"grid": {"optimizer.kind": ["sgd", "rmsprop"]}})"),
              HasSubstr("grid 'optimizer.kind' value \"rmsprop\""));
  EXPECT_THAT(error_of(R"({"base": [], "grid": {"train.seed": [1]}})"),
              HasSubstr("'base' must be an object"));
  EXPECT_THAT(error_of(R"({"base": {"train": {"batch": 3}}, "grid": {"train.seed": [1]}})"),
              HasSubstr("'base': config: unknown key 'train.batch'"));
  EXPECT_THAT(error_of(R"({"base": {"out_dir": "x"}, "grid": {"train.seed": [1]}})"),
              HasSubstr("'base.out_dir'"));
  EXPECT_THAT(error_of(R"({"critical_lr": -1, "grid": {"train.seed": [1]}})"),
              HasSubstr("'critical_lr' must be a positive number"));
  EXPECT_THAT(error_of(R"({"grid": {"schedule.lr": [0.1, -1]}})"),
              HasSubstr("run-0001 (schedule.lr=-1)"));
  EXPECT_THAT(error_of(R"({"grid": {"dataset": ["mnist", "cifar"]}})"),
              HasSubstr("unknown dataset 'cifar'"));
  EXPECT_THAT(error_of(R"({"grid": {"optimizer.momentum": [0.5, 1.5]}})"),
              HasSubstr("run-0001 (optimizer.momentum=1.5)"));
}

TEST(Sweep, TooManyRunsAreRefusedNamingTheAxis) {
  auto list = [](int n) {  // [0,1,...,n-1]
    std::string s = "[0";
    for (int i = 1; i < n; ++i) {
      s += ',';
      s += std::to_string(i);
    }
    return s + "]";
  };
  const std::string values = list(40);
  // 25 · 40 = 1000 runs is the limit; 40 · 40 is too many.
  const std::string at_limit = list(25);
  const Sweep s =
      parse_sweep(R"({"grid": {"init_seed": )" + at_limit + R"(, "train.seed": )" + values + "}}");
  EXPECT_EQ(s.runs.size(), kMaxSweepRuns);
  const std::string e =
      error_of(R"({"grid": {"init_seed": )" + values + R"(, "train.seed": )" + values + "}}");
  EXPECT_THAT(e, HasSubstr("grid 'train.seed' brings the sweep to more than 1000 runs"));
}

}  // namespace
}  // namespace catapult::train
