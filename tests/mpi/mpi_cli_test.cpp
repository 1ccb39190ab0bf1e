// The catapult program under mpirun (2 and 4 ranks, oversubscribed on 2 cores), checked against
// the same command in one process: the sweep table, data-parallel training, the sharded NTK,
// SIGKILL of one rank or of the whole job followed by a rerun, and bad input (more ranks than
// runs or samples, ranks that disagree, an output directory one rank cannot write), which must
// end with a message from rank 0 and a non-zero status, never a hang (every mpirun is waited for
// with a timeout, and CTest has its own).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "subprocess.hpp"
#include "support/mnist.hpp"
#include "synthetic_data.hpp"
#include "temp_dir.hpp"
#include "tiny_protocol.hpp"

namespace catapult::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// mpirun with the flags every test needs (4 ranks on 2 cores; CI runs as root).
std::vector<std::string> mpirun(int np) {
  return {CATAPULT_MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-n", std::to_string(np)};
}

// Starts argv in its own process group (so the whole job can be killed at once), output to files.
Child start(const std::vector<std::string>& args, const fs::path& dir, const std::string& tag) {
  Child c;
  c.out_file = dir / (tag + ".out");
  c.err_file = dir / (tag + ".err");
  std::vector<std::string> argv_s = args;
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  c.pid = ::fork();
  if (c.pid == 0) {
    ::setpgid(0, 0);
    const int out = ::open(c.out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(c.err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::setpgid(c.pid, c.pid);
  return c;
}

RunResult run(const std::vector<std::string>& args, const fs::path& dir, const std::string& tag) {
  const Child c = start(args, dir, tag);
  RunResult r = wait_cli(c, std::chrono::seconds(120));
  if (r.timed_out) ::kill(-c.pid, SIGKILL);  // the ranks too
  return r;
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> cli(const std::vector<std::string>& args) {
  return cat({CATAPULT_CLI}, args);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// results.csv without each row's last field (the run's wall time).
std::vector<std::string> table_without_seconds(const fs::path& csv) {
  std::vector<std::string> rows = lines_of(slurp(csv));
  for (auto& r : rows) r = r.substr(0, r.rfind(','));
  return rows;
}

// The PIDs of the processes mpirun started (its children).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> kids;
  std::ifstream in("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) +
                   "/children");
  for (pid_t p = 0; in >> p;) kids.push_back(p);
  return kids;
}

std::map<std::string, std::string> finished_results(const fs::path& out) {
  std::map<std::string, std::string> done;
  if (!fs::exists(out)) return done;
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_directory() && fs::exists(e.path() / "result.json"))
      done[e.path().filename().string()] = slurp(e.path() / "result.json");
  return done;
}

class MpiCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(data());
    write_synthetic_dataset(data(), 300, 50);
  }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path path(const std::string& name) const { return dir_.path() / name; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  RunResult sweep(int np, const fs::path& file, const fs::path& out, const std::string& tag,
                  const std::vector<std::string>& more = {}) const {
    const auto args =
        cat({"sweep", file.string(), "--out", out.string(), "--data-dir", data().string()}, more);
    return run(np == 0 ? cli(args) : cat(mpirun(np), cli(args)), dir_.path(), tag);
  }
  TempDir dir_;
};

// Three seeds × a rate that trains and one that diverges: 6 runs of 45 steps.
const char* kSmallSweep = R"({"base": {"dataset": "fashion-mnist",
  "model": {"widths": [64, 16, 10]}, "train": {"batch_size": 10, "steps": 45, "eval_every": 20},
  "threads": 1}, "grid": {"train.seed": [0, 1, 2], "schedule.lr": [0.05, 1e8]}})";

