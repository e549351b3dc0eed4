#!/usr/bin/env python3
"""Whole-process start-up of hfjit against sentence-transformers and transformers (issues 15, 17).

    python3 scripts/bench/bench_startup.py [--runs 10] [--warmup 1] [--threads 2] [--max-length 128]
        [--model .cache/models/all-MiniLM-L6-v2] [--pt /tmp/minilm.pt] [--retrace]
        [--python .venv-ref/bin/python] [--hfjit build/hfjit] [--engine build/hfjit-engine]
        [--sentence "one sentence"] [--skip-pipeline] [--skip-import-torch] [--json]

Every contender is a whole process, timed from fork to exit (perf_counter around
subprocess.run, output captured) together with its user + system CPU time
(getrusage of the children). The contenders:

  hfjit-engine --version   build/hfjit-engine --version: the process and libtorch's
                           dynamic loading, nothing else.
  hfjit --version          build/hfjit --version: the front end alone (it links no
                           libtorch, and execs hfjit-engine for trace, run, bench).
  hfjit run --describe     build/hfjit --threads T run PT --describe: + opening the
                           archive and reading its meta.json.
  hfjit run --tokenize     build/hfjit --threads T run PT --tokenize SENTENCE: + the
                           tokenizer from the archive, no TorchScript module.
  hfjit run                build/hfjit --threads T run PT SENTENCE: the whole job
                           (module load and compile, first calls, tokenizer, output).
  sentence-transformers    PYTHON -c: import sentence_transformers, torch.set_num_threads(T),
                           SentenceTransformer(MODEL, device="cpu").encode([SENTENCE]).
  transformers pipeline    PYTHON -c: import transformers, torch.set_num_threads(T),
                           pipeline("feature-extraction", model=MODEL, device="cpu")(SENTENCE)
                           (per-token features: no pooling, less work than the line
                           above; --skip-pipeline leaves it out).
  python import torch      PYTHON -c "import torch": the floor of any Python contender
                           (--skip-import-torch leaves it out).

hfjit logs no stage times (checked: -v and -vv print only the libtorch version and
threads), so the breakdown of `hfjit run` is derived from the rows above by
difference of medians: hfjit-engine's process + libtorch (hfjit-engine --version),
front end + archive + meta (--describe - hfjit-engine --version), tokenizer
(--tokenize - --describe), module load + compile + forward + output (run -
--tokenize). Differences of medians are noisy: with few runs a part can come out
negative.

PT is MODEL traced first, unless it exists and --retrace is not given:
build/hfjit -q trace MODEL -o PT --max-length L (the trace is not timed).
Python contenders run with HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 (MODEL is a
local folder). Every child gets OMP_NUM_THREADS=T as well.

Rounds: --warmup untimed runs of every contender first (page cache), then --runs
rounds, each running every contender once, the order rotated by one each round,
so drift in the machine's load is shared. Reported per contender: median, min and
max wall seconds, median CPU seconds, and the ratio of medians to
sentence-transformers. Every run must exit 0 (a failure stops the script with its
stderr).

Run it on a quiet machine. The header names the date, the CPU model and its flags
(avx2, avx512f, avx512_bf16, avx512_vnni, amx_*), cores, threads, the versions
(hfjit and its libtorch, Python's torch, transformers, sentence-transformers), and a
WARNING where other processes kept cores busy in the second before the run
(/proc/stat). This script imports nothing heavy itself: any python3 runs it.
"""

import argparse
import datetime
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import CPU_FLAGS, busy_cores, describe, load1, load_note, too_busy

ROOT = Path(__file__).resolve().parents[2]

ST_CODE = """
import sys, torch
from sentence_transformers import SentenceTransformer
torch.set_num_threads(int(sys.argv[3]))
model = SentenceTransformer(sys.argv[1], device="cpu")
e = model.encode([sys.argv[2]])
print(e.shape, e[0][:4])
"""

PIPELINE_CODE = """
import sys, torch
from transformers import pipeline
torch.set_num_threads(int(sys.argv[3]))
pipe = pipeline("feature-extraction", model=sys.argv[1], device="cpu")
f = pipe(sys.argv[2])
print(len(f[0]), len(f[0][0]))
"""

