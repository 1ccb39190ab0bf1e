#!/usr/bin/env bash
# The MPI benchmarks of docs/cluster.md, 1 rank against N ranks for every N of $RANKS (default 2)
# in one run (ratios from the same invocation, on the same machine state), with the release
# build's `catapult` on real MNIST:
#   1. sweep throughput: a sweep of $RUNS runs (784-64-10, batch 64, $SWEEP_STEPS steps each), one
#      process vs `mpirun -n N`, 1 thread per rank; runs per hour from the wall time;
#   2. data-parallel step of 784-1024-10 at batch 128 PER RANK (global batch 128 on 1 rank, 128·N
#      on N), 1 thread per rank: time per step and the fraction of it spent in MPI_Allreduce, from
#      the difference of a $DP_LONG-step and a $DP_SHORT-step run (start-up, data loading and the
#      two test-set evaluations cancel);
#   3. NTK matvec (K·v, mode full, 784-1024-10, float) over all 60000 training images: the sharded
#      operator on 1 and 2 ranks (1 thread each), and the library's one-process matrix-free
#      operator, from `catapult ntk`'s seconds_per_matvec (a few Lanczos products each);
#   4. bench/mpi/dist_bench (Google Benchmark under mpirun, 1 and N ranks): MPI_Allreduce of the
#      814090 gradient floats alone (after a barrier), and an in-memory data-parallel step with
#      its allreduce fraction.
# Usage: scripts/bench_mpi.sh [OUT.md]   (default build/release/bench_mpi.md; printed too)
# Environment: CATAPULT_MNIST_DIR (default ~/.cache/catapult/mnist), RANKS ("2"; e.g. "4 16" on a
# 16-core node), RUNS (8; at least the largest N makes sense), SWEEP_STEPS (1500), DP_SHORT (50),
# DP_LONG (250), NTK_SAMPLES (0 = all 60000), BUILD_DIR (build/release), MPI_BIND (core: mpirun
# --bind-to; none where the node refuses binding).
set -euo pipefail
cd "$(dirname "$0")/.."
out_md=${1:-build/release/bench_mpi.md}
build=$(realpath "${BUILD_DIR:-build/release}")
cli=$build/apps/catapult
[[ -x "$cli" ]] || { echo "bench_mpi: build first (cmake --build --preset release)" >&2; exit 2; }
mnist=${CATAPULT_MNIST_DIR:-$HOME/.cache/catapult/mnist}
runs=${RUNS:-8}
sweep_steps=${SWEEP_STEPS:-1500}
dp_short=${DP_SHORT:-50}
dp_long=${DP_LONG:-250}
ntk_samples=${NTK_SAMPLES:-0}
read -r -a ranks <<<"${RANKS:-2}"
if ! [[ $dp_short =~ ^[0-9]+$ && $dp_long =~ ^[0-9]+$ ]] || ((dp_long <= dp_short)); then
  echo "bench_mpi: DP_LONG ($dp_long) must be a step count larger than DP_SHORT ($dp_short)" >&2
  exit 2
fi
mpirun=(mpirun --oversubscribe --allow-run-as-root --bind-to "${MPI_BIND:-core}")
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
declare -A sweep step frac ntk ar st fr
t0=$(now)
"$cli" sweep "$work/sweep.json" --out "$work/sweep1" --data-dir "$mnist" >/dev/null
sweep[1]=$(calc "$runs * 3600 / ($(now) - $t0)")
for np in "${ranks[@]}"; do
  t0=$(now)
  "${mpirun[@]}" -n "$np" "$cli" sweep "$work/sweep.json" --out "$work/sweep$np" \
    --data-dir "$mnist" --threads 1 >/dev/null
  sweep[$np]=$(calc "$runs * 3600 / ($(now) - $t0)")
  cmp <(cut -d, -f1-7 "$work/sweep1/results.csv") <(cut -d, -f1-7 "$work/sweep$np/results.csv") ||
    { echo "bench_mpi: the $np-rank sweep's table differs from the 1-process table" >&2; exit 1; }
