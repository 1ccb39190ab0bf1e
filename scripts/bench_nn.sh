#!/usr/bin/env bash
# Runs bench/nn_bench.cpp and regenerates the table of docs/nn_benchmarks.md from its JSON.
# REPS (default 3) and MIN_TIME (default 0.2 s) tune the run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/data
build/release/bench/nn_bench --benchmark_filter='BM_Nn_Step/' \
  --benchmark_repetitions="${REPS:-3}" --benchmark_min_time="${MIN_TIME:-0.2}" \
  --benchmark_out=docs/data/nn_bench.json --benchmark_out_format=json
python3 scripts/nn_bench_table.py docs/data/nn_bench.json --update docs/nn_benchmarks.md
