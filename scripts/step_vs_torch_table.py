#!/usr/bin/env python3
"""The tables of scripts/bench_step_vs_torch.sh: our training step against PyTorch's, and with
--epochs our epoch over MNIST against PyTorch's.

Usage: step_vs_torch_table.py DIR ROUNDS [--epochs] [--json OUT.json]
                              [--update docs/nn_benchmarks.md] [--section NAME]

DIR holds, per round r = 1 .. ROUNDS, ours_r.json (nn_bench's BM_Nn_TrainStep, Google Benchmark
JSON), torch1_r.json (scripts/torch_step.py at 1 thread, thread CPU time) and torchn_r.json
(every setting from 1 thread up on the wall clock, absent on one CPU), timed back to back in that round, plus the
`uptime` lines load_start and load_end. Per optimizer, batch and thread setting (1 thread; all
threads: ours at every hardware thread, PyTorch at its best torch.set_num_threads), the ratio
t(PyTorch) / t(ours) is taken within each round and its median over the rounds printed (> 1: our
step is faster), with the range over the rounds. When BM_Nn_TrainStep has a `fused` argument, the
ratio is given for our step as the trainer runs it (fused: the optimizer update in the
weight-gradient GEMM's epilogue) and for the unfused step (gradient written, then the update).
With --epochs the same from epoch_ours_r.json (BM_Nn_TrainEpoch), epoch_torch1_r.json and
epoch_torchn_r.json (torch_step.py --epoch-data), times in seconds per epoch, into the block
`epoch_vs_torch_table[ NAME]`.
Python 3 standard library only; no number is typed by hand.
"""
import argparse
import json
import re
import statistics
import sys
from collections import defaultdict

from doc_block import replace_block, run_text

OPTS = {0: "sgd", 1: "adam"}
NAMES = {"sgd": "SGD", "adam": "Adam"}
# What each table compares: the benchmark family, the time's key in both sides' JSON, its unit
# and printed digits, the prefix of the round files, the block's name.
KINDS = {
    "step": dict(family="BM_Nn_TrainStep", key="step_ms", unit="ms", digits=3, files="",
                 block="step_vs_torch_table"),
    "epoch": dict(family="BM_Nn_TrainEpoch", key="epoch_s", unit="s", digits=2, files="epoch_",
                  block="epoch_vs_torch_table"),
}


def pattern(kind):
    return KINDS[kind]["family"] + (
        r"/opt:(\d+)/hidden:(\d+)/batch:(\d+)/threads:(\d+)(?:/fused:(\d+))?(?:/|$)"
    )


def torch_blas(tj):
    """PyTorch's BLAS as its build configuration names it, with the OpenBLAS core where it is
    OpenBLAS (Debian's python3-torch says "generic": the system's libblas.so.3, OpenBLAS where
    scripts/setup.sh installed it; pip's wheels bring MKL)."""
    m = re.search(r"BLAS_INFO=(\w+)", tj.get("config") or "")
    blas = m.group(1) if m else "open"
    if blas in ("open", "generic"):
        return f"OpenBLAS core {tj.get('openblas_coretype') or 'default'}"
    return f"BLAS {blas}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def cpu_isa_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return ", ".join(x for x in ("avx512f", "avx2", "fma") if x in flags)
    except OSError:
        pass
    return "?"


