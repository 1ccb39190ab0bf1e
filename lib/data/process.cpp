// fork/exec with a time limit; the child only calls async-signal-safe functions before exec.
#include "process.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "catapult/core/error.hpp"

namespace catapult::data::detail {
namespace {

/// Bytes of a program's output kept for messages.
constexpr std::size_t kOutputTail = 400;

std::string read_tail(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (s.size() > kOutputTail) s.erase(0, s.size() - kOutputTail);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  for (auto& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

bool program_in_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  while (true) {
    const auto colon = rest.find(':');
    const std::string_view entry = rest.substr(0, colon);  // an empty entry means "."
    const std::string candidate =
        (std::filesystem::path(entry.empty() ? std::string_view(".") : entry) / program).string();
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                          int timeout_s) {
  if (argv.empty()) throw InvalidArgument("run_process: empty argv");
  std::string out_template =
      (std::filesystem::temp_directory_path() / "catapult-process-XXXXXX").string();
  const int out_fd = ::mkstemp(out_template.data());
  if (out_fd < 0)
    throw RuntimeError(
        str_cat("run_process: cannot create a temporary file: ", std::strerror(errno)));
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string dir = cwd.string();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    ::unlink(out_template.c_str());
    throw RuntimeError(str_cat("run_process: fork failed: ", std::strerror(errno)));
  }
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_fd);

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (status >= 0 && WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (status >= 0 && WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  result.output = read_tail(out_template);
  ::unlink(out_template.c_str());
  return result;
}

}  // namespace catapult::data::detail
