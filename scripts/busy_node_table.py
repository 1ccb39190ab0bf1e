#!/usr/bin/env python3
"""The busy-node table of scripts/bench_node.sh: the MLP products at 1 thread, paired with OpenBLAS,
in one process alone and in one process per core at once.

Usage: scripts/busy_node_table.py ALONE.json BUSY0.json [BUSY1.json ...]

Every JSON is kernels_bench output of BM_Kernels_PairedMlp<float>/…/threads:1 (one run of each
case). Per product: the ratio ours / OpenBLAS alone and, over the busy processes, its median
(min–max), and each side's GFLOP/s alone and busy (median over the processes), so that a side
that loses more to the shared caches and memory shows. Python 3 standard library only; every
number comes from the JSON files.
"""
import argparse
import json
import statistics

from bench_table import PASSES, load_paired, parse


def cases(path):
    """{(pass, batch, hidden): (ratio, ours FLOP/s, OpenBLAS FLOP/s)} of one file."""
    out = {}
    for name, stats in load_paired(json.load(open(path))).items():
        parsed = parse(name)
        if not parsed or parsed[0] != "PairedMlp":
            continue
        a = parsed[2]
        r, ours, peer = stats["median"][:3]
        out[(a["pass"], a["batch"], a["hidden"])] = (r, ours, peer)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("alone")
    ap.add_argument("busy", nargs="+")
    opts = ap.parse_args()
    alone = cases(opts.alone)
    busy = [cases(p) for p in opts.busy]
    n = len(busy)
    print(f"Busy node, float, 1 thread per process: each product alone, then in {n} pinned "
          f"processes at once (ratio = ours / OpenBLAS within each process; busy = median over "
          f"the {n}, min–max in brackets).")
    print()
    print("| product | B | H | ratio alone | ratio busy | ours GFLOP/s alone → busy | "
          "OpenBLAS GFLOP/s alone → busy |")
    print("|---|---|---|---|---|---|---|")
    kept_ours, kept_peer = [], []
    for key in sorted(alone):
        values = [b[key] for b in busy if key in b]
        if not values:
            continue
        ratios = [v[0] for v in values]
        ours = statistics.median(v[1] for v in values)
        peer = statistics.median(v[2] for v in values)
        r, a_ours, a_peer = alone[key]
        kept_ours.append(ours / a_ours)
        kept_peer.append(peer / a_peer)
        print(f"| {PASSES[key[0]]} | {key[1]} | {key[2]} | {r:.2f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) | "
              f"{a_ours / 1e9:.1f} → {ours / 1e9:.1f} | {a_peer / 1e9:.1f} → {peer / 1e9:.1f} |")
    if kept_ours:
        print()
        print(f"Busy / alone, median over the products: ours {statistics.median(kept_ours):.2f}, "
              f"OpenBLAS {statistics.median(kept_peer):.2f}.")


if __name__ == "__main__":
    main()
