// Exact resume: a `catapult train` process is killed with SIGKILL at an arbitrary moment after
// its first checkpoint, resumed with --resume, and its logs (every step's loss, rate and
// gradient norm, every evaluation) and final weights must be byte-identical to those of a run
// that was never interrupted, and its summary.json must list every evaluation (those before the
// resume too) with the same numbers. A corrupt or truncated checkpoint is refused with a message
// naming the file, and the previous checkpoint, kept as <path>.prev, resumes to the same result.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "subprocess.hpp"
#include "synthetic_data.hpp"
#include "temp_dir.hpp"

namespace catapult::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Adam (state buffers), a cyclic schedule (the rate depends on t), shuffling (the data order
// depends on the epoch) and evaluations whose train_loss averages across checkpoints.
std::vector<std::string> train_args(const fs::path& data, const fs::path& out,
                                    const std::string& steps = "6000") {
  return {"train",
          "--dataset",
          "fashion-mnist",
          "--data-dir",
          data.string(),
          "--out",
          out.string(),
          "--widths",
          "64,48,10",
          "--batch",
          "8",
          "--steps",
          steps,
          "--eval-every",
          "700",
          "--seed",
          "5",
          "--init-seed",
          "7",
          "--threads",
          "1",
          "--optimizer",
          "adam",
          "--schedule",
          "cyclic",
          "--lr",
          "0.0005",
          "--max-lr",
          "0.004",
          "--step-size-up",
          "300"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

void flip_byte(const fs::path& p, std::size_t offset) {
  auto bytes = slurp(p);
  bytes.at(offset) = static_cast<char>(bytes.at(offset) ^ 0x01);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(data());
    write_synthetic_dataset(data(), 1000, 200);
    // The reference: the same run, never interrupted.
    const auto r = run_cli(train_args(data(), ref()), dir_.path(), "reference");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path ref() const { return dir_.path() / "reference"; }

  // Starts the checkpointing run and SIGKILLs it as soon as its first checkpoint exists.
  void run_and_kill(const fs::path& out) { run_and_kill(out, train_args(data(), out)); }
  void run_and_kill(const fs::path& out, const std::vector<std::string>& args) {
    const auto ckpt = out / "checkpoint.ckpt";
    const auto child = start_cli(with(args, {"--checkpoint-every", "250"}), dir_.path(), "killed");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!fs::exists(ckpt) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    ::kill(child.pid, SIGKILL);
    const auto r = wait_cli(child);
    ASSERT_EQ(r.signal, SIGKILL) << "the run ended before it could be killed (exit " << r.exit_code
                                 << "): " << r.err;
    ASSERT_TRUE(fs::exists(ckpt));
  }

  void expect_same_as_reference(const fs::path& out) {
    for (const char* f : {"steps.csv", "evals.csv", "weights.npz"}) {
      const auto a = slurp(ref() / f), b = slurp(out / f);
      EXPECT_FALSE(a.empty()) << f;
      EXPECT_TRUE(a == b) << f << " differs from the uninterrupted run's (" << a.size() << " vs "
                          << b.size() << " bytes)";
    }
    // The summary lists every evaluation of the run, those before the resume included, with the
    // same numbers (only the timing differs).
    const auto a = nlohmann::json::parse(slurp(ref() / "summary.json"));
    const auto b = nlohmann::json::parse(slurp(out / "summary.json"));
    ASSERT_EQ(a.at("evals").size(), 6000U / 700 + 2);  // steps 0, 700, ..., 5600 and the end
    EXPECT_EQ(a.at("evals"), b.at("evals"));
    for (const char* key : {"status", "steps", "epochs", "last_loss", "test_loss", "test_accuracy"})
      EXPECT_EQ(a.at(key), b.at(key)) << key;
  }

  TempDir dir_;
};

TEST_F(Resume, KilledRunResumesToTheIdenticalTrace) {
  const auto out = dir_.path() / "run";
  run_and_kill(out);
  const auto r = run_cli(with(train_args(data(), out), {"--checkpoint-every", "250", "--resume",
                                                        (out / "checkpoint.ckpt").string()}),
                         dir_.path(), "resumed");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("resumed from"));
  expect_same_as_reference(out);
}

// A run whose controller re-measures η_crit every cycle and moves the peak (train::
// CriticalPeakController, both ways): the checkpoint holds the schedule in use and the
// controller's state (measurements, Lanczos warm start), so the resumed run sets the same peaks.
TEST_F(Resume, KilledRunWithACriticalPeakControllerResumesToTheIdenticalTrace) {
  const auto config = dir_.path() / "controller.json";
  std::ofstream(config) << R"({"controller": {"kind": "critical_peak", "peak_factor": 1.0,
      "every": 0, "samples": 32, "tolerance": 1e-6, "max_restarts": 300, "only_lower": false}})";
  auto args = [&](const fs::path& out) {
    auto a = train_args(data(), out);
    for (auto& v : a) {
      if (v == "adam") v = "sgd";
      if (v == "0.0005") v = "0.01";
      if (v == "0.004") v = "0.05";  // replaced by the controller
      if (v == "300") v = "100";     // cycles of 200 steps: re-measured before the checkpoint
    }
    return with(a, {"--config", config.string()});
  };
  const auto ref2 = dir_.path() / "reference-controller";
  const auto r0 = run_cli(args(ref2), dir_.path(), "reference-controller");
  ASSERT_EQ(r0.exit_code, 0) << r0.err;
  const auto out = dir_.path() / "run";
  run_and_kill(out, args(out));
  const auto r = run_cli(with(args(out), {"--checkpoint-every", "250", "--resume",
                                          (out / "checkpoint.ckpt").string()}),
                         dir_.path(), "resumed");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("resumed from"));
  // η_crit(0) and one re-measurement per cycle of 200 steps.
  const auto peaks = slurp(ref2 / "critical_peak.csv");
  EXPECT_EQ(std::count(peaks.begin(), peaks.end(), '\n'), 1 + 1 + 6000 / 200);
  for (const char* f : {"steps.csv", "evals.csv", "weights.npz", "critical_peak.csv"}) {
    const auto a = slurp(ref2 / f), b = slurp(out / f);
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_TRUE(a == b) << f << " differs from the uninterrupted run's (" << a.size() << " vs "
                        << b.size() << " bytes)";
  }
  // The peak did move: the cycles peak at more than one rate.
  std::istringstream lines(peaks);
  std::string line;
  std::getline(lines, line);  // header
  std::set<std::string> rates;
  while (std::getline(lines, line)) rates.insert(line.substr(line.rfind(',') + 1));
  EXPECT_GT(rates.size(), 2U) << peaks;
}

