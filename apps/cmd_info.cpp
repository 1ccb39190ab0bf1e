// `catapult info`: version, threads and SIMD of this build.
#include <cstdio>

#include "catapult/core/threading.hpp"
#include "catapult/core/version.hpp"
#include "command.hpp"

namespace catapult::app {
namespace {

const CommandRegistrar kInfo{
    90, [](CLI::App& program) {
      auto* cmd = program.add_subcommand("info", "Print the version and the threads available");
      cmd->callback([] {
        std::printf("catapult %s\nthreads: %zu\n", CATAPULT_VERSION_STRING, max_threads());
      });
    }};

}  // namespace
}  // namespace catapult::app
