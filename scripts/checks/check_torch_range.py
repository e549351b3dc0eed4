#!/usr/bin/env python3
"""Which Python torch releases load hfjit's .pt files, and give the same outputs.

Three steps (issue 15; results in docs/trace.md, "Loading in Python torch"):

1. Make artifacts with hfjit (any set; the sweep below used these):

       mkdir -p /tmp/pts && H=build/hfjit F=tests/fixtures/models
       $H -q trace $F/bert-mlm -o /tmp/pts/bert-mlm.pt --max-length 16
       $H -q trace $F/gpt2-lm -o /tmp/pts/gpt2-lm.pt --max-length 16
       $H -q trace $F/distilbert-seqcls -o /tmp/pts/distilbert-seqcls-int8.pt --max-length 16 --quantize int8
       $H -q trace $F/bert-base -o /tmp/pts/bert-base-optimized.pt --max-length 16 --optimize
       $H -q trace $F/roberta-seqcls -o /tmp/pts/roberta-seqcls-dynamic.pt --max-length 16 --dynamic
       $H -q trace $F/albert-mlm -o /tmp/pts/albert-mlm-lengths.pt --lengths 8,16
       $H -q trace $F/bert-mlm -o /tmp/pts/bert-mlm-bf16.pt --max-length 16 --dtype bfloat16 --allow-slow-bf16

2. Reference outputs with the torch hfjit builds against (2.15.0):

       .venv-ref/bin/python scripts/checks/check_torch_range.py ref /tmp/pts -o /tmp/pts/ref.json

   Inputs are fixed (Python's `random`, seed 15, so independent of torch's
   RNG) and stored in ref.json with the outputs (base64 of the raw bytes:
   exact, and readable by any torch without numpy or safetensors).

3. For each torch version: a throwaway venv in /tmp, `pip install torch==V`
   (plus `numpy<2` below 2.3), `check` run inside it, the venv deleted:

       python3 scripts/checks/check_torch_range.py sweep /tmp/pts/ref.json 2.14.1 2.13.0 ... \\
           --log /tmp/torch_range.jsonl

   or by hand in any environment:

       python scripts/checks/check_torch_range.py check /tmp/pts/ref.json

   `check` prints one JSON line per artifact: loads (torch.jit.load with
   _extra_files={"hfjit/meta.json": ""}), runs (every traced method, on every
   stored input), max_abs_diff against the reference, ok (max_abs_diff <= atol,
   default 1e-5), and the first line of the error if any. `sweep` appends
   those, tagged with the version, install time and how torch was installed,
   to --log, and prints a markdown table at the end (`table LOG` prints it
   again from a log).

Inputs per artifact: each method at the traced shape [batch, length] twice,
unpadded and with a padded tail (attention mask 0, pad token id); for a
--dynamic artifact also [batch + 1, length - 5] with one padded row. One
call per artifact is by keyword (as a serving system calls it); the rest are
positional. Threads are set to 1 in both steps.
"""
import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

SEED = 15


# ---------------------------------------------------------------- torch side

def _torch():
    import torch
    warnings.filterwarnings("ignore")  # torch.jit deprecation, quantization notices
    torch.set_num_threads(1)
    return torch


def tensor_bytes(t):
    """Raw little-endian bytes of a contiguous tensor, without numpy."""
    torch = _torch()
    t = t.contiguous().view(-1)
    return bytes(t.view(torch.uint8).tolist()) if t.numel() else b""


def encode(t, dtype):
    torch = _torch()
    t = t.detach().to(dtype).contiguous()
    return {"dtype": str(dtype).replace("torch.", ""), "shape": list(t.shape),
            "b64": base64.b64encode(tensor_bytes(t)).decode()}


def decode(d):
    torch = _torch()
    dtype = getattr(torch, d["dtype"])
    buf = bytearray(base64.b64decode(d["b64"]))
    if not buf:
        return torch.empty(d["shape"], dtype=dtype)
    return torch.frombuffer(buf, dtype=dtype).reshape(d["shape"]).clone()


