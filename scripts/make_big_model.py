"""Writes a BERT-base-sized BertForMaskedLM with random weights (~440 MB) for
benchmarks: python scripts/make_big_model.py OUT_DIR [--bin]. Needs .venv-ref."""
import sys

import torch
from transformers import BertConfig, BertForMaskedLM

out = sys.argv[1]
torch.manual_seed(0)
model = BertForMaskedLM(BertConfig()).eval()  # bert-base-uncased shape: 768 x 12, vocab 30522
model.save_pretrained(out, safe_serialization="--bin" not in sys.argv)
print(out)
