#!/usr/bin/env bash
# Our training step (nn_bench's BM_Nn_TrainStep) against PyTorch's (scripts/torch_step.py), 784-H-10,
# SGD and Adam, B = 32, 128, 1024, timed back to back in ROUNDS alternating rounds (ours, then
# PyTorch) on this machine; prints the ratios t(PyTorch) / t(ours) (> 1: ours is faster), median
# over the rounds, at 1 thread and at all threads, with the CPU, our active ISA and PyTorch's
# setup named. PyTorch runs at its best: every torch.set_num_threads(1 .. nproc) and both optimizer
# implementations are timed, and the fastest kept (at 1 thread: its 1-thread time, with
# OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 so that no pool of its own runs beside it). At 1
# thread both sides are timed by the CPU time of the calling thread, at all threads by the wall
# clock (bench::PairClock); a busy machine (see the load lines) still slows the all-threads rows.
#
#   scripts/bench_step_vs_torch.sh   (env: ROUNDS=3 HIDDEN=1024 BUILD_DIR=build/release
#                                          UPDATE_DOC=docs/nn_benchmarks.md to rewrite its blocks,
#                                          SECTION=name for second blocks and JSON, EPOCHS=0 to
#                                          time the steps only, PYTHON=/usr/bin/python3 the
#                                          interpreter whose torch is the peer, NO_BUILD=1 to use
#                                          the binaries in BUILD_DIR as they are, e.g. on a node
#                                          without a compiler, TORCH_THREADS=sparse to time
#                                          PyTorch's steps at 1, 2, 4, … and nproc threads only
#                                          instead of every count: many-core nodes)
#
# Each round also times one epoch over MNIST's training set on both sides (nn_bench's
# BM_Nn_TrainEpoch: train::train itself, batch gathering and the per-step checks included;
# torch_step.py --epoch-data: a PyTorch loop over a shuffled index), SGD and Adam, the same
# batches, PyTorch at its best of 1, 2, 4, … threads. MNIST is taken from $CATAPULT_MNIST_DIR
# (default ~/.cache/catapult/mnist) and fetched there first when missing. Written to
# docs/data/epoch_vs_torch[_<name>].json and the block `epoch_vs_torch_table[ <name>]`.
#
# CATAPULT_ISA=avx2 SECTION=avx2 compares the two on AVX2 kernels on an AVX-512 CPU: ours forced
# to its AVX2 set, PyTorch's OpenBLAS to its Haswell core and ATen to AVX2 (ATEN_CPU_CAPABILITY),
# what an AVX2-only node (AMD EPYC Zen 2/3) runs. The JSON is docs/data/step_vs_torch_<name>.json
# and the block `step_vs_torch_table <name>`.
#
# PyTorch is Debian's python3-torch (1.13, on /usr/bin/python3; installed with apt-get when missing
# and this shell is root). Its BLAS is the system's OpenBLAS: OPENBLAS_CORETYPE is set for both
# sides, SkylakeX only when /proc/cpuinfo lists avx512f (on an AVX2-only CPU that core dies with
# SIGILL), else Haswell with avx2 (bench/peer_environment.hpp's policy). An OPENBLAS_CORETYPE
# already in the environment is replaced (with a note), as nn_bench replaces it on our side;
# CATAPULT_BENCH_OPENBLAS_CORETYPE chooses another core for both sides on purpose.
# Writes docs/data/step_vs_torch.json (every round of both sides) and prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release}
rounds=${ROUNDS:-3}
hidden=${HIDDEN:-1024}
epochs=${EPOCHS:-1}
py=${PYTHON:-/usr/bin/python3}

if ! "$py" -c 'import torch' 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bench_step_vs_torch.sh: installing Debian's python3-torch" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch >&2
  else
    echo "bench_step_vs_torch.sh: needs Debian's python3-torch (apt-get install python3-torch)" >&2
    exit 1
  fi
fi
section=${SECTION:-}
core=
case ${CATAPULT_ISA:-} in
  avx2)
    # Both sides on AVX2 kernels (see above), unless the caller chose otherwise.
    core=Haswell
    export ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-avx2}
    ;;
  "" | avx512)
    if grep -qw avx512f /proc/cpuinfo; then
      core=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then
      core=Haswell
    fi
    ;;
  *)
    echo "bench_step_vs_torch.sh: CATAPULT_ISA=$CATAPULT_ISA has no PyTorch counterpart here (avx2 or avx512)" >&2
    exit 2
    ;;
esac
core=${CATAPULT_BENCH_OPENBLAS_CORETYPE:-$core}
# ATen (PyTorch's elementwise and optimizer kernels) picks AVX2 on an AVX-512 CPU by default
# (PyTorch 1.13: "CPU capability usage: AVX2" on a Zen 5 with AVX-512). Where our side runs
# AVX-512, PyTorch runs with both ATEN_CPU_CAPABILITY=avx2 and =avx512 and each row keeps the
# faster (recorded per row as "capability"), unless the caller set ATEN_CPU_CAPABILITY.
capabilities=("${ATEN_CPU_CAPABILITY:-}")
if [[ -z ${ATEN_CPU_CAPABILITY:-} && ${CATAPULT_ISA:-avx512} == avx512 ]] && grep -qw avx512f /proc/cpuinfo; then
  capabilities=(avx2 avx512)
