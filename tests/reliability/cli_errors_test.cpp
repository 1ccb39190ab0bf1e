// Clean failures of the catapult program, run as a user runs it: a caller mistake (bad flag, bad
// value, bad config) exits with status 2 and a one-line message naming the bad value; a failure
// of the environment or the data (missing file, full disk) exits with status 1 and says what
// failed. Nothing is ignored and nothing crashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "subprocess.hpp"
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
