#!/usr/bin/env python3
"""int8 side by side, in alternating rounds (issue 17): hfjit's `--quantize
int8` artifact against ONNX Runtime int8 and CTranslate2 int8 on one model.

    .venv-ref/bin/python scripts/bench/bench_int8.py MODEL_DIR PT --work DIR \\
        [--batch 1] [--length 128] [--threads 2] [--rounds 5] [--min-time 3] [--hfjit build/hfjit]

MODEL_DIR: a bare encoder checkpoint (architectures ["BertModel"]), so that all
three run the same work (CTranslate2 converts the encoder only). PT: `hfjit
trace MODEL_DIR --quantize int8 --batch-size B --max-length L`. --work: the
folder where scripts/bench/bench_compare.py left model-int8.onnx (ONNX
Runtime's quantize_dynamic, per channel) and ct2/ (CTranslate2's converter).

bench_compare.py times each contender once, one after the other; on a shared
machine the load changes between them. Here each round times every contender
for --min-time seconds (hfjit through `hfjit bench PT --json` in a subprocess,
its own warm-up), and the table gives the median over rounds of each round's
median, and each contender's ratio to the faster peer within the same round.
Inputs: random ids of the same shape (hfjit bench draws its own).
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_compare import ort_session, time_calls  # noqa: E402
import machine  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("pt")
    ap.add_argument("--work", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--hfjit", default="build/hfjit")
    args = ap.parse_args()

    import ctranslate2
    import onnxruntime

    work = Path(args.work)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, size=(args.batch, args.length), dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    sess = ort_session(work / "model-int8.onnx", args.threads)
    feed = {i.name: feed[i.name] for i in sess.get_inputs()}
    enc = ctranslate2.Encoder(str(work / "ct2"), device="cpu", compute_type="int8", inter_threads=1,
                              intra_threads=args.threads)
    id_list, type_list = ids.tolist(), np.zeros_like(ids).tolist()

    def hfjit_round():
        out = subprocess.run([args.hfjit, "--threads", str(args.threads), "bench", args.pt, "--min-time",
                              str(args.min_time), "--json"], capture_output=True, text=True, check=True).stdout
        return json.loads(out.splitlines()[0])["p50_ms"]

    contenders = {
        "ONNX Runtime int8 (per-channel)": lambda: time_calls(
            lambda: sess.run(None, feed), args.min_time, 3)["p50_ms"],
        "CTranslate2 int8": lambda: time_calls(
            lambda: enc.forward_batch(id_list, token_type_ids=type_list), args.min_time, 3)["p50_ms"],
        "hfjit int8": hfjit_round,
    }
    rounds = {k: [] for k in contenders}
    for r in range(args.rounds):
        for name, fn in contenders.items():
            rounds[name].append(fn())
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} ms" for k, v in rounds.items()),
              file=sys.stderr, flush=True)
    peers = ["ONNX Runtime int8 (per-channel)", "CTranslate2 int8"]
    best = [min(rounds[p][i] for p in peers) for i in range(args.rounds)]
    flags = " ".join(machine.cpu_info()[1])
    print(f"{machine.summary()} ({flags}); onnxruntime {onnxruntime.__version__}; ctranslate2 {ctranslate2.__version__}; "
          f"batch {args.batch} x length {args.length}, {args.threads} threads, {args.rounds} rounds of "
          f"{args.min_time:g} s each")
    print("\n| contender | p50 ms (median of rounds) | / faster peer (median of rounds) |")
    print("|---|---:|---:|")
    for name, v in rounds.items():
        ratio = statistics.median(x / b for x, b in zip(v, best))
        print(f"| {name} | {statistics.median(v):.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