TEST_F(MpiCli, SweepOnTwoAndFourRanksWritesTheOneProcessTable) {
  const fs::path file = write("sweep.json", kSmallSweep);
  const RunResult one = sweep(0, file, path("one"), "one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto reference = table_without_seconds(path("one") / "results.csv");
  ASSERT_EQ(reference.size(), 7U);
  for (int np : {2, 4}) {
    const fs::path out = path("np" + std::to_string(np));
    const RunResult r = sweep(np, file, out, out.filename().string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(
        r.out, HasSubstr("6 runs over schedule.lr train.seed on " + std::to_string(np) + " ranks"));
    EXPECT_THAT(r.out, HasSubstr("3 diverged now"));
    EXPECT_EQ(table_without_seconds(out / "results.csv"), reference) << np << " ranks";
    // Each run is the one-process run, step for step.
    for (int i = 0; i < 6; ++i) {
      const std::string run = "run-000" + std::to_string(i);
      EXPECT_EQ(slurp(out / run / "steps.csv"), slurp(path("one") / run / "steps.csv")) << run;
    }
    // Runs were spread: some ran on a rank other than 0.
    EXPECT_THAT(r.out, HasSubstr("[rank 1]"));
  }
}

// The MPI rank of a process mpirun started (from its environment), or -1.
int rank_of(pid_t pid) {
  const std::string env = slurp("/proc/" + std::to_string(pid) + "/environ");
  const std::string key = std::string("OMPI_COMM_WORLD_RANK=");
  for (std::size_t at = 0; at < env.size(); at = env.find('\0', at) + 1) {
    if (env.compare(at, key.size(), key) == 0) return std::atoi(env.c_str() + at + key.size());
    if (env.find('\0', at) == std::string::npos) break;
  }
  return -1;
}

// A sweep killed once some runs have finished (SIGKILL to rank 0, which hands out the runs; to
// rank 1; or to every process of the job), then started again: the finished runs are not redone,
// the interrupted ones resume from their checkpoints, and the table is the one-process table.
// After one rank is killed, mpirun takes 1–2 s to end the others, which meanwhile keep training:
// the sweep is long enough (8 runs of about 0.7 s) that they cannot finish it alone.
enum class Kill { Rank0, Rank1, WholeJob };

class MpiSweepKill : public MpiCli, public ::testing::WithParamInterface<Kill> {};

TEST_P(MpiSweepKill, RerunFinishesWithoutRedoingFinishedRuns) {
  const Kill kill = GetParam();
  // 8 runs of 9000 steps, checkpoints every 1000 steps.
  const fs::path file = write("long.json", R"({"base": {"dataset": "fashion-mnist",
    "model": {"widths": [64, 128, 10]}, "train": {"batch_size": 32, "steps": 9000,
    "eval_every": 3000}, "threads": 1}, "grid": {"train.seed": [0, 1, 2, 3, 4, 5, 6, 7]}})");
  const std::vector<std::string> ckpt = {"--checkpoint-every", "1000"};
  const fs::path out = path("out");
  const auto args =
      cat(mpirun(2),
          cli(cat({"sweep", file.string(), "--out", out.string(), "--data-dir", data().string()},
                  ckpt)));
  const Child job = start(args, dir_.path(), "killed");
  // Wait for two finished runs, then kill.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (finished_results(out).size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(finished_results(out).size(), 2U) << "no run finished in 60 s";
  const std::vector<pid_t> ranks = children_of(job.pid);
  ASSERT_EQ(ranks.size(), 2U);
  if (kill == Kill::WholeJob) {
    // mpirun and every rank at once, as a batch system ends a job (Open MPI starts the ranks in
    // process groups of their own, so they are named one by one).
    for (const pid_t p : ranks) ::kill(p, SIGKILL);
    ASSERT_EQ(::kill(-job.pid, SIGKILL), 0);
  } else {
    // One rank; mpirun ends the other.
    const int victim = kill == Kill::Rank0 ? 0 : 1;
    const pid_t pid = rank_of(ranks[0]) == victim ? ranks[0] : ranks[1];
    ASSERT_EQ(rank_of(pid), victim);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
  }
  const RunResult killed = wait_cli(job, std::chrono::seconds(60));
  ::kill(-job.pid, SIGKILL);  // nothing of the job may outlive the test
  ASSERT_FALSE(killed.timed_out) << "the job did not end after the kill";
  EXPECT_TRUE(killed.exit_code != 0 || killed.signal != 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto done_before = finished_results(out);
  ASSERT_LT(done_before.size(), 8U) << "killed too late: every run had finished";
  // The table never counts a run whose result.json is missing.
  const json table = json::parse(slurp(out / "results.json"));
  for (const auto& row : table.at("runs"))
    EXPECT_TRUE(done_before.count(row.at("run").get<std::string>()) == 1) << row.dump();

  const RunResult again = sweep(2, file, out, "again", ckpt);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(std::to_string(done_before.size()) +
                                   " runs already finished in " + out.string() + ", skipped"));
  const auto done_after = finished_results(out);
  ASSERT_EQ(done_after.size(), 8U);
  for (const auto& [run, text] : done_before)
    EXPECT_EQ(done_after.at(run), text) << run << " was redone";  // same wall time: not rerun
  // The reference: the same sweep in one process, never interrupted.
  const RunResult one = sweep(0, file, path("one"), "one", ckpt);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(table_without_seconds(out / "results.csv"),
            table_without_seconds(path("one") / "results.csv"));
}