def make_inputs(meta):
    """[(method, kind, {name: list-of-rows})] for an artifact, from Python's random (torch-independent)."""
    rng = random.Random(SEED)
    names = [i["name"] for i in meta["inputs"]]
    batch = meta["batch_size"]
    pad = meta.get("pad_token_id", 0) or 0
    vocab = meta["vocab_size"]
    shapes = [(m["name"], batch, m["length"]) for m in meta["methods"]]
    cases = []

    def one(method, kind, b, n, padded_rows):
        rows = {k: [] for k in names}
        for r in range(b):
            keep = n - (rng.randint(1, max(1, n // 3)) if r in padded_rows else 0)
            ids = [rng.randint(5, vocab - 1) if j < keep else pad for j in range(n)]
            rows["input_ids"].append(ids)
            rows["attention_mask"].append([1 if j < keep else 0 for j in range(n)])
            if "token_type_ids" in rows:
                split = rng.randint(1, keep)
                rows["token_type_ids"].append([1 if split <= j < keep else 0 for j in range(n)])
        cases.append((method, kind, rows))

    for method, b, n in shapes:
        one(method, "full", b, n, set())
        one(method, "padded", b, n, set(range(b)))
    if meta.get("dynamic"):
        n = max(2, meta["max_length"] - 5)
        one("forward", "dynamic", batch + 1, n, {batch})
    return cases


def run_artifact(path, cases=None):
    """Load one artifact and run every case. Returns (meta, [(case, [outputs])])."""
    torch = _torch()
    extra = {"hfjit/meta.json": ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra["hfjit/meta.json"])
    if cases is None:
        cases = make_inputs(meta)
    names = [i["name"] for i in meta["inputs"]]
    results = []
    for i, (method, kind, rows) in enumerate(cases):
        args = [torch.tensor(rows[n], dtype=torch.int64) for n in names]
        fn = getattr(module, method)
        with torch.no_grad():
            out = fn(**dict(zip(names, args))) if i == 0 else fn(*args)
        if isinstance(out, torch.Tensor):
            out = (out,)
        results.append(((method, kind, rows), [o.float() for o in out]))
    return meta, results


def cmd_ref(args):
    torch = _torch()
    ref = {"torch": torch.__version__, "seed": SEED, "artifacts": {}}
    for pt in sorted(Path(args.dir).glob("*.pt")):
        meta, results = run_artifact(pt)
        ref["artifacts"][pt.name] = {
            "path": str(pt.resolve()),
            "kind": {k: meta.get(k) for k in ("model_type", "hf_class", "dtype", "quantization",
                                               "dynamic", "optimized")},
            "methods": [m["name"] for m in meta["methods"]],
            "cases": [{"method": c[0], "kind": c[1], "inputs": c[2],
                       "outputs": [encode(o, torch.float32) for o in outs]} for c, outs in results],
        }
        print(f"{pt.name}: {len(results)} cases, methods {ref['artifacts'][pt.name]['methods']}")
    Path(args.output).write_text(json.dumps(ref))
    print(f"wrote {args.output} (torch {torch.__version__})")


def first_line(e):
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]


def cmd_check(args):
    torch = _torch()
    ref = json.loads(Path(args.ref).read_text())
    failed = 0
    for name, art in ref["artifacts"].items():
        row = {"torch": torch.__version__, "artifact": name, "loads": False, "runs": False,
               "max_abs_diff": None, "ok": False, "error": None}
        cases = [(c["method"], c["kind"], c["inputs"]) for c in art["cases"]]
        try:
            extra = {"hfjit/meta.json": ""}
            torch.jit.load(art["path"], _extra_files=extra)
            json.loads(extra["hfjit/meta.json"])
            row["loads"] = True
            _, results = run_artifact(art["path"], cases)
            row["runs"] = True
            worst = 0.0
            for (c, outs), want in zip(results, art["cases"]):
                exp = [decode(o) for o in want["outputs"]]
                if len(outs) != len(exp):
                    raise AssertionError(f"{c[0]} {c[1]}: {len(outs)} outputs, expected {len(exp)}")
                for g, w in zip(outs, exp):
                    if tuple(g.shape) != tuple(w.shape):
                        raise AssertionError(f"{c[0]} {c[1]}: shape {tuple(g.shape)}, expected {tuple(w.shape)}")
                    worst = max(worst, (g - w).abs().max().item())
            row["max_abs_diff"] = worst
            row["ok"] = worst <= args.atol
        except Exception as e:  # noqa: BLE001 - report every artifact
            row["error"] = first_line(e)
        failed += not row["ok"]
        print(json.dumps(row), flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------- sweep side (no torch needed)

def vkey(v):
    return tuple(int(x) for x in v.split(".")[:3])


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def cmd_sweep(args):
    log = open(args.log, "a")
    for v in args.versions:
        venv = Path(args.tmp) / f"torch-range-{v}"
        shutil.rmtree(venv, ignore_errors=True)
        t0 = time.time()
        info = {"torch": v, "install": None, "install_s": None, "error": None}
        try:
            r = sh([sys.executable, "-m", "venv", str(venv)])
            if r.returncode:
                raise RuntimeError(r.stderr)
            py = str(venv / "bin" / "python")
            pins = ["numpy<2"] if vkey(v) < (2, 3) else ["numpy"]
            how = "full"
            if args.no_deps_first:
                # torch alone plus its pure-Python requirements; the CUDA wheels only if import needs them
                r = sh([py, "-m", "pip", "install", "-q", "--no-deps", f"torch=={v}"])
                r2 = sh([py, "-m", "pip", "install", "-q", "filelock", "typing-extensions", "sympy",
                         "networkx", "jinja2", "fsspec", *pins])
                if r.returncode == 0 and r2.returncode == 0 and \
                        sh([py, "-c", "import torch; torch.ones(1)"]).returncode == 0:
                    how = "no-deps"
            if how == "full":
                r = sh([py, "-m", "pip", "install", "-q", f"torch=={v}", *pins])
                if r.returncode:
                    raise RuntimeError("pip: " + (r.stderr.strip().splitlines() or ["?"])[-1])
            info["install"] = how
            info["install_s"] = round(time.time() - t0)
            r = sh([py, os.path.abspath(__file__), "check", args.ref, "--atol", str(args.atol)],
                   timeout=args.check_timeout)
            rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
            if not rows:
                raise RuntimeError("check: " + (r.stderr.strip().splitlines() or ["no output"])[-1])
            for row in rows:
                row.update(install=how, install_s=info["install_s"], requested=v)
                log.write(json.dumps(row) + "\n")
                print(f"{v:8} {row['artifact']:30} loads={row['loads']} runs={row['runs']} "
                      f"diff={row['max_abs_diff']} {row['error'] or ''}", flush=True)
        except Exception as e:  # noqa: BLE001
            info["error"] = first_line(e)
            info["requested"] = v
            log.write(json.dumps(info) + "\n")
            print(f"{v:8} FAILED {info['error']}", flush=True)
        finally:
            log.flush()
            if not args.keep:
                shutil.rmtree(venv, ignore_errors=True)
        print(f"{v:8} done in {time.time() - t0:.0f} s", flush=True)
    log.close()
    print(table(args.log))


def table(logpath):
    rows = [json.loads(l) for l in Path(logpath).read_text().splitlines() if l.strip()]
    arts = []
    for r in rows:
        if "artifact" in r and r["artifact"] not in arts:
            arts.append(r["artifact"])
    by_v = {}
    for r in rows:
        by_v.setdefault(r.get("requested", r["torch"]), []).append(r)
    out = ["| torch | " + " | ".join(a.removesuffix(".pt") for a in arts) + " |",
           "|---|" + "---|" * len(arts)]
    for v in sorted(by_v, key=vkey, reverse=True):
        rs = {r["artifact"]: r for r in by_v[v] if "artifact" in r}
        if not rs:
            err = by_v[v][-1].get("error")
            out.append(f"| {v} | " + " | ".join(["not installed"] + [""] * (len(arts) - 1)) + f" | <!-- {err} -->")
            continue
        cells = []
        for a in arts:
            r = rs.get(a)
            if r is None:
                cells.append("")
            elif not r["loads"]:
                cells.append("load fails")
            elif not r["runs"]:
                cells.append("runs fails")
            elif r["ok"]:
                cells.append(f"ok ({r['max_abs_diff']:.0e})" if r["max_abs_diff"] else "ok (0)")
            else:
                cells.append(f"differs ({r['max_abs_diff']:.1e})" if r["max_abs_diff"] is not None
                             else f"fails: {r['error']}")
        out.append(f"| {v} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ref", help="write reference outputs (run with torch 2.15)")
    p.add_argument("dir")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("check", help="compare this torch against the reference")
    p.add_argument("ref")
    p.add_argument("--atol", type=float, default=1e-5)
    p = sub.add_parser("sweep", help="install each torch version in a throwaway venv and check it")
    p.add_argument("ref")
    p.add_argument("versions", nargs="+")
    p.add_argument("--log", required=True)
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--tmp", default="/tmp")
    p.add_argument("--keep", action="store_true", help="keep the venvs")
    p.add_argument("--no-deps-first", action="store_true",
                   help="try torch without its CUDA wheels first; install them only if import fails")
    p.add_argument("--check-timeout", type=int, default=600)
    p = sub.add_parser("table", help="print the markdown table of a sweep log")
    p.add_argument("log")
    args = ap.parse_args()
    if args.cmd == "ref":
        return cmd_ref(args)
    if args.cmd == "check":
        return cmd_check(args)
    if args.cmd == "sweep":
        return cmd_sweep(args)
    print(table(args.log))
    return 0


if __name__ == "__main__":
    sys.exit(main() or 0)
