// Linked into every test executable that catapult_add_isa_runs registers per ISA
// (cmake/CatapultIsaTests.cmake): under CATAPULT_ISA=<isa> it checks that the kernels really run
// on <isa>, and skips every test, with the reason, when this CPU does not support <isa>.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "catapult/kernels/isa.hpp"

namespace catapult::kernels {
namespace {

class ForcedIsa : public testing::Environment {
 public:
  void SetUp() override {
    const char* env = std::getenv("CATAPULT_ISA");
    if (env == nullptr || *env == '\0') return;
    const Isa isa = parse_isa(env);  // an unknown name throws: the run fails, as it should
    const auto isas = supported_isas();
    if (std::find(isas.begin(), isas.end(), isa) == isas.end()) {
      // GoogleTest 1.12 runs no test after a skip here but prints no "[  SKIPPED ]" line, which
      // is what CTest's SKIP_REGULAR_EXPRESSION (gtest_discover_tests) looks for: print it.
      std::printf("[  SKIPPED ] CATAPULT_ISA=%s: this CPU does not support it\n", env);
      GTEST_SKIP() << "CATAPULT_ISA=" << env << ": this CPU does not support it";
    }
    ASSERT_EQ(active_isa(), isa) << "CATAPULT_ISA=" << env << " was not applied";
  }
};

// Registered before main runs (gtest_main), so it applies to every test of the executable.
[[maybe_unused]] testing::Environment* const kForcedIsa =
    testing::AddGlobalTestEnvironment(new ForcedIsa);  // NOLINT(cppcoreguidelines-owning-memory)

}  // namespace
}  // namespace catapult::kernels