def read_round(directory, r, kind):
    files, key = KINDS[kind]["files"], KINDS[kind]["key"]
    with open(f"{directory}/{files}ours_{r}.json") as f:
        ours_json = json.load(f)
    with open(f"{directory}/{files}torch1_{r}.json") as f:
        torch_json = json.load(f)
    try:
        with open(f"{directory}/{files}torchn_{r}.json") as f:
            wall = json.load(f)["results"]
    except FileNotFoundError:
        wall = []
    ours = {}
    for b in ours_json["benchmarks"]:
        m = re.match(pattern(kind), b["name"])
        if not m or b.get("run_type") == "aggregate":
            continue
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message', 'failed')}")
        opt, hidden, batch, threads = (int(x) for x in m.groups()[:4])
        fused = int(m.group(5)) if m.group(5) is not None else None
        ours[(OPTS[opt], hidden, batch, threads, fused)] = b[key]
    # (opt, hidden, batch, clock) -> threads -> (ms, foreach); clock "thread" for the 1-thread
    # rows, "wall" (every setting) for the all-threads rows.
    torch = defaultdict(dict)
    for clock, results in (("thread", torch_json["results"]), ("wall", wall)):
        for e in results:
            torch[(e["opt"], e["hidden"], e["batch"], clock)][e["threads"]] = (
                e[key],
                e["foreach"],
                e.get("capability", ""),
            )
    return ours_json, ours, torch_json, torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("rounds", type=int)
    ap.add_argument("--json")
    ap.add_argument("--update")
    ap.add_argument("--section", default="",
                    help="name of the generated block: markers 'step_vs_torch_table <name>'")
    ap.add_argument("--epochs", action="store_true", help="the epoch table instead of the step")
    args = ap.parse_args()
    kind_name = "epoch" if args.epochs else "step"
    kind = KINDS[kind_name]
    unit, digits = kind["unit"], kind["digits"]
    rounds = [read_round(args.dir, r, kind_name) for r in range(1, args.rounds + 1)]
    ctx = rounds[0][0].get("context", {})
    tj = rounds[0][2]
    all_threads = int(ctx.get("threads_all", 1))
    keys = sorted({k for _, ours, _, _ in rounds for k in ours}, key=lambda k: (k[0] != "sgd",) + k[1:4])
    variants = sorted({k[4] for k in keys}, key=lambda v: (v is None, -(v or 0)))
    rows = []
    for opt, hidden, batch in sorted({k[:3] for k in keys}, key=lambda k: (k[0] != "sgd", k[1], k[2])):
        for threads in sorted({k[3] for k in keys if k[:3] == (opt, hidden, batch)}):
            row = {"opt": opt, "hidden": hidden, "batch": batch, "threads": threads, "ours": {}}
            torch_ms, settings = [], []
            for _, ours, _, torch in rounds:
                # 1 thread: PyTorch at 1 thread (CPU time); all threads: its best setting (wall).
                cands = torch[(opt, hidden, batch, "thread" if threads == 1 else "wall")]
                t_best = min(cands, key=lambda t: cands[t][0])
                torch_ms.append(cands[t_best][0])
                cap = cands[t_best][2]
                settings.append(f"{t_best}t{' foreach' if cands[t_best][1] else ''}"
                                f"{' ' + cap if cap and tj.get('cpu_capability', '').startswith('best of') else ''}")
            row[f"torch_{unit}"] = torch_ms
            row["torch_setting"] = settings
            for v in variants:
                ms = [ours.get((opt, hidden, batch, threads, v)) for _, ours, _, _ in rounds]
                if None in ms:
                    continue
                row["ours"][v] = {
                    unit: ms,
                    "ratio": [t / o for t, o in zip(torch_ms, ms)],
                }
            rows.append(row)

    load_start, load_end = run_text(args.dir, "load_start"), run_text(args.dir, "load_end")
    lines = [
        f"Run: {ctx.get('date', '?')}, host {ctx.get('host_name', '?')}, CPU {cpu_model()} "
        f"({ctx.get('num_cpus', '?')} CPUs, flags {cpu_isa_flags()}), {args.rounds} rounds.",
        f"Ours: catapult kernels ISA {ctx.get('catapult_isa', '?')} (detected "
        f"{ctx.get('catapult_isa_detected', '?')}). PyTorch {tj.get('torch', '?')} (ATen CPU "
        f"capability {tj.get('cpu_capability', '?')}), {torch_blas(tj)} (ours: OpenBLAS "
        f"{ctx.get('openblas_corename', '?')}).",
        f"Load: at the start `{load_start}`; at the end `{load_end}`.",
        "",
    ]
    named = {None: "", 1: " fused", 0: " unfused"}
    header = f"| optimizer | B | threads | PyTorch {unit} (setting) |"
    align = "|---|---:|---:|---|"
    for v in variants:
        header += f" ours{named[v]} {unit} | PyTorch / ours{named[v]} (range) |"
        align += "---:|---:|"
    lines += [header, align]
    for row in rows:
        t_label = "1" if row["threads"] == 1 else f"all ({row['threads']})"
        med_torch = statistics.median(row[f"torch_{unit}"])
        setting = max(set(row["torch_setting"]), key=row["torch_setting"].count)
        line = (f"| {NAMES[row['opt']]} | {row['batch']} | {t_label} | {med_torch:.{digits}f} "
                f"({setting}) |")
        for v in variants:
            o = row["ours"].get(v)
            if o is None:
                line += " – | – |"
                continue
            r = o["ratio"]
            line += (
                f" {statistics.median(o[unit]):.{digits}f} | **{statistics.median(r):.2f}** "
                f"({min(r):.2f}–{max(r):.2f}) |"
            )
        lines.append(line)
    table = "\n".join(lines)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"unit": unit, "context": ctx, "torch": {k: tj.get(k) for k in ("torch", "cpu_capability",
                       "openblas_coretype", "config")}, "rows": [
                {**r, "ours": {str(k): v for k, v in r["ours"].items()}} for r in rows]},
                f, separators=(",", ":"))
    if args.update:
        name = kind["block"] + (f" {args.section}" if args.section else "")
        if not replace_block(args.update, f"<!-- BEGIN {name} -->", f"<!-- END {name} -->", table):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
