// `catapult reproduce --resume`: a reproduction killed with SIGKILL part-way is started again
// with --resume; the experiments it had finished are kept untouched (their files are not
// rewritten), the others run, and every result file is identical to an uninterrupted run's: byte
// for byte, except the wall-clock timings (CSV columns and JSON keys named *seconds* or
// wall_time_s). A changed protocol keeps nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reliability/subprocess.hpp"
#include "reliability/synthetic_data.hpp"
#include "reliability/temp_dir.hpp"
#include "tiny_protocol.hpp"

namespace catapult::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const char* const kExperiments[] = {"table",  "dynamics",  "ntk",      "adagrad",
                                    "beyond", "phase-map", "calibrate"};

bool is_timing(const std::string& name) {
  return name.find("seconds") != std::string::npos || name == "wall_time_s";
}

// JSON without its timings, at any depth.
nlohmann::json without_timings(nlohmann::json j) {
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto& [k, v] : j.items())
      if (!is_timing(k)) out[k] = without_timings(v);
    return out;
  }
  if (j.is_array())
    for (auto& v : j) v = without_timings(v);
  return j;
}

// CSV text without its timing columns.
std::string csv_without_timings(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  std::vector<bool> keep;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string cell;
    std::size_t i = 0;
    const bool header = keep.empty();
    while (std::getline(cells, cell, ',')) {
      if (header) keep.push_back(!is_timing(cell));
      if (i < keep.size() && keep[i]) out += cell + ',';
      ++i;
    }
    out += '\n';
  }
  return out;
}

class ReproduceResume : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(data());
    write_synthetic_dataset(data(), 300, 100);  // 8×8 images, 10 classes
    write_protocol(app::reproduce::tiny_protocol(64, 10));
  }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path protocol() const { return dir_.path() / "tiny.json"; }
  void write_protocol(const nlohmann::json& p) const { std::ofstream(protocol()) << p.dump(2); }
  // Run in work directory `dir` with --out results (so the recorded command is the same).
  std::vector<std::string> args(bool resume = false) const {
    std::vector<std::string> a = {"reproduce", "all",           "--config",     protocol().string(),
                                  "--dataset", "fashion-mnist", "--data-dir",   data().string(),
                                  "--out",     "results",       "--no-figures", "--threads",
                                  "1"};
    if (resume) a.emplace_back("--resume");
    return a;
  }
  fs::path work(const std::string& name) const {
    fs::create_directories(dir_.path() / name);
    return dir_.path() / name;
  }
  TempDir dir_;
};

TEST_F(ReproduceResume, KilledReproductionResumesToIdenticalResults) {
  const auto ref = work("reference") / "results";
  const auto r0 = run_cli(args(), work("reference"), "reference");
  ASSERT_EQ(r0.exit_code, 0) << r0.err;

  // Killed as soon as the table is complete (the phase map before it too; the others are not).
  const auto out = work("killed") / "results";
  const auto child = start_cli(args(), work("killed"), "killed");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(out / "table" / "meta.json") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ::kill(child.pid, SIGKILL);
  const auto killed = wait_cli(child);
  ASSERT_EQ(killed.signal, SIGKILL) << "the reproduction ended before it could be killed (exit "
                                    << killed.exit_code << "): " << killed.err;
  ASSERT_FALSE(fs::exists(out / "ntk" / "meta.json"));
  const std::string table_meta = slurp(out / "table" / "meta.json");

  const auto r = run_cli(args(true), work("killed"), "resumed");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("phase-map: already complete"));
  EXPECT_THAT(r.out, HasSubstr("table: already complete"));
  EXPECT_THAT(r.out, Not(HasSubstr("ntk: already complete")));
  // The finished experiment was kept, not rerun.
  EXPECT_EQ(slurp(out / "table" / "meta.json"), table_meta);

  for (const char* e : kExperiments) {
    SCOPED_TRACE(e);
    std::size_t files = 0;
    for (const auto& f : fs::directory_iterator(ref / e)) {
      const auto name = f.path().filename();
      ASSERT_TRUE(fs::exists(out / e / name)) << name;
      if (name.extension() == ".json") {
        EXPECT_EQ(without_timings(nlohmann::json::parse(slurp(f.path()))),
                  without_timings(nlohmann::json::parse(slurp(out / e / name))))
            << name;
      } else if (name.extension() == ".csv") {
        EXPECT_EQ(csv_without_timings(slurp(f.path())), csv_without_timings(slurp(out / e / name)))
            << name;
      } else {
        EXPECT_TRUE(slurp(f.path()) == slurp(out / e / name)) << name << " differs";
      }
      ++files;
    }
    EXPECT_GE(files, 3U);
    EXPECT_FALSE(fs::exists(out / (std::string(".") += e) += ".partial"));
  }
  EXPECT_THAT(slurp(out / "REPORT.md"), HasSubstr("tiny test protocol"));
}

TEST_F(ReproduceResume, AnotherProtocolKeepsNothing) {
  ASSERT_EQ(run_cli(args(), work("run"), "first").exit_code, 0);
  // Same protocol: everything is kept.
  const auto same = run_cli(args(true), work("run"), "same");
  ASSERT_EQ(same.exit_code, 0) << same.err;
  for (const char* e : kExperiments)
    EXPECT_THAT(same.out, HasSubstr(std::string(e) + ": already complete"));
  // One value changed: every experiment runs again.
  auto p = app::reproduce::tiny_protocol(64, 10);
  p["ntk"]["steps"] = 25;
  write_protocol(p);
  const auto changed = run_cli(args(true), work("run"), "changed");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_THAT(changed.out, Not(HasSubstr("already complete")));
}

}  // namespace
}  // namespace catapult::test
