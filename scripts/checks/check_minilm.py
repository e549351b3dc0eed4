#!/usr/bin/env python3
"""hfjit's all-MiniLM-L6-v2 sentence embeddings vs sentence-transformers.

Traces the real model (scripts/fetch_minilm) with build/hfjit, embeds the
sentences of tests/fixtures/minilm/reference.json (written by
scripts/fixtures/make_minilm_reference.py; its sentence_transformers_version and
torch_version fields say with what) through `hfjit run --json`, and prints the
cosine and max abs difference per sentence, then the worst. Exit 1 if any
cosine is below 0.99999.

    .venv-ref/bin/python scripts/checks/check_minilm.py [--hfjit build/hfjit] [--model .cache/models/all-MiniLM-L6-v2]

Needs only a python3 with numpy (.venv-ref has it); the product under test is the binary.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hfjit", default=str(ROOT / "build" / "hfjit"))
    ap.add_argument("--model", default=str(ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"))
    ap.add_argument("--max-length", type=int, default=256)
    args = ap.parse_args()

    ref = json.loads((ROOT / "tests" / "fixtures" / "minilm" / "reference.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        pt = Path(tmp) / "minilm.pt"
        subprocess.run([args.hfjit, "-q", "trace", args.model, "-o", str(pt), "--max-length", str(args.max_length),
                        "--lengths", "32,128"], check=True, stdout=subprocess.DEVNULL)
        lines = "".join(json.dumps({"text": s}) + "\n" for s in ref["sentences"])
        out = subprocess.run([args.hfjit, "-q", "run", str(pt), "--input", "-", "--json"], input=lines,
                             capture_output=True, text=True, check=True).stdout
    got = np.array([json.loads(line)["embedding"] for line in out.splitlines()], dtype=np.float64)
    want = np.array(ref["embeddings"], dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    diff = np.abs(got - want).max(1)
    print(f"{'#':>3}  {'tokens':>6}  {'cosine':>18}  {'max abs diff':>12}  sentence")
    for i, s in enumerate(ref["sentences"]):
        print(f"{i:>3}  {len(ref['token_ids'][i]):>6}  {cos[i]:.15f}  {diff[i]:12.3e}  {s[:50]!r}")
    print(f"worst cosine {cos.min():.15f}, worst max abs diff {diff.max():.3e} over {len(cos)} sentences "
          f"(sentence-transformers {ref['sentence_transformers_version']}, torch {ref['torch_version']})")
    return 0 if cos.min() >= 0.99999 else 1


if __name__ == "__main__":
    sys.exit(main())
