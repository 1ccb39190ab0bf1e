#!/usr/bin/env bash
# What one multicore node gives: run it on the node itself (a cluster's compute node, all of it),
# with a release build there or copied there (BUILD_DIR). Every ratio comes from one run on that
# node, our side against its peer in the same process:
#   1. the kernels and nn test suites once per ISA the CPU supports (CATAPULT_ISA=…), the check
#      that this CPU's caches, ISA and thread count give correct results;
#   2. kernels_bench's paired families (our GEMM against OpenBLAS, and the FMA peak) at 1 thread
#      and at every hardware thread: kernels.json, tables by scripts/bench_table.py;
#   3. the busy node: the MLP products at 1 thread (paired with OpenBLAS) in one process alone,
#      then in one process per core at once, each pinned to its core (what a full node of
#      1-thread MPI ranks or sweep workers does to the shared L3 and memory): alone.json,
#      busy/<core>.json, table by scripts/busy_node_table.py;
#   4. nn_bench's training step against its GEMMs in OpenBLAS (BM_Nn_Step) at 1 thread and at
#      every thread: nn.json, table by scripts/nn_bench_table.py;
#   5. with RANKS set (e.g. RANKS="4 16"), scripts/bench_mpi.sh with those rank counts: mpi.md.
# Usage: scripts/bench_node.sh [OUT_DIR]   (default build/release/node; env: BUILD_DIR=build/release,
#        REPS=2, MIN_TIME=0.1, STAGES="tests kernels busy nn mpi" to run some only, RANKS, and
#        bench_mpi.sh's RUNS, SWEEP_STEPS, DP_SHORT, DP_LONG, NTK_SAMPLES, MPI_BIND)
# Nothing is built here (the node may have no compiler): build first with
# `cmake --build --preset release`. A stage that fails is reported and the next one runs; the exit
# status is that of the first failing stage. Writes node.md (every table, scripts/node_report.sh) in
# OUT_DIR, with the node's lscpu and `catapult info` (info.txt) and this command (command.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${BUILD_DIR:-build/release}")
out=$(realpath -m "${1:-$build/node}")
reps=${REPS:-2}
min_time=${MIN_TIME:-0.1}
stages=${STAGES:-tests kernels busy nn mpi}
nproc=$(nproc)
mkdir -p "$out"
status=0
fail() {
  echo "bench_node.sh: stage $1 failed (status $2)" >&2
  ((status == 0)) && status=$2
}
has() { [[ " $stages " == *" $1 "* ]]; }

{
  date -u +%Y-%m-%d
  lscpu
  "$build/apps/catapult" info
} >"$out/info.txt" 2>&1
echo "${RANKS:+RANKS=\"$RANKS\" }scripts/bench_node.sh" >"$out/command.txt"

if has tests; then
  for isa in $("$build/apps/catapult" info | sed -n 's/.*supported: \([a-z0-9 ]*\);.*/\1/p'); do
    for suite in kernels nn; do
      bin=$build/tests/$suite/${suite}_tests
      [[ -x $bin ]] || continue
      echo "== $suite suite, CATAPULT_ISA=$isa" | tee -a "$out/tests.txt"
      CATAPULT_ISA=$isa "$bin" --gtest_brief=1 >>"$out/tests.txt" 2>&1 || fail "tests ($suite, $isa)" $?
      tail -3 "$out/tests.txt"
    done
  done
fi

if has kernels; then
  echo "== kernels_bench: FMA peak and paired GEMMs at 1 and $nproc threads" >&2
  "$build/bench/kernels_bench" --benchmark_filter='FmaPeak|Paired' --benchmark_repetitions="$reps" \
    --benchmark_min_time="$min_time" --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true --benchmark_out="$out/kernels.json" \
    --benchmark_out_format=json >/dev/null || fail kernels $?
fi

if has busy; then
  echo "== busy node: the MLP products at 1 thread, alone and $nproc processes at once" >&2
  filter='BM_Kernels_PairedMlp<float>/.*/threads:1/'
  pin() {  # core command...: the command on that core, or unpinned without taskset
    local core=$1
    shift
    if command -v taskset >/dev/null; then taskset -c "$core" "$@"; else "$@"; fi
  }
  run_paired() {  # core json
    pin "$1" "$build/bench/kernels_bench" --benchmark_filter="$filter" \
      --benchmark_min_time="$min_time" --benchmark_out="$2" --benchmark_out_format=json >/dev/null
  }
  run_paired 0 "$out/alone.json" || fail "busy (alone)" $?
  mkdir -p "$out/busy"
  pids=()
  for core in $(seq 0 $((nproc - 1))); do
    run_paired "$core" "$out/busy/$core.json" 2>/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fail "busy (one of the $nproc)" $?; done
fi

if has nn; then
  echo "== nn_bench: the step against its GEMMs in OpenBLAS at 1 and $nproc threads" >&2
  "$build/bench/nn_bench" --benchmark_filter='BM_Nn_Step/' --benchmark_repetitions="$reps" \
    --benchmark_min_time="$min_time" --benchmark_out="$out/nn.json" --benchmark_out_format=json \
    >/dev/null || fail nn $?
fi

if has mpi && [[ -n ${RANKS:-} ]]; then
  echo "== MPI: 1 rank against RANKS=\"$RANKS\"" >&2
  BUILD_DIR=$build scripts/bench_mpi.sh "$out/mpi.md" >/dev/null || fail mpi $?
fi

scripts/node_report.sh "$out" >"$out/node.md" 2>&1
echo "bench_node.sh: tables in $out/node.md" >&2
exit "$status"
