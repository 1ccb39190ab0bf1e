// Fuzz target: train::apply_json, the JSON run configuration of `catapult train`.
#include <cstdlib>
#include <string>
#include <string_view>

#include "catapult/core/error.hpp"
#include "catapult/train/config.hpp"
#include "fuzz_targets.hpp"

namespace catapult::fuzz {

int train_config(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  train::RunConfig config;
  try {
    train::apply_json(config, text);
  } catch (const InvalidArgument&) {
    return 0;  // refused with the documented error (any other exception escapes and aborts)
  }
  // Accepted: writing the configuration and reading it back must give the same configuration.
  const std::string written = train::to_json(config);
  train::RunConfig again;
  train::apply_json(again, written);
  if (train::to_json(again) != written) std::abort();
  return 0;
}

}  // namespace catapult::fuzz
