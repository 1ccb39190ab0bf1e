#!/usr/bin/env bash
# The MPI benchmarks of docs/cluster.md, 1 rank against 2 ranks in one run (ratios from the same
# invocation, on the same machine state), with the release build's `catapult` on real MNIST:
#   1. sweep throughput: a sweep of $RUNS runs (784-64-10, batch 64, $SWEEP_STEPS steps each), one
#      process vs `mpirun -n 2`, 1 thread per rank; runs per hour from the wall time;
#   2. data-parallel step of 784-1024-10 at batch 128 PER RANK (global batch 128 on 1 rank, 256 on
#      2), 1 thread per rank: time per step and the fraction of it spent in MPI_Allreduce, from
#      the difference of a $DP_LONG-step and a $DP_SHORT-step run (start-up, data loading and the
#      two test-set evaluations cancel);
#   3. NTK matvec (K·v, mode full, 784-1024-10, float) over all 60000 training images: the sharded
#      operator on 1 and 2 ranks (1 thread each), and the library's one-process matrix-free
#      operator, from `catapult ntk`'s seconds_per_matvec (a few Lanczos products each);
#   4. bench/mpi/dist_bench (Google Benchmark under mpirun, 1 and 2 ranks): MPI_Allreduce of the
#      814090 gradient floats alone (after a barrier), and an in-memory data-parallel step with
#      its allreduce fraction.
# Usage: scripts/bench_mpi.sh [OUT.md]   (default build/release/bench_mpi.md; printed too)
# Environment: CATAPULT_MNIST_DIR (default ~/.cache/catapult/mnist), RUNS (8), SWEEP_STEPS (1500),
# DP_SHORT (50), DP_LONG (250), NTK_SAMPLES (0 = all 60000).
set -euo pipefail
cd "$(dirname "$0")/.."
out_md=${1:-build/release/bench_mpi.md}
cli=$PWD/build/release/apps/catapult
[[ -x "$cli" ]] || { echo "bench_mpi: build first (cmake --build --preset release)" >&2; exit 2; }
mnist=${CATAPULT_MNIST_DIR:-$HOME/.cache/catapult/mnist}
runs=${RUNS:-8}
sweep_steps=${SWEEP_STEPS:-1500}
dp_short=${DP_SHORT:-50}
dp_long=${DP_LONG:-250}
ntk_samples=${NTK_SAMPLES:-0}
mpirun=(mpirun --oversubscribe --allow-run-as-root --bind-to core)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

# 1. Sweep throughput.
seeds=$(python3 -c "print(','.join(str(i) for i in range($runs)))")
cat >"$work/sweep.json" <<EOF
{"base": {"model": {"widths": [784, 64, 10]},
          "train": {"batch_size": 64, "steps": $sweep_steps, "eval_every": 0}, "threads": 1},
 "grid": {"train.seed": [$seeds]}}
EOF
t0=$(now)
"$cli" sweep "$work/sweep.json" --out "$work/sweep1" --data-dir "$mnist" >/dev/null
t1=$(now)
"${mpirun[@]}" -n 2 "$cli" sweep "$work/sweep.json" --out "$work/sweep2" --data-dir "$mnist" \
  --threads 1 >/dev/null
t2=$(now)
cmp <(cut -d, -f1-7 "$work/sweep1/results.csv") <(cut -d, -f1-7 "$work/sweep2/results.csv") ||
  { echo "bench_mpi: the 2-rank sweep's table differs from the 1-process table" >&2; exit 1; }
sweep1=$(calc "$runs * 3600 / ($t1 - $t0)")
sweep2=$(calc "$runs * 3600 / ($t2 - $t1)")

# 2. Data-parallel step. Prints "<seconds of training> <seconds in MPI_Allreduce>".
dp_run() {  # ranks steps
  local np=$1 steps=$2 batch=$((128 * $1)) log
  local args=(train --data-dir "$mnist" --widths 784,1024,10 --batch "$batch" --steps "$steps"
    --threads 1 --eval-every 0)
  if [[ $np == 1 ]]; then
    log=$("$cli" "${args[@]}")
  else
    log=$("${mpirun[@]}" -n "$np" "$cli" "${args[@]}" --check-every 1000000)
  fi
  local train_s allreduce_s=0
  train_s=$(sed -n 's/^completed: .* steps in \([0-9.e+-]*\) s.*/\1/p' <<<"$log" | tail -1)
  if [[ $np != 1 ]]; then
    allreduce_s=$(sed -n 's/.* passed; \([0-9.e+-]*\) s in MPI_Allreduce.*/\1/p' <<<"$log")
  fi
  echo "$train_s $allreduce_s"
}
read -r s1 a1 < <(dp_run 1 "$dp_short")
read -r l1 b1 < <(dp_run 1 "$dp_long")
read -r s2 a2 < <(dp_run 2 "$dp_short")
read -r l2 b2 < <(dp_run 2 "$dp_long")
step1=$(calc "($l1 - $s1) / ($dp_long - $dp_short) * 1000")
step2=$(calc "($l2 - $s2) / ($dp_long - $dp_short) * 1000")
frac2=$(calc "($b2 - $a2) / ($l2 - $s2)")

