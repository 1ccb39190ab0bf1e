// Clean failures of the catapult program, run as a user runs it: a caller mistake (bad flag, bad
// value, bad config) exits with status 2 and a one-line message naming the bad value; a failure
// of the environment or the data (missing file, full disk) exits with status 1 and says what
// failed. Nothing is ignored and nothing crashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess.hpp"
#include "synthetic_data.hpp"
#include "temp_dir.hpp"

namespace catapult::test {
namespace {

using ::testing::HasSubstr;

constexpr int kUsage = 2;
constexpr int kFailure = 1;

struct UsageCase {
  std::vector<std::string> args;
  std::string named;  // what the message must name
};

TEST(CliErrors, BadFlagsAndValuesExitWithStatus2NamingTheValue) {
  TempDir dir;
  const std::vector<UsageCase> cases = {
      {{}, "subcommand"},
      {{"no-such-command"}, "no-such-command"},
      {{"info", "--no-such-flag"}, "--no-such-flag"},
      {{"data-summary", "--dataset", "cifar"}, "cifar"},
      {{"fetch-data", "--from", (dir.path() / "absent").string()}, "absent"},
  };
  for (const auto& c : cases) {
    std::string line = "catapult";
    for (const auto& a : c.args) line += " " + a;
    SCOPED_TRACE(line);
    const auto r = run_cli(c.args, dir.path());
    EXPECT_EQ(r.exit_code, kUsage) << r.err;
    EXPECT_THAT(r.err + r.out, HasSubstr(c.named));
  }
}

// Every subcommand the program lists (including ones added later) rejects an unknown flag with
// status 2, naming it.
TEST(CliErrors, EveryCommandRejectsAnUnknownFlag) {
  TempDir dir;
  const auto help = run_cli({"--help"}, dir.path(), "help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const auto at = help.out.find("Subcommands:");
  ASSERT_NE(at, std::string::npos) << help.out;
  std::vector<std::string> commands;
  std::istringstream lines(help.out.substr(at));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    commands.push_back(name);
  }
  ASSERT_GE(commands.size(), 4U) << help.out;
  for (const auto& c : commands) {
    SCOPED_TRACE(c);
    const auto r = run_cli({c, "--no-such-flag-xyz"}, dir.path(), c);
    EXPECT_EQ(r.exit_code, kUsage) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--no-such-flag-xyz"));
  }
}

TEST(CliErrors, MissingDataIsAFailureNamingTheFile) {
  TempDir dir;
  const auto r = run_cli({"data-summary", "--dir", dir.path().string(), "--no-verify"}, dir.path());
  EXPECT_EQ(r.exit_code, kFailure) << r.err;
  EXPECT_THAT(r.err, HasSubstr(dir.path().string()));
  EXPECT_THAT(r.err, HasSubstr("catapult: error:"));
}

// A full disk under standard output: the write error must be reported, not lost in stdio's buffer.
TEST(CliErrors, FullDiskOnStandardOutputIsReported) {
  TempDir dir;
  const auto r = run_cli({"info"}, dir.path(), "full", "/dev/full");
  EXPECT_EQ(r.exit_code, kFailure);
  EXPECT_THAT(r.err, HasSubstr("standard output"));
  const auto ok = run_cli({"info"}, dir.path(), "ok");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("catapult"));
}

}  // namespace
}  // namespace catapult::test

