// The catapult command-line program: parses, calls the public API, reports errors.
#include <algorithm>
#include <cstdio>
#include <exception>

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
  return 0;
}
