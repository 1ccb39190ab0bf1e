#pragma once
// Where the tests find the real MNIST files: $CATAPULT_MNIST_DIR, set by scripts/test.sh after
// `catapult fetch-data`. Tests that need the data skip (reported as skipped) when it is absent.

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace catapult::test {

inline std::optional<std::filesystem::path> mnist_dir() {
  const char* dir = std::getenv("CATAPULT_MNIST_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  const std::filesystem::path p(dir);
  if (!std::filesystem::exists(p / "train-images-idx3-ubyte")) return std::nullopt;
  return p;
}

}  // namespace catapult::test

/// Skips the current test with a reason when the MNIST files are not available.
#define CATAPULT_REQUIRE_MNIST(var)                                             \
  const auto var##_opt = ::catapult::test::mnist_dir();                         \
  if (!var##_opt)                                                               \
    GTEST_SKIP() << "MNIST not found: set CATAPULT_MNIST_DIR (scripts/test.sh " \
                    "fetches it)";                                              \
  const std::filesystem::path var = *var##_opt
