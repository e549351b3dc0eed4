#!/usr/bin/env python3
"""`hfjit run` against the Python it replaces, on all-MiniLM-L6-v2 (issue 6).

    .venv-ref/bin/python scripts/bench/bench_run.py [--runs N] [--lines N] [--threads T]

Three measurements, each hfjit side by side with Python on the same libtorch
(Debian's 1.13) and the same number of intra-op threads (`hfjit --threads T`,
`torch.set_num_threads(T)`):

1. Cold start to the first answer: a fresh process embeds one short sentence.
   `hfjit run minilm-b1.pt TEXT --json` against a fresh `python -c` that imports
   sentence-transformers, loads the model folder and encodes the sentence, and
   one that runs transformers' `pipeline("feature-extraction")`. The contenders
   take turns within each of --runs rounds (after one untimed warm-up round, so
   the page cache is warm for all); median and fastest wall time. Start-up
   floors are timed alongside: `hfjit --version` (process + libtorch start),
   `hfjit run --tokenize` (+ the tokenizer read from the archive, module not
   loaded), `hfjit run --describe` (+ torch::jit::load of the module), and
   `python -c "import torch"`.
2. Throughput: the first --lines lines of a deterministic file of English
   sentences (5-60 words from a fixed word list, seeded RNG; 10,000 lines in
   WORK/lines10k.txt), `hfjit run minilm.pt --input F --output e.npy` (the
   batch-32 artifact) against sentence-transformers `encode(lines,
   batch_size=32)`: in-process (encode only) and whole-process wall time.
   The embeddings are compared row by row (cosine), and every line is checked
   to fit the traced length 128 (so neither side truncates).
3. Constant memory: hfjit's peak RSS (`/usr/bin/time -v`) on the first
   --mem-lines lines and on the same lines repeated 10 times, `--output .npy`.

Before each part the 1-minute load average is read; above --max-load the script
waits (up to --max-wait seconds). The loads are printed with the results.
Python is only used here, to measure the reference.
"""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from machine import load1, summary

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "A man is eating food."

WORDS = """the of and to in a is that for it as was with be by on not he this are or his from at which but
have an they you were her she there one all we their has been if more when will would who so no time people
year way day man thing woman life child world school state family student group country problem hand part
place case week company system program question work government number night point home water room mother
area money story fact month lot right study book eye job word business issue side kind head house service
friend father power hour game line end member law car city community name president team minute idea kid
body information back parent face others level office door health person art war history party result change
morning reason research girl guy moment air teacher force education""".split()