namespace catapult::test {
namespace {

// A small, quick `catapult train` on synthetic data.
class TrainFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(data());
    write_synthetic_dataset(data(), 300, 50);
  }
  std::filesystem::path data() const { return dir_.path() / "data"; }
  std::vector<std::string> args(const std::vector<std::string>& more) const {
    std::vector<std::string> a = {
        "train",    "--dataset", "fashion-mnist", "--data-dir", data().string(),
        "--widths", "64,16,10",  "--batch",       "10",         "--threads",
        "1"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  TempDir dir_;
};

TEST_F(TrainFailures, DivergingRunExitsNonZeroWithItsLogsIntact) {
  const auto out = dir_.path() / "out";
  const auto r =
      run_cli(args({"--lr", "1e8", "--steps", "100", "--eval-every", "5", "--out", out.string()}),
              dir_.path());
  EXPECT_EQ(r.exit_code, kFailure) << r.err;
  EXPECT_THAT(r.err, HasSubstr("diverged at step"));
  EXPECT_THAT(r.err, HasSubstr(out.string()));
  // The logs hold the steps up to the divergence, and the summary says what happened.
  const auto steps = slurp(out / "steps.csv");
  EXPECT_EQ(steps.rfind("step,epoch,loss,lr,grad_norm\n0,0,", 0), 0U) << steps;
  EXPECT_EQ(steps.back(), '\n');
  EXPECT_THAT(slurp(out / "evals.csv"), HasSubstr("step,epoch,train_loss"));
  EXPECT_THAT(slurp(out / "summary.json"), HasSubstr("diverged"));
}

TEST_F(TrainFailures, UnwritableOutputIsReportedNamingThePath) {
  const auto file = dir_.path() / "a-file";
  std::ofstream(file) << "x";
  for (const auto& bad : {file / "out", std::filesystem::path("/proc/catapult-test-out")}) {
    const auto r = run_cli(args({"--steps", "5", "--out", bad.string()}), dir_.path());
    EXPECT_EQ(r.exit_code, kFailure) << r.err;
    EXPECT_THAT(r.err, HasSubstr(bad.string()));
  }
  const auto ckpt = file / "run.ckpt";
  const auto r =
      run_cli(args({"--steps", "20", "--checkpoint-every", "5", "--checkpoint", ckpt.string()}),
              dir_.path());
  EXPECT_EQ(r.exit_code, kFailure) << r.err;
  EXPECT_THAT(r.err, HasSubstr(ckpt.string()));
}

// A full disk while the logs are written (a 16 KiB file-size limit on the process): reported,
// not ignored.
TEST_F(TrainFailures, FullDiskWhileLoggingIsReported) {
  const auto out = dir_.path() / "out";
  const auto r = wait_cli(start_cli(args({"--steps", "2000", "--out", out.string()}), dir_.path(),
                                    "full", "", 16 * 1024));
  EXPECT_EQ(r.exit_code, kFailure) << r.err;
  EXPECT_THAT(r.err, HasSubstr("steps.csv"));
}

TEST_F(TrainFailures, BadConfigFilesExitWithStatus2NamingTheValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"optimizer": {"kind": "rmsprop"}})", "rmsprop"},
      {R"({"schedule": {"lr": -3}})", "-3"},
      {R"({"train": {"batch_size": "many"}})", "batch_size"},
      {R"({"model": {"widths": [64, 0, 10]}})", "width 1"},
      {R"({"no_such_key": 1})", "no_such_key"},
      {R"({"schedule": {"lr": 1e999}})", "1e999"},  // found by fuzzing: number overflow
      {R"({"train": {"batch_size": 10,})", "config"},
  };
  int i = 0;
  for (const auto& [json, named] : cases) {
    SCOPED_TRACE(json);
    const auto path = dir_.path() / ("config" + std::to_string(i++) + ".json");
    std::ofstream(path) << json;
    // No --widths flag here: a flag would override the file's value.
    const auto r = run_cli({"train", "--dataset", "fashion-mnist", "--data-dir", data().string(),
                            "--steps", "5", "--config", path.string()},
                           dir_.path());
    EXPECT_EQ(r.exit_code, kUsage) << r.err;
    EXPECT_THAT(r.err, HasSubstr(named));
  }
}

TEST_F(TrainFailures, BadCheckpointFlagsExitWithStatus2) {
  const std::vector<UsageCase> cases = {
      {{"--checkpoint-every", "0", "--out", dir_.path().string()}, "--checkpoint-every 0"},
      {{"--checkpoint-every", "5"}, "--checkpoint PATH"},
      {{"--resume", (dir_.path() / "none.ckpt").string()}, "none.ckpt"},
      {{"--checkpoint-every", "x"}, "x"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.named);
    const auto r = run_cli(args(c.args), dir_.path());
    EXPECT_EQ(r.exit_code, kUsage) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.named));
  }
}

}  // namespace
}  // namespace catapult::test