done

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
for np in 1 "${ranks[@]}"; do
  read -r s a < <(dp_run "$np" "$dp_short")
  read -r l b < <(dp_run "$np" "$dp_long")
  # The difference is only a step time when the extra steps outweigh the start-up's variance
  # (short runs on a busy node gave negative differences): refuse rather than print nonsense.
  if [[ $(calc "int($l > $s)") != 1 ]]; then
    echo "bench_mpi: data-parallel on $np rank(s): $dp_long steps took $l s, $dp_short took $s s;" \
      "the difference is not a step time (start-up varies more than the extra steps take):" \
      "raise DP_LONG" >&2
    exit 1
  fi
  step[$np]=$(calc "($l - $s) / ($dp_long - $dp_short) * 1000")
  frac[$np]=$(calc "($b - $a) / ($l - $s)")
done

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
for np in 1 "${ranks[@]}"; do
  read -r ntk[$np] _ < <(ntk_run sharded "$np")
done

# 4. The exchange alone and an in-memory data-parallel step (bench/mpi/dist_bench.cpp).
bench=$build/bench/mpi/dist_bench
dist_field() {  # json benchmark-name-prefix field
  python3 -c "import json, sys
for b in json.load(open('$1'))['benchmarks']:
    if b['name'].startswith('$2'): print(b['$3']); break"
}
have_bench=0
if [[ -x "$bench" ]]; then
  have_bench=1
  for np in 1 "${ranks[@]}"; do
    "${mpirun[@]}" -n "$np" "$bench" --benchmark_format=json >"$work/dist$np.json"
    ar[$np]=$(dist_field "$work/dist$np.json" BM_Dist_Allreduce/P:814090 real_time)
    st[$np]=$(dist_field "$work/dist$np.json" BM_Dist_DataParallelStep real_time)
    fr[$np]=$(dist_field "$work/dist$np.json" BM_Dist_DataParallelStep allreduce_fraction)
  done
fi

# row LABEL FORMAT RATIO ARRAY: one table row, the value at 1 rank then, for every N, the value at
# N ranks and (RATIO: an expression of a = value at 1, b = value at N, n = N; empty for none) the
# ratio.
row() {
  local label=$1 fmt=$2 ratio=$3 line
  local -n values=$4
  line="| $label | $(printf "$fmt" "${values[1]}") |"
  for np in "${ranks[@]}"; do
    line+=" $(printf "$fmt" "${values[$np]}") |"
    if [[ -n $ratio ]]; then
      line+=" $(printf %.2f "$(a=${values[1]} b=${values[$np]} n=$np calc_ratio "$ratio")") |"
    else
      line+=" |"
    fi
  done
  echo "$line"
}
calc_ratio() { python3 -c "a, b, n = $a, $b, $n; print($1)"; }
declare -A samples
for np in 1 "${ranks[@]}"; do samples[$np]=$(calc "128000 * $np / ${step[$np]}"); done
frac[1]=0

cpu=$(lscpu | sed -n 's/^Model name: *//p')
isa=$("$cli" info 2>/dev/null | sed -n 's/^isa: \([a-z0-9]*\).*/\1/p')
{
  echo "Measured $(date -u +%Y-%m-%d) with \`${RANKS:+RANKS=\"$RANKS\" }${RUNS:+RUNS=$RUNS }scripts/bench_mpi.sh\` on $cpu ($(nproc) cores${isa:+, kernels: $isa}), Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), 1 thread per rank:"
  echo
  header="| benchmark | 1 rank |" rule="|---|---|"
  for np in "${ranks[@]}"; do header+=" $np ranks | ratio $np/1 |" rule+="---|---|"; done
  echo "$header"
  echo "$rule"
  row "sweep: runs/hour ($runs runs of 784-64-10, $sweep_steps steps)" %.0f 'b / a' sweep
  row "data-parallel step, 784-1024-10, batch 128 per rank (ms)" %.2f 'b / a' step
  row "... samples/s" %.0f 'b / a' samples
  row "... fraction of the step in MPI_Allreduce" %.3f '' frac
  row "NTK matvec, $n images, sharded operator (s)" %.3f 'b / a' ntk
  echo "| NTK matvec, one-process matrix-free operator (s) | $(printf %.3f "$ntk_free") |$(for np in "${ranks[@]}"; do printf ' | |'; done)"
  if [[ $have_bench == 1 ]]; then
    row "dist_bench: MPI_Allreduce of 814090 floats after a barrier (ms)" %.3f '' ar
    row "dist_bench: in-memory data-parallel step, batch 128 per rank (ms)" %.2f 'b / a' st
    row "dist_bench: ... fraction in MPI_Allreduce (incl. waiting for the other ranks)" %.3f '' fr
  fi
  echo
  echo "Load average while measuring (other jobs share these cores): $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out_md"
