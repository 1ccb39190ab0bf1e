#!/usr/bin/env python3
"""Turns a kernels_bench JSON file into the markdown tables of docs/benchmarks.md.

Usage: scripts/bench_table.py BENCH.json [--lscpu LSCPU.txt] > table.md

Reads Google Benchmark JSON (--benchmark_format=json or --benchmark_out), takes the median of
the repetitions when there are several (else the single run), and prints GFLOP/s and the ratios
ours / OpenBLAS, ours / Eigen and ours / FMA peak. Python 3 standard library only; every number
in the output comes from the JSON (or lscpu), none is typed by hand.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict

IMPLS = {0: "naive", 1: "blocked_scalar", 2: "simd", 3: "simd_parallel", 4: "openblas", 5: "eigen"}
PASSES = {
    0: "forward X[B,784]·W1[H,784]ᵀ",
    1: "dW1 = dHᵀ·X (H×784, K=B)",
    2: "dX = dH·W1 (B×784, K=H)",
    3: "output X1[B,H]·W2[10,H]ᵀ",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs = defaultdict(list)
    medians = {}
    for b in data["benchmarks"]:
        if "flops" not in b:
            continue
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b["flops"]
        else:
            runs[name].append(b["flops"])
    flops = {name: statistics.median(v) for name, v in runs.items()}
    flops.update(medians)
    return data["context"], flops, max((len(v) for v in runs.values()), default=0)


def parse(name):
    """'BM_Kernels_GemmSquare<float>/n:1024/impl:3/threads:1/real_time' -> (family, type, args)."""
    m = re.match(r"BM_Kernels_(\w+)<(\w+)>((?:/[^/]+)*)", name)
    if not m:
        return None
    args = {}
    for part in m.group(3).split("/"):
        if ":" in part:
            k, v = part.split(":", 1)
            args[k] = int(v)
    return m.group(1), m.group(2), args


def gf(x):
    return f"{x / 1e9:.1f}" if x is not None else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--lscpu", help="saved `lscpu` output (default: run lscpu now)")
    opts = ap.parse_args()
    context, flops, reps = load(opts.json)

    by_key = {}
    peak = {}
    for name, value in flops.items():
        p = parse(name)
        if p is None:
            continue
        family, scalar, args = p
        if family == "FmaPeak":
            peak[(scalar, args.get("threads", 1))] = value
        elif family == "GemmSquare":
            by_key[(family, scalar, args["n"], args["impl"], args["threads"])] = value
        elif family == "GemmMlp":
            shape = (args["pass"], args["batch"], args["hidden"])
            by_key[(family, scalar, shape, args["impl"], args["threads"])] = value

    if opts.lscpu:
        with open(opts.lscpu, encoding="utf-8") as f:
            lscpu = f.read()
    else:
        try:
            lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            lscpu = ""
    model = re.search(r"Model name:\s*(.+)", lscpu)
    threads_all = int(context.get("threads_all", context.get("num_cpus", 1)))

    out = []
    out.append("### Machine and run\n")
    out.append(f"- CPU: {model.group(1).strip() if model else 'unknown'}; "
               f"{context.get('num_cpus')} logical CPUs at {context.get('mhz_per_cpu')} MHz; caches: "
               + ", ".join(f"L{c['level']} {c['type']} {c['size'] // 1024} KiB"
                           f" (shared by {c['num_sharing']})" for c in context.get("caches", [])))
    out.append(f"- Run: {context.get('date')}, host load average "
               f"{', '.join(f'{x:.1f}' for x in context.get('load_avg', []))} at start; "
               f"{reps} repetition(s) per benchmark, median shown.")
    out.append(f"- xsimd arch: {context.get('xsimd_arch')}; OpenBLAS core: "
               f"{context.get('openblas_corename', 'n/a')}; \"all threads\" = {threads_all}.")
    out.append("")

    out.append("### FMA peak (BM_Kernels_FmaPeak, GFLOP/s)\n")
    out.append("| type | 1 thread | all threads |")
    out.append("|---|---:|---:|")
    for scalar in ("float", "double"):
        if (scalar, 1) in peak:
            out.append(f"| {scalar} | {gf(peak.get((scalar, 1)))} | {gf(peak.get((scalar, threads_all)))} |")
    out.append("")

    def table(family, scalar, keys, label, key_fmt):
        rows = []
        for threads in sorted({1, threads_all}):
            pk = peak.get((scalar, threads))
            rows.append(f"\n**{scalar}, {threads} thread{'s' if threads > 1 else ''}** "
                        f"(GFLOP/s; ours = simd_parallel)\n")
            rows.append(f"| {label} | ours | OpenBLAS | Eigen | ours/OpenBLAS | ours/Eigen | % of FMA peak |")
            rows.append("|---|---:|---:|---:|---:|---:|---:|")
            for key in keys:
                ours = by_key.get((family, scalar, key, 3, threads))
                blas = by_key.get((family, scalar, key, 4, threads))
                eig = by_key.get((family, scalar, key, 5, threads))
                if ours is None:
                    continue
                pct = f"{100 * ours / pk:.0f}%" if pk else "–"
                rows.append(f"| {key_fmt(key)} | {gf(ours)} | {gf(blas)} | {gf(eig)} | "
                            f"{ratio(ours, blas)} | {ratio(ours, eig)} | {pct} |")
        return rows

    for scalar in ("float", "double"):
        sizes = sorted({k[2] for k in by_key if k[0] == "GemmSquare" and k[1] == scalar})
        if not sizes:
            continue
        out.append(f"### Square C[n,n] = A·B, {scalar}")
        out += table("GemmSquare", scalar, sizes, "n", str)
        slow = [(n, impl) for n in sizes for impl in (0, 1, 2)
                if ("GemmSquare", scalar, n, impl, 1) in by_key]
        if slow:
            out.append(f"\nOther variants, 1 thread ({scalar}, GFLOP/s):\n")
            out.append("| n | naive | blocked_scalar | simd |")
            out.append("|---|---:|---:|---:|")
            for n in sizes:
                vals = [by_key.get(("GemmSquare", scalar, n, impl, 1)) for impl in (0, 1, 2)]
                out.append(f"| {n} | " + " | ".join(gf(v) for v in vals) + " |")
        out.append("")

    for scalar in ("float", "double"):
        shapes = sorted({k[2] for k in by_key if k[0] == "GemmMlp" and k[1] == scalar})
        if not shapes:
            continue
        out.append(f"### MLP shapes, {scalar} (784 inputs, H hidden, 10 classes, batch B)")
        out += table("GemmMlp", scalar, shapes, "pass, B, H",
                     lambda s: f"{PASSES[s[0]]}, B={s[1]}, H={s[2]}")
        out.append("")

    # Targets of issue 3.
    out.append("### Targets\n")
    checks = []
    for (family, scalar, key, impl, threads), ours in sorted(by_key.items(), key=str):
        if impl != 3 or scalar != "float":
            continue
        if family == "GemmSquare" and key < 256:
            continue
        blas = by_key.get((family, scalar, key, 4, threads))
        if blas:
            checks.append((ours / blas, family, key, threads))
    met = sum(1 for r, *_ in checks if r >= 0.9)
    out.append(f"- ours ≥ 0.9 × OpenBLAS (float, MLP shapes and square n ≥ 256, 1 and all threads): "
               f"{met} of {len(checks)} cases; worst ratio "
               + (f"{min(checks)[0]:.2f} ({min(checks)[1]} {min(checks)[2]}, "
                  f"{min(checks)[3]} thread(s))" if checks else "–") + ".")
    p1 = peak.get(("float", 1))
    s1024 = by_key.get(("GemmSquare", "float", 1024, 3, 1))
    if p1 and s1024:
        out.append(f"- square 1024, float, 1 thread: {gf(s1024)} GFLOP/s = "
                   f"{100 * s1024 / p1:.0f}% of the measured FMA peak {gf(p1)} GFLOP/s (target ≥ 75%).")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
