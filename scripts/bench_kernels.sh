#!/usr/bin/env bash
# Runs bench/kernels_bench.cpp once and regenerates the tables of docs/benchmarks.md from it.
# Usage: scripts/bench_kernels.sh   (env: REPS=3 MIN_TIME=0.2 BUILD_DIR=build/release FILTER=regex
#                                         PEAK_MARGIN=0.1 SECTION=name)
# SECTION names a second generated section of docs/benchmarks.md and its own JSON
# (docs/data/kernels_bench_<name>.json), e.g. CATAPULT_ISA=avx2 SECTION=avx2 for the forced-AVX2
# run on an AVX-512 machine (the binary then takes OpenBLAS's Haswell core as the peer).
# FILTER restricts the run to matching benchmarks (Google Benchmark's --benchmark_filter; default
# all: ~300 benchmarks, over an hour at REPS=5 on 2 cores, the naive variants being slow).
# Writes docs/data/kernels_bench.json (Google Benchmark JSON, aggregates over REPS repetitions),
# docs/data/kernels_lscpu.txt, and the generated section of docs/benchmarks.md.
# Fails (after writing them) when a GEMM beat the FMA peak by more than PEAK_MARGIN: bench_table.py
# prints "PEAK EXCEEDED" lines; such a run says the peak loop is wrong and must not be published.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release}
reps=${REPS:-3}
min_time=${MIN_TIME:-0.2}
section=${SECTION:-}
json=docs/data/kernels_bench${section:+_$section}.json
cmake --build "$build" --target kernels_bench
mkdir -p docs/data
lscpu > docs/data/kernels_lscpu.txt
"$build/bench/kernels_bench" --benchmark_filter="${FILTER:-.}" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json
# Compact the JSON (Google Benchmark indents it) before keeping it in the repository.
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); json.dump(d, open(sys.argv[1], "w"), separators=(",", ":"))' \
  "$json"
python3 scripts/bench_table.py "$json" --lscpu docs/data/kernels_lscpu.txt \
  --update docs/benchmarks.md --section "$section" --peak-margin "${PEAK_MARGIN:-0.1}" || {
  echo "bench_kernels.sh: PEAK EXCEEDED (lines above): a GEMM beat the FMA peak; do not publish" >&2
  exit 1
}
