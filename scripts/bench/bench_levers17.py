#!/usr/bin/env python3
"""The speed levers of issue 17, each measured against its baseline in turns
(A, B, A, B, ...) in one process, on the torch 2.15 wheel hfjit links.

    .venv-ref/bin/python scripts/bench/bench_levers17.py MODEL_DIR [--length 128] [--batch 1]
        [--threads 2] [--rounds 9] [--hfjit build/hfjit] [--work /tmp/bench/levers17]

MODEL_DIR: a BERT checkpoint folder (scripts/bench/make_big_model.py makes a
random BertForMaskedLM of BERT-base shape). hfjit traces it (`hfjit trace
--max-length L --batch-size B`); the levers are applied to that .pt in Python
with the same graph rewrite as lib/core/src/cpu_kernels.cpp (aten::linear ->
mkldnn::_linear_pointwise; mirrored here only to measure each piece apart):

  onednn-plain     oneDNN Linear on the plain weights       vs aten (MKL)
  onednn-packed    + weights reordered once                 vs onednn-plain
  gelu-fused       + GELU fused into the Linear             vs onednn-packed
  add-fused        + the residual add fused (linear.binary) vs gelu-fused
  sdpa             transformers' BERT with attn "sdpa" vs "eager", each
                   torch.jit.trace'd and rewritten as hfjit does (packed +
                   GELU): scaled_dot_product_attention in the graph
  freeze           torch.jit.freeze + optimize_for_inference vs the plain .pt (aten)
  threads          the hfjit default (packed + GELU) at 1 thread vs --threads

Each pair: --rounds rounds, each round a median of 5 calls per side, after
3 warm-up calls; reported: median over rounds of each side and the ratio.
Also the profiling executor: a fresh load, the first 3 calls' times with the
profiling executor on (libtorch's default) and off
(torch._C._jit_set_profiling_executor(False)), each in its own subprocess.
Outputs of every variant are compared with the aten .pt (max abs diff).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from machine import load1, summary

ROOT = Path(__file__).resolve().parents[2]


def scalars_list(g, before):
    n = g.create("prim::ListConstruct")
    n.output().setType(torch._C.ListType(torch._C.OptionalType(torch._C.NumberType.get())))
    n.insertBefore(before)
    return n.output()


def const(g, value, before):
    v = g.insertConstant(value)
    v.node().moveBefore(before)
    return v


def rewrite(module, rows, pack=True, gelu=True, add=False):
    """cpu_kernels.cpp's rewrite on the forward graph (hfjit's are inlined)."""
    g = module.graph
    linears = [n for n in g.nodes() if n.kind() == "aten::linear"]
    for node in linears:
        x, w, b = list(node.inputs())
        out = node.output()
        uses = out.uses()
        sole = uses[0].user if len(uses) == 1 else None
        if gelu and sole is not None and sole.kind() == "aten::gelu":
            approx = list(sole.inputs())[1].toIValue()
            new = g.create("mkldnn::_linear_pointwise",
                           [x, w, b, const(g, "gelu", node), scalars_list(g, node), const(g, approx, node)])
            new.insertBefore(node)
            new.output().setType(out.type())
            sole.output().replaceAllUsesWith(new.output())
        elif (add and sole is not None and sole.kind() == "aten::add" and uses[0].offset == 0
              and list(sole.inputs())[2].toIValue() == 1):
            other = list(sole.inputs())[1]
            # the .binary overload: (X, other, W, B, attr)
            new = g.create("mkldnn::_linear_pointwise", [x, other, w, b, const(g, "add", node)])
            new.insertBefore(node)
            new.output().setType(out.type())
            sole.output().replaceAllUsesWith(new.output())
        else:
            new = g.create("mkldnn::_linear_pointwise",
                           [x, w, b, const(g, "none", node), scalars_list(g, node), const(g, "", node)])
            new.insertBefore(node)
            new.output().setType(out.type())
            out.replaceAllUsesWith(new.output())
    torch._C._jit_pass_dce(g)
    if pack:
        for name, sub in module.named_modules():
            if sub.original_name == "Linear":
                sub._c.setattr("weight", torch.ops.mkldnn._reorder_linear_weight(sub.weight.detach(), rows))
    return module


def first(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    if isinstance(out, dict):
        out = next(iter(out.values()))
    return out


def median_of_calls(f, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def race(a, b, rounds):
    for _ in range(3):
        a()
        b()
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(median_of_calls(a))
        tb.append(median_of_calls(b))
    return statistics.median(ta), statistics.median(tb)


def first_calls(pt, inputs_file, profiling, threads):
    code = f"""
