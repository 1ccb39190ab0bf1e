#!/usr/bin/env python3
"""The table of scripts/bench_portable_vs_native.sh: the portable build against the native one.

Usage: portable_vs_native_table.py DIR ROUNDS ISA [ISA ...] [--json OUT.json]
                                   [--update docs/benchmarks.md]

DIR holds, per ISA, build (release = portable, native) and round r = 1 .. ROUNDS,
gemm_<isa>_<build>_<r>.json (kernels_bench's BM_Kernels_Paired*: counters "ratio", ours against
OpenBLAS in one process) and step_<isa>_<build>_<r>.json (nn_bench's BM_Nn_Step: counter
"step_efficiency", OpenBLAS's five products against our step in one process), Google Benchmark
JSON, plus the `uptime` lines load_start and load_end and the commit
line in `commit`. Per ISA and case, within each round: GEMM portable/native = ratio(portable) /
ratio(native), step portable/native = step_efficiency(portable) / step_efficiency(native); the
table gives the
median over the rounds (> 1: the portable build is faster) and the range. Python 3 standard
library only; no number is typed by hand.
"""
import argparse
import json
import re
import statistics
import sys

from doc_block import replace_block, run_text

PASSES = {
    "0": "forward X[B,784]·W1[H,784]ᵀ",
    "1": "dW1 = dHᵀ·X",
    "2": "dX = dH·W1",
    "3": "output layer A[B,H]·W2[10,H]ᵀ",
}


def case_name(name):
    m = re.match(r"BM_Kernels_PairedSquare<float>/n:(\d+)/", name)
    if m:
        return f"GEMM square {m.group(1)}, float"
    m = re.match(r"BM_Kernels_PairedMlp<float>/pass:(\d)/batch:(\d+)/hidden:(\d+)/", name)
    if m:
        return f"GEMM {PASSES[m.group(1)]}, B={m.group(2)}, H={m.group(3)}"
    m = re.match(r"BM_Nn_Step/hidden:(\d+)/batch:(\d+)/", name)
    if m:
        return f"SGD step 784-{m.group(1)}-10 (fused), B={m.group(2)}"
    return None


def read(path, counter):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = case_name(b["name"])
        if name is not None and counter in b:
            out[name] = b[counter]
    return data.get("context", {}), out


def fmt(values):
    med = statistics.median(values)
    return f"**{med:.2f}** ({min(values):.2f}–{max(values):.2f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("rounds", type=int)
    ap.add_argument("isas", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--update", help="markdown file whose portable_vs_native block is replaced")
    args = ap.parse_args()

    cases = {}  # (isa, case) -> list of per-round portable/native
    contexts = {}
    order = []
    for isa in args.isas:
        for r in range(1, args.rounds + 1):
            per = {}
            for build in ("release", "native"):
                ctx_g, gemm = read(f"{args.dir}/gemm_{isa}_{build}_{r}.json", "ratio")
                ctx_s, step = read(f"{args.dir}/step_{isa}_{build}_{r}.json", "step_efficiency")
                contexts[(isa, build)] = ctx_g
                per[build] = (gemm, step)
            for kind in (0, 1):  # GEMM ratios, then step efficiencies: portable over native
                portable, native = per["release"][kind], per["native"][kind]
                for name in portable:
                    if name in native:
                        if (isa, name) not in cases:
                            order.append((isa, name))
                        cases.setdefault((isa, name), []).append(portable[name] / native[name])

    ctx = contexts[(args.isas[0], "release")]
    commit, load_start, load_end = (
        run_text(args.dir, name) for name in ("commit", "load_start", "load_end"))
    lines = [
        f"Run: {ctx.get('date', '?')}, host {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} "
        f"CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, {args.rounds} rounds, {commit}.",
        "Kernels ISA per section (detected "
        f"{ctx.get('catapult_isa_detected', '?')}): "
        + "; ".join(
            f"{isa}: portable {contexts[(isa, 'release')].get('catapult_isa', '?')}, native "
            f"{contexts[(isa, 'native')].get('catapult_isa', '?')}, OpenBLAS core "
            f"{contexts[(isa, 'release')].get('openblas_corename', '?')}"
            for isa in args.isas
        )
        + ".",
        f"Load: at the start `{load_start}`; at the end `{load_end}`.",
        "",
        "| ISA | case (1 thread) | portable / native (range) |",
        "|---|---|---:|",
    ]
    worst = {}
    for isa, name in order:
        values = cases[(isa, name)]
        lines.append(f"| {isa} | {name} | {fmt(values)} |")
        worst[isa] = min(worst.get(isa, 9.0), statistics.median(values))
    lines.append("")
    lines.append(
        "Lowest median per ISA (target ≥ 0.95): "
        + ", ".join(f"{isa} {worst[isa]:.2f}" for isa in args.isas if isa in worst)
        + "."
    )
    table = "\n".join(lines)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "context": {f"{isa}_{build}": c for (isa, build), c in contexts.items()},
                    "rows": [{"isa": isa, "case": name, "portable_over_native": cases[(isa, name)]}
                             for isa, name in order],
                },
                f,
                separators=(",", ":"),
            )
    if args.update:
        if not replace_block(args.update, "<!-- BEGIN portable_vs_native -->",
                             "<!-- END portable_vs_native -->", table):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
