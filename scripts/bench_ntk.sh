#!/usr/bin/env bash
# Measures the NTK targets and regenerates the results section of docs/ntk.md from the output.
# Usage: scripts/bench_ntk.sh   (env: BUILD_DIR=build/release, CATAPULT_MNIST_DIR, THREADS=2,
#        BENCH=1 to also run bench/ntk_bench with its default (light) set, HEAVY=1 to also run
#        its heavy cases: dense n = 4000 and matrix-free n = 60000; SKIP_60K=1 to keep the
#        previous MNIST measurements)
# Writes docs/data/ntk_mnist60k.json (catapult ntk --mode traced: λmax(K_traced) and the bounds
# on η_crit it gives), docs/data/ntk_mnist60k_full.json (--mode full: λmax(K_full) and η_crit
# itself), their /usr/bin/time -v and the load average around each (ntk_mnist60k*_time.txt),
# docs/data/ntk_lscpu.txt (the CPU they ran on) and, with BENCH/HEAVY, docs/data/ntk_bench*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release}
threads=${THREADS:-2}
mnist=${CATAPULT_MNIST_DIR:-${HOME}/.cache/catapult/mnist}
targets=(catapult_cli)
if [[ "${BENCH:-1}" == 1 || "${HEAVY:-0}" == 1 ]]; then targets+=(ntk_bench); fi
cmake --build "$build" --target "${targets[@]}"
mkdir -p docs/data
if [[ "${SKIP_60K:-0}" != 1 ]]; then
  lscpu > docs/data/ntk_lscpu.txt
  # The full kernel's top eigenvalue is nearly k-fold degenerate (K_full ≈ K_0 ⊗ I_k): the default
  # subspace (ncv 8) takes fewer products there than --ncv 5, which suits the traced kernel.
  for mode in traced full; do
    suffix=$([[ $mode == full ]] && echo _full || true)
    ncv=$([[ $mode == full ]] && echo 0 || echo 5)
    {
      echo "load before: $(cat /proc/loadavg)"
      /usr/bin/time -v "$build/apps/catapult" ntk --dir "$mnist" --samples 0 --mode "$mode" \
        --method matrix-free --widths 784,1024,10 --threads "$threads" --ncv "$ncv" \
        --tolerance 1e-6 --out "docs/data/ntk_mnist60k${suffix}.json" 2>&1
      echo "load after: $(cat /proc/loadavg)"
    } > "docs/data/ntk_mnist60k${suffix}_time.txt"
  done
fi
if [[ "${BENCH:-1}" == 1 ]]; then
  "$build/bench/ntk_bench" --benchmark_out=docs/data/ntk_bench.json --benchmark_out_format=json
fi
if [[ "${HEAVY:-0}" == 1 ]]; then
  CATAPULT_NTK_BENCH_HEAVY=1 "$build/bench/ntk_bench" --benchmark_filter='n:(4000|60000)/' \
    --benchmark_out=docs/data/ntk_bench_heavy.json --benchmark_out_format=json
fi
python3 scripts/ntk_results.py docs/data docs/ntk.md
