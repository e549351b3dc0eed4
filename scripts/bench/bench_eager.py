#!/usr/bin/env python3
"""hfjit's native eager BertModel against transformers' eager BertModel.

Both run the same random BERT-base-sized weights on the same libtorch (Debian's
1.13), batch 1 x length 128 by default, with the same thread count, under
inference mode. The C++ side is bench/eager_bert (a build target of bench/).

    .venv-ref/bin/python scripts/bench/bench_eager.py --bin build/bench/eager_bert

The two are timed in alternating rounds (Python, C++, Python, C++, ...) so a
machine that speeds up or slows down affects both alike; each round reports the
median and the fastest of --iterations forwards. The result gives the median of
the round medians and the fastest forward overall (the least disturbed by other
work on a shared machine), and the ratio of each.
Python is only used here, to measure the reference.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import safetensors.torch
import torch
import transformers
from transformers.utils import logging as hf_logging


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", required=True, help="path of the eager_bert executable")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = ap.parse_args()

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, attn_implementation="eager")
    model = transformers.BertModel(config).eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, args.length))
    inputs = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "token_type_ids": torch.zeros_like(ids),
    }

    with tempfile.TemporaryDirectory(prefix="hfjit-bench-") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        with torch.inference_mode():
            out = model(**inputs, return_dict=False)
        reference = Path(tmp) / "reference.safetensors"
        safetensors.torch.save_file(
            {**inputs, "last_hidden_state": out[0].contiguous(), "pooler_output": out[1].contiguous()},
            str(reference))

        def python_round():
            with torch.inference_mode():
                for _ in range(args.warmup):
                    model(**inputs)
                times = []
                for _ in range(args.iterations):
                    start = time.perf_counter()
                    model(**inputs)
                    times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times), min(times)

        def native_round():
            cmd = [args.bin, tmp, str(reference), str(args.threads), str(args.iterations),
                   str(args.warmup)]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            return res

        py, py_min, native, native_min, diffs = [], [], [], [], []
        for _ in range(args.rounds):
            median, fastest = python_round()
            py.append(median)
            py_min.append(fastest)
            res = native_round()
            native.append(res["median_ms"])
            native_min.append(res["min_ms"])
            diffs.append(res["max_abs_diff"])

    result = {
        "model": "BertModel, hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 30522",
        "batch": args.batch, "length": args.length, "threads": args.threads,
        "iterations": args.iterations, "rounds": args.rounds,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "transformers_median_ms": round(statistics.median(py), 2),
        "hfjit_median_ms": round(statistics.median(native), 2),
        "transformers_fastest_ms": round(min(py_min), 2),
        "hfjit_fastest_ms": round(min(native_min), 2),
        "transformers_rounds_ms": [round(t, 2) for t in py],
        "hfjit_rounds_ms": [round(t, 2) for t in native],
        "max_abs_diff": max(diffs),
    }
    result["ratio_median"] = round(result["hfjit_median_ms"] / result["transformers_median_ms"], 3)
    result["ratio_fastest"] = round(result["hfjit_fastest_ms"] / result["transformers_fastest_ms"], 3)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:24} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
