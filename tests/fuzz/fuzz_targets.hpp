#pragma once
// Fuzz targets: each takes arbitrary bytes, feeds them to a parser through its in-memory entry
// point, and checks what the parser promises: either a project error (DataError/InvalidArgument)
// or a result that satisfies the format's invariants. Anything else (a crash, a sanitizer report,
// another exception, a broken invariant) aborts. The same functions run under libFuzzer
// (fuzz_main.cpp, preset `fuzz`) and, in the normal suite, replay the committed corpora and the
// regression inputs (replay_test.cpp).

#include <cstddef>
#include <cstdint>

namespace catapult::fuzz {

/// IDX reader (raw and gzip) via data::parse_idx; a decoded array must re-encode to an input
/// that decodes to the same array.
int idx(const std::uint8_t* data, std::size_t size);

/// JSON run configuration of `catapult train` via train::apply_json: either InvalidArgument or
/// a configuration that to_json/apply_json round-trips exactly.
int train_config(const std::uint8_t* data, std::size_t size);

/// Sweep file of `catapult sweep` via train::parse_sweep: either InvalidArgument or a sweep whose
/// runs are the grid's points (at most kMaxSweepRuns) and whose canonical form (to_json) parses
/// to the same canonical text and the same run configurations.
int sweep(const std::uint8_t* data, std::size_t size);

}  // namespace catapult::fuzz
