// `catapult sweep`, run as a user runs it on a small synthetic dataset: every grid point is
// trained into its own directory exactly as `catapult train --config <its config.json>` trains
// it, the results table lists every run (diverged ones too), a rerun skips the finished runs and
// resumes an interrupted one from its checkpoint, and another sweep file in the same output
// directory is refused naming the setting that differs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess.hpp"
#include "synthetic_data.hpp"
#include "temp_dir.hpp"

namespace catapult::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Two seeds × a learning rate that trains and one that diverges: runs 0 and 1 complete, runs 2
// and 3 diverge.
std::string sweep_file(const std::string& good_lr = "0.05") {
  return R"({"base": {"dataset": "fashion-mnist", "model": {"widths": [64, 16, 10]},
                      "train": {"batch_size": 10, "steps": 45, "eval_every": 20}, "threads": 1},
             "grid": {"train.seed": [0, 1], "schedule.lr": [)" +
         good_lr + R"(, 1e8]}})";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A results.csv row without its last field (the run's wall time).
std::string without_seconds(const std::string& row) { return row.substr(0, row.rfind(',')); }

class SweepCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(data());
    write_synthetic_dataset(data(), 300, 50);
    write_sweep(sweep_file());
  }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path file() const { return dir_.path() / "sweep.json"; }
  fs::path out() const { return dir_.path() / "out"; }
  void write_sweep(const std::string& text) const { std::ofstream(file()) << text; }
  RunResult sweep(const std::string& tag, const std::vector<std::string>& more = {}) const {
    std::vector<std::string> args = {"sweep",        file().string(), "--out",
                                     out().string(), "--data-dir",    data().string()};
    args.insert(args.end(), more.begin(), more.end());
    return run_cli(args, dir_.path(), tag);
  }
  TempDir dir_;
};

TEST_F(SweepCli, TrainsEveryRunAndWritesTheResultsTable) {
  const auto r = sweep("first");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sweep: 4 runs over schedule.lr train.seed"));
  EXPECT_THAT(r.out, HasSubstr("2 diverged"));

  const auto rows = lines_of(slurp(out() / "results.csv"));
  ASSERT_EQ(rows.size(), 5U);
  EXPECT_EQ(rows[0],
            "run,schedule.lr,train.seed,status,steps,epochs,last_loss,test_loss,test_accuracy,"
            "seconds");
  EXPECT_EQ(rows[1].rfind("run-0000,0.05,0,completed,45,", 0), 0U) << rows[1];
  EXPECT_EQ(rows[2].rfind("run-0001,0.05,1,completed,45,", 0), 0U) << rows[2];
  EXPECT_EQ(rows[3].rfind("run-0002,100000000.0,0,diverged,", 0), 0U) << rows[3];
  EXPECT_EQ(rows[4].rfind("run-0003,100000000.0,1,diverged,", 0), 0U) << rows[4];

  const auto table = nlohmann::json::parse(slurp(out() / "results.json"));
  EXPECT_EQ(table.at("runs_total"), 4);
  EXPECT_EQ(table.at("runs_finished"), 4);
  EXPECT_EQ(table.at("runs").at(1).at("settings").at("train.seed"), 1);
  EXPECT_EQ(table.at("sweep").at("grid").at("schedule.lr").at(1), 1e8);
  const auto summary = nlohmann::json::parse(slurp(out() / "run-0001" / "summary.json"));
  EXPECT_EQ(table.at("runs").at(1).at("test_accuracy"), summary.at("test_accuracy"));
  EXPECT_TRUE(fs::exists(out() / "run-0000" / "weights.npz"));
  EXPECT_FALSE(fs::exists(out() / "run-0002" / "weights.npz"));  // diverged: logs only
  EXPECT_THAT(slurp(out() / "run-0002" / "summary.json"), HasSubstr("diverged"));

  // A run is exactly `catapult train --config <run>/config.json`.
  const auto alone = dir_.path() / "alone";
  const auto t = run_cli({"train", "--config", (out() / "run-0001" / "config.json").string(),
                          "--data-dir", data().string(), "--out", alone.string()},
                         dir_.path(), "alone");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(slurp(alone / "steps.csv"), slurp(out() / "run-0001" / "steps.csv"));
  EXPECT_EQ(slurp(alone / "evals.csv"), slurp(out() / "run-0001" / "evals.csv"));
}

