#!/usr/bin/env python3
"""fp32 Linear layers: libtorch's default (MKL's sgemm) against oneDNN (issue 17).

    .venv-ref/bin/python scripts/bench/bench_linear.py [--threads 2] [--calls 30] [--rounds 3]

Each shape (rows x in -> out: BERT-base's Linear layers at 128 rows, its MLM
decoder, and 1,024 rows) is timed both ways in one process: `F.linear` (what
`aten::linear` runs: MKL's sgemm in the PyPI wheel) and
`torch.ops.mkldnn._linear_pointwise` with the weight reordered once by
`torch.ops.mkldnn._reorder_linear_weight` (what `hfjit run` and `bench` use,
lib/core/src/cpu_kernels.cpp). Per round the median of --calls calls after 3
warm-up calls; the rounds alternate the two; the table gives the middle
round's median. Set ONEDNN_MAX_CPU_ISA=AVX2 to hold oneDNN to AVX2.
"""
import argparse
import time

import torch

from machine import summary

SHAPES = [(128, 768, 768), (128, 768, 3072), (128, 3072, 768), (128, 768, 30522), (1024, 768, 3072)]


def median_ms(f, calls):
    for _ in range(3):
        f()
    ts = []
    for _ in range(calls):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2] * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(summary())
    print("| Linear (rows x in -> out) | aten (MKL) ms | oneDNN prepacked ms | oneDNN / aten | max abs diff |")
    print("|---|---:|---:|---:|---:|")
    with torch.inference_mode():
        for rows, k, n in SHAPES:
            x, w, b = torch.randn(rows, k), torch.randn(n, k), torch.randn(n)
            wp = torch.ops.mkldnn._reorder_linear_weight(w, rows)
            aten = lambda: torch.nn.functional.linear(x, w, b)  # noqa: E731
            dnn = lambda: torch.ops.mkldnn._linear_pointwise(x, wp, b, "none", [], "")  # noqa: E731
            diff = (aten() - dnn()).abs().max().item()
            a, d = [], []
            for _ in range(args.rounds):
                a.append(median_ms(aten, args.calls))
                d.append(median_ms(dnn, args.calls))
            a_ms, d_ms = sorted(a)[len(a) // 2], sorted(d)[len(d) // 2]
            print(f"| {rows} x {k} -> {n} | {a_ms:.2f} | {d_ms:.2f} | {d_ms / a_ms:.2f} | {diff:.2e} |")


if __name__ == "__main__":
    main()