def make_lines(n, seed=0):
    """n sentences of 5-60 words, first word capitalised, a full stop at the end."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
        out.append(s[0].upper() + s[1:] + ".")
    return out


def wait_for_quiet(args, what):
    """Waits (up to --max-wait s) for the 1-minute load to drop to --max-load; returns it."""
    waited = 0
    while load1() > args.max_load and waited < args.max_wait:
        print(f"[{what}] load {load1():.2f} > {args.max_load}: waiting 60 s", file=sys.stderr, flush=True)
        time.sleep(60)
        waited += 60
    lo = load1()
    print(f"[{what}] starting at load {lo:.2f}", file=sys.stderr, flush=True)
    return lo


def timed(cmd, env=None, stdin=None):
    """Runs cmd; returns (wall seconds, CompletedProcess). Fails loudly on a non-zero exit."""
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=stdin)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
    return wall, p


def timed_rss(cmd, env=None):
    """Like timed, under /usr/bin/time -v; also returns the peak RSS in MiB."""
    wall, p = timed(["/usr/bin/time", "-v", *cmd], env=env)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return wall, p, int(m.group(1)) / 1024


def cosine_rows(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def fmt_s(x):
    return f"{x:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="cold-start rounds (default 5)")
    ap.add_argument("--lines", type=int, default=1000,
                    help="lines of lines10k.txt for the throughput part (default 1000: all 10,000 take\n"
                         "about 10 min for hfjit alone on a 2-vCPU machine)")
    ap.add_argument("--mem-lines", type=int, default=160,
                    help="hfjit's peak RSS on this many lines and on them repeated 10 times\n"
                         "(default 160, i.e. 5 and 50 batches; 0 skips)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads on both sides (default 2)")
    ap.add_argument("--tp-runs", type=int, default=1, help="throughput runs of each side (default 1)")
    ap.add_argument("--hfjit", default=str(ROOT / "build/hfjit"))
    ap.add_argument("--python", default=str(ROOT / ".venv-ref/bin/python"))
    ap.add_argument("--model", default=str(ROOT / ".cache/models/all-MiniLM-L6-v2"))
    ap.add_argument("--work", default="/tmp/bench")
    ap.add_argument("--lengths", default="16,32,48,64",
                    help="extra traced lengths of the artifacts (max length 128); run pads each batch to the "
                         "smallest that fits (default 16,32,48,64)")
    ap.add_argument("--max-load", type=float, default=1.5)
    ap.add_argument("--max-wait", type=int, default=600)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: cold,throughput,memory")
    ap.add_argument("--json", action="store_true", help="also print all figures as one JSON object")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    hfjit, py, model, T = args.hfjit, args.python, args.model, str(args.threads)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    tag = args.lengths.replace(",", "-")
    art, art1 = work / f"minilm-b32-{tag}.pt", work / f"minilm-b1-{tag}.pt"
    for path, batch in ((art, 32), (art1, 1)):
        if not path.exists():
            print(f"tracing {path}", file=sys.stderr, flush=True)
            subprocess.run([hfjit, "-q", "trace", model, "-o", str(path), "--max-length", "128", "--lengths",
                            args.lengths, "--batch-size", str(batch)], check=True)

    res = {
        "date": datetime.date.today().isoformat(),
        "machine": summary(),
        "threads": args.threads,
        "hfjit": timed([hfjit, "--version"])[1].stdout.strip(),
        "python": timed([py, "-c", "import torch, transformers, sentence_transformers as s; "
                         "print(torch.__version__, transformers.__version__, s.__version__)"], env=env)[1].stdout.strip(),
        "loads": {},
    }
    rows = []  # (measurement, hfjit, python, ratio or note)

    # ------------------------------------------------------------- cold start
    if "cold" not in skip:
        res["loads"]["cold"] = wait_for_quiet(args, "cold start")
        st_code = (f"import json, torch; torch.set_num_threads({T})\n"
                   "from sentence_transformers import SentenceTransformer\n"
                   f"m = SentenceTransformer({model!r}, device='cpu')\n"
                   f"print(json.dumps(m.encode({SENTENCE!r}).tolist()))\n")
        pipe_code = (f"import json, torch; torch.set_num_threads({T})\n"
                     "from transformers import pipeline\n"
                     f"p = pipeline('feature-extraction', model={model!r}, device='cpu')\n"
                     f"print(json.dumps(p({SENTENCE!r})))\n")
        contenders = {
            "hfjit run": [hfjit, "--threads", T, "run", str(art1), SENTENCE, "--json"],
            "sentence-transformers": [py, "-c", st_code],
            "transformers pipeline": [py, "-c", pipe_code],
            "hfjit --version": [hfjit, "--threads", T, "--version"],
            "hfjit run --tokenize": [hfjit, "--threads", T, "run", "--tokenize", str(art1), SENTENCE, "--json"],
            "hfjit run --describe": [hfjit, "--threads", T, "run", str(art1), "--describe", "--json"],
            "python import torch": [py, "-c", f"import torch; torch.set_num_threads({T})"],
        }
        times = {k: [] for k in contenders}
        outputs = {}
        for rnd in range(args.runs + 1):  # round 0: warm-up, not counted
            for name, cmd in contenders.items():
                wall, p = timed(cmd, env=env)
                if rnd == 0:
                    outputs[name] = p.stdout
                else:
                    times[name].append(wall)
        native = np.array(json.loads(outputs["hfjit run"])["embedding"])
        st = np.array(json.loads(outputs["sentence-transformers"]))
        res["cold_cosine_vs_st"] = float(cosine_rows(native[None], st[None])[0])
        pipe = np.array(json.loads(outputs["transformers pipeline"]))[0]  # [tokens][hidden]
        res["cold_pipeline_tokens"] = int(pipe.shape[0])
        res["cold"] = {k: {"median_s": statistics.median(v), "min_s": min(v), "all_s": v} for k, v in times.items()}
        c = res["cold"]

        def ratio(a, b):
            return f"{c[a]['median_s'] / c[b]['median_s']:.2f}x ({c[a]['min_s'] / c[b]['min_s']:.2f}x)"

        def both(k):
            return f"{fmt_s(c[k]['median_s'])} ({fmt_s(c[k]['min_s'])})"

        rows.append(("cold start, one sentence: median (fastest)", both("hfjit run"),
                     "ST " + both("sentence-transformers"), ratio("hfjit run", "sentence-transformers")))
        rows.append(("", "", "pipeline " + both("transformers pipeline"), ratio("hfjit run", "transformers pipeline")))
        rows.append(("start-up floor: `hfjit --version` / `import torch`", both("hfjit --version"),
                     both("python import torch"), ratio("hfjit --version", "python import torch")))
        rows.append(("hfjit: + tokenizer from the archive (`run --tokenize`)", both("hfjit run --tokenize"), "", ""))
        rows.append(("hfjit: + torch::jit::load (`run --describe`)", both("hfjit run --describe"), "", ""))
        fwd = c["hfjit run"]["median_s"] - c["hfjit run --describe"]["median_s"] \
            - (c["hfjit run --tokenize"]["median_s"] - c["hfjit --version"]["median_s"])
        res["cold_forward_estimate_s"] = fwd
        rows.append(("hfjit: the rest (first forward, pooling, output), by difference", fmt_s(fwd), "", ""))

    # ------------------------------------------------------------- throughput
    lines_all = make_lines(10000)
    (work / "lines10k.txt").write_text("\n".join(lines_all) + "\n")
    lines = lines_all[: args.lines] if args.lines <= 10000 else (lines_all * (args.lines // 10000 + 1))[: args.lines]
    lines_file = work / f"lines{args.lines}.txt"
    if lines_file.name != "lines10000.txt":
        lines_file.write_text("\n".join(lines) + "\n")
    else:
        lines_file = work / "lines10k.txt"

    if "throughput" not in skip:
        # Token counts (the model's own tokenizer): every line must fit the traced 128.
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(model)
        lengths = [len(ids) for ids in tok(lines)["input_ids"]]
        res["tokens"] = {"max": max(lengths), "mean": statistics.mean(lengths), "total": sum(lengths)}
        if max(lengths) > 128:
            raise SystemExit(f"a line has {max(lengths)} tokens, over the traced 128")
        # Tokens each side computes on, padding included: hfjit pads each batch of 32 (in input order,
        # the last one filled with copies) to the smallest traced length (32, 64, 128) that fits;
        # sentence-transformers sorts by length and pads each batch to its longest.
        hf_padded = 0
        for i in range(0, len(lengths), 32):
            longest = max(lengths[i:i + 32])
            hf_padded += 32 * next(L for L in (32, 64, 128) if L >= longest)
        srt = sorted(lengths, reverse=True)
        st_padded = sum(max(srt[i:i + 32]) * len(srt[i:i + 32]) for i in range(0, len(srt), 32))
        res["tokens"].update({"hfjit_padded": hf_padded, "st_padded": st_padded})

        st_npy = work / "st.npy"
        st_script = (
            "import json, sys, time\nt0 = time.perf_counter()\n"
            f"import numpy as np, torch\ntorch.set_num_threads({T})\n"
            "from sentence_transformers import SentenceTransformer\n"
            f"m = SentenceTransformer({model!r}, device='cpu')\n"
            f"lines = open({str(lines_file)!r}).read().splitlines()\n"
            "t1 = time.perf_counter()\n"
            "e = m.encode(lines, batch_size=32, convert_to_numpy=True)\n"
            "t2 = time.perf_counter()\n"
            f"np.save({str(st_npy)!r}, e)\n"
            "print(json.dumps({'setup_s': t1 - t0, 'encode_s': t2 - t1, 'max_seq_length': m.max_seq_length}))\n")
        out_npy = work / "e.npy"
        hf_cmd = [hfjit, "--threads", T, "run", str(art), "--input", str(lines_file), "--output", str(out_npy)]
        st_in, st_whole, st_rss, hf_whole, hf_rss = [], [], [], [], []
        res["loads"]["throughput"] = wait_for_quiet(args, "throughput")
        for _ in range(args.tp_runs):
            wall, p, rss = timed_rss([py, "-c", st_script], env=env)
            info = json.loads(p.stdout.strip().splitlines()[-1])
            st_in.append(info["encode_s"])
            st_whole.append(wall)
            st_rss.append(rss)
            wall, p, rss = timed_rss(hf_cmd, env=env)
            if "truncat" in p.stderr:
                raise SystemExit("hfjit truncated a line:\n" + p.stderr[-2000:])
            hf_whole.append(wall)
            hf_rss.append(rss)
        res["loads"]["throughput_end"] = load1()
        a, b = np.load(out_npy), np.load(st_npy)
        if a.shape != b.shape:
            raise SystemExit(f"shapes differ: hfjit {a.shape}, sentence-transformers {b.shape}")
        cos = cosine_rows(a.astype(np.float64), b.astype(np.float64))
        res["embeddings"] = {"rows": int(a.shape[0]), "dim": int(a.shape[1]), "min_cosine": float(cos.min()),
                             "rows_below_0.9999": int((cos < 0.9999).sum()),
                             "max_abs_diff": float(np.abs(a - b).max())}
        n = len(lines)
        res["throughput"] = {
            "lines": n,
            "st_encode_s": statistics.median(st_in), "st_process_s": statistics.median(st_whole),
            "hfjit_process_s": statistics.median(hf_whole),
            "st_rss_mib": max(st_rss), "hfjit_rss_mib": max(hf_rss),
            "st_encode_all_s": st_in, "st_process_all_s": st_whole, "hfjit_process_all_s": hf_whole,
        }
        t = res["throughput"]
        rows.append((f"throughput, {n} lines: lines/s, whole process", f"{n / t['hfjit_process_s']:.1f}",
                     f"{n / t['st_process_s']:.1f}", f"{t['st_process_s'] / t['hfjit_process_s']:.2f}x"))
        rows.append(("throughput: lines/s, ST `encode` only (in-process)", "", f"{n / t['st_encode_s']:.1f}",
                     f"{t['st_encode_s'] / t['hfjit_process_s']:.2f}x"))
        tk = res["tokens"]
        rows.append(("tokens computed on, padding included (real: {:,})".format(tk["total"]),
                     f"{tk['hfjit_padded']:,}", f"{tk['st_padded']:,}", f"{tk['hfjit_padded'] / tk['st_padded']:.2f}x"))
        rows.append(("padded tokens/s, whole process", f"{tk['hfjit_padded'] / t['hfjit_process_s']:.0f}",
                     f"{tk['st_padded'] / t['st_process_s']:.0f}",
                     f"{(tk['hfjit_padded'] / t['hfjit_process_s']) / (tk['st_padded'] / t['st_process_s']):.2f}x"))
        rows.append(("peak RSS of that run", f"{t['hfjit_rss_mib']:.0f} MiB", f"{t['st_rss_mib']:.0f} MiB", ""))
        e = res["embeddings"]
        rows.append(("embeddings vs ST: min cosine over rows (rows < 0.9999)",
                     f"{e['min_cosine']:.7f} ({e['rows_below_0.9999']})", "", ""))

    # ------------------------------------------------------------- memory
    if "memory" not in skip and args.mem_lines:
        m = args.mem_lines
        base = (lines_all * (m // 10000 + 1))[:m]
        small, big = work / f"mem{m}.txt", work / f"mem{10 * m}.txt"
        small.write_text("\n".join(base) + "\n")
        big.write_text(("\n".join(base) + "\n") * 10)
        res["loads"]["memory"] = wait_for_quiet(args, "memory")
        mem = {}
        for f, n in ((small, m), (big, 10 * m)):
            wall, p, rss = timed_rss([hfjit, "--threads", T, "run", str(art), "--input", str(f),
                                      "--output", str(work / "mem.npy")], env=env)
            rows_out = np.load(work / "mem.npy", mmap_mode="r").shape[0]
            if rows_out != n:
                raise SystemExit(f"{f}: {rows_out} rows written, {n} lines")
            mem[n] = {"rss_mib": rss, "wall_s": wall}
        res["memory"] = mem
        rows.append((f"hfjit peak RSS, {m} lines / {10 * m} lines",
                     f"{mem[m]['rss_mib']:.0f} / {mem[10 * m]['rss_mib']:.0f} MiB",
                     "", f"{mem[10 * m]['rss_mib'] / mem[m]['rss_mib']:.2f}x"))

    res["loads"]["end"] = load1()
    print(f"{res['hfjit']}; {res['python']} (torch, transformers, sentence-transformers); "
          f"{res['machine']}; threads {args.threads}; {res['date']}")
    print("loads (1 min) at start of each part: " + ", ".join(f"{k} {v:.2f}" for k, v in res["loads"].items()))
    if "cold_cosine_vs_st" in res:
        print(f"cold start: hfjit vs ST embedding cosine {res['cold_cosine_vs_st']:.7f}; "
              f"pipeline returned {res['cold_pipeline_tokens']} token vectors")
    print()
    print("| | hfjit | Python | hfjit / Python |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