INSTANTIATE_TEST_SUITE_P(Sigkill, MpiSweepKill,
                         ::testing::Values(Kill::Rank0, Kill::Rank1, Kill::WholeJob),
                         [](const auto& p) {
                           return p.param == Kill::Rank0   ? "Rank0"
                                  : p.param == Kill::Rank1 ? "Rank1"
                                                           : "WholeJob";
                         });

TEST_F(MpiCli, MoreRanksThanRunsIsRefusedBeforeAnyRun) {
  const fs::path file = write("two.json", R"({"base": {"dataset": "fashion-mnist",
    "model": {"widths": [64, 8, 10]}, "train": {"steps": 5}}, "grid": {"train.seed": [0, 1]}})");
  const RunResult r = sweep(4, file, path("out"), "many");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("catapult: error: sweep: 4 ranks for 2 runs"));
  EXPECT_FALSE(fs::exists(path("out")));
}

TEST_F(MpiCli, RanksWithDifferentSweepsAreRefused) {
  const fs::path a = write("a.json", kSmallSweep);
  std::string other = kSmallSweep;
  other.replace(other.find("0.05"), 4, "0.04");
  const fs::path b = write("b.json", other);
  const auto tail =
      std::vector<std::string>{"--out", path("out").string(), "--data-dir", data().string()};
  // MPMD: rank 0 runs a.json, rank 1 b.json.
  const auto args =
      cat(cat(cat(mpirun(1), cli(cat({"sweep", a.string()}, tail))), {":", "-n", "1"}),
          cli(cat({"sweep", b.string()}, tail)));
  const RunResult r = run(args, dir_.path(), "mismatch");
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("catapult: error: sweep: the sweep (file contents, --out, "
                               "--data-dir, --checkpoint-every, --log-every): not the same on "
                               "every rank (rank(s) 1 differ from rank 0)"));
  EXPECT_TRUE(finished_results(path("out")).empty());
}

TEST_F(MpiCli, AnOutputDirectoryOneRankCannotWriteIsAnErrorAndKeepsTheFinishedRuns) {
  // Rank 0 works in d0, rank 1 in d1, both with --out out: d0/out holds a finished sweep, and
  // d1/out is a file, so rank 1 cannot create anything there.
  const fs::path file = write("sweep.json", kSmallSweep);
  fs::create_directories(path("d0"));
  fs::create_directories(path("d1"));
  std::ofstream(path("d1") / "out") << "not a directory\n";
  const RunResult first = sweep(0, file, path("d0") / "out", "first");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto before = finished_results(path("d0") / "out");
  ASSERT_EQ(before.size(), 6U);
  const auto command = cli({"sweep", file.string(), "--out", "out", "--data-dir", data().string()});
  const auto args = cat(cat(cat(cat(mpirun(1), {"-wdir", path("d0").string()}), command),
                            {":", "-n", "1", "-wdir", path("d1").string()}),
                        command);
  const RunResult r = run(args, dir_.path(), "unwritable");
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(
      r.err, HasSubstr("catapult: error: rank 1: sweep: cannot write in the output directory out"));
  EXPECT_EQ(finished_results(path("d0") / "out"), before);
}