VERSIONS_CODE = """
import json
from importlib.metadata import version, PackageNotFoundError
out = {}
for name in ("torch", "transformers", "sentence-transformers", "tokenizers"):
    try:
        out[name] = version(name)
    except PackageNotFoundError:
        out[name] = None
print(json.dumps(out))
"""


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(cmd, env):
    """(wall seconds, CPU seconds, stdout) of one whole process; exits the script if it fails."""
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    cpu = children_cpu() - cpu0
    if p.returncode != 0:
        sys.exit(f"failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()[-2000:]}")
    return wall, cpu, p.stdout


def shown(cmd):
    """The command as a shell line, the Python programs shortened."""
    out = []
    for a in cmd:
        if "\n" in a:
            a = "<" + ("sentence-transformers" if "SentenceTransformer" in a else
                       "pipeline" if "pipeline" in a else "code") + " program>"
        elif re.search(r"[\s\"']", a):
            a = "'" + a + "'"
        out.append(a)
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="timed rounds (default 10)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads of every contender (default 2)")
    ap.add_argument("--max-length", type=int, default=128, help="length to trace MODEL at (default 128)")
    ap.add_argument("--model", default=str(ROOT / ".cache/models/all-MiniLM-L6-v2"),
                    help="sentence-transformers folder (default .cache/models/all-MiniLM-L6-v2)")
    ap.add_argument("--pt", default="/tmp/minilm.pt", help="hfjit artifact of MODEL (default /tmp/minilm.pt)")
    ap.add_argument("--retrace", action="store_true", help="trace MODEL into --pt even if it exists")
    ap.add_argument("--python", default=str(ROOT / ".venv-ref/bin/python"),
                    help="Python with sentence-transformers (default .venv-ref/bin/python)")
    ap.add_argument("--hfjit", default=str(ROOT / "build/hfjit"), help="default build/hfjit")
    ap.add_argument("--engine", default=str(ROOT / "build/hfjit-engine"), help="default build/hfjit-engine")
    ap.add_argument("--sentence", default="one sentence", help="the text (default 'one sentence')")
    ap.add_argument("--skip-pipeline", action="store_true", help="leave out transformers pipeline")
    ap.add_argument("--skip-import-torch", action="store_true", help="leave out python import torch")
    ap.add_argument("--json", action="store_true", help="also print all figures as one JSON object")
    args = ap.parse_args()
    T = args.threads

    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS=str(T),
               TOKENIZERS_PARALLELISM="false")
    for tool in (args.hfjit, args.engine, args.python):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool}: not an executable (build hfjit / make .venv-ref first)")

    pt = Path(args.pt)
    if args.retrace or not pt.exists():
        cmd = [args.hfjit, "-q", "trace", args.model, "-o", str(pt), "--max-length", str(args.max_length), "--force"]
        print("tracing: " + shown(cmd), file=sys.stderr, flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        if p.returncode != 0:
            sys.exit(f"trace failed (exit {p.returncode}): {p.stderr.strip()[-2000:]}")
    else:
        print(f"using the existing {pt} (--retrace to trace it again at --max-length)", file=sys.stderr)

    H = [args.hfjit, "--threads", str(T)]
    contenders = {
        "hfjit-engine --version": [args.engine, "--version"],
        "hfjit --version": [args.hfjit, "--version"],
        "hfjit run --describe": H + ["run", str(pt), "--describe"],
        "hfjit run --tokenize": H + ["run", str(pt), "--tokenize", args.sentence],
        "hfjit run": H + ["run", str(pt), args.sentence],
        "sentence-transformers": [args.python, "-c", ST_CODE, args.model, args.sentence, str(T)],
    }
    if not args.skip_pipeline:
        contenders["transformers pipeline"] = [args.python, "-c", PIPELINE_CODE, args.model, args.sentence, str(T)]
    if not args.skip_import_torch:
        contenders["python import torch"] = [args.python, "-c", "import torch"]

    versions = json.loads(subprocess.run([args.python, "-c", VERSIONS_CODE], capture_output=True,
                                         text=True, check=True).stdout)
    hfjit_version = subprocess.run([args.hfjit, "--version"], capture_output=True, text=True).stdout.strip()
    engine_version = subprocess.run([args.engine, "--version"], capture_output=True, text=True).stdout.strip()
    res = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": describe(),
        "threads": T, "runs": args.runs, "warmup": args.warmup, "max_length": args.max_length,
        "model": args.model, "pt": str(pt), "sentence": args.sentence,
        "versions": {"hfjit": hfjit_version, "hfjit-engine": engine_version, **versions},
        "commands": {name: shown(cmd) for name, cmd in contenders.items()},
        "load1_before": load1(),
        "busy_cores_before": busy_cores(),
    }

    names = list(contenders)
    for r in range(args.warmup):
        print(f"warm-up round {r + 1}/{args.warmup}", file=sys.stderr, flush=True)
        for name in names:
            run_once(contenders[name], env)
    walls = {n: [] for n in names}
    cpus = {n: [] for n in names}
    for r in range(args.runs):
        print(f"round {r + 1}/{args.runs}", file=sys.stderr, flush=True)
        k = r % len(names)
        for name in names[k:] + names[:k]:  # rotated: no contender always runs first
            wall, cpu, _ = run_once(contenders[name], env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    res["load1_after"] = load1()

    rows = {}
    for n in names:
        rows[n] = {"median_s": statistics.median(walls[n]), "min_s": min(walls[n]), "max_s": max(walls[n]),
                   "cpu_median_s": statistics.median(cpus[n]), "wall_s": walls[n], "cpu_s": cpus[n]}
    st = rows["sentence-transformers"]["median_s"]
    for row in rows.values():
        row["ratio_to_st"] = row["median_s"] / st
    res["rows"] = rows
    med = {n: rows[n]["median_s"] for n in names}
    res["hfjit_run_breakdown_s"] = {
        "hfjit-engine process + libtorch (hfjit-engine --version)": med["hfjit-engine --version"],
        "front end + archive + meta.json (--describe - hfjit-engine --version)":
            med["hfjit run --describe"] - med["hfjit-engine --version"],
        "tokenizer (--tokenize - --describe)": med["hfjit run --tokenize"] - med["hfjit run --describe"],
        "module load + compile + forward + output (run - --tokenize)":
            med["hfjit run"] - med["hfjit run --tokenize"],
    }
    res["ratio_hfjit_run_to_st"] = med["hfjit run"] / st

    # ------------------------------------------------------------- report
    m = res["machine"]
    v = res["versions"]
    print(f"{res['date']}; {m['cores']} cores, {m['cpu']} (flags: {' '.join(m['flags']) or 'none of ' + ', '.join(CPU_FLAGS)}); "
          f"threads {T}; {hfjit_version}; torch {v['torch']}, transformers {v['transformers']}, "
          f"sentence-transformers {v['sentence-transformers']}, tokenizers {v['tokenizers']} ({args.python})")
    print(f"model {args.model} traced at length {args.max_length} -> {pt}; sentence {args.sentence!r}; "
          f"{args.runs} rounds after {args.warmup} warm-up round(s), order rotated each round; "
          + load_note(res))
    busy = too_busy(res, T)
    res["machine_busy"] = busy
    if busy:
        print(f"WARNING: {res['busy_cores_before']:.1f} of {m['cores']} cores busy just before the run: "
              "other work shares the cores; run again on a quiet machine")
    print()
    print("| process | median s | min s | max s | CPU s (median) | / sentence-transformers |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in names:
        row = rows[n]
        print(f"| {n} | {row['median_s']:.3f} | {row['min_s']:.3f} | {row['max_s']:.3f} | "
              f"{row['cpu_median_s']:.3f} | {row['ratio_to_st']:.3f} |")
    print()
    print(f"hfjit run / sentence-transformers (medians): {res['ratio_hfjit_run_to_st']:.3f} "
          "(issue 17's target: <= 0.15)")
    print()
    print("hfjit run, breakdown by difference of medians (hfjit -v/-vv logs no stage times):")
    print()
    print("| part | s |")
    print("|---|---:|")
    for part, s in res["hfjit_run_breakdown_s"].items():
        print(f"| {part} | {s:.3f} |")
    print()
    print("commands:")
    for n in names:
        print(f"  {n}: {res['commands'][n]}")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
