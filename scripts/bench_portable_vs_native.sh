#!/usr/bin/env bash
# The portable build (preset release: one x86-64 binary, kernels chosen at start-up) against the
# native build (preset native: -march=native for everything) on this machine, on every kernel ISA
# the CPU has (each forced in both builds with CATAPULT_ISA), in ROUNDS rounds that alternate the
# two builds back to back. Per round and ISA each build runs kernels_bench's paired GEMMs (ours and
# OpenBLAS in one process, 1 thread, CPU time) and nn_bench's fused SGD step on 784-1024-10
# (BM_Nn_Step: our step and the same five products in OpenBLAS, timed back to back).
# Prints, per case, portable / native (> 1: the portable build is faster), the median over the
# rounds with its range, for two measures:
#   - "GEMM": ours against OpenBLAS in the portable run over the same in the native run (OpenBLAS,
#     one library in both, is the yardstick that cancels how busy the machine was at each moment);
#   - "step": the step efficiency t(OpenBLAS's five products) / t(our step) in the portable run
#     over the same in the native run, the same yardstick.
# The issue's target: the portable build within 5 % of the native one on each ISA.
#
#   scripts/bench_portable_vs_native.sh   (env: ROUNDS=3 MIN_TIME=0.2 ISAS="avx512 avx2"
#                                               UPDATE_DOC=docs/benchmarks.md to rewrite its block)
#
# Writes docs/data/portable_vs_native.json (every round of every case) and prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
min_time=${MIN_TIME:-0.2}
if [[ -z ${ISAS:-} ]]; then
  ISAS=""
  grep -qw avx512f /proc/cpuinfo && ISAS="avx512"
  grep -qw avx2 /proc/cpuinfo && ISAS="$ISAS avx2"
fi
gemm_filter='BM_Kernels_Paired(Square<float>/n:(512|1024)|Mlp<float>/pass:[0-3]/batch:(32|128|1024)/hidden:1024)/threads:1/'
step_filter='BM_Nn_Step/hidden:1024/batch:(32|128|1024)/threads:1/'

for preset in release native; do
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" --target kernels_bench nn_bench >&2
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
uptime >"$tmp/load_start"
# The code measured: HEAD, and whether anything outside docs/ (which the benchmark scripts rewrite)
# differs from it.
echo "commit $(git rev-parse --short HEAD)$([[ -n $(git status --porcelain --untracked-files=no -- . ':!docs') ]] && echo ' (with uncommitted changes)')" >"$tmp/commit"
for r in $(seq 1 "$rounds"); do
  # Alternate which build goes first, so neither always sees the same moment of the round.
  order="release native"
  ((r % 2 == 0)) && order="native release"
  for isa in $ISAS; do
    for preset in $order; do
      echo "round $r/$rounds: $isa, $preset" >&2
      CATAPULT_ISA=$isa "build/$preset/bench/kernels_bench" --benchmark_filter="$gemm_filter" \
        --benchmark_min_time="$min_time" --benchmark_out="$tmp/gemm_${isa}_${preset}_$r.json" \
        --benchmark_out_format=json >/dev/null
      CATAPULT_ISA=$isa "build/$preset/bench/nn_bench" --benchmark_filter="$step_filter" \
        --benchmark_min_time="$min_time" --benchmark_out="$tmp/step_${isa}_${preset}_$r.json" \
        --benchmark_out_format=json >/dev/null
    done
  done
done
uptime >"$tmp/load_end"
mkdir -p docs/data
python3 scripts/portable_vs_native_table.py "$tmp" "$rounds" $ISAS \
  --json docs/data/portable_vs_native.json ${UPDATE_DOC:+--update "$UPDATE_DOC"}