TEST_F(SweepCli, RerunSkipsFinishedRunsAndResumesAnInterruptedOne) {
  ASSERT_EQ(sweep("first", {"--checkpoint-every", "15"}).exit_code, 0);
  const auto rows = lines_of(slurp(out() / "results.csv"));
  const auto steps = slurp(out() / "run-0001" / "steps.csv");
  // Run 1 "interrupted": its result is gone and its log has rows past its last checkpoint
  // (step 45 is a multiple of 15: drop the last checkpoint too, keep the one after step 30).
  fs::remove(out() / "run-0001" / "result.json");
  fs::rename(out() / "run-0001" / "checkpoint.ckpt.prev", out() / "run-0001" / "checkpoint.ckpt");
  std::ofstream(out() / "run-0001" / "steps.csv", std::ios::app) << "999,9,1,2,3\n";

  const auto r = sweep("again", {"--checkpoint-every", "15"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 runs already finished"));
  EXPECT_THAT(r.out, HasSubstr("resumed from"));
  EXPECT_THAT(r.out, HasSubstr("after step 30"));
  EXPECT_THAT(r.out, Not(HasSubstr("run-0000 (")));  // not run again
  EXPECT_EQ(slurp(out() / "run-0001" / "steps.csv"), steps);
  const auto again = lines_of(slurp(out() / "results.csv"));
  ASSERT_EQ(again.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(without_seconds(again[i]), without_seconds(rows[i]));

  // Everything finished: a third call runs nothing.
  const auto third = sweep("third", {"--checkpoint-every", "15"});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_THAT(third.out, HasSubstr("4 runs already finished"));
}

TEST_F(SweepCli, AnotherSweepInTheSameDirectoryIsRefusedNamingTheSetting) {
  ASSERT_EQ(sweep("first").exit_code, 0);
  write_sweep(sweep_file("0.06"));
  const auto r = sweep("changed");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(out().string()));
  EXPECT_THAT(r.err, HasSubstr("schedule.lr"));
  EXPECT_THAT(r.err, HasSubstr("0.06"));
  // The finished runs are untouched.
  EXPECT_THAT(slurp(out() / "results.csv"), HasSubstr("run-0000,0.05,"));
}

TEST_F(SweepCli, BadSweepFilesAndFlagsExitWithStatus2) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"grid": {"schedule.learning_rate": [0.1]}})", "schedule.learning_rate"},
      {R"({"grid": {"train.seed": []}})", "train.seed"},
      {R"({"grid": {"train.batch_size": [0, 10]}})", "batch_size is 0"},
      {R"({"base": {"model": {"widths": [64, 0, 10]}}, "grid": {"train.seed": [1]}})", "width 1"},
      {R"({"grid": {"train.seed": [1]},)", "not valid JSON"},
  };
  for (const auto& [text, named] : cases) {
    SCOPED_TRACE(text);
    write_sweep(text);
    const auto r = sweep("bad");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(named));
    EXPECT_FALSE(fs::exists(out())) << "nothing is written for a refused sweep";
  }
  write_sweep(sweep_file());
  auto r = run_cli({"sweep", file().string()}, dir_.path(), "no-out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--out"));
  r = run_cli({"sweep", (dir_.path() / "none.json").string(), "--out", out().string()}, dir_.path(),
              "no-file");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("none.json"));
  r = sweep("zero", {"--checkpoint-every", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--checkpoint-every 0"));
  // --dry-run lists the runs and writes nothing.
  r = sweep("dry", {"--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("run-0003 schedule.lr=100000000.0 train.seed=1"));
  EXPECT_FALSE(fs::exists(out()));
}

}  // namespace
}  // namespace catapult::test
