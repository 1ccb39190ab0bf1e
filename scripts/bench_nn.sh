#!/usr/bin/env bash
# Runs bench/nn_bench.cpp (one training step) and bench/optim_bench.cpp (one optimizer update)
# and regenerates their tables in docs/nn_benchmarks.md from the JSON they write
# (docs/data/nn_bench.json, docs/data/optim_bench.json).
# REPS (default 3) and MIN_TIME (default 0.2 s) tune the runs; ONLY=nn or ONLY=optim runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release}
only=${ONLY:-}
mkdir -p docs/data
run() {  # run FAMILY FILTER
  cmake --build "$build" --target "$1_bench"
  "$build/bench/$1_bench" --benchmark_filter="$2" \
    --benchmark_repetitions="${REPS:-3}" --benchmark_min_time="${MIN_TIME:-0.2}" \
    --benchmark_out="docs/data/$1_bench.json" --benchmark_out_format=json
  python3 scripts/nn_bench_table.py "docs/data/$1_bench.json" --update docs/nn_benchmarks.md
}
[[ -z $only || $only == nn ]] && run nn 'BM_Nn_Step/'
[[ -z $only || $only == optim ]] && run optim 'BM_Optim_Step/'
exit 0