import torch, time, json
torch.set_num_threads({threads})
torch._C._jit_set_profiling_executor({profiling})
inp = torch.load({str(inputs_file)!r})
m = torch.jit.load({pt!r}).eval()
ts = []
with torch.inference_mode():
    for _ in range(4):
        t = time.perf_counter(); m(*inp); ts.append((time.perf_counter() - t) * 1e3)
print(json.dumps(ts))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--hfjit", default=str(ROOT / "build/hfjit"))
    ap.add_argument("--work", default="/tmp/bench/levers17")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pt = work / f"model-b{args.batch}-l{args.length}.pt"
    subprocess.run([args.hfjit, "-q", "trace", args.model, "-o", str(pt), "--max-length", str(args.length),
                    "--batch-size", str(args.batch), "--force"], check=True)
    rows = args.batch * args.length
    torch.manual_seed(0)
    ids = torch.randint(1000, 20000, (args.batch, args.length))
    inp = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    torch.save(inp, work / "inputs.pt")

    def load():
        return torch.jit.load(str(pt)).eval()

    results = []
    with torch.inference_mode():
        aten = load()
        ref = first(aten(*inp))
        variants = {
            "aten": aten,
            "onednn-plain": rewrite(load(), rows, pack=False, gelu=False),
            "onednn-packed": rewrite(load(), rows, pack=True, gelu=False),
            "gelu-fused": rewrite(load(), rows, pack=True, gelu=True),
            "add-fused": rewrite(load(), rows, pack=True, gelu=True, add=True),
            "freeze": torch.jit.optimize_for_inference(torch.jit.freeze(load())),
        }
        diffs = {k: (first(v(*inp)) - ref).abs().max().item() for k, v in variants.items()}
        pairs = [("onednn-plain", "aten"), ("onednn-packed", "onednn-plain"),
                 ("gelu-fused", "onednn-packed"), ("add-fused", "gelu-fused"), ("freeze", "aten")]
        for lever, base in pairs:
            a, b = race(lambda: variants[lever](*inp), lambda: variants[base](*inp), args.rounds)
            results.append((lever, base, a, b, diffs[lever]))
        # SDPA: transformers' own BERT, eager vs sdpa attention, each traced and rewritten like hfjit.
        import transformers
        cfg = transformers.AutoConfig.from_pretrained(args.model)
        arch = getattr(transformers, cfg.architectures[0])
        traced = {}
        for impl in ("eager", "sdpa"):
            model = arch.from_pretrained(args.model, attn_implementation=impl).eval()
            t = torch.jit.trace(model, inp, strict=False)
            torch._C._jit_pass_inline(t.graph)
            traced[impl] = rewrite(t, rows, pack=False)
        sd = {k: first(v(*inp)) for k, v in traced.items()}
        a, b = race(lambda: traced["sdpa"](*inp), lambda: traced["eager"](*inp), args.rounds)
        results.append(("sdpa (transformers' trace, oneDNN plain)", "eager attention", a, b,
                        (sd["sdpa"] - sd["eager"]).abs().max().item()))
        # threads
        best = variants["gelu-fused"]
        torch.set_num_threads(1)
        one = [median_of_calls(lambda: best(*inp)) for _ in range(max(3, args.rounds // 3))]
        torch.set_num_threads(args.threads)
        many = [median_of_calls(lambda: best(*inp)) for _ in range(max(3, args.rounds // 3))]
        results.append((f"{args.threads} threads", "1 thread", statistics.median(many), statistics.median(one), 0.0))

    prof = {flag: first_calls(str(pt), work / "inputs.pt", flag, args.threads) for flag in (True, False)}
    print(f"{summary()}; torch {torch.__version__}; batch {args.batch} x length {args.length}; "
          f"threads {args.threads}; 1-min load {load1():.2f}")
    print("| lever | baseline | lever ms | baseline ms | lever / baseline | max abs diff vs baseline output |")
    print("|---|---|---:|---:|---:|---:|")
    for lever, base, a, b, d in results:
        print(f"| {lever} | {base} | {a:.2f} | {b:.2f} | {a / b:.2f} | {d:.2e} |")
    print()
    print("| profiling executor | call 1 ms | call 2 ms | call 3 ms | call 4 ms |")
    print("|---|---:|---:|---:|---:|")
    for flag, ts in prof.items():
        print(f"| {'on (default)' if flag else 'off'} | " + " | ".join(f"{t:.1f}" for t in ts) + " |")


if __name__ == "__main__":
    main()