TEST_F(MpiCli, ARunThatFailsOnOneRankEndsTheJobWithItsErrorAndKeepsTheFinishedRuns) {
  const fs::path file = write("sweep.json", kSmallSweep);
  const fs::path out = path("out");
  ASSERT_EQ(sweep(2, file, out, "first").exit_code, 0);
  // Runs 3–5 to do again; run-0003's directory cannot be made (a file is in the way), so the
  // rank that takes it fails in the middle of the sweep while the other is training.
  fs::remove_all(out / "run-0003");
  std::ofstream(out / "run-0003") << "in the way\n";
  fs::remove(out / "run-0004" / "result.json");
  fs::remove(out / "run-0005" / "result.json");
  const auto before = finished_results(out);
  ASSERT_EQ(before.size(), 3U);
  const RunResult r = sweep(2, file, out, "failing");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, ::testing::ContainsRegex("catapult: error: rank [01] of 2: .*run-0003"));
  const auto after = finished_results(out);
  for (const auto& [run, text] : before) EXPECT_EQ(after.at(run), text) << run;
}

TEST_F(MpiCli, RanksWithDifferentTrainingRunsAreRefused) {
  const auto common = std::vector<std::string>{"train",      "--dataset",         "fashion-mnist",
                                               "--data-dir", data().string(),     "--widths",
                                               "64,8,10",    "--steps",           "5",
                                               "--out",      path("out").string()};
  const auto args = cat(cat(cat(mpirun(1), cli(cat(common, {"--lr", "0.1"}))), {":", "-n", "1"}),
                        cli(cat(common, {"--lr", "0.2"})));
  const RunResult r = run(args, dir_.path(), "mismatch");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("catapult: error: train: the run configuration and options: not "
                               "the same on every rank (rank(s) 1 differ from rank 0)"));
  EXPECT_FALSE(fs::exists(path("out") / "steps.csv"));
}

// `catapult train` flags of a short run on the synthetic set.
std::vector<std::string> train_args(const fs::path& data, const fs::path& out, int steps) {
  return {"train",
          "--dataset",
          "fashion-mnist",
          "--data-dir",
          data.string(),
          "--widths",
          "64,32,10",
          "--batch",
          "24",
          "--steps",
          std::to_string(steps),
          "--lr",
          "0.1",
          "--momentum",
          "0.9",
          "--eval-every",
          "20",
          "--threads",
          "1",
          "--out",
          out.string()};
}

std::vector<double> column(const fs::path& csv, std::size_t index) {
  std::vector<double> values;
  const auto rows = lines_of(slurp(csv));
  for (std::size_t i = 1; i < rows.size(); ++i) {
    std::istringstream in(rows[i]);
    std::string field;
    for (std::size_t c = 0; c <= index; ++c) std::getline(in, field, ',');
    values.push_back(std::stod(field));
  }
  return values;
}

TEST_F(MpiCli, DataParallelTrainingFollowsTheOneProcessLossTrace) {
  const RunResult one = run(cli(train_args(data(), path("one"), 60)), dir_.path(), "one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto reference = column(path("one") / "steps.csv", 2);
  ASSERT_EQ(reference.size(), 60U);
  for (int np : {2, 4}) {
    const fs::path out = path("np" + std::to_string(np));
    const RunResult r =
        run(cat(mpirun(np), cli(cat(train_args(data(), out, 60), {"--check-every", "10"}))),
            dir_.path(), out.filename().string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // 6 periodic bit-identity checks and the final one, all passed.
    EXPECT_THAT(r.out, HasSubstr("data-parallel: 7 parameter checks passed"));
    const auto losses = column(out / "steps.csv", 2);
    ASSERT_EQ(losses.size(), 60U);
    // The stated bound (dist/data_parallel.hpp): per step, |L_N − L_1| ≤ 1e-5·|L_1|.
    for (std::size_t t = 0; t < 60; ++t)
      EXPECT_LE(std::abs(losses[t] - reference[t]), 1e-5 * std::abs(reference[t]))
          << "step " << t << " on " << np << " ranks";
    EXPECT_LT(losses.back(), 0.9 * losses.front());  // it trained
  }
}

TEST_F(MpiCli, DataParallelCheckpointResumesToTheUninterruptedRun) {
  // Uninterrupted: 60 steps on 2 ranks. Interrupted: 30 steps with a checkpoint at 30, then
  // resumed to 60 on 2 ranks. Same order of operations: the same bits.
  const RunResult full =
      run(cat(mpirun(2), cli(train_args(data(), path("full"), 60))), dir_.path(), "full");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const RunResult part = run(
      cat(mpirun(2), cli(cat(train_args(data(), path("part"), 30), {"--checkpoint-every", "30"}))),
      dir_.path(), "part");
  ASSERT_EQ(part.exit_code, 0) << part.err;
  ASSERT_TRUE(fs::exists(path("part") / "checkpoint.ckpt"));
  const RunResult resumed =
      run(cat(mpirun(2), cli(cat(train_args(data(), path("part"), 60),
                                 {"--resume", (path("part") / "checkpoint.ckpt").string()}))),
          dir_.path(), "resumed");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("resumed from"));
  EXPECT_EQ(slurp(path("part") / "steps.csv"), slurp(path("full") / "steps.csv"));
  EXPECT_EQ(slurp(path("part") / "weights.npz"), slurp(path("full") / "weights.npz"));
}

TEST_F(MpiCli, DataParallelBatchSmallerThanTheRanksIsRefused) {
  auto args = train_args(data(), path("out"), 5);
  args[8] = "3";  // --batch 3
  const RunResult r = run(cat(mpirun(4), cli(args)), dir_.path(), "small");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("a batch of 3 samples over 4 ranks"));
}

