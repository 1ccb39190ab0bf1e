#pragma once
// Runs the real `catapult` program as a child process (fork + execv), its standard output and
// error sent to files, so tests see exactly what a user sees: the exit status and the messages.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace catapult::test {

/// Path of the catapult binary under test (CATAPULT_CLI is set by CMake to
/// $<TARGET_FILE:catapult_cli>).
inline std::string cli_path() { return CATAPULT_CLI; }

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A started child process.
struct Child {
  pid_t pid = -1;
  std::filesystem::path out_file;
  std::filesystem::path err_file;
};

/// What a finished child did.
struct RunResult {
  int exit_code = -1;  ///< exit status, or -1 if killed by a signal
  int signal = 0;      ///< the signal that killed it, or 0
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// Starts `catapult args...` in work_dir (its working directory) with stdout/stderr redirected to
/// files there (named after tag) and stdin from /dev/null. `stdout_path`, when not empty, replaces
/// the stdout file (e.g.
/// "/dev/full"). file_size_limit > 0 caps the size of every file the child writes (RLIMIT_FSIZE,
/// with SIGXFSZ ignored): writes past it fail with EFBIG, as on a full disk.
inline Child start_cli(const std::vector<std::string>& args, const std::filesystem::path& work_dir,
                       const std::string& tag, const std::string& stdout_path = "",
                       rlim_t file_size_limit = 0) {
  Child c;
  c.out_file = stdout_path.empty() ? work_dir / (tag + ".out") : std::filesystem::path(stdout_path);
  c.err_file = work_dir / (tag + ".err");
  std::vector<std::string> argv_s = {cli_path()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  c.pid = ::fork();
  if (c.pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(c.out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(c.err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (::chdir(work_dir.c_str()) != 0) ::_exit(125);  // relative paths are the work dir's
    if (file_size_limit > 0) {
      std::signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{file_size_limit, file_size_limit};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return c;
}

/// Waits for a child (killing it with SIGKILL after timeout) and collects its output.
inline RunResult wait_cli(const Child& c,
                          std::chrono::seconds timeout = std::chrono::seconds(300)) {
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(c.pid, &status, WNOHANG);
    if (done == c.pid) break;
    if (done < 0 && errno != EINTR) return r;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (c.out_file != "/dev/full" && c.out_file != "/dev/null") r.out = slurp(c.out_file);
  r.err = slurp(c.err_file);
  return r;
}

/// Runs `catapult args...` to completion.
inline RunResult run_cli(const std::vector<std::string>& args,
                         const std::filesystem::path& work_dir, const std::string& tag = "run",
                         const std::string& stdout_path = "") {
  return wait_cli(start_cli(args, work_dir, tag, stdout_path));
}

}  // namespace catapult::test
