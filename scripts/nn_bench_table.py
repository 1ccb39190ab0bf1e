#!/usr/bin/env python3
"""Turns an nn_bench JSON file into the markdown table of docs/nn_benchmarks.md.

Usage: scripts/nn_bench_table.py BENCH.json [--update docs/nn_benchmarks.md]

Reads Google Benchmark JSON, takes the median over repetitions when there are several, and prints
per configuration (hidden H, batch B, threads): our step time, its GFLOP/s, the time of the
step's five GEMMs in OpenBLAS and with our gemm (both timed inside BM_Nn_Step, interleaved with
the step), the step efficiency t(OpenBLAS GEMMs)/t(step), and the nn overhead
1 − t(our GEMMs)/t(step). Python 3 standard library only; no number is typed by hand.
"""
import argparse
import json
import re
import statistics
import sys
from collections import defaultdict

BEGIN = "<!-- BEGIN nn_bench_table -->"
END = "<!-- END nn_bench_table -->"


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(list)
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        m = re.match(r"BM_Nn_Step/hidden:(\d+)/batch:(\d+)/threads:(\d+)", b["name"])
        if m:
            runs[tuple(int(x) for x in m.groups())].append(b)
    return data.get("context", {}), runs


def med(values):
    return statistics.median(values) if values else float("nan")


def table(context, runs):
    lines = [
        f"Run context: {context.get('date', '?')}, host {context.get('host_name', '?')}, "
        f"{context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz, "
        f"load average {context.get('load_avg', '?')}, OpenBLAS core "
        f"{context.get('openblas_corename', '?')}.",
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
        overhead = 1 - own / step if step == step and step > 0 else float("nan")
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
    context, runs = load(args.json)
    text = table(context, runs)
    if not args.update:
        print(text)
        return 0
    with open(args.update) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        print(f"{args.update}: markers {BEGIN} / {END} missing", file=sys.stderr)
        return 1
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(args.update, "w") as f:
        f.write(head + BEGIN + "\n" + text + "\n" + END + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
