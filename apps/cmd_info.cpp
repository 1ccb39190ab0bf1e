// `catapult info`: version, threads, the kernels' instruction set, the caches and the GEMM
// blocking derived from them.
#include <cstdio>
#include <string>

#include "catapult/core/threading.hpp"
#include "catapult/core/version.hpp"
#include "catapult/kernels/cache.hpp"
#include "catapult/kernels/isa.hpp"
#include "command.hpp"

namespace catapult::app {
namespace {

const CommandRegistrar kInfo{
    90, [](CLI::App& program) {
      auto* cmd = program.add_subcommand(
          "info", "Print the version, the threads available, the kernels' ISA and cache blocking");
      cmd->callback([] {
        std::string supported;
        for (const kernels::Isa isa : kernels::supported_isas())
          supported += (supported.empty() ? "" : " ") + std::string(kernels::to_string(isa));
        // active_isa() throws if CATAPULT_ISA is bad; main reports it in one line.
        const kernels::Isa active = kernels::active_isa();
        std::printf(
            "catapult %s\nthreads: %zu\nisa: %s (detected %s; supported: %s; force a lower "
            "one with CATAPULT_ISA)\n",
            CATAPULT_VERSION_STRING, max_threads(), kernels::to_string(active),
            kernels::to_string(kernels::detected_isa()), supported.c_str());
        // cache_sizes() throws if a CATAPULT_CACHE_* variable is bad, like CATAPULT_ISA above.
        std::printf("caches: %s (override with CATAPULT_CACHE_L1D, _L2, _L3)\ngemm blocking: %s\n",
                    kernels::describe(kernels::cache_sizes()).c_str(),
                    kernels::describe_gemm_blocking().c_str());
      });
    }};

}  // namespace
}  // namespace catapult::app
