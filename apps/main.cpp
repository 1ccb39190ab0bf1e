// The catapult command-line program: parses, calls the public API, reports errors.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "catapult/core/error.hpp"
#include "catapult/core/version.hpp"
#include "command.hpp"

namespace catapult::app {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace catapult::app

int main(int argc, char** argv) {
  using namespace catapult::app;
  CLI::App program{"catapult: catapults in SGD on multicore CPUs (version " CATAPULT_VERSION_STRING
                   ")"};
  program.require_subcommand(1);
  program.set_version_flag("--version", std::string(CATAPULT_VERSION_STRING));
  auto& registry = command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const CommandEntry& a, const CommandEntry& b) { return a.order < b.order; });
  for (const auto& entry : registry) entry.setup(program);
  // CLI11 reports an unknown command only as "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    std::string known;
    bool found = false;
    for (const auto* sub : program.get_subcommands([](CLI::App*) { return true; })) {
      found = found || sub->get_name() == word;
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      std::fprintf(stderr, "catapult: error: unknown command '%s' (commands: %s)\n", word.c_str(),
                   known.c_str());
      return kExitUsage;
    }
  }
  try {
    program.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = program.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  } catch (const catapult::InvalidArgument& e) {
    std::fprintf(stderr, "catapult: error: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "catapult: error: %s\n", e.what());
    return kExitFailure;
  }
  // Report a failed write to standard output (full disk, closed pipe) instead of losing it in
  // stdio's buffer at exit.
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "catapult: error: cannot write standard output: %s\n",
                 std::strerror(errno));
    return kExitFailure;
  }
  return 0;
}
