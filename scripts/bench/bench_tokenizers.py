#!/usr/bin/env python3
"""Encode throughput of the Rust `tokenizers` library on one thread (the
reference for bench/tokenize_bench.cpp; docs/tokenizers.md, "Speed").

    .venv-ref/bin/python scripts/bench/bench_tokenizers.py TOKENIZER_DIR CORPUS.jsonl [--repeat N] [--pairs] [--no-special]

Loads TOKENIZER_DIR/tokenizer.json with padding and truncation off, then times
`encode` one line at a time and `encode_batch` on the whole corpus, with
RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false (one thread).
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from tokenizers import Tokenizer  # noqa: E402


def best(repeat, fn):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tokenizer_dir")
    ap.add_argument("corpus")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pairs", action="store_true")
    ap.add_argument("--no-special", action="store_true")
    args = ap.parse_args()
    special = not args.no_special

    tok = Tokenizer.from_file(os.path.join(args.tokenizer_dir, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    with open(args.corpus, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f.read().split("\n")[:-1]]
    nbytes = sum(len(l.encode("utf-8")) for l in lines)
    tokens = sum(len(tok.encode(l, add_special_tokens=special).ids) for l in lines)  # warm-up

    single = best(args.repeat, lambda: [tok.encode(l, add_special_tokens=special) for l in lines])
    print(f"{'encode (one line at a time)':28s} {len(lines) / single:9.0f} lines/s {tokens / single:11.0f} tokens/s "
          f"{nbytes / single / 1e6:7.2f} MB/s  ({len(lines)} lines, {tokens} tokens, best of {args.repeat})")
    batch = best(args.repeat, lambda: tok.encode_batch(lines, add_special_tokens=special))
    print(f"{'encode_batch (1 thread)':28s} {len(lines) / batch:9.0f} lines/s {tokens / batch:11.0f} tokens/s "
          f"{nbytes / batch / 1e6:7.2f} MB/s")
    if args.pairs:
        pairs = [(lines[i], lines[(7 * i + 3) % len(lines)]) for i in range(len(lines))]
        paired = best(args.repeat, lambda: [tok.encode(a, b, add_special_tokens=special) for a, b in pairs])
        print(f"{'encode_pair':28s} {len(lines) / paired:9.0f} pairs/s")


if __name__ == "__main__":
    main()
