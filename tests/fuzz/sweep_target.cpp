// Fuzz target: train::parse_sweep, the sweep file of `catapult sweep`.
#include <cstdlib>
#include <string>
#include <string_view>

#include "catapult/core/error.hpp"
#include "catapult/train/sweep.hpp"
#include "fuzz_targets.hpp"

namespace catapult::fuzz {

int sweep(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  train::Sweep s;
  try {
    s = train::parse_sweep(text);
  } catch (const InvalidArgument&) {
    return 0;  // refused with the documented error (any other exception escapes and aborts)
  }
  // Accepted: the runs are the grid's points, named in order, within the limit ...
  std::size_t points = 1;
  for (const auto& axis : s.axes) {
    if (axis.values.empty()) std::abort();
    points *= axis.values.size();
  }
  if (s.axes.empty() || s.runs.size() != points || points > train::kMaxSweepRuns) std::abort();
  for (std::size_t i = 0; i < s.runs.size(); ++i)
    if (s.runs[i].index != i || s.runs[i].values.size() != s.axes.size() ||
        !s.runs[i].config.out_dir.empty())
      std::abort();
  // ... and the canonical form describes the same sweep: same text, same runs.
  const std::string canonical = train::to_json(s);
  const train::Sweep again = train::parse_sweep(canonical);
  if (train::to_json(again) != canonical || again.runs.size() != s.runs.size()) std::abort();
  for (std::size_t i = 0; i < s.runs.size(); ++i)
    if (again.runs[i].name != s.runs[i].name ||
        train::to_json(again.runs[i].config) != train::to_json(s.runs[i].config))
      std::abort();
  return 0;
}

}  // namespace catapult::fuzz
