// libFuzzer entry point for one target, chosen at compile time (CATAPULT_FUZZ_TARGET).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return catapult::fuzz::CATAPULT_FUZZ_TARGET(data, size);
}