fi
# torch_step OUT ARGS...: scripts/torch_step.py once per capability, merged into OUT (the faster
# of the capabilities for every row).
torch_step() {
  local out=$1
  shift
  local parts=()
  for cap in "${capabilities[@]}"; do
    env ${cap:+ATEN_CPU_CAPABILITY=$cap} "$py" scripts/torch_step.py "$@" --out "$out.${cap:-default}"
    parts+=("$out.${cap:-default}")
  done
  python3 - "$out" "${parts[@]}" <<'PY'
import json, sys
out, parts = sys.argv[1], [json.load(open(p)) for p in sys.argv[2:]]
merged = dict(parts[0])
caps = [p["cpu_capability"] for p in parts]
merged["cpu_capability"] = caps[0] if len(caps) == 1 else "best of " + " and ".join(caps) + " per row"
rows = []
for i, row in enumerate(parts[0]["results"]):
    key = "epoch_s" if "epoch_s" in row else "step_ms"
    best = min(((p["results"][i], p["cpu_capability"]) for p in parts), key=lambda rc: rc[0][key])
    rows.append(dict(best[0], capability=best[1]))
merged["results"] = rows
json.dump(merged, open(out, "w"), indent=1)
PY
}
if [[ -n $core && ${OPENBLAS_CORETYPE:-$core} != "$core" ]]; then
  echo "bench_step_vs_torch.sh: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE in the environment replaced by $core" >&2
fi
if [[ -n $core ]]; then export OPENBLAS_CORETYPE=$core; fi

[[ ${NO_BUILD:-0} == 1 ]] || cmake --build "$build" --target nn_bench >&2
if [[ $epochs == 1 ]]; then
  [[ ${NO_BUILD:-0} == 1 ]] || cmake --build "$build" --target catapult_cli >&2
  export CATAPULT_MNIST_DIR="${CATAPULT_MNIST_DIR:-${HOME:-$PWD}/.cache/catapult/mnist}"
  "$build/apps/catapult" fetch-data --dir "$CATAPULT_MNIST_DIR" --no-summary >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nproc=$(nproc)
uptime >"$tmp/load_start"
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: ours" >&2
  "$build/bench/nn_bench" --benchmark_filter="BM_Nn_TrainStep/.*/hidden:$hidden/" \
    --benchmark_min_time=0.3 --benchmark_out="$tmp/ours_$r.json" --benchmark_out_format=json \
    >/dev/null
  echo "round $r/$rounds: PyTorch" >&2
  # 1 thread with every pool PyTorch could use held to one thread (thread CPU time); then every
  # setting from 1 to nproc on the wall clock, for the all-threads rows.
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 torch_step "$tmp/torch1_$r.json" --hidden "$hidden" \
    --max-threads 1 --clock thread
  if ((nproc > 1)); then
    torch_step "$tmp/torchn_$r.json" --hidden "$hidden" --max-threads "$nproc" --clock wall \
      ${TORCH_THREADS:+--$TORCH_THREADS-threads}
  fi
  [[ $epochs == 1 ]] || continue
  echo "round $r/$rounds: ours, one epoch each" >&2
  "$build/bench/nn_bench" --benchmark_filter="BM_Nn_TrainEpoch/.*/hidden:$hidden/" \
    --benchmark_out="$tmp/epoch_ours_$r.json" --benchmark_out_format=json >/dev/null
  echo "round $r/$rounds: PyTorch, one epoch each" >&2
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 torch_step "$tmp/epoch_torch1_$r.json" \
    --hidden "$hidden" --epoch-data "$CATAPULT_MNIST_DIR" --max-threads 1 --clock thread
  if ((nproc > 1)); then
    torch_step "$tmp/epoch_torchn_$r.json" --hidden "$hidden" --epoch-data "$CATAPULT_MNIST_DIR" \
      --max-threads "$nproc" --clock wall
  fi
done
uptime >"$tmp/load_end"
mkdir -p docs/data
python3 scripts/step_vs_torch_table.py "$tmp" "$rounds" \
  --json "docs/data/step_vs_torch${section:+_$section}.json" ${section:+--section "$section"} \
  ${UPDATE_DOC:+--update "$UPDATE_DOC"}
if [[ $epochs == 1 ]]; then
  echo
  python3 scripts/step_vs_torch_table.py "$tmp" "$rounds" --epochs \
    --json "docs/data/epoch_vs_torch${section:+_$section}.json" ${section:+--section "$section"} \
    ${UPDATE_DOC:+--update "$UPDATE_DOC"}
fi
