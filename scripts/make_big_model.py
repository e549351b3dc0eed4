"""Writes a BERT-base-sized BertForMaskedLM with random weights (~440 MB) for
benchmarks: python scripts/make_big_model.py OUT_DIR [--bin]. Needs .venv-ref.

--bin: pytorch_model.bin (torch.save of the state dict) instead of
model.safetensors: transformers 5's save_pretrained writes safetensors only."""
import sys
from pathlib import Path

import torch
from transformers import BertConfig, BertForMaskedLM

out = sys.argv[1]
torch.manual_seed(0)
model = BertForMaskedLM(BertConfig()).eval()  # bert-base-uncased shape: 768 x 12, vocab 30522
model.save_pretrained(out)
if "--bin" in sys.argv:
    Path(out, "model.safetensors").unlink()
    torch.save(model.state_dict(), str(Path(out, "pytorch_model.bin")))
print(out)
