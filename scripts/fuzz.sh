#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, -fsanitize=fuzzer,address,undefined) and runs
# each for a bounded time, starting from the committed seeds (tests/fuzz/corpus/<target>/; never
# modified: new inputs go to build/fuzz/corpus-work/<target>/).
#   scripts/fuzz.sh [seconds per target (default 60)] [target ...]
# Prints executions, exec/s and coverage per target and writes them to build/fuzz/fuzz-summary.md.
# A crash stops the script with a non-zero status; the input is in build/fuzz/artifacts/<target>/.
# To keep it fixed: copy it to tests/fuzz/regressions/<target>/ (the normal suite replays it).
# CATAPULT_UPDATE_DOCS=1 also writes the table into docs/reliability.md (block fuzz-figures).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cd build/fuzz/tests/fuzz && ls fuzz_* | sed 's/^fuzz_//' | sort)
fi
summary=build/fuzz/fuzz-summary.md
{
  echo "| target | seconds | executions | exec/s | coverage (edges) | corpus | crashes |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$summary"
status=0
for t in "${targets[@]}"; do
  work=build/fuzz/corpus-work/$t
  artifacts=build/fuzz/artifacts/$t
  mkdir -p "$work" "$artifacts"
  log=build/fuzz/fuzz-$t.log
  echo "fuzz: $t for ${seconds}s"
  rc=0
  ./build/fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log")
  rate=$(awk '/stat::average_exec_per_sec/{print $2}' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corpus=$(find "$work" -type f | wc -l)
  crashes=$(find "$artifacts" -type f | wc -l)
  echo "| $t | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | $corpus | $crashes |" >>"$summary"
  echo "fuzz: $t: ${execs:-?} executions, ${rate:-?} exec/s, coverage ${cov:-?} edges, $crashes crashes"
  if ((rc != 0)); then
    echo "fuzz: $t FAILED (exit $rc); last lines of $log:"
    tail -40 "$log"
    status=1
  fi
done
cat "$summary"
if [[ "${CATAPULT_UPDATE_DOCS:-0}" == 1 && $status == 0 ]]; then
  {
    echo "Measured $(date -u +%Y-%m-%d) with \`CATAPULT_UPDATE_DOCS=1 scripts/fuzz.sh $seconds\`"
    echo "(clang $(clang++ --version | sed -n 's/.*version \([0-9.]*\).*/\1/p;q'), $(nproc) cores, one fuzzing process per target):"
    echo
    cat "$summary"
  } >build/fuzz/fuzz-doc.md
  bash scripts/update_doc_block.sh docs/reliability.md fuzz-figures build/fuzz/fuzz-doc.md
fi
exit $status
