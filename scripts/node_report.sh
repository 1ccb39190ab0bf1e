#!/usr/bin/env bash
# The report of scripts/bench_node.sh, from the files of its OUT_DIR alone (so that it can be
# regenerated away from the node, e.g. from docs/data/node/): info.txt (date, lscpu and
# `catapult info` of the node), command.txt, tests.txt, kernels.json, alone.json with busy/*.json,
# nn.json and mpi.md, each where present. Markdown on stdout.
#   scripts/node_report.sh OUT_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
d=$1
info=$d/info.txt
echo "## One node: $(sed -n 's/^Model name: *//p' "$info"), $(sed -n 's/^CPU(s): *//p' "$info") hardware threads"
echo
echo "Measured $(head -1 "$info") with \`$(cat "$d/command.txt" 2>/dev/null || echo scripts/bench_node.sh)\`."
grep '^isa:' "$info"
if [[ -f $d/tests.txt ]]; then
  echo
  echo '```'
  grep -E '^==|PASSED|FAILED|SKIPPED' "$d/tests.txt"
  echo '```'
fi
if [[ -f $d/kernels.json ]]; then
  echo
  python3 scripts/bench_table.py "$d/kernels.json" --lscpu "$info" 2>/dev/null
fi
if [[ -f $d/alone.json ]]; then
  echo
  python3 scripts/busy_node_table.py "$d/alone.json" "$d"/busy/*.json
fi
if [[ -f $d/nn.json ]]; then
  echo
  python3 scripts/nn_bench_table.py "$d/nn.json"
fi
if [[ -f $d/mpi.md ]]; then
  echo
  cat "$d/mpi.md"
fi
exit 0
