#!/usr/bin/env python3
"""Turns an nn_bench or optim_bench JSON file into a markdown table of docs/nn_benchmarks.md.

Usage: scripts/nn_bench_table.py BENCH.json [--update docs/nn_benchmarks.md]

The family is recognised from the benchmark names. For optim_bench (BM_Optim_Step) the table
gives per optimizer, P and threads: the update's time, the bandwidth it achieves (bytes it must
read and write per second) and that bandwidth over OpenBLAS saxpy's on the same P and threads
(timed inside BM_Optim_Step, interleaved). For nn_bench:

Reads Google Benchmark JSON, takes the median over repetitions when there are several, and prints
per configuration (hidden H, batch B, threads): our step time, its GFLOP/s, the time of the
step's five GEMMs in OpenBLAS and with our gemm (all three timed back to back in every iteration
of BM_Nn_Step), the step efficiency t(OpenBLAS GEMMs)/t(step), and the nn overhead
1 − t(our GEMMs)/t(step), both medians over the iterations of the ratios within an iteration.
Python 3 standard library only; no number is typed by hand.
"""
import argparse
import json
import re
import statistics
import sys
from collections import defaultdict

from doc_block import replace_block

FAMILIES = {
    "nn": r"BM_Nn_Step/hidden:(\d+)/batch:(\d+)/threads:(\d+)",
    "optim": r"BM_Optim_Step/kind:(\d+)/params:(\d+)/threads:(\d+)",
}
OPTIMIZERS = {0: "SGD", 1: "SGD + momentum 0.9", 2: "AdaGrad", 3: "Adam"}


def load(path):
    with open(path) as f:
        data = json.load(f)
    for family, pattern in FAMILIES.items():
        runs = defaultdict(list)
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            m = re.match(pattern, b["name"])
            if m:
                runs[tuple(int(x) for x in m.groups())].append(b)
        if runs:
            return family, data.get("context", {}), runs
    raise SystemExit(f"{path}: no BM_Nn_Step or BM_Optim_Step results")


def med(values):
    return statistics.median(values) if values else float("nan")


def context_line(context):
    return (
        f"Run context: {context.get('date', '?')}, host {context.get('host_name', '?')}, "
        f"{context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz, "
        f"load average {context.get('load_avg', '?')}, catapult kernels ISA "
        f"{context.get('catapult_isa', '?')} (detected {context.get('catapult_isa_detected', '?')}), "
        f"OpenBLAS core {context.get('openblas_corename', '?')}"
        + (f" (OPENBLAS_CORETYPE={context['openblas_coretype_replaced']} in the environment replaced)"
           if context.get("openblas_coretype_replaced") else "")
        + "."
    )


def optim_table(context, runs):
    lines = [
        context_line(context),
        "",
        "| optimizer | P | threads | update µs | GB/s moved | saxpy µs | bandwidth / saxpy's |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(runs):
        kind, p, t = key
        rs = runs[key]
        step = med([r["step_us"] for r in rs if "step_us" in r])
        saxpy = med([r["saxpy_us"] for r in rs if "saxpy_us" in r])
        ratio = med([r["vs_saxpy"] for r in rs if "vs_saxpy" in r])
        buffers = {0: 0, 3: 2}.get(kind, 1)
        gbs = 4 * p * (3 + 2 * buffers) / (step * 1e3)  # bytes per µs / 1e3 = GB/s
        lines.append(
            f"| {OPTIMIZERS.get(kind, kind)} | {p} | {t} | {step:.1f} | {gbs:.1f} | {saxpy:.1f} "
            f"| {ratio:.2f} |"
        )
    return "\n".join(lines)


def table(context, runs):
    lines = [
        context_line(context),
        "",
        "| H | B | threads | step ms | GFLOP/s | OpenBLAS GEMMs ms | our GEMMs ms "
        "| step efficiency | nn overhead |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(runs):
        h, b, t = key
        rs = runs[key]
        step = med([r["step_ms"] for r in rs if "step_ms" in r])
        blas = med([r["openblas_gemms_ms"] for r in rs if "openblas_gemms_ms" in r])
        own = med([r["own_gemms_ms"] for r in rs if "own_gemms_ms" in r])
        eff = med([r["step_efficiency"] for r in rs if "step_efficiency" in r])
        gflops = med([r["flops"] / 1e9 for r in rs])
        overhead = med([r["nn_overhead"] for r in rs if "nn_overhead" in r])
        lines.append(
            f"| {h} | {b} | {t} | {step:.3f} | {gflops:.1f} | {blas:.3f} | {own:.3f} "
            f"| {eff:.2f} | {100 * overhead:.0f}% |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("json")
    parser.add_argument("--update")
    args = parser.parse_args()
    family, context, runs = load(args.json)
    text = optim_table(context, runs) if family == "optim" else table(context, runs)
    begin, end = f"<!-- BEGIN {family}_bench_table -->", f"<!-- END {family}_bench_table -->"
    if not args.update:
        print(text)
        return 0
    return 0 if replace_block(args.update, begin, end, text) else 1


if __name__ == "__main__":
    sys.exit(main())