std::vector<std::string> ntk_args(const fs::path& data, const fs::path& out) {
  return {"ntk",      "--dir",       data.string(), "--no-verify", "--samples",
          "0",        "--widths",    "64,32,10",    "--mode",      "full",
          "--method", "matrix-free", "--precision", "double",      "--nev",
          "2",        "--tolerance", "1e-10",       "--out",       out.string()};
}

TEST_F(MpiCli, ShardedNtkGivesTheOneProcessEigenvalues) {
  const RunResult one = run(cli(ntk_args(data(), path("one.json"))), dir_.path(), "one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const json ref = json::parse(slurp(path("one.json")));
  // np 0: one process without mpirun, the sharded operator forced with --method sharded.
  for (int np : {0, 2, 4}) {
    const fs::path out = path("np" + std::to_string(np) + ".json");
    auto args = ntk_args(data(), out);
    if (np == 0) args[11] = "sharded";
    const RunResult r = run(np == 0 ? cli(args) : cat(mpirun(np), cli(args)), dir_.path(), "ntk");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(slurp(out));
    EXPECT_EQ(j.at("method"), "sharded");
    EXPECT_EQ(j.at("ranks"), std::max(np, 1));
    EXPECT_EQ(j.at("n"), 300);
    for (std::size_t i = 0; i < 2; ++i) {
      const double a = j.at("eigenvalues")[i].get<double>();
      const double b = ref.at("eigenvalues")[i].get<double>();
      EXPECT_LE(std::abs(a - b), 1e-9 * ref.at("lambda_max").get<double>()) << i << " np " << np;
    }
  }
}

TEST_F(MpiCli, ShardedNtkWithFewerSamplesThanRanksIsRefused) {
  auto args = ntk_args(data(), path("x.json"));
  args[4] = "--samples";
  args[5] = "3";
  const RunResult r = run(cat(mpirun(4), cli(args)), dir_.path(), "few");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("3 samples over 4 ranks"));
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(MpiCli, CommandsThatDoNotShareWorkAreRefusedOnSeveralRanks) {
  const RunResult r = run(cat(mpirun(2), cli({"fetch-data", "--help"})), dir_.path(), "fetch");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("'fetch-data' does not run under MPI with more than one rank "
                               "(distributed: sweep, train, ntk, reproduce phase-map)"));
  // Of the reproduction only the phase map shares its runs: every other experiment, `all` and
  // `report` are refused once (by rank 0) before anything is read or written.
  for (const std::string experiment : {"table", "calibrate", "all", "report"}) {
    const RunResult e =
        run(cat(mpirun(2), cli({"reproduce", experiment, "--out", path("out").string()})),
            dir_.path(), "repro");
    EXPECT_FALSE(e.timed_out);
    EXPECT_EQ(e.exit_code, 2) << e.err;
    EXPECT_THAT(e.err, HasSubstr("catapult: error: reproduce: '" + experiment +
                                 "' does not run under MPI with more than one rank (distributed: "
                                 "reproduce phase-map, sweep, train, ntk); run it without mpirun"));
    EXPECT_EQ(count_of(e.err, "catapult: error"), 1U) << e.err;
    EXPECT_FALSE(fs::exists(path("out")));
  }
}

