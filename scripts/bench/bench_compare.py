#!/usr/bin/env python3
"""hfjit side by side with transformers, torch.jit.trace, ONNX Runtime and CTranslate2 (issues 7, 17).

    .venv-ref/bin/python scripts/bench/bench_compare.py MODEL_DIR [--length 128] [--batch 1]
        [--threads 2] [--min-time 5] [--hfjit build/hfjit] [--skip-hfjit] [--skip-torch-int8]
        [--skip-ct2] [--json] [--work DIR]

MODEL_DIR is a Hugging Face checkpoint folder (config.json + model.safetensors);
the class is config.json's architectures[0]. Every contender runs the same
weights on one input of shape [--batch, --length], with the same number of
intra-op threads, in one run of this script (so the ratios compare like with
like on the machine as it was):

  transformers eager  `getattr(transformers, arch).from_pretrained(dir,
                      attn_implementation="eager")`, eval, called under
                      torch.inference_mode(); torch.set_num_threads(T).
  torch.jit.trace     that model traced in Python (the transformers-documented
                      TorchScript path), then 2 calls so the profiling executor
                      optimises the graph.
  ORT fp32            torch.onnx.export of the model (opset 14, static shapes) into
                      --work, run by ONNX Runtime's CPU provider with
                      ORT_ENABLE_ALL graph optimisations, intra_op_num_threads=T,
                      inter_op_num_threads=1, sequential execution.
  ORT int8            onnxruntime.quantization.quantize_dynamic of that file
                      (weight_type=QInt8, per_channel=True unless --per-tensor).
  transformers eager int8
                      torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8) of
                      the eager model (per-tensor weight scales, torch's default
                      x86 engine), called like transformers eager (--skip-torch-int8
                      leaves it out).
  CT2 fp32, CT2 int8  ctranslate2.converters.TransformersConverter of MODEL_DIR into
                      --work/ct2 (weights kept as float32; a folder without a
                      tokenizer gets a placeholder vocabulary: the ids are passed
                      as ids; transformers 5 configs lack position_embedding_type,
                      which CT2 4.8 asserts is "absolute": set so, as transformers
                      5's BERT has absolute positions only), then ctranslate2.Encoder(dir, device="cpu",
                      compute_type="float32" / "int8", inter_threads=1,
                      intra_threads=T).forward_batch(ids, token_type_ids=...) on
                      the same token ids (int8: CT2 quantizes the weights when
                      loading). CT2's converter has encoder loaders for BERT-like
                      configs only (Bert, DistilBert, XLMRoberta, ...) and loads
                      them as the bare encoder (BertModel: no task head), so its
                      rows are skipped with the reason printed for other models
                      (--skip-ct2 leaves them out). Where MODEL_DIR's class has a
                      head (e.g. BertForMaskedLM's 768 x vocab MLM head, about a
                      fifth of BERT-base's work at length 128), the CT2 rows do
                      less work than the others: the row "transformers eager
                      (encoder only)" (model.base_model, the same eager model) is
                      then timed as well, as the like-for-like reference for CT2.
                      For all rows like for like, pass a checkpoint of the bare
                      encoder (architectures ["BertModel"]).
  hfjit (5 rows)      `HFJIT --threads T bench MODEL_DIR --compare --batch-sizes B
                      --lengths L --min-time S --json`, a subprocess run after the
                      Python contenders: its eager, traced (libtorch's own
                      kernels), traced-onednn (Linear layers on oneDNN, as run
                      does), traced-bf16 (only on a CPU with native bf16) and
                      traced-int8 rows as hfjit reports them (its own warm-up of
                      3 calls, its own synthetic ids of the same shape).

Inputs: token ids drawn with a fixed seed (--seed) from [1000, vocab) (from
[vocab/4, vocab) for a vocabulary under 2000), skipping the special ids named in
config.json (*_token_id) and tokenizer.json (added tokens marked special); a full
attention mask; token_type_ids zeros where the model has them (type_vocab_size).
Where the config has use_cache, it is loaded with use_cache=False (a decoder returns no cache).

Timing: contenders one after another (each measured in one block, not in
alternating rounds: ONNX Runtime's and CTranslate2's thread pools spin after a
call, so an engine that stays alive would steal the cores of the next one; each
is released before the next starts), within one block --warmup untimed calls,
then calls one after another, each timed with
perf_counter, until --min-time seconds have passed (at least 5 calls). Reported:
median (p50), p90 (linear interpolation), fastest, mean, number of calls; the
ratios are p50 / p50 of transformers eager and of ORT fp32 (below 1: faster).
Each ONNX Runtime session is released before the next contender starts.

Correctness, on the timed input: max abs difference of the first output (logits
or last hidden state) of torch.jit.trace and of ORT fp32 against transformers
eager, and the cosine of ORT int8's flattened first output to ORT fp32's (and of
torch's int8 to eager's); CT2 fp32's last_hidden_state against transformers
eager's (the encoder's last hidden state, before any head), max abs diff, and
CT2 int8's cosine to CT2 fp32.

Run it on a quiet machine: with all cores in use, torch's OpenMP threads (here and
in hfjit) wait at every barrier for a descheduled thread, and a busy core makes
them many times slower while ONNX Runtime's own thread pool is hardly affected. A
WARNING line says so when, in the second before the run, other processes kept more
than cores - threads + 0.5 cores busy (/proc/stat).

The header names the date, the machine (cores, CPU model, the AVX-512/AMX flags
that bf16 and int8 kernels depend on), the versions, the threads, the libtorch
both Python's torch and hfjit load (the torch 2.15 wheel's), and the 1-minute load
average before and after. --json also prints every figure as one JSON object.
Python is only used here, to measure the references.
"""