# 3. NTK matvec.
ntk_run() {  # method ranks
  local args=(ntk --dir "$mnist" --samples "$ntk_samples" --widths 784,1024,10 --mode full
    --method "$1" --nev 1 --ncv 3 --max-iterations 1 --threads 1 --out "$work/ntk.json")
  if [[ $2 == 0 ]]; then "$cli" "${args[@]}" >/dev/null; else
    "${mpirun[@]}" -n "$2" "$cli" "${args[@]}" >/dev/null
  fi
  python3 -c "import json; j = json.load(open('$work/ntk.json')); print(j['seconds_per_matvec'], j['n'])"
}
read -r ntk_free n < <(ntk_run matrix-free 0)
read -r ntk1 _ < <(ntk_run sharded 1)
read -r ntk2 _ < <(ntk_run sharded 2)

# 4. The exchange alone and an in-memory data-parallel step (bench/mpi/dist_bench.cpp).
bench=$PWD/build/release/bench/mpi/dist_bench
dist_field() {  # json benchmark-name-prefix field
  python3 -c "import json, sys
for b in json.load(open('$1'))['benchmarks']:
    if b['name'].startswith('$2'): print(b['$3']); break"
}
have_bench=0
if [[ -x "$bench" ]]; then
  have_bench=1
  for np in 1 2; do
    "${mpirun[@]}" -n "$np" "$bench" --benchmark_format=json >"$work/dist$np.json"
  done
fi

cpu=$(lscpu | sed -n 's/^Model name: *//p')
isa=$("$cli" info 2>/dev/null | sed -n 's/^isa: \([a-z0-9]*\).*/\1/p')
{
  echo "Measured $(date -u +%Y-%m-%d) with \`scripts/bench_mpi.sh\` on $cpu ($(nproc) cores${isa:+, kernels: $isa}), Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), 1 thread per rank:"
  echo
  echo "| benchmark | 1 rank | 2 ranks | ratio 2/1 |"
  echo "|---|---|---|---|"
  echo "| sweep: runs/hour ($runs runs of 784-64-10, $sweep_steps steps) | $(printf %.0f "$sweep1") | $(printf %.0f "$sweep2") | $(printf %.2f "$(calc "$sweep2 / $sweep1")") |"
  echo "| data-parallel step, 784-1024-10, batch 128 per rank (ms) | $(printf %.2f "$step1") | $(printf %.2f "$step2") | $(printf %.2f "$(calc "$step2 / $step1")") |"
  echo "| ... samples/s | $(printf %.0f "$(calc "128000 / $step1")") | $(printf %.0f "$(calc "256000 / $step2")") | $(printf %.2f "$(calc "2 * $step1 / $step2")") |"
  echo "| ... fraction of the step in MPI_Allreduce | 0 | $(printf %.3f "$frac2") | |"
  echo "| NTK matvec, $n images, sharded operator (s) | $(printf %.3f "$ntk1") | $(printf %.3f "$ntk2") | $(printf %.2f "$(calc "$ntk2 / $ntk1")") |"
  echo "| NTK matvec, one-process matrix-free operator (s) | $(printf %.3f "$ntk_free") | | |"
  if [[ $have_bench == 1 ]]; then
    for f in 1 2; do
      eval "ar$f=\$(dist_field $work/dist$f.json BM_Dist_Allreduce/P:814090 real_time)"
      eval "st$f=\$(dist_field $work/dist$f.json BM_Dist_DataParallelStep real_time)"
      eval "fr$f=\$(dist_field $work/dist$f.json BM_Dist_DataParallelStep allreduce_fraction)"
    done
    echo "| dist_bench: MPI_Allreduce of 814090 floats after a barrier (ms) | $(printf %.3f "$ar1") | $(printf %.3f "$ar2") | |"
    echo "| dist_bench: in-memory data-parallel step, batch 128 per rank (ms) | $(printf %.2f "$st1") | $(printf %.2f "$st2") | $(printf %.2f "$(calc "$st2 / $st1")") |"
    echo "| dist_bench: ... fraction in MPI_Allreduce (incl. waiting for the other rank) | $(printf %.3f "$fr1") | $(printf %.3f "$fr2") | |"
  fi
  echo
  echo "Load average while measuring (other jobs share these cores): $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out_md"
