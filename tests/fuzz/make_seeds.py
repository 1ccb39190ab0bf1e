#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ (run by hand; the outputs are committed).

Small, valid inputs of every shape the parsers accept, plus a few near-misses, so libFuzzer
starts from the interesting parts of the format instead of random bytes."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_seeds():
    seeds = {
        "labels_u8": idx(0x08, [10], bytes(range(10))),
        "images_u8": idx(0x08, [2, 3, 3], bytes((7 * i) % 256 for i in range(18))),
        "i8": idx(0x09, [4], bytes([0x80, 0xFF, 0, 1])),
        "i16": idx(0x0B, [2, 2], struct.pack(">4h", -1, 2, -300, 4)),
        "i32": idx(0x0C, [3], struct.pack(">3i", -7, 0, 123456)),
        "f32": idx(0x0D, [2], struct.pack(">2f", 1.5, -0.0)),
        "f64": idx(0x0E, [1, 2], struct.pack(">2d", 3.25, 1e300)),
        "rank0": idx(0x08, [], b"\x2a"),
        "empty_dim": idx(0x08, [0, 28], b""),
        "truncated": idx(0x08, [5], b"\x01\x02"),
    }
    for name, data in seeds.items():
        put("idx", name, data)
    # The same through gzip, and a two-member stream (MNIST mirrors serve single members).
    put("idx", "images_u8.gz", gzip.compress(seeds["images_u8"], mtime=0))
    put("idx", "labels_u8.gz", gzip.compress(seeds["labels_u8"], mtime=0))
    half = len(seeds["f32"]) // 2
    put("idx", "f32_two_members.gz",
        gzip.compress(seeds["f32"][:half], mtime=0) + gzip.compress(seeds["f32"][half:], mtime=0))


def train_config_seeds():
    seeds = {
        "full.json": """{"model": {"widths": [784, 256, 10], "hidden_activation": "relu",
 "output_activation": "identity", "bias": true, "parameterization": "standard"},
 "loss": {"kind": "mse", "reduction": "mean", "target_on": 1.0, "target_off": 0.0},
 "optimizer": {"kind": "sgd", "momentum": 0.9, "dampening": 0, "nesterov": false,
  "weight_decay": 0, "eps": 1e-10, "beta1": 0.9, "beta2": 0.999,
  "initial_accumulator_value": 0, "lr_decay": 0},
 "schedule": {"kind": "cyclic", "lr": 0.01, "max_lr": 0.5, "step_size_up": 200,
  "step_size_down": 200, "mode": "triangular", "gamma": 0.999, "step_size": 1000,
  "step_gamma": 0.1, "total_steps": 0, "min_lr": 0, "warmup_steps": 0,
  "warmup_start_factor": 0.333},
 "train": {"batch_size": 128, "epochs": 1, "steps": 0, "eval_every": 0, "seed": 0,
  "shuffle": true, "drop_last": false, "eval_batch_size": 1000},
 "data_dir": "", "dataset": "mnist", "out_dir": "", "threads": 0, "init_seed": 0}""",
        "adam.json": '{"optimizer": {"kind": "adam", "beta2": 0.98}, "schedule": {"kind": "cosine", "total_steps": 5}}',
        "adagrad_ntk.json": '{"model": {"widths": [4, 3], "parameterization": "ntk", "bias": false}, "optimizer": {"kind": "adagrad"}}',
        "critical.json": '{"schedule": {"kind": "cyclic", "peak_multiple_of_critical": 4.0, "base_multiple_of_critical": 0.5}}',
        "empty.json": "{}",
        "unknown_key.json": '{"train": {"batch": 3}}',
        "wrong_type.json": '{"threads": "four"}',
    }
    for name, text in seeds.items():
        put("train_config", name, text.encode())


def sweep_seeds():
    seeds = {
        "paper.json": """{"base": {"model": {"widths": [784, 256, 10]}, "loss": {"kind": "mse"},
  "schedule": {"kind": "cyclic", "step_size_up": 200, "base_multiple_of_critical": 0.5},
  "train": {"batch_size": 128, "epochs": 1, "eval_every": 100}},
 "grid": {"optimizer.kind": ["sgd", "adagrad", "adam"],
  "schedule.peak_multiple_of_critical": [2, 4], "train.seed": [0, 1]},
 "critical_lr": 0.42}""",
        "lr_batch.json": '{"grid": {"schedule.lr": [0.01, 0.1, 1], "train.batch_size": [32, 128]}}',
        "widths.json": '{"base": {"dataset": "fashion-mnist"}, "grid": {"model.widths": [[784, 10], [784, 64, 10]], "init_seed": [3]}}',
        "adamw.json": '{"base": {"optimizer": {"weight_decay": 0.5}}, "grid": {"optimizer.kind": ["sgd", "adamw"]}, "critical_lr": null}',
        "canonical.json": '{"base": {}, "critical_lr": null, "grid": {"train.seed": [1, 0]}}',
        "empty_grid.json": '{"grid": {}}',
        "unknown_key.json": '{"grid": {"schedule.learning_rate": [0.1]}}',
        "repeat.json": '{"grid": {"train.seed": [1, 1]}}',
        "missing_critical.json": '{"grid": {"schedule.peak_multiple_of_critical": [2]}}',
    }
    for name, text in seeds.items():
        put("sweep", name, text.encode())


if __name__ == "__main__":
    idx_seeds()
    train_config_seeds()
    sweep_seeds()