// The lines of a text file without those that start with `skip` (empty: none skipped).
std::vector<std::string> lines_without(const fs::path& file, const std::string& skip) {
  std::vector<std::string> kept;
  for (auto& line : lines_of(slurp(file)))
    if (skip.empty() || line.rfind(skip, 0) != 0) kept.push_back(line);
  return kept;
}

// Every run record of a phase map (<out>/.phase-map.runs/<key>.json) less its wall time.
std::map<std::string, json> phase_map_records(const fs::path& results) {
  std::map<std::string, json> records;
  for (const auto& e : fs::directory_iterator(results / ".phase-map.runs")) {
    json j = json::parse(slurp(e.path()));
    j.at("result").erase("seconds");
    records[e.path().filename().string()] = j;
  }
  return records;
}

// `catapult reproduce phase-map` under mpirun (2 and 3 ranks, every rank but 0 in a work
// directory of its own) against one process on the tiny protocol of the reproduce tests: the
// same tables, section and run records (less the wall times), runs spread over the ranks, and
// nothing written by the ranks other than 0. Then a map whose records were partly lost (a
// whole unit, and one arm of a unit whose first arm survived) resumes on 3 ranks to the same
// map, training only what is missing.
class MpiPhaseMap : public MpiCli {
 protected:
  void SetUp() override {
    fs::create_directories(data());
    write_synthetic_dataset(data(), 300, 100);  // 8×8 images, 10 classes
    write("tiny.json", app::reproduce::tiny_protocol(64, 10).dump(2));
  }
  std::vector<std::string> args(bool resume = false) const {
    std::vector<std::string> a = {
        "reproduce", "phase-map",     "--config",     path("tiny.json").string(),
        "--dataset", "fashion-mnist", "--data-dir",   data().string(),
        "--out",     "results",       "--no-figures", "--threads",
        "1"};
    if (resume) a.emplace_back("--resume");
    return a;
  }
  // mpirun: rank 0 in work/rank0, the other np − 1 ranks in work/others.
  RunResult on_ranks(int np, const fs::path& work, const std::string& tag,
                     bool resume = false) const {
    fs::create_directories(work / "rank0");
    fs::create_directories(work / "others");
    const auto command = cli(args(resume));
    const auto argv =
        cat(cat(cat(cat(mpirun(1), {"-wdir", (work / "rank0").string()}), command),
                {":", "-n", std::to_string(np - 1), "-wdir", (work / "others").string()}),
            command);
    return run(argv, dir_.path(), tag);
  }
  void expect_same_map(const fs::path& results, const fs::path& reference) const {
    const fs::path map = results / "phase-map", ref = reference / "phase-map";
    EXPECT_EQ(slurp(map / "points.csv"), slurp(ref / "points.csv"));
    EXPECT_EQ(slurp(map / "adagrad_points.csv"), slurp(ref / "adagrad_points.csv"));
    EXPECT_EQ(table_without_seconds(map / "runs.csv"), table_without_seconds(ref / "runs.csv"));
    EXPECT_EQ(lines_without(map / "section.md", "Runs: "),
              lines_without(ref / "section.md", "Runs: "));
    EXPECT_EQ(phase_map_records(results), phase_map_records(reference));
  }
};