TEST_F(Resume, DamagedCheckpointIsRefusedAndThePreviousOneResumes) {
  const auto out = dir_.path() / "run";
  run_and_kill(out);
  const auto ckpt = out / "checkpoint.ckpt";
  // Make sure a previous checkpoint exists: resume briefly past the next checkpoint boundary.
  // (A second kill after the second checkpoint appears.)
  if (!fs::exists(ckpt.string() + ".prev")) {
    const auto before = fs::last_write_time(ckpt);
    const auto child = start_cli(
        with(train_args(data(), out), {"--checkpoint-every", "250", "--resume", ckpt.string()}),
        dir_.path(), "killed2");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while ((!fs::exists(ckpt.string() + ".prev") || fs::last_write_time(ckpt) == before) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    ::kill(child.pid, SIGKILL);
    ASSERT_EQ(wait_cli(child).signal, SIGKILL);
  }
  ASSERT_TRUE(fs::exists(ckpt.string() + ".prev"));
  const auto good = slurp(ckpt);

  flip_byte(ckpt, good.size() / 2);
  auto args =
      with(train_args(data(), out), {"--checkpoint-every", "250", "--resume", ckpt.string()});
  auto r = run_cli(args, dir_.path(), "corrupt");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(ckpt.string()));
  EXPECT_THAT(r.err, HasSubstr("checksum mismatch"));
  EXPECT_THAT(r.err, HasSubstr(".prev"));

  std::ofstream(ckpt, std::ios::binary | std::ios::trunc) << good.substr(0, good.size() - 1000);
  r = run_cli(args, dir_.path(), "truncated");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(ckpt.string()));
  EXPECT_THAT(r.err, HasSubstr("truncated"));

  // The refused resumes changed nothing; the previous checkpoint resumes to the same result.
  r = run_cli(with(train_args(data(), out), {"--resume", ckpt.string() + ".prev"}), dir_.path(),
              "from-prev");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_same_as_reference(out);
}

TEST_F(Resume, CheckpointOfAnotherConfigurationIsRefusedNamingTheKey) {
  const auto out = dir_.path() / "run";
  const auto ckpt = out / "checkpoint.ckpt";
  auto r = run_cli(with(train_args(data(), out, "500"), {"--checkpoint-every", "250"}), dir_.path(),
                   "short");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli(with(train_args(data(), out), {"--resume", ckpt.string(), "--beta1", "0.8"}),
              dir_.path(), "other-config");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("beta1"));
  // Continuing a finished run for more steps is allowed (the step count may grow) and lands on the
  // uninterrupted run's trace.
  r = run_cli(with(train_args(data(), out), {"--resume", ckpt.string()}), dir_.path(), "longer");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_same_as_reference(out);
}

}  // namespace
}  // namespace catapult::test
