#!/usr/bin/env python3
"""Checks that kernels_bench's FMA peaks are not beaten by the GEMMs of the same run.

Usage: bench/check_fma_peak.py KERNELS_BENCH [--margin 0.1] [--min-time 0.05]

The CTest test kernels_bench_fma_peak (bench/CMakeLists.txt, label "bench"). Runs KERNELS_BENCH
briefly (a few seconds) on the one-thread float FMA peaks and the paired square 1024, float, one
thread, with JSON output, and asserts:
- a BM_Kernels_FmaPeak<float>/isa:<isa> benchmark for every ISA this CPU has (/proc/cpuinfo;
  every build, portable or native, compiles the peak loop of every ISA the library dispatches
  to, bench/fma_peak_<isa>.cpp), and the AVX-512 and AVX2 peaks timed in the pairs;
- peak_fraction <= 1 + margin: ours against the reference FMA peak timed in the same pairs (the
  active ISA's: the widest unless CATAPULT_ISA forces a lower one);
- for the AVX-512 and AVX2 peaks timed in the same pairs: the faster GEMM of each pair (ours or
  OpenBLAS) <= (1 + margin) x that peak, i.e. the peak >= the best GEMM / (1 + margin). AVX2 is
  held to an AVX-512 GEMM only where AVX-512 FMAs are no wider than AVX2's: Zen 4 (AMD family
  25), which runs a 512-bit FMA as two 256-bit halves. Where the CPU has two full-width 512-bit
  FMA units (Intel Xeon, Zen 5) an AVX-512 GEMM rightly beats the AVX2 peak, and the AVX2 figure
  is only printed.
Every assertion is a ratio of samples taken back to back in the same pair, at the same moment of
the machine's other load, not a timed threshold, so other work on the machine does not make it
fail. Exit status: 0 passed, 1 failed, 77 skipped (built without OpenBLAS: no pairs).
Python 3 standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77
FILTER = ("^BM_Kernels_FmaPeak<float>/isa:[a-z0-9]+/real_time/threads:1$"
          "|^BM_Kernels_PairedSquare<float>/n:1024/threads:1/")


def cpu_info():
    """(ISAs of BM_Kernels_FmaPeak this CPU has, vendor, family) from /proc/cpuinfo, or
    (None, "", 0) where it cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None, "", 0
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor is enough
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    isas = set()
    if {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "fma"} <= flags:
        isas.add("avx512")  # the library's AVX-512 set (catapult/kernels/isa.hpp)
    if {"avx2", "fma"} <= flags:
        isas.add("avx2")
    if "sse2" in flags:
        isas.add("sse")
    return isas, fields.get("vendor_id", ""), int(fields.get("cpu family", "0") or 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernels_bench")
    ap.add_argument("--native", action="store_true",
                    help="accepted for older callers; no effect (every build has every peak)")
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--min-time", default="0.05",
                    help="--benchmark_min_time of the peaks (the paired case sets its own)")
    opts = ap.parse_args()
    limit = 1 + opts.margin

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fma_peak.json")
        cmd = [opts.kernels_bench, f"--benchmark_filter={FILTER}",
               f"--benchmark_min_time={opts.min_time}", f"--benchmark_out={out}",
               "--benchmark_out_format=json"]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, timeout=300)
        with open(out, encoding="utf-8") as f:
            data = json.load(f)

    peaks, paired = {}, None
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            message = b.get("error_message", "")
            if "without OpenBLAS" in message:
                print(f"SKIP: {name}: {message}")
                return SKIP
            print(f"FAIL: {name}: {message}")
            return 1
        if name.startswith("BM_Kernels_FmaPeak<float>/isa:"):
            peaks[name.split("isa:")[1].split("/")[0]] = b["flops"] * b["real_time"] / b["cpu_time"]
        elif name.startswith("BM_Kernels_PairedSquare<float>/n:1024/threads:1"):
            paired = b

    failures = []
    isas, vendor, family = cpu_info()
    print(f"CPU: {vendor} family {family}; FMA peak reference: "
          f"{data['context'].get('fma_peak_reference')} (best: "
          f"{data['context'].get('fma_peak_best')}); OpenBLAS core: "
          f"{data['context'].get('openblas_corename')}")
    for isa, rate in peaks.items():
        print(f"BM_Kernels_FmaPeak<float>/isa:{isa}, 1 thread: {rate / 1e9:.1f} GFLOP/s (cpu time)")
    if isas is not None and isas != set(peaks):
        failures.append(f"FmaPeak ISAs {sorted(peaks)}, the CPU has {sorted(isas)}")
    if paired is None:
        failures.append("no BM_Kernels_PairedSquare<float>/n:1024/threads:1 in the output")
    else:
        print(f"paired square 1024, float, 1 thread: ours {paired['ours_flops'] / 1e9:.1f}, "
              f"OpenBLAS {paired['openblas_flops'] / 1e9:.1f} GFLOP/s (cpu time), "
              f"peak_fraction {paired.get('peak_fraction', float('nan')):.2f}")
        fraction = paired.get("peak_fraction")
        if fraction is None or fraction > limit:
            failures.append(f"peak_fraction {fraction} > {limit:.2f}: ours beat the FMA peak of "
                            "the same pairs")
        in_pairs = {k[len("gemm_peak_fraction_"):]: v for k, v in paired.items()
                    if k.startswith("gemm_peak_fraction_")}
        # AVX2 can be held to an AVX-512 GEMM only where AVX-512 is no wider (see the docstring).
        avx512_as_wide_as_avx2 = vendor == "AuthenticAMD" and family == 25
        for isa in ("avx512", "avx2"):
            if isa not in in_pairs:
                if isas is not None and isa in isas:
                    failures.append(f"the paired case timed no {isa} peak")
                continue
            peak = paired[f"peak_flops_{isa}"]
            asserted = isa == "avx512" or "avx512" not in in_pairs or avx512_as_wide_as_avx2
            print(f"{isa} peak in the pairs: {peak / 1e9:.1f} GFLOP/s; the faster GEMM reached "
                  f"{in_pairs[isa]:.2f} of it (median of the pairs)"
                  + ("" if asserted else "; not asserted (AVX-512 may be wider here)"))
            if asserted and in_pairs[isa] > limit:
                failures.append(f"{isa} peak {peak / 1e9:.1f} GFLOP/s < the best GEMM / "
                                f"{limit:.2f} (the faster GEMM at {in_pairs[isa]:.2f} of it in "
                                "the same pairs)")
    for f in failures:
        print(f"FAIL: {f}")
    print("PASS" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
