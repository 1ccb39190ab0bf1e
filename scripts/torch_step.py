#!/usr/bin/env python3
"""Times one PyTorch training step of the 784-H-10 ReLU network, the peer of nn_bench's
BM_Nn_TrainStep (scripts/bench_step_vs_torch.sh runs both back to back and prints the ratios).

Usage: torch_step.py --out FILE.json [--hidden 1024] [--batches 32,128,1024] [--opts sgd,adam]
                     [--min-threads 1] [--max-threads N] [--clock thread|wall]

A step is what BM_Nn_TrainStep times: forward, mean-MSE loss against one-hot targets (our
nn::mse_loss_labels with the mean reduction), backward, optimizer step (zero_grad(set_to_none)
first, as a training loop does). The input needs no gradient, so autograd skips the first layer's
input gradient, as our backward does. Float32, torch's default nn.Linear initialisation.

PyTorch at its best: for every configuration and every torch.set_num_threads(t), t = 1 .. N, both
optimizer implementations (foreach=False, the per-tensor loop, and foreach=True) are timed and the
faster kept. A sample is at least SAMPLE_SECONDS of consecutive steps; the time of a setting is
the median of SAMPLES samples per step. The clock is our side's (bench::PairClock): for the
1-thread comparison (--clock thread) the CPU time of the calling thread (time.thread_time; the
caller sets OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1, so all the work runs on it), which
leaves out the time other load on a shared machine kept it descheduled; for the all-threads one
(--clock wall, the default) the wall clock (time.perf_counter) at every setting.
Writes JSON: {"torch": version, "config": torch.__config__.show(), "cpu_capability",
"openblas_coretype", "results": [{"opt", "hidden", "batch", "threads", "step_ms", "foreach"}]}.
"""
import argparse
import json
import os
import re
import statistics
import time

import torch
import torch.nn.functional as F

SAMPLE_SECONDS = 5e-3
SAMPLES = 15


def make_step(opt_name, hidden, batch, foreach):
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )
    x = torch.rand(batch, 784)
    labels = torch.randint(0, 10, (batch,))
    target = F.one_hot(labels, 10).to(torch.float32)
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-6, foreach=foreach)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-6, foreach=foreach)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()

    return step


def time_step(step, clock):
    for _ in range(3):
        step()
    t0 = clock()
    step()
    once = clock() - t0
    calls = max(1, min(100000, int(SAMPLE_SECONDS / max(once, 1e-9)) + 1))
    per_step = []
    for _ in range(SAMPLES):
        t0 = clock()
        for _ in range(calls):
            step()
        per_step.append((clock() - t0) / calls)
    return statistics.median(per_step)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--batches", default="32,128,1024")
    ap.add_argument("--opts", default="sgd,adam")
    ap.add_argument("--min-threads", type=int, default=1)
    ap.add_argument("--clock", choices=("thread", "wall"), default="wall")
    ap.add_argument("--max-threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    results = []
    for opt_name in args.opts.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for threads in range(args.min_threads, args.max_threads + 1):
                torch.set_num_threads(threads)
                clock = time.thread_time if args.clock == "thread" else time.perf_counter
                best = None
                for foreach in (False, True):
                    t = time_step(make_step(opt_name, args.hidden, batch, foreach), clock)
                    if best is None or t < best[0]:
                        best = (t, foreach)
                results.append(
                    {
                        "opt": opt_name,
                        "hidden": args.hidden,
                        "batch": batch,
                        "threads": threads,
                        "step_ms": 1e3 * best[0],
                        "foreach": best[1],
                    }
                )
    info = {
        "torch": torch.__version__,
        "config": torch.__config__.show(),
        "cpu_capability": (
            re.search(r"CPU capability usage: (\S+)", torch.__config__.show()) or [None, "?"]
        )[1],
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "results": results,
    }
    with open(args.out, "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
