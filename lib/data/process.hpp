#pragma once
// Running an external program (curl, npm, tar) without a shell, with a time limit.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace catapult::data::detail {

/// The outcome of run_process.
struct ProcessResult {
  int exit_code = -1;      ///< the program's exit status; 127 when it could not be executed
  bool timed_out = false;  ///< killed after the time limit
  std::string output;      ///< the last few hundred bytes of its stdout + stderr
};

/// Runs argv[0] (searched in PATH) with argv, in directory cwd, stdin from /dev/null, stdout and
/// stderr captured into a temporary file; kills it (SIGKILL to its process group) after
/// timeout_s seconds. Throws RuntimeError if the process cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                          int timeout_s);

/// True if `program` is an executable found in PATH.
bool program_in_path(const std::string& program);

}  // namespace catapult::data::detail