TEST_F(MpiPhaseMap, RunsOnSeveralRanksToTheOneProcessMap) {
  fs::create_directories(path("one"));
  const RunResult one = run_cli(args(), path("one"), "one");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const fs::path reference = path("one") / "results";
  ASSERT_TRUE(fs::exists(reference / "phase-map" / "adagrad_points.csv"));
  const std::size_t runs =
      json::parse(slurp(reference / "phase-map" / "meta.json")).at("runs").get<std::size_t>();
  ASSERT_GT(runs, 30U);
  for (int np : {2, 3}) {
    SCOPED_TRACE(np);
    const fs::path work = path("np" + std::to_string(np));
    const RunResult r = on_ranks(np, work, "np" + std::to_string(np));
    ASSERT_FALSE(r.timed_out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path results = work / "rank0" / "results";
    expect_same_map(results, reference);
    // The whole section, its run count included: every run made now, none reused.
    EXPECT_EQ(slurp(results / "phase-map" / "section.md"),
              slurp(reference / "phase-map" / "section.md"));
    EXPECT_THAT(r.out, HasSubstr(" thread(s) per rank on " + std::to_string(np) + " ranks"));
    EXPECT_THAT(r.out, HasSubstr("[rank 1]"));  // runs were spread
    EXPECT_THAT(r.out, HasSubstr("[rank 0]"));
    EXPECT_TRUE(fs::exists(results / "REPORT.md"));
    EXPECT_TRUE(fs::is_empty(work / "others")) << "a rank other than 0 wrote a file";
  }

  // Lose records of the 3-rank map: a whole SGD baseline, and the constant and sub-critical
  // arms of one SGD point (its catapult arm stays), and the outputs; resume on 3 ranks.
  const fs::path results = path("np3") / "rank0" / "results";
  const fs::path records = results / ".phase-map.runs";
  fs::remove_all(results / "phase-map");
  ASSERT_TRUE(fs::remove(records / "b16-s1-baseline.json"));
  ASSERT_TRUE(fs::remove(records / "triangular-b16-c4-s2-constant.json"));
  ASSERT_TRUE(fs::remove(records / "triangular-b16-c4-s2-subcritical.json"));
  const std::string kept = slurp(records / "triangular-b16-c4-s2-catapult.json");
  const RunResult resumed = on_ranks(3, path("np3"), "resumed", true);
  ASSERT_FALSE(resumed.timed_out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_same_map(results, reference);
  EXPECT_THAT(
      slurp(results / "phase-map" / "section.md"),
      HasSubstr("Runs: " + std::to_string(runs) + " (" + std::to_string(runs - 3) + " reused"));
  // The surviving arm was not run again (its record is untouched, wall time included).
  EXPECT_EQ(slurp(records / "triangular-b16-c4-s2-catapult.json"), kept);
  EXPECT_EQ(count_of(resumed.out, "(3 runs)"), 1U) << resumed.out;  // the one SGD point
  EXPECT_TRUE(fs::is_empty(path("np3") / "others"));
}

TEST_F(MpiCli, RealMnistLambdaMaxOnTwoRanksEqualsOneProcess) {
  CATAPULT_REQUIRE_MNIST(mnist);
  const std::vector<std::string> args = {
      "ntk",    "--dir", mnist.string(), "--samples",   "2000",        "--widths", "784,256,10",
      "--mode", "full",  "--method",     "matrix-free", "--tolerance", "1e-8"};
  const RunResult one = run(cli(cat(args, {"--out", path("one.json").string()})), dir_.path(), "1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const RunResult two =
      run(cat(mpirun(2), cli(cat(args, {"--out", path("two.json").string()}))), dir_.path(), "2");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const double a = json::parse(slurp(path("one.json"))).at("lambda_max").get<double>();
  const double b = json::parse(slurp(path("two.json"))).at("lambda_max").get<double>();
  // Float operators (the library's fused one, the sharded one) with a solver tolerance of 1e-8:
  // agreement to float accuracy of the products.
  EXPECT_LE(std::abs(a - b), 1e-5 * a) << a << " vs " << b;
}

TEST_F(MpiPhaseMap, ABadProtocolEndsTheJobWithItsErrorAndWritesNothing) {
  auto p = app::reproduce::tiny_protocol(64, 10);
  p["phase_map"].erase("rule");
  write("tiny.json", p.dump(2));
  const RunResult r = on_ranks(2, path("bad"), "bad");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("reproduce phase-map: bad protocol:"));
  EXPECT_THAT(r.err, HasSubstr("'rule' not found"));
  EXPECT_TRUE(fs::is_empty(path("bad") / "rank0"));
  EXPECT_TRUE(fs::is_empty(path("bad") / "others"));
}

}  // namespace
}  // namespace catapult::test
