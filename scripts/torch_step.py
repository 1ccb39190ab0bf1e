#!/usr/bin/env python3
"""Times one PyTorch training step of the 784-H-10 ReLU network, the peer of nn_bench's
BM_Nn_TrainStep, or with --epoch-data one epoch over MNIST, the peer of BM_Nn_TrainEpoch
(scripts/bench_step_vs_torch.sh runs both sides back to back and prints the ratios).

Usage: torch_step.py --out FILE.json [--hidden 1024] [--batches 32,128,1024] [--opts sgd,adam]
                     [--min-threads 1] [--max-threads N] [--clock thread|wall]
                     [--epoch-data MNIST_DIR] [--sparse-threads]

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
An epoch (--epoch-data, the directory of MNIST's raw or gzipped IDX files): the 60000 training
images scaled to [0, 1] (as our loader does), a fresh network and optimizer (SGD at rate 0.1,
Adam at 1e-3, as BM_Nn_TrainEpoch), then one pass over a torch.randperm order in batches of B
(the last one smaller where B does not divide 60000): the batch gathered with index_select, the
step above, and loss.item() every step (our trainer checks every step's loss), timed as one
sample on the same clocks. Thread settings 1, 2, 4, … up to --max-threads (and it), not every
one: an epoch takes seconds.
Writes JSON: {"torch": version, "config": torch.__config__.show(), "cpu_capability",
"openblas_coretype", "results": [{"opt", "hidden", "batch", "threads", "step_ms" (or "epoch_s"),
"foreach"}]}.
"""
import argparse
import gzip
import json
import math
import os
import re
import statistics
import struct
import time

import torch
import torch.nn.functional as F

SAMPLE_SECONDS = 5e-3
SAMPLES = 15


def make_model(opt_name, hidden, foreach, lr):
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, foreach=foreach)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=foreach)
    return model, opt


def make_step(opt_name, hidden, batch, foreach):
    model, opt = make_model(opt_name, hidden, foreach, 1e-6)
    x = torch.rand(batch, 784)
    labels = torch.randint(0, 10, (batch,))
    target = F.one_hot(labels, 10).to(torch.float32)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()

    return step


def read_idx(directory, name, dims):
    """The uint8 array of MNIST's IDX file `name` (raw, or name + ".gz") with `dims` dimensions."""
    path = os.path.join(directory, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
    else:
        with gzip.open(path + ".gz", "rb") as f:
            data = f.read()
    magic, *shape = struct.unpack(f">{1 + dims}I", data[: 4 * (1 + dims)])
    if magic != 0x0800 + dims:
        raise SystemExit(f"torch_step.py: {path}: not an IDX file of {dims} dimensions")
    count = math.prod(shape)
    body = data[4 * (1 + dims) :]
    if len(body) != count:
        raise SystemExit(f"torch_step.py: {path}: {len(body)} bytes of data, {count} expected")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


def load_mnist_train(directory):
    images = read_idx(directory, "train-images-idx3-ubyte", 3).reshape(-1, 784)
    labels = read_idx(directory, "train-labels-idx1-ubyte", 1).to(torch.int64)
    return images.to(torch.float32) / 255.0, F.one_hot(labels, 10).to(torch.float32)


def make_epoch(opt_name, hidden, batch, foreach, images, targets):
    model, opt = make_model(opt_name, hidden, foreach, 0.1 if opt_name == "sgd" else 1e-3)
    n = images.shape[0]
    generator = torch.Generator().manual_seed(1)

    def epoch():
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            x = images.index_select(0, idx)
            target = targets.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(x), target)
            loss.backward()
            opt.step()
            if not math.isfinite(loss.item()):
                raise SystemExit(f"torch_step.py: the {opt_name} epoch at B = {batch} diverged")

    return epoch


def thread_settings(low, high, sparse):
    """Every count from low to high; sparse (epochs, or --sparse-threads): the powers of two in
    it, and high."""
    if not sparse:
        return list(range(low, high + 1))
    powers = {2**i for i in range(high.bit_length())}
    return sorted({t for t in powers if low <= t <= high} | {high})


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
    ap.add_argument("--epoch-data", help="MNIST directory: time one epoch instead of a step")
    ap.add_argument("--sparse-threads", action="store_true",
                    help="steps too at 1, 2, 4, … and --max-threads only (many-core nodes)")
    args = ap.parse_args()
    if args.epoch_data:
        images, targets = load_mnist_train(args.epoch_data)
    results = []
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    for opt_name in args.opts.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for threads in thread_settings(args.min_threads, args.max_threads,
                                           bool(args.epoch_data) or args.sparse_threads):
                torch.set_num_threads(threads)
                best = None
                for foreach in (False, True):
                    if args.epoch_data:
                        epoch = make_epoch(opt_name, args.hidden, batch, foreach, images, targets)
                        t0 = clock()
                        epoch()
                        t = clock() - t0
                    else:
                        t = time_step(make_step(opt_name, args.hidden, batch, foreach), clock)
                    if best is None or t < best[0]:
                        best = (t, foreach)
                entry = {"opt": opt_name, "hidden": args.hidden, "batch": batch, "threads": threads}
                if args.epoch_data:
                    entry["epoch_s"] = best[0]
                else:
                    entry["step_ms"] = 1e3 * best[0]
                entry["foreach"] = best[1]
                results.append(entry)
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
