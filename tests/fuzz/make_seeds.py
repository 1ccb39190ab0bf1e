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


if __name__ == "__main__":
    idx_seeds()
