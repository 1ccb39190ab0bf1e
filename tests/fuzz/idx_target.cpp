// Fuzz target: data::parse_idx (raw and gzip-compressed IDX files).
#include <cstdlib>
#include <span>

#include "catapult/core/error.hpp"
#include "catapult/data/idx.hpp"
#include "fuzz_targets.hpp"

namespace catapult::fuzz {

int idx(const std::uint8_t* data, std::size_t size) {
  data::IdxReadOptions options;
  // A small bound keeps each execution fast; the reader must check it on the header, before
  // allocating or inflating anything larger.
  options.max_bytes = std::uint64_t{1} << 20;
  data::IdxArray array;
  try {
    array = data::parse_idx(std::span<const std::uint8_t>(data, size), "fuzz-input", options);
  } catch (const DataError&) {
    return 0;  // refused with the documented error: fine
  }
  // Accepted: the header and the data must agree, and re-encoding must round-trip.
  if (array.data.size() != array.count() * data::idx_element_size(array.type)) std::abort();
  if (array.data.size() > options.max_bytes) std::abort();
  const auto encoded = data::encode_idx(array);
  const auto again = data::parse_idx(encoded, "re-encoded", options);
  if (again.type != array.type || again.dims != array.dims || again.data != array.data)
    std::abort();
  return 0;
}

}  // namespace catapult::fuzz
