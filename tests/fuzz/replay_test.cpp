// The normal suite's side of fuzzing: every committed seed and every input that once crashed a
// fuzz target (tests/fuzz/regressions/<target>/) is replayed through the target, so a fixed
// crash stays fixed (under the asan preset, with the sanitizers watching).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"

namespace catapult::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(CATAPULT_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const std::string& target, int (*fn)(const std::uint8_t*, std::size_t)) {
  const auto files = inputs_of(target);
  ASSERT_FALSE(files.empty()) << "no seeds for " << target << " under " << CATAPULT_FUZZ_DIR;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    std::ifstream in(f, std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                          std::istreambuf_iterator<char>()};
    EXPECT_EQ(fn(bytes.data(), bytes.size()), 0);
  }
}

TEST(FuzzReplay, Idx) { replay("idx", &idx); }
TEST(FuzzReplay, TrainConfig) { replay("train_config", &train_config); }
TEST(FuzzReplay, Sweep) { replay("sweep", &sweep); }

}  // namespace
}  // namespace catapult::fuzz