import argparse
import datetime
import gc
import inspect
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers.utils import logging as hf_logging

from machine import busy_cores, describe, load1, load_note, too_busy

ROOT = Path(__file__).resolve().parents[2]


def python_libtorch():
    """Path of the libtorch_cpu this process has mapped (it is, once torch is imported)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "libtorch_cpu.so" in line:
            return os.path.realpath(line.split()[-1])
    return None


def hfjit_libtorch(hfjit):
    """Path of the libtorch_cpu the hfjit executable resolves, by ldd."""
    try:
        out = subprocess.run(["ldd", hfjit], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    m = re.search(r"libtorch_cpu\.so\S*\s*=>\s*(\S+)", out)
    return os.path.realpath(m.group(1)) if m else None


def special_ids(model_dir, config):
    """Token ids to keep out of the input: config's *_token_id and tokenizer.json's special added tokens."""
    ids = set()
    for key, value in config.to_dict().items():
        if key.endswith("_token_id") and value is not None:
            ids.update(value if isinstance(value, list) else [value])
    tok = Path(model_dir) / "tokenizer.json"
    if tok.exists():
        ids.update(t["id"] for t in json.loads(tok.read_text()).get("added_tokens", []) if t.get("special"))
    return ids


def make_inputs(model_dir, config, names, batch, length, seed):
    """The named input tensors, [batch, length] each (see the module docstring)."""
    vocab = config.vocab_size
    lo = 1000 if vocab >= 2000 else vocab // 4
    allowed = torch.tensor(sorted(set(range(lo, vocab)) - special_ids(model_dir, config)))
    gen = torch.Generator().manual_seed(seed)
    ids = allowed[torch.randint(0, len(allowed), (batch, length), generator=gen)]
    tensors = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    return {n: tensors[n] for n in names}


class Positional(torch.nn.Module):
    """Calls the model with keyword inputs, for a forward whose first parameters are in another order
    (e.g. GPT-2's past_key_values before attention_mask): jit.trace and onnx.export pass them by position."""

    def __init__(self, model, names):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *args):
        return self.model(**dict(zip(self.names, args)))


def first_tensor(out):
    """The first output (logits or last hidden state) as a float64 numpy array."""
    while isinstance(out, (tuple, list, dict)):
        out = next(iter(out.values())) if isinstance(out, dict) else out[0]
    if isinstance(out, torch.Tensor):
        out = out.detach().numpy()
    return np.asarray(out, dtype=np.float64)


