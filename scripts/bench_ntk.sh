#!/usr/bin/env bash
# Measures the NTK targets and regenerates the results section of docs/ntk.md from the output.
# Usage: scripts/bench_ntk.sh   (env: BUILD_DIR=build/release, CATAPULT_MNIST_DIR, THREADS=2,
#        BENCH=1 to also run bench/ntk_bench with its default (light) set, HEAVY=1 to also run
#        its heavy cases: dense n = 4000 and matrix-free n = 60000; SKIP_60K=1 to keep the
#        previous MNIST measurement)
# Writes docs/data/ntk_mnist60k.json (catapult ntk output), docs/data/ntk_mnist60k_time.txt
# (/usr/bin/time -v of that run and the load average around it), docs/data/ntk_bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release}
threads=${THREADS:-2}
mnist=${CATAPULT_MNIST_DIR:-${HOME}/.cache/catapult/mnist}
cmake --build "$build" --target catapult_cli ntk_bench
mkdir -p docs/data
if [[ "${SKIP_60K:-0}" != 1 ]]; then {
  echo "load before: $(cat /proc/loadavg)"
  /usr/bin/time -v "$build/apps/catapult" ntk --dir "$mnist" --samples 0 --mode traced \
    --method matrix-free --widths 784,1024,10 --threads "$threads" --ncv 5 --tolerance 1e-6 \
    --out docs/data/ntk_mnist60k.json 2>&1
  echo "load after: $(cat /proc/loadavg)"
} > docs/data/ntk_mnist60k_time.txt; fi
if [[ "${BENCH:-1}" == 1 ]]; then
  "$build/bench/ntk_bench" --benchmark_out=docs/data/ntk_bench.json --benchmark_out_format=json
fi
if [[ "${HEAVY:-0}" == 1 ]]; then
  CATAPULT_NTK_BENCH_HEAVY=1 "$build/bench/ntk_bench" --benchmark_filter='n:(4000|60000)/' \
    --benchmark_out=docs/data/ntk_bench_heavy.json --benchmark_out_format=json
fi
python3 scripts/ntk_results.py docs/data docs/ntk.md
