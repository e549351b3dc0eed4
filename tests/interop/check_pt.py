"""Interop: the .pt files hfjit writes load in Python with torch.jit.load,
carry their metadata in _extra_files, and give transformers' outputs.

Runs with any Python torch (it needs torch only: the reference environment's
torch 2.15.0 from PyPI, the wheel hfjit builds against):
    .venv-ref/bin/python tests/interop/check_pt.py --hfjit build/hfjit --fixtures tests/fixtures
"""
import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import warnings

import torch

# torch 2.x marks torch.jit.load deprecated ("switch to torch.export"); it still works.
warnings.filterwarnings("ignore", message=r".*torch\.jit\..* is deprecated.*", category=FutureWarning)

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32,
          "F16": torch.float16, "BF16": torch.bfloat16, "BOOL": torch.bool, "U8": torch.uint8}
MODELS = ["bert-mlm", "bert-base", "roberta-mlm", "distilbert-seqcls", "albert-mlm", "electra-discriminator",
          "gpt2-lm"]


def read_safetensors(path):
    """A minimal safetensors reader, so this test needs nothing beyond torch."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = bytearray(data[8 + n + begin:8 + n + end])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if buf else torch.empty(0, dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def check(model, hfjit, fixtures, work):
    pt = Path(work) / f"{model}.pt"
    subprocess.run([hfjit, "-q", "trace", str(Path(fixtures) / "models" / model), "-o", str(pt),
                    "--batch-size", "2", "--max-length", "12"], check=True)
    extra = {"hfjit/meta.json": "", "config.json": ""}
    module = torch.jit.load(str(pt), _extra_files=extra)
    meta = json.loads(extra["hfjit/meta.json"])
    assert meta["format"] == "hfjit", meta
    assert json.loads(extra["config.json"])["model_type"] == meta["model_type"]
    ref_dir = Path(fixtures) / "models" / model
    ref = read_safetensors(ref_dir / "reference.safetensors")
    names = [i["name"] for i in meta["inputs"]]
    args = [ref.get(n, torch.zeros(2, 12, dtype=torch.int64)) for n in names]
    # Inputs by name, as a serving system calls it.
    outs = module(**dict(zip(names, args)))
    expected = [o["name"] for o in json.loads((ref_dir / "reference.json").read_text())["outputs"]]
    assert len(outs) == len(expected), (len(outs), expected)
    worst = 0.0
    for got, name in zip(outs, expected):
        want = ref[name]
        assert got.shape == want.shape, (name, got.shape, want.shape)
        worst = max(worst, (got - want).abs().max().item())
    assert worst <= 1e-5, f"{model}: max abs diff {worst}"
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hfjit", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as work:
        for model in MODELS:
            try:
                worst = check(model, args.hfjit, args.fixtures, work)
                print(f"ok    {model}: torch {torch.__version__}, max abs diff {worst:.2e}")
                passed += 1
            except Exception as e:  # report every model, then fail
                print(f"FAIL  {model}: {type(e).__name__}: {e}")
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