def time_calls(fn, min_time, warmup):
    """Times fn() after warmup untimed calls until min_time seconds have passed (at least 5 calls)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": statistics.median(times), "p90_ms": float(np.percentile(times, 90)),
            "min_ms": min(times), "mean_ms": statistics.mean(times), "calls": len(times)}


def cosine(a, b):
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class _PlaceholderTokenizer:
    """For a model folder without a tokenizer: CT2's BERT loader pads the vocabulary to vocab_size with
    placeholder tokens; the ids are passed as ids, so the strings never matter."""
    unk_token = "[UNK]"

    def get_vocab(self):
        return {}


def ct2_convert(model_dir, out):
    """TransformersConverter of model_dir into out (float32 weights); returns out."""
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_model(self, model_class, model_name_or_path, **kwargs):
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            # CT2 4.8's BERT-like loaders assert config.position_embedding_type == "absolute"; transformers 5
            # dropped the attribute along with relative position embeddings (its BERT is absolute only).
            if not hasattr(model.config, "position_embedding_type"):
                model.config.position_embedding_type = "absolute"
            return model

        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            try:
                return super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
            except Exception:  # no tokenizer files (scripts/bench/make_big_model.py writes none)
                return _PlaceholderTokenizer()

    return Converter(str(model_dir)).convert(str(out), force=True)


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_hfjit(args):
    """hfjit bench --compare: its JSON rows by mode, or (None, error text) when it fails."""
    cmd = [args.hfjit, "--threads", str(args.threads), "bench", args.model, "--compare",
           "--batch-sizes", str(args.batch), "--lengths", str(args.length),
           "--min-time", str(args.min_time), "--json"]
    print("running " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    rows = {}
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["mode"]] = row
    if p.returncode != 0 or not rows:
        return rows or None, f"exit {p.returncode}: {p.stderr.strip()[-1500:]}"
    return rows, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model", help="Hugging Face checkpoint folder (config.json + model.safetensors)")
    ap.add_argument("--length", type=int, default=128, help="sequence length (default 128)")
    ap.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads of every contender (default 2)")
    ap.add_argument("--min-time", type=float, default=5, help="seconds to time each contender for (default 5)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls first (default 3, as hfjit bench)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the token ids (default 0)")
    ap.add_argument("--hfjit", default=str(ROOT / "build/hfjit"), help="hfjit executable (default build/hfjit)")
    ap.add_argument("--skip-hfjit", action="store_true", help="time the Python contenders only")
    ap.add_argument("--per-tensor", action="store_true", help="ORT int8 with per-tensor weight scales "
                    "(default per-channel)")
    ap.add_argument("--skip-torch-int8", action="store_true", help="leave out transformers eager int8 "
                    "(torch quantize_dynamic)")
    ap.add_argument("--skip-ct2", action="store_true", help="leave out CT2 fp32 and CT2 int8 (CTranslate2)")
    ap.add_argument("--work", help="folder for model.onnx, model-int8.onnx and ct2/ (kept); default a temporary one")
    ap.add_argument("--json", action="store_true", help="also print all figures as one JSON object")
    args = ap.parse_args()

    hf_logging.set_verbosity_error()
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's "consider pre-processing" advice
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.set_num_threads(args.threads)
    T, B, L = args.threads, args.batch, args.length
    res = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": describe(),
        "model": str(args.model), "batch": B, "length": L, "threads": T, "min_time_s": args.min_time,
        "warmup": args.warmup, "seed": args.seed,
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__},
        "torch_file": torch.__file__,
        "load1_before": load1(),
        "busy_cores_before": busy_cores(),
    }

    # ------------------------------------------------------------- model and input
    config = transformers.AutoConfig.from_pretrained(args.model)
    if getattr(config, "is_encoder_decoder", False):
        raise SystemExit(f"{config.architectures[0]}: encoder-decoder models need decoder inputs; not supported here")
    arch = config.architectures[0]
    res["architecture"] = arch
    print(f"loading {arch} from {args.model}", file=sys.stderr, flush=True)
    no_cache = {"use_cache": False} if hasattr(config, "use_cache") else {}  # decoders: no past_key_values
    # transformers 5 has no torchscript flag; the outputs (dict) are read by first_tensor and traced
    # with strict=False.
    model = getattr(transformers, arch).from_pretrained(
        args.model, attn_implementation="eager", **no_cache).eval()
    params = list(inspect.signature(model.forward).parameters)
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in params and getattr(config, "type_vocab_size", 0):
        names.append("token_type_ids")
    inputs = make_inputs(args.model, config, names, B, L, args.seed)
    res["inputs"] = names
    # jit.trace and onnx.export take the inputs by position.
    positional = model if params[:len(names)] == names else Positional(model, names).eval()
    example = tuple(inputs[n] for n in names)
    feed = {n: t.numpy() for n, t in inputs.items()}

    timings, correctness = {}, {}

    # ------------------------------------------------------------- transformers eager
    print("timing transformers eager", file=sys.stderr, flush=True)
    with torch.inference_mode():
        reference = first_tensor(model(**inputs))
        timings["transformers eager"] = time_calls(lambda: model(**inputs), args.min_time, args.warmup)
        encoder = model.base_model  # the bare encoder (model itself for BertModel): what CT2 converts
        hidden_reference = first_tensor(encoder(**inputs))  # last_hidden_state, for CT2
        if encoder is not model and not args.skip_ct2:
            print("timing transformers eager (encoder only)", file=sys.stderr, flush=True)
            timings["transformers eager (encoder only)"] = \
                time_calls(lambda: encoder(**inputs), args.min_time, args.warmup)

    # ------------------------------------------------------------- torch.jit.trace
    print("tracing and timing torch.jit.trace", file=sys.stderr, flush=True)
    with torch.no_grad():
        traced = torch.jit.trace(positional, example, strict=False)
    with torch.inference_mode():
        traced(*example)
        out = traced(*example)  # second call: the profiling executor's optimised graph
        correctness["jit_trace_max_abs_diff_vs_eager"] = float(np.abs(first_tensor(out) - reference).max())
        timings["torch.jit.trace"] = time_calls(lambda: traced(*example), args.min_time, args.warmup)
    traced = None
    gc.collect()

    # ------------------------------------------------------------- torch int8 (dynamic)
    if not args.skip_torch_int8:
        print("quantizing (torch quantize_dynamic) and timing transformers eager int8", file=sys.stderr, flush=True)
        from torch.ao.quantization import quantize_dynamic as torch_quantize_dynamic
        qmodel = torch_quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        with torch.inference_mode():
            q = first_tensor(qmodel(**inputs))
            correctness["torch_int8_cosine_vs_eager"] = cosine(q, reference)
            correctness["torch_int8_max_abs_diff_vs_eager"] = float(np.abs(q - reference).max())
            timings["transformers eager int8 (torch dynamic)"] = \
                time_calls(lambda: qmodel(**inputs), args.min_time, args.warmup)
        qmodel = None
        gc.collect()

    # ------------------------------------------------------------- ONNX Runtime
    with tempfile.TemporaryDirectory(prefix="hfjit-compare-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        fp32, int8 = work / "model.onnx", work / "model-int8.onnx"
        print(f"exporting {fp32}", file=sys.stderr, flush=True)
        with torch.no_grad():
            # dynamo=False: torch 2.15's default exporter (dynamo=True) needs onnxscript, which the
            # reference venv does not pin; the TorchScript-based exporter is the one measured before.
            # Always through Positional (keyword call): exporting a BertModel itself fails in transformers 5
            # ("BertModel.forward() got multiple values for argument 'use_cache'").
            torch.onnx.export(Positional(model, names).eval(), example, str(fp32), input_names=names,
                              opset_version=14,
                              do_constant_folding=True, dynamo=False)
        print(f"quantizing {int8}", file=sys.stderr, flush=True)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=not args.per_tensor)
        res["onnx_mb"] = {"fp32": fp32.stat().st_size / 2**20, "int8": int8.stat().st_size / 2**20}

        print("timing ORT fp32", file=sys.stderr, flush=True)
        sess = ort_session(fp32, T)
        ort_fp32 = first_tensor(sess.run(None, feed))
        correctness["ort_fp32_max_abs_diff_vs_eager"] = float(np.abs(ort_fp32 - reference).max())
        timings["ORT fp32"] = time_calls(lambda: sess.run(None, feed), args.min_time, args.warmup)
        sess = None
        gc.collect()

        print("timing ORT int8", file=sys.stderr, flush=True)
        sess = ort_session(int8, T)
        ort_int8 = first_tensor(sess.run(None, feed)).ravel()
        a = ort_fp32.ravel()
        correctness["ort_int8_cosine_vs_ort_fp32"] = float(a @ ort_int8 / (np.linalg.norm(a) * np.linalg.norm(ort_int8)))
        correctness["ort_int8_max_abs_diff_vs_ort_fp32"] = float(np.abs(ort_int8 - a).max())
        timings["ORT int8" + (" (per-tensor)" if args.per_tensor else " (per-channel)")] = \
            time_calls(lambda: sess.run(None, feed), args.min_time, args.warmup)
        sess = None
        gc.collect()

        # --------------------------------------------------------- CTranslate2
        if not args.skip_ct2:
            try:
                import ctranslate2
                res["versions"]["ctranslate2"] = ctranslate2.__version__
                ct2_dir = work / "ct2"
                print(f"converting {ct2_dir} (CTranslate2)", file=sys.stderr, flush=True)
                ct2_convert(args.model, ct2_dir)
            except Exception as e:  # e.g. no CT2 loader for this config, or a decoder
                res["ct2_error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                print(f"CT2 skipped ({res['ct2_error']})", file=sys.stderr, flush=True)
            else:
                ids = inputs["input_ids"].tolist()
                type_ids = inputs["token_type_ids"].tolist() if "token_type_ids" in inputs else None
                ct2_fp32 = None
                for compute_type in ("float32", "int8"):
                    label = "CT2 fp32" if compute_type == "float32" else "CT2 int8"
                    print(f"timing {label}", file=sys.stderr, flush=True)
                    enc = ctranslate2.Encoder(str(ct2_dir), device="cpu", compute_type=compute_type,
                                              inter_threads=1, intra_threads=T)
                    call = lambda: enc.forward_batch(ids, token_type_ids=type_ids)  # noqa: E731
                    out = np.asarray(call().last_hidden_state, dtype=np.float64)
                    if compute_type == "float32":
                        ct2_fp32 = out
                        correctness["ct2_fp32_max_abs_diff_vs_eager_hidden"] = \
                            float(np.abs(out - hidden_reference).max())
                    else:
                        correctness["ct2_int8_cosine_vs_ct2_fp32"] = cosine(out, ct2_fp32)
                        correctness["ct2_int8_max_abs_diff_vs_ct2_fp32"] = float(np.abs(out - ct2_fp32).max())
                    if encoder is not model:
                        label += " (encoder only)"
                    timings[label] = time_calls(call, args.min_time, args.warmup)
                    enc = call = None
                    gc.collect()
    res["correctness"] = correctness
    res["load1_after_python"] = load1()

    # ------------------------------------------------------------- hfjit
    res["libtorch"] = {"python": python_libtorch()}
    if not args.skip_hfjit:
        res["hfjit_version"] = subprocess.run([args.hfjit, "--version"], capture_output=True,
                                              text=True).stdout.strip()
        # build/hfjit is a front end without libtorch that execs hfjit-engine beside it: ldd that one.
        engine = Path(args.hfjit).with_name("hfjit-engine")
        res["libtorch"]["hfjit"] = hfjit_libtorch(str(engine) if engine.exists() else args.hfjit)
        rows, err = run_hfjit(args)
        res["hfjit_raw"] = rows
        if err:
            res["hfjit_error"] = err
            print(f"hfjit bench failed ({err})", file=sys.stderr, flush=True)
        for mode, row in (rows or {}).items():
            timings[f"hfjit {mode}"] = {"p50_ms": row["p50_ms"], "p90_ms": row["p90_ms"], "min_ms": row["min_ms"],
                                        "mean_ms": row["mean_ms"], "calls": row.get("iterations")}
    res["load1_after"] = load1()

    base_eager = timings["transformers eager"]["p50_ms"]
    ort_key = "ORT fp32"
    for t in timings.values():
        t["ratio_to_eager"] = t["p50_ms"] / base_eager
        t["ratio_to_ort_fp32"] = t["p50_ms"] / timings[ort_key]["p50_ms"]
    res["timings"] = timings

    # ------------------------------------------------------------- report
    libs = res["libtorch"]
    debian = torch.__file__.startswith("/usr/lib/python3/dist-packages/")
    torch_note = f"torch {torch.__version__} ({'Debian python3-torch' if debian else torch.__file__}"
    if libs.get("hfjit"):
        same = libs["hfjit"] == libs["python"]
        torch_note += f", {libs['python']}: {'the same libtorch hfjit links' if same else 'NOT the libtorch hfjit links: ' + libs['hfjit']})"
    else:
        torch_note += f", {libs['python']})"
    m = res["machine"]
    ct2_version = res["versions"].get("ctranslate2")
    print(f"{res['date']}; {m['cores']} cores, {m['cpu']} ({' '.join(m['flags']) or 'no AVX2'}); "
          f"{torch_note}; transformers {transformers.__version__}; onnxruntime {onnxruntime.__version__}"
          + (f"; ctranslate2 {ct2_version}" if ct2_version else "")
          + (f"; {res['hfjit_version']}" if "hfjit_version" in res else ""))
    print(f"{arch} from {args.model}: batch {B} x length {L}, inputs {', '.join(names)}; threads {T}; "
          f"at least {args.min_time:g} s per contender after {args.warmup} warm-up calls; "
          + load_note(res))
    print(f"correctness: jit.trace vs eager max abs diff {correctness['jit_trace_max_abs_diff_vs_eager']:.3g}; "
          f"ORT fp32 vs eager max abs diff {correctness['ort_fp32_max_abs_diff_vs_eager']:.3g}; "
          f"ORT int8 vs ORT fp32 cosine {correctness['ort_int8_cosine_vs_ort_fp32']:.6f} "
          f"(max abs diff {correctness['ort_int8_max_abs_diff_vs_ort_fp32']:.3g})"
          + (f"; torch int8 vs eager cosine {correctness['torch_int8_cosine_vs_eager']:.6f} "
             f"(max abs diff {correctness['torch_int8_max_abs_diff_vs_eager']:.3g})"
             if "torch_int8_cosine_vs_eager" in correctness else "")
          + (f"; CT2 fp32 vs eager last_hidden_state max abs diff "
             f"{correctness['ct2_fp32_max_abs_diff_vs_eager_hidden']:.3g}; CT2 int8 vs CT2 fp32 cosine "
             f"{correctness['ct2_int8_cosine_vs_ct2_fp32']:.6f} "
             f"(max abs diff {correctness['ct2_int8_max_abs_diff_vs_ct2_fp32']:.3g})"
             if "ct2_int8_cosine_vs_ct2_fp32" in correctness else ""))
    if "ct2_error" in res:
        print(f"CT2 skipped: {res['ct2_error']}")
    if "transformers eager (encoder only)" in timings and "ct2_error" not in res:
        print(f"note: {arch} has a head that CT2 does not convert; the CT2 rows run the encoder only: compare "
              "them with transformers eager (encoder only)")
    busy = too_busy(res, T)
    res["machine_busy"] = busy
    if busy:
        print(f"WARNING: {res['busy_cores_before']:.1f} of {m['cores']} cores busy just before the run, {T} threads: "
              "other work shares the cores, and torch's OpenMP threads stall at every barrier when one of "
              "them is descheduled; run again on a quiet machine")
    if "hfjit_error" in res:
        print(f"hfjit bench failed: {res['hfjit_error']}")
    print()
    print("| contender | p50 ms | p90 ms | min ms | calls | p50 / transformers eager | p50 / ORT fp32 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, t in timings.items():
        calls = "" if t["calls"] is None else str(t["calls"])
        print(f"| {name} | {t['p50_ms']:.2f} | {t['p90_ms']:.2f} | {t['min_ms']:.2f} | {calls} | "
              f"{t['ratio_to_eager']:.2f} | {t['ratio_to_ort_fp32']:.2f} |")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
