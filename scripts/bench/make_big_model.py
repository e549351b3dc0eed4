"""Writes a BERT-base-sized BertForMaskedLM with random weights (~440 MB) for
benchmarks: python scripts/bench/make_big_model.py OUT_DIR [--bin]. Needs .venv-ref.

--bin: pytorch_model.bin (torch.save of the state dict) instead of
model.safetensors: transformers 5's save_pretrained writes safetensors only."""
import argparse
from pathlib import Path

import torch
from transformers import BertConfig, BertForMaskedLM


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="the model folder to write")
    ap.add_argument("--bin", action="store_true", help="pytorch_model.bin instead of model.safetensors")
    args = ap.parse_args()
    out = args.out
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig()).eval()  # bert-base-uncased shape: 768 x 12, vocab 30522
    model.save_pretrained(out)
    if args.bin:
        Path(out, "model.safetensors").unlink()
        torch.save(model.state_dict(), str(Path(out, "pytorch_model.bin")))
    print(out)


if __name__ == "__main__":
    main()
