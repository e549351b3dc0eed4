#!/usr/bin/env python3
"""Regenerate every reference fixture under tests/fixtures/ from scratch.

Run with the reference environment (see scripts/pyenv):

    .venv-ref/bin/python scripts/make_fixtures.py

Python is only used here, to produce reference data; the product never needs it.

What it writes:
  tests/fixtures/models/<name>/   tiny random Hugging Face checkpoints written by
                                  transformers 5's `save_pretrained` (config,
                                  weights, tokenizer.json, tokenizer_config.json)
                                  plus the raw vocabulary files (vocab.txt,
                                  vocab.json + merges.txt, spiece.model), then
                                  reference.safetensors (inputs and every output
                                  of the model) and reference.json. The *-bin
                                  copies hold pytorch_model.bin files written with
                                  torch.save (transformers 5 saves safetensors only).
  tests/fixtures/bad/             hostile / unsupported weight files.
  tests/fixtures/manifest.json    versions, folders, files, and which keys of the
                                  .bin checkpoints share storage.
  tokenizer_reference.json        (per model folder) expected ids for probe strings.

The references come from the default attention implementation (sdpa in
transformers 5); every model is reloaded with attn_implementation="eager" and
must give the same outputs and hidden states within 1e-5, or the script stops
(reference.json records both: attn_implementation, eager_max_abs_diff).

It only replaces models/, bad/ and manifest.json; the other folders belong to
the other generators (make_tokenizer_fixtures.py, make_run_fixtures.py,
make_lever_fixtures.py, make_minilm_reference.py, make_foreign_fixtures.py),
which read models/: rerun them after this one.

Everything is deterministic: tokenizers are trained on the corpus embedded
below, every model is built after torch.manual_seed(<its seed>), torch runs on
one thread, and file formats with nondeterministic parts (the legacy torch.save
format keys storages by memory address, tokenizers' WordPiece trainer numbers
"##x" pieces in hash order, safetensors writes multi-key metadata in hash
order) are normalised. Running the script twice gives byte-identical files.

Beyond the default random init, every parameter is re-drawn (weights and
biases ~ N(0, 0.1), norm gains ~ N(1, 0.1)) so that biases, LayerNorm
parameters and attention patterns are all non-trivial.
"""

import io
import json
import os
import pickle
import pickletools
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch

import safetensors
import safetensors.torch
import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = FIXTURES / "models"
BAD = FIXTURES / "bad"

SEQ_LEN = 12          # reference batch: 2 x 12
DEC_LEN = 8           # t5 decoder length
MAX_TOTAL_MB = 8.0    # budget for the whole tests/fixtures tree
MAX_FOLDER_KB = 1000  # each model folder must stay well under 1 MB

torch.set_num_threads(1)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

# --------------------------------------------------------------------------
# Corpus: a few plain English paragraphs, the only training data.
# --------------------------------------------------------------------------
CORPUS = """\
The cat sat on the warm mat near the kitchen door. It watched the birds in the garden and waited for the sun to move.
Dogs run fast across the green field. They chase the ball, bring it back, and ask for more with bright eyes.
Where did the cat sit? The cat sat on the mat, and the dog slept under the old wooden table.
Who runs in the morning? My brother runs every morning before work, even when it rains.
Paris is the capital of France. London is the capital of the United Kingdom, and Berlin is the capital of Germany.
Marie Curie was a physicist and chemist who worked in Paris. She won the Nobel Prize twice, in physics and in chemistry.
The weather today is cold and windy, but tomorrow will be sunny and warm. People will walk in the park and sit by the river.
A small boat crossed the lake at night. The water was calm, the stars were bright, and nobody said a word.
Computers read numbers, not words. A tokenizer splits text into pieces, and each piece becomes a number that the model can use.
The model reads the sentence, looks at every word, and predicts the missing word from the words around it.
Good food, good friends, and a quiet evening: that is what she wanted after the long week.
I think this movie was wonderful. I think that book was terrible. The music was fine, not great, not bad.
John Smith lives in New York and works for a large bank. Anna lives in London and teaches music at a school.
Children learn quickly when they play. They build towers, paint pictures, and tell long stories about dragons.
The train leaves at seven and arrives at nine. If you are late, you will have to wait for the next one.
Hello world! This is a simple test of the tokenizer, with numbers like 12, 345 and 2024, and some punctuation.
The library opens at eight in the morning and closes at six in the evening. Students study quietly between the shelves.
Scientists measure the temperature of the ocean every year. The water is getting warmer, and the ice is melting faster.
She opened the window, listened to the rain, and decided to stay at home with a cup of tea and a good book.
The company announced a new phone yesterday. It is thinner, lighter, and has a better camera than the old model.
Mountains covered with snow rise above the quiet village. In winter, families gather around the fire and share stories.
The doctor asked him how he was feeling. He said that his head hurt and that he had not slept well for three days.
Farmers plant wheat in autumn and harvest it in summer. Bread, pasta, and cakes are all made from wheat flour.
Our team played a great game on Saturday. We scored two goals in the second half and won the championship.
The museum shows paintings, sculptures, and ancient coins. Visitors can also join a guided tour in several languages.
Please remember to turn off the lights, lock the door, and feed the fish before you leave for the holidays.
"""
CORPUS_LINES = [line.strip() for line in CORPUS.splitlines() if line.strip()]

# The two reference sentences (different lengths: row 0 fills or nearly fills
# the 12 positions, row 1 is short so it is padded in the tail).
SENTENCES = [
    "The cat sat on the warm mat near the kitchen door.",
    "Dogs run fast.",
]
QA_PAIRS = [  # (question, context) for bert-qa: exercises token_type_ids == 1
    ("Where did the cat sit?", "The cat sat on the mat."),
    ("Who runs?", "Dogs run."),
]
T5_TARGETS = ["The cat sat.", "Dogs run."]


# --------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------
def train_wordpiece(workdir: Path) -> Path:
    """Uncased WordPiece vocab (BERT style) trained with `tokenizers`.

    tokenizers' WordPiece/BPE trainer gives the continuation pieces ("##x") ids
    in hash-map iteration order, which changes from process to process, and
    merges with equal counts are then ordered by those ids: the vocab differs
    between runs. Declaring every "##x" up front (sorted) as an initial token
    fixes their ids, which makes the whole training deterministic. The vocab
    is then written as: special tokens, characters, "##" characters, learned
    pieces in merge order.
    """
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None, clean_text=True,
                                            handle_chinese_chars=True)
    pre_tok = pre_tokenizers.BertPreTokenizer()
    inner_chars = set()
    for line in CORPUS_LINES:
        for word, _ in pre_tok.pre_tokenize_str(normalizer.normalize_str(line)):
            inner_chars.update(word[1:])
    continuation = ["##" + c for c in sorted(inner_chars)]

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tok
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=480,
        min_frequency=1,
        special_tokens=specials + continuation,
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS_LINES, trainer=trainer)
    vocab = tok.get_vocab()
    inv = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    assert inv[:len(specials)] == specials
    chars = sorted(t for t in inv if len(t) == 1)
    rest = [t for t in inv if t not in specials and t not in continuation and len(t) != 1]
    ordered = specials + chars + continuation + rest
    assert sorted(ordered) == sorted(inv) and len(set(ordered)) == len(ordered)
    path = workdir / "vocab.txt"
    path.write_text("".join(t + "\n" for t in ordered), encoding="utf-8")
    return path


def train_bytelevel_bpe(workdir: Path, name: str, special_tokens, vocab_size=560):
    """Byte-level BPE (GPT-2 / RoBERTa style): vocab.json + merges.txt."""
    from tokenizers.implementations import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(CORPUS_LINES, vocab_size=vocab_size, min_frequency=1,
                            special_tokens=list(special_tokens), show_progress=False)
    out = workdir / name
    out.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = tok.save_model(str(out))
    return Path(vocab_file), Path(merges_file)


def normalization_rules_tsv() -> str:
    """A small NFKC-like rule set for SentencePiece.

    Real ALBERT/T5 models use the built-in `nmt_nfkc` rules, whose precompiled
    charsmap is ~240 KB in spiece.model and ~330 KB again (base64) in
    tokenizer.json: too big for these fixtures. A user-defined rule set keeps
    the same machinery (a precompiled charsmap in spiece.model, a `Precompiled`
    normalizer in tokenizer.json) in a few KB. Format: source code points TAB
    target code points, hex.
    """
    rules = {}
    for c in range(0xFF01, 0xFF5F):            # fullwidth ASCII -> ASCII
        rules[(c,)] = (c - 0xFF01 + 0x21,)
    rules[(0x3000,)] = (0x20,)                  # ideographic space
    rules[(0x00A0,)] = (0x20,)                  # no-break space
    rules[(0xFB01,)] = (0x66, 0x69)             # fi ligature
    rules[(0xFB02,)] = (0x66, 0x6C)             # fl ligature
    rules[(0x2026,)] = (0x2E, 0x2E, 0x2E)       # horizontal ellipsis
    rules[(0x2460,)] = (0x31,)                  # circled digit one
    rules[(0x00B2,)] = (0x32,)                  # superscript two
    rules[(0x0065, 0x0301)] = (0x00E9,)         # e + combining acute -> e-acute (multi-code-point source)
    rules[(0x0041, 0x030A)] = (0x00C5,)         # A + combining ring -> A-ring
    lines = []
    for src, tgt in sorted(rules.items()):
        lines.append(" ".join(f"{c:X}" for c in src) + "\t" + " ".join(f"{c:X}" for c in tgt))
    return "\n".join(lines) + "\n"


def train_sentencepiece(workdir: Path, name: str, lowercase: bool, **specials) -> Path:
    """SentencePiece unigram model trained in memory (deterministic: 1 thread, fixed seed)."""
    from transformers.convert_slow_tokenizer import import_protobuf

    sp_pb2 = import_protobuf()  # the same module the slow->fast converter uses

    spm.set_random_generator_seed(20240611)
    lines = [l.lower() for l in CORPUS_LINES] if lowercase else list(CORPUS_LINES)
    rules = workdir / "normalization_rules.tsv"
    rules.write_text(normalization_rules_tsv(), encoding="utf-8")
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="unigram",
        vocab_size=300,
        character_coverage=1.0,
        num_threads=1,
        shuffle_input_sentence=False,
        normalization_rule_tsv=str(rules),
        minloglevel=2,
        **specials,
    )
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    # The trainer records the (temporary) rule file path: drop it so the
    # model is reproducible. The compiled rules stay in precompiled_charsmap.
    proto.normalizer_spec.ClearField("normalization_rule_tsv")
    proto.normalizer_spec.name = "user_defined_nfkc_subset"
    assert len(proto.normalizer_spec.precompiled_charsmap) > 0
    path = workdir / f"{name}.model"
    path.write_bytes(proto.SerializeToString(deterministic=True))
    return path


def build_tokenizers(workdir: Path):
    """Returns {family: (slow_tokenizer or None, fast_tokenizer, raw_files)}.

    transformers 5 has one tokenizer class per model, backed by `tokenizers`
    (`BertTokenizerFast` etc. are aliases of `BertTokenizer`); the Python
    ("slow") classes are gone except `BertTokenizerLegacy`, which is the slow
    reference of the WordPiece families. GPT-2, RoBERTa, ALBERT and T5 have no
    slow class any more (None). `raw_files` are the vocabulary files the
    tokenizer was built from (vocab.txt, vocab.json + merges.txt,
    spiece.model): transformers 5's save_pretrained writes only
    tokenizer.json and tokenizer_config.json, so they are copied into the
    model folders beside them, as real checkpoints carry them.
    """
    from transformers import (AlbertTokenizer, BertTokenizer, BertTokenizerLegacy, DistilBertTokenizer,
                              ElectraTokenizer, GPT2Tokenizer, RobertaTokenizer, T5Tokenizer)

    toks = {}
    vocab_txt = train_wordpiece(workdir)
    wp = [vocab_txt]
    toks["bert"] = (BertTokenizerLegacy(str(vocab_txt), do_lower_case=True),
                    BertTokenizer(vocab=str(vocab_txt), do_lower_case=True), wp)
    # Same WordPiece vocab behind each model's own tokenizer class (DistilBERT's
    # has no token_type_ids in model_input_names).
    toks["distilbert"] = (BertTokenizerLegacy(str(vocab_txt), do_lower_case=True),
                          DistilBertTokenizer(vocab=str(vocab_txt), do_lower_case=True), wp)
    toks["electra"] = (BertTokenizerLegacy(str(vocab_txt), do_lower_case=True),
                       ElectraTokenizer(vocab=str(vocab_txt), do_lower_case=True), wp)

    v, m = train_bytelevel_bpe(workdir, "gpt2", ["<|endoftext|>"])
    toks["gpt2"] = (None, GPT2Tokenizer(vocab=str(v), merges=str(m)), [v, m])

    v, m = train_bytelevel_bpe(workdir, "roberta", ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    toks["roberta"] = (None, RobertaTokenizer(vocab=str(v), merges=str(m)), [v, m])

    # ALBERT layout: <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4, no bos/eos pieces.
    # transformers 5 converts spiece.model when from_pretrained finds no tokenizer.json.
    sp = train_sentencepiece(workdir, "albert", lowercase=True,
                             pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
                             pad_piece="<pad>", unk_piece="<unk>",
                             control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    toks["albert"] = (None, AlbertTokenizer.from_pretrained(str(_spiece_dir(sp))), [_spiece_dir(sp) / "spiece.model"])

    # T5 layout: <pad>=0 </s>=1 <unk>=2, cased; 3 sentinel tokens <extra_id_0..2> on top.
    sp = train_sentencepiece(workdir, "t5", lowercase=False,
                             pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                             pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>")
    toks["t5"] = (None, T5Tokenizer.from_pretrained(str(_spiece_dir(sp)), extra_ids=3, legacy=True),
                  [_spiece_dir(sp) / "spiece.model"])
    return toks


def _spiece_dir(model: Path) -> Path:
    """A folder holding only spiece.model (a copy of model), for from_pretrained."""
    d = model.parent / (model.stem + "_spiece")
    if not d.exists():
        d.mkdir()
        shutil.copyfile(model, d / "spiece.model")
    return d


def save_tokenizer(triple, folder: Path):
    """transformers 5's save_pretrained (tokenizer.json, tokenizer_config.json),
    then the raw vocabulary files the tokenizer was built from."""
    _, fast, raw = triple
    fast.save_pretrained(str(folder))
    for f in raw:
        assert not (folder / f.name).exists(), f
        shutil.copyfile(f, folder / f.name)


# Probe strings for tokenizer parity (C++ tokenizers vs tokenizers / sentencepiece).
TOKENIZER_PROBES = [
    "The cat sat on the warm mat near the kitchen door.",
    "Dogs run fast.",
    "Hello world! This is a simple test, with numbers like 12, 345 and 2024.",
    "  Leading and   multiple   spaces  ",
    "UPPER lower MiXeD CaSe",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 Cafe\u0301",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \ufb01ne\u2026 \u2460\u00b2 no\u00a0break",
    "unknownword xylophone quizzical",
    "tab\tand\nnewline",
    "emoji \U0001F600 and \u4e2d\u6587",
    "",
]
TOKENIZER_PROBE_PAIR = ("Where did the cat sit?", "The cat sat on the mat.")


def write_tokenizer_reference(folder: Path, fam: str, pair, tok_dir: Path):
    """tokenizer_reference.json: expected ids for the probe strings.

    `ids` / `tokens` / `offsets` come from the transformers 5 tokenizer
    (tokenizer.json, i.e. the `tokenizers` library), with special tokens;
    `ids_no_special` without. `slow_ids` comes from the Python class where
    transformers 5 still has one (BertTokenizerLegacy for the WordPiece
    families; absent for GPT-2, RoBERTa, ALBERT and T5, and `slow_class` is
    null) and `slow_equals_fast` says whether the two agree. For SentencePiece models
    `sentencepiece_ids` is the raw `sentencepiece` library encoding of the text
    (no Hugging Face pre-processing, no special tokens).
    """
    from transformers import AutoTokenizer

    slow, fast, _ = pair
    backend = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    reloaded = AutoTokenizer.from_pretrained(str(tok_dir), use_fast=True)
    sp = None
    if (tok_dir / "spiece.model").exists():
        sp = spm.SentencePieceProcessor(model_file=str(tok_dir / "spiece.model"))
    cases = []
    for text in TOKENIZER_PROBES + [TOKENIZER_PROBE_PAIR]:
        args = list(text) if isinstance(text, tuple) else [text]
        enc = fast(*args, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        assert backend.encode(*args).ids == ids, (fam, text)
        assert list(reloaded(*args)["input_ids"]) == ids, (fam, text)
        slow_ids = list(slow(*args)["input_ids"]) if slow is not None else None
        case = {
            "text": text if isinstance(text, str) else list(text),
            "ids": ids,
            "tokens": fast.convert_ids_to_tokens(ids),
            "offsets": [list(o) for o in enc["offset_mapping"]],
            "ids_no_special": list(fast(*args, add_special_tokens=False)["input_ids"]),
            "decoded": fast.decode(ids, skip_special_tokens=True),
        }
        if slow is not None:
            case["slow_ids"] = slow_ids
            case["slow_equals_fast"] = slow_ids == ids
        if "token_type_ids" in enc:
            case["token_type_ids"] = list(enc["token_type_ids"])
        if sp is not None and isinstance(text, str):
            case["sentencepiece_ids"] = sp.encode(text)
        cases.append(case)
    ref = {
        "generator": "scripts/make_fixtures.py",
        "tokenizer_class": type(fast).__name__,
        "slow_class": type(slow).__name__ if slow is not None else None,
        "tokenizers_version": tokenizers.__version__,
        "sentencepiece_version": spm.__version__,
        "transformers_version": transformers.__version__,
        "vocab_size": len(fast),
        "special_tokens": {k: v for k, v in sorted(fast.special_tokens_map.items())},
        "cases": cases,
    }
    (folder / "tokenizer_reference.json").write_text(json.dumps(ref, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
    return [c["text"] for c in cases if not c.get("slow_equals_fast", True)]


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------
def pad_batch(encodings, pad_id, length):
    out = {}
    for key in encodings[0].keys():
        rows = []
        for enc in encodings:
            seq = list(enc[key])[:length]
            fill = pad_id if key == "input_ids" else 0
            rows.append(seq + [fill] * (length - len(seq)))
        out[key] = torch.tensor(rows, dtype=torch.int64)
    if "attention_mask" not in out:
        out["attention_mask"] = torch.tensor(
            [[1] * min(len(e["input_ids"]), length) + [0] * (length - min(len(e["input_ids"]), length))
             for e in encodings], dtype=torch.int64)
    return out


def make_inputs(fast_tok, pairs=None):
    """Tokenize the two sentences, right-pad to SEQ_LEN (row 1 has tail padding)."""
    pad_id = fast_tok.pad_token_id
    if pad_id is None:  # GPT-2 has no pad token: pad with <|endoftext|>, masked out
        pad_id = fast_tok.eos_token_id
    if pairs is None:
        encs = [fast_tok(s, truncation=True, max_length=SEQ_LEN) for s in SENTENCES]
    else:
        encs = [fast_tok(q, c, truncation="longest_first", max_length=SEQ_LEN) for q, c in pairs]
    encs = [{k: list(v) for k, v in e.items()} for e in encs]
    inputs = pad_batch(encs, pad_id, SEQ_LEN)
    mask = inputs["attention_mask"]
    assert mask[1, -1] == 0 and mask[1].sum() < mask[0].sum(), "row 1 must have tail padding"
    return {k: inputs[k] for k in fast_tok.model_input_names if k in inputs}


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
def randomize_(model, seed, skip=()):
    """Give every parameter a non-trivial random value.

    The default init (LayerNorm weight 1 / bias 0, all biases 0, std 0.02)
    would hide whole classes of bugs (a missing bias add, swapped LayerNorm
    gamma/beta, near-uniform attention). Tied parameters are the same object
    and are visited once.
    """
    g = torch.Generator().manual_seed(seed + 1)
    norm_gains = {id(m.weight) for m in model.modules()
                  if "norm" in type(m).__name__.lower() and getattr(m, "weight", None) is not None}
    with torch.no_grad():
        seen = set()
        for name, p in model.named_parameters():
            if id(p) in seen or any(s in name for s in skip):
                continue
            seen.add(id(p))
            noise = torch.randn(p.shape, generator=g, dtype=p.dtype)
            if id(p) in norm_gains:
                p.copy_(1.0 + 0.1 * noise)          # LayerNorm / T5 RMSNorm gain
            else:
                p.copy_(0.1 * noise)
    return model


def legacy_cache(obj):
    """A transformers 5 Cache as the legacy tuples the fixtures store.

    transformers 5 returns past_key_values as a DynamicCache (decoders) or an
    EncoderDecoderCache (T5) even with return_dict=False, and dropped
    to_legacy_cache(). The fixtures keep the legacy layout: per layer
    (key, value) or (self key, self value, cross key, cross value), each
    [batch, heads, seq, head_dim]. Anything else is returned as it is.
    """
    from transformers.cache_utils import Cache, EncoderDecoderCache

    if isinstance(obj, EncoderDecoderCache):
        s, c = obj.self_attention_cache, obj.cross_attention_cache
        return tuple((a.keys, a.values, b.keys, b.values) for a, b in zip(s.layers, c.layers))
    if isinstance(obj, Cache):
        return tuple((layer.keys, layer.values) for layer in obj.layers)
    return obj


def flatten_outputs(obj, prefix, out, desc, description):
    """Flatten nested tuples (past_key_values) into dotted names, tuple order."""
    if obj is None:
        return
    obj = legacy_cache(obj)
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj.detach().contiguous().clone()
        desc.append({"name": prefix, "description": description, "shape": list(obj.shape),
                     "dtype": str(obj.dtype).replace("torch.", "")})
        return
    if isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            flatten_outputs(item, f"{prefix}.{i}", out, desc, f"{description}[{i}]")
        return
    raise TypeError(f"unexpected output type {type(obj)} at {prefix}")


def describe_pkv(entry):
    """Nicer descriptions for past_key_values entries: [layer][j]."""
    d = entry["description"]
    if not d.startswith("past_key_values["):
        return
    parts = [int(x) for x in d[len("past_key_values"):].strip("[]").split("][")]
    if len(parts) == 2:
        layer, j = parts
        names4 = ["self_attn.key", "self_attn.value", "cross_attn.key", "cross_attn.value"]
        what = names4[j]
        entry["description"] = f"past_key_values (present) layer {layer} {what} [batch, heads, seq, head_dim]"


EAGER_ATOL = 1e-5
EAGER_DIFFS = {}


def check_eager_matches(model, inputs, folder: Path, tensors):
    """The reference comes from the default attention (sdpa in transformers 5):
    reload the saved folder with attn_implementation="eager" and require every
    output and hidden state within EAGER_ATOL of it; fail loudly otherwise.
    Returns the attention implementation of the reference."""
    attn = model.config._attn_implementation
    eager = type(model).from_pretrained(str(folder), attn_implementation="eager")
    eager.eval()
    assert eager.config._attn_implementation == "eager"
    with torch.no_grad():
        tup = eager(**inputs, return_dict=False)
        hs = eager(**inputs, output_hidden_states=True, return_dict=True)
    flat, desc = {}, []
    for i, v in enumerate(tup):
        flatten_outputs(v, f"output.{i}", flat, desc, "")
    for attr in ("hidden_states", "encoder_hidden_states", "decoder_hidden_states"):
        for n, t in enumerate(getattr(hs, attr, None) or ()):
            flat[f"{attr}.{n}"] = t
    worst = 0.0
    for k, v in flat.items():
        assert k in tensors and tensors[k].shape == v.shape, (folder.name, k)
        worst = max(worst, float((v - tensors[k]).abs().max()))
    missing = [k for k in tensors if k not in flat and k.startswith(("output.", "hidden_states", "encoder_", "decoder_h"))]
    assert not missing, (folder.name, missing)
    if not worst <= EAGER_ATOL:
        raise SystemExit(f"FATAL: {folder.name}: attn_implementation={attn!r} and 'eager' differ by {worst:.3e} "
                         f"(> {EAGER_ATOL})")
    EAGER_DIFFS[folder.name] = worst
    print(f"{folder.name}: reference attention {attn}, eager max abs diff {worst:.2e}")
    return attn


def write_reference(model, inputs, folder: Path, info: dict):
    model.eval()
    with torch.no_grad():
        tup = model(**inputs, return_dict=False)
        named = model(**inputs, return_dict=True)
        hs = model(**inputs, output_hidden_states=True, return_dict=True)
    keys = list(named.keys())
    assert len(keys) == len(tup), (keys, len(tup))
    tensors = {}
    for k, v in inputs.items():
        tensors[k] = v.contiguous()
    outputs_desc = []
    for i, (key, val) in enumerate(zip(keys, tup)):
        flatten_outputs(val, f"output.{i}", tensors, outputs_desc, key)
    for e in outputs_desc:
        describe_pkv(e)
    # The return_dict=True call must match the tuple call.
    for i, key in enumerate(keys):
        if isinstance(tup[i], torch.Tensor):
            assert torch.equal(tup[i], named[key])
    hidden_names = []
    for attr in ("hidden_states", "encoder_hidden_states", "decoder_hidden_states"):
        hval = getattr(hs, attr, None)
        if hval is None:
            continue
        for n, t in enumerate(hval):
            name = f"{attr}.{n}"
            tensors[name] = t.detach().contiguous().clone()
            what = "embedding output" if n == 0 else f"output of layer {n - 1}"
            inner = getattr(model.config, "inner_group_num", 1) if info["model_type"] == "albert" else 1
            if n and inner > 1:
                # transformers 5 records ALBERT's hidden states after every AlbertLayer (inner layer),
                # transformers 4 after every group of inner_group_num of them.
                what = f"output of AlbertLayer {n - 1} (layer {(n - 1) // inner}, inner layer {(n - 1) % inner})"
            # GPT-2 and T5 stacks apply their final norm before the last entry
            if n == len(hval) - 1 and info["model_type"] in ("gpt2", "t5"):
                what += " after the final layer norm"
            hidden_names.append({"name": name, "shape": list(t.shape), "description": f"{attr}[{n}]: {what}"})
    attn = check_eager_matches(model, inputs, folder, tensors)
    safetensors.torch.save_file(tensors, str(folder / "reference.safetensors"),
                                metadata={"format": "pt"})  # one key: safetensors writes a multi-key dict in hash order
    ref = {
        "generator": "scripts/make_fixtures.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "tokenizers_version": tokenizers.__version__,
        "safetensors_version": safetensors.__version__,
        "sentencepiece_version": spm.__version__,
        "class": type(model).__name__,
        "model_type": model.config.model_type,
        "seed": info["seed"],
        "call": "model(**inputs, return_dict=False); hidden states from output_hidden_states=True",
        "attn_implementation": attn,
        "eager_max_abs_diff": EAGER_DIFFS[folder.name],
        "dtype": "float32",
        "suggested_atol": 1e-5,
        "texts": info["texts"],
        "inputs": [{"name": k, "shape": list(v.shape), "dtype": "int64"} for k, v in inputs.items()],
        "outputs": outputs_desc,
        "hidden_states": hidden_names,
    }
    if info.get("notes"):
        ref["notes"] = info["notes"]
    (folder / "reference.json").write_text(json.dumps(ref, indent=2) + "\n", encoding="utf-8")


def save_model(model, folder: Path, tok_dir: Path, **kw):
    """save_pretrained the model, then add the tokenizer files.

    The tokenizer files come from a save made right after the tokenizer was
    built (tok_dir): calling a fast tokenizer with truncation/padding changes
    its backend state, which a later save_pretrained would write into
    tokenizer.json.
    """
    folder.mkdir(parents=True, exist_ok=True)
    bin_format = kw.pop("bin", False)
    model.save_pretrained(str(folder), **kw)
    if bin_format:
        save_bin(model, folder, kw.get("max_shard_size"))
    for f in sorted(tok_dir.iterdir()):
        assert not (folder / f.name).exists(), f
        shutil.copyfile(f, folder / f.name)


def save_bin(model, folder: Path, max_shard_size=None):
    """Replace the safetensors weights save_pretrained wrote by pytorch_model.bin file(s).

    transformers 5's save_pretrained writes safetensors only (it ignores
    safe_serialization=False), but it still loads pytorch_model.bin, and
    hfjit reads them. They are written as transformers 4's save_pretrained
    did: torch.save of the state dict, tied tensors sharing one storage, and
    for max_shard_size the shards of huggingface_hub's
    split_torch_state_dict_into_shards (tensors sharing storage kept in one
    shard) plus pytorch_model.bin.index.json.
    """
    from huggingface_hub import split_torch_state_dict_into_shards

    for f in list(folder.glob("model*.safetensors")) + list(folder.glob("model.safetensors.index.json")):
        f.unlink()
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    if max_shard_size is None:
        torch.save(sd, str(folder / "pytorch_model.bin"))
        return
    split = split_torch_state_dict_into_shards(sd, filename_pattern="pytorch_model{suffix}.bin",
                                               max_shard_size=max_shard_size)
    for fname in sorted(split.filename_to_tensors):
        keys = set(split.filename_to_tensors[fname])
        torch.save({k: v for k, v in sd.items() if k in keys}, str(folder / fname))
    index = {"metadata": dict(split.metadata), "weight_map": dict(split.tensor_to_filename)}
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n",
                                                         encoding="utf-8")


def common_bert_like(vocab, **kw):
    d = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=37, max_position_embeddings=64)
    d.update(kw)
    return d


def build_models(toks):
    from transformers import (AlbertConfig, AlbertForMaskedLM, AlbertForSequenceClassification, BertConfig,
                              BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification,
                              BertForTokenClassification, BertModel, DistilBertConfig, DistilBertForMaskedLM,
                              DistilBertForSequenceClassification, DistilBertModel, ElectraConfig,
                              ElectraForMaskedLM, ElectraForPreTraining, GPT2Config, GPT2ForSequenceClassification,
                              GPT2LMHeadModel, RobertaConfig, RobertaForMaskedLM,
                              RobertaForSequenceClassification, T5Config, T5ForConditionalGeneration)

    bert_v = len(toks["bert"][1])
    gpt2_v = len(toks["gpt2"][1])
    rob_v = len(toks["roberta"][1])
    alb_v = len(toks["albert"][1])
    t5_v = len(toks["t5"][1])
    gpt2_eos = toks["gpt2"][1].convert_tokens_to_ids("<|endoftext|>")
    rob = toks["roberta"][1]

    seqcls3 = dict(num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
                   label2id={"negative": 0, "neutral": 1, "positive": 2})
    tok5 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    tokcls5 = dict(num_labels=5, id2label=dict(enumerate(tok5)), label2id={l: i for i, l in enumerate(tok5)})

    # name -> (seed, builder, tokenizer family, extra)
    specs = [
        ("bert-mlm", 101, lambda: BertForMaskedLM(BertConfig(**common_bert_like(bert_v))), "bert", {}),
        ("bert-base", 102, lambda: BertModel(BertConfig(**common_bert_like(bert_v, hidden_act="gelu_new"))),
         "bert", {}),
        ("bert-seqcls", 103, lambda: BertForSequenceClassification(
            BertConfig(**common_bert_like(bert_v, hidden_act="relu", **seqcls3))), "bert", {}),
        ("bert-tokcls", 104, lambda: BertForTokenClassification(
            BertConfig(**common_bert_like(bert_v, hidden_act="silu", **tokcls5))), "bert", {}),
        ("bert-qa", 105, lambda: BertForQuestionAnswering(BertConfig(**common_bert_like(bert_v))), "bert",
         {"pairs": QA_PAIRS}),
        ("roberta-mlm", 201, lambda: RobertaForMaskedLM(RobertaConfig(**common_bert_like(
            rob_v, max_position_embeddings=64, type_vocab_size=1, pad_token_id=rob.pad_token_id,
            bos_token_id=rob.bos_token_id, eos_token_id=rob.eos_token_id))), "roberta", {}),
        ("roberta-seqcls", 202, lambda: RobertaForSequenceClassification(RobertaConfig(**common_bert_like(
            rob_v, max_position_embeddings=64, type_vocab_size=1, pad_token_id=rob.pad_token_id,
            bos_token_id=rob.bos_token_id, eos_token_id=rob.eos_token_id, **seqcls3))), "roberta", {}),
        ("distilbert-mlm", 301, lambda: DistilBertForMaskedLM(DistilBertConfig(
            vocab_size=bert_v, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64)),
         "distilbert", {}),
        ("distilbert-seqcls", 302, lambda: DistilBertForSequenceClassification(DistilBertConfig(
            vocab_size=bert_v, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64,
            num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})),
         "distilbert", {}),
        ("distilbert-sinusoidal", 303, lambda: DistilBertModel(DistilBertConfig(
            vocab_size=bert_v, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64,
            sinusoidal_pos_embds=True)), "distilbert",
         {"skip": ("position_embeddings",),
          "notes": "position_embeddings.weight keeps the sinusoidal table (not randomized)"}),
        ("albert-mlm", 401, lambda: AlbertForMaskedLM(AlbertConfig(
            vocab_size=alb_v, embedding_size=16, hidden_size=32, num_hidden_layers=4, num_hidden_groups=2,
            inner_group_num=2, num_attention_heads=4, intermediate_size=37, max_position_embeddings=64)),
         "albert", {}),
        ("albert-seqcls", 402, lambda: AlbertForSequenceClassification(AlbertConfig(
            vocab_size=alb_v, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, **seqcls3)), "albert", {}),
        ("electra-generator", 501, lambda: ElectraForMaskedLM(ElectraConfig(
            vocab_size=bert_v, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)), "electra", {}),
        ("electra-discriminator", 502, lambda: ElectraForPreTraining(ElectraConfig(
            vocab_size=bert_v, embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)), "electra", {}),
        ("gpt2-lm", 601, lambda: GPT2LMHeadModel(GPT2Config(
            vocab_size=gpt2_v, n_embd=32, n_layer=2, n_head=4, n_positions=64, n_inner=None,
            bos_token_id=gpt2_eos, eos_token_id=gpt2_eos)), "gpt2", {}),
        ("gpt2-options", 602, lambda: GPT2LMHeadModel(GPT2Config(
            vocab_size=gpt2_v, n_embd=32, n_layer=2, n_head=4, n_positions=64, n_inner=40,
            activation_function="relu", scale_attn_by_inverse_layer_idx=True, reorder_and_upcast_attn=True,
            bos_token_id=gpt2_eos, eos_token_id=gpt2_eos)), "gpt2", {}),
        ("gpt2-seqcls", 603, lambda: GPT2ForSequenceClassification(GPT2Config(
            vocab_size=gpt2_v, n_embd=32, n_layer=2, n_head=4, n_positions=64,
            bos_token_id=gpt2_eos, eos_token_id=gpt2_eos, pad_token_id=gpt2_eos, **seqcls3)), "gpt2-pad",
         {"notes": "pad_token_id = <|endoftext|>; the tokenizer saved here has pad_token <|endoftext|>"}),
        ("t5-lm", 701, lambda: T5ForConditionalGeneration(T5Config(
            vocab_size=t5_v, d_model=32, d_ff=37, num_layers=2, num_heads=4, d_kv=8,
            decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)), "t5",
         {"notes": "tie_word_embeddings=True: shared, encoder.embed_tokens, decoder.embed_tokens and "
                   "lm_head.weight are one tensor; the decoder output is scaled by d_model**-0.5 before "
                   "lm_head because config.scale_decoder_outputs is true (transformers 5 writes it; "
                   "transformers 4 scaled only when tie_word_embeddings was true)"}),
    ]
    return specs


def build_gpt2_pad_tokenizer(pair):
    import copy
    fast = copy.deepcopy(pair[1])
    fast.pad_token = "<|endoftext|>"
    return None, fast, pair[2]


def t5_inputs(fast):
    inputs = make_inputs(fast)
    encs = [{k: list(v) for k, v in fast(t, truncation=True, max_length=DEC_LEN).items()} for t in T5_TARGETS]
    labels = pad_batch(encs, fast.pad_token_id, DEC_LEN)["input_ids"]
    # _shift_right: decoder_start_token_id (= pad = 0) then labels[:-1]
    dec = torch.zeros_like(labels)
    dec[:, 1:] = labels[:, :-1]
    inputs["decoder_input_ids"] = dec
    return inputs


# --------------------------------------------------------------------------
# Storage sharing in .bin checkpoints
# --------------------------------------------------------------------------
def shared_storage_groups(folder: Path):
    """Groups of keys that share one storage inside the .bin file(s) of folder."""
    groups = {}
    for f in sorted(folder.glob("pytorch_model*.bin")):
        sd = torch.load(str(f), map_location="cpu")
        # Same storage within one file -> same untyped storage data_ptr.
        by_ptr = {}
        for k, v in sd.items():
            by_ptr.setdefault(v.untyped_storage().data_ptr(), []).append(k)
        for keys in by_ptr.values():
            if len(keys) > 1:
                groups[f.name + ":" + keys[0]] = {"file": f.name, "keys": sorted(keys)}
    return sorted((g for g in groups.values()), key=lambda g: (g["file"], g["keys"]))


# --------------------------------------------------------------------------
# bad/ fixtures
# --------------------------------------------------------------------------
class _Pwn:
    def __reduce__(self):
        return (os.system, ("touch /tmp/hfjit_pwned",))


def _zip_like_torch_save(path: Path, data_pkl: bytes, archive="archive"):
    """A zip laid out like torch.save's: stored (uncompressed) entries
    <archive>/data.pkl then <archive>/version ("3\n"), DOS date 0."""
    with zipfile.ZipFile(str(path), "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in ((f"{archive}/data.pkl", data_pkl), (f"{archive}/version", b"3\n")):
            zi = zipfile.ZipInfo(name, date_time=(1980, 0, 0, 0, 0, 0))  # DOS date 0, as torch writes
            zi.compress_type = zipfile.ZIP_STORED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)


def _legacy_save_deterministic(obj, path: Path):
    """torch.save(obj, f, _use_new_zipfile_serialization=False), made reproducible.

    The legacy format names each storage str(storage._cdata) (a memory address)
    and writes the storages sorted by that name, so both the names and the
    order change from run to run. The file is rewritten with the storages named
    by order of first appearance ("0", "1", ...; the key strings of the
    object's pickle are re-encoded op by op, since torch 2.x's addresses can
    differ in width) and written in that order. Layout is unchanged: pickled magic
    number, protocol version, sys_info, the object (storages as persistent
    ids), the sorted key list, then per storage an int64 element count and the
    raw bytes.
    """
    for _ in range(50):
        buf = io.BytesIO()
        torch.save(obj, buf, _use_new_zipfile_serialization=False)
        raw = buf.getvalue()
        f = io.BytesIO(raw)
        for _ in range(3):  # magic, protocol version, sys_info
            pickle.load(f)
        main_start = f.tell()
        pids = []

        class _Scan(pickle.Unpickler):
            def persistent_load(self, pid):
                pids.append(pid)
                return None

            def find_class(self, mod, name):
                if mod == "torch" and name.endswith("Storage"):
                    return name
                if mod.startswith("torch"):
                    return lambda *a, **k: None
                return super().find_class(mod, name)

        _Scan(f).load()
        main_end = f.tell()
        keys = pickle.load(f)
        data_start = f.tell()
        elsize = {}
        order = []
        for pid in pids:
            _, storage_type, key, _, _, view = pid
            assert view is None
            if key not in elsize:
                elsize[key] = getattr(torch, storage_type)().element_size()
                order.append(key)
        assert sorted(order) == keys
        blobs = {}
        pos = data_start
        for key in keys:  # written in sorted(original key) order
            numel = int.from_bytes(raw[pos:pos + 8], "little", signed=True)
            end = pos + 8 + numel * elsize[key]
            blobs[key] = raw[pos:end]
            pos = end
        assert pos == len(raw)
        rename = {k: str(i) for i, k in enumerate(order)}
        old_main = raw[main_start:main_end]
        ops = list(pickletools.genops(old_main))
        main, renamed = bytearray(), 0
        for n, (op, arg, pos) in enumerate(ops):
            end = ops[n + 1][2] if n + 1 < len(ops) else len(old_main)
            chunk = old_main[pos:end]
            if op.name in ("BINUNICODE", "SHORT_BINUNICODE") and arg in rename:
                new = rename[arg].encode()
                chunk = b"X" + len(new).to_bytes(4, "little") + new  # BINUNICODE
                renamed += 1
            main += chunk
        assert renamed >= len(rename), (renamed, rename)
        main = bytes(main)
        out = (raw[:main_start] + main + pickle.dumps([rename[k] for k in order], protocol=2)
               + b"".join(blobs[k] for k in order))
        path.write_bytes(out)
        back = torch.load(str(path))
        assert list(back.keys()) == list(obj.keys())
        for k, v in obj.items():
            assert torch.equal(back[k], v)
        return
    raise RuntimeError("could not normalise legacy torch.save output")


def make_bad():
    BAD.mkdir(parents=True, exist_ok=True)
    # os_system.bin: data.pkl = GLOBAL 'os system' + REDUCE("touch /tmp/hfjit_pwned")
    payload = pickle.dumps(_Pwn(), protocol=2)
    # pickle names the function by its real module ('posix'); spell it 'os' as hostile files do.
    payload = payload.replace(b"cposix\nsystem\n", b"cos\nsystem\n")
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(payload)]
    assert ("GLOBAL", "os system") in ops and any(o == "REDUCE" for o, _ in ops), ops
    _zip_like_torch_save(BAD / "os_system.bin", payload)

    g = torch.Generator().manual_seed(7)
    sd = {"weight": torch.randn(3, 4, generator=g), "bias": torch.randn(3, generator=g)}
    _legacy_save_deterministic(sd, BAD / "legacy.bin")

    rnd = np.random.RandomState(1234).bytes(37)
    (BAD / "not_a_zip.bin").write_bytes(rnd)


# --------------------------------------------------------------------------
def folder_summary():
    rows = []
    for d in sorted([p for p in MODELS.iterdir() if p.is_dir()]) + [BAD]:
        files = sorted(p for p in d.rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files)
        rows.append((str(d.relative_to(FIXTURES)), [p.name for p in files], total))
    return rows


def main():
    # Only what this script writes: tokenizers/, run/, levers/, minilm/ and foreign/ belong to the
    # other generators (and minilm/README.json is written by hand).
    for d in (MODELS, BAD):
        if d.exists():
            shutil.rmtree(d)
    MODELS.mkdir(parents=True)
    manifest = {
        "generator": "scripts/make_fixtures.py",
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
        },
        "models": {},
    }

    with tempfile.TemporaryDirectory() as tmp:
        toks = build_tokenizers(Path(tmp))
        toks["gpt2-pad"] = build_gpt2_pad_tokenizer(toks["gpt2"])
        tok_dirs = {}
        for fam, pair in toks.items():  # pristine saves, before any call
            tok_dirs[fam] = Path(tmp) / "saved" / fam
            save_tokenizer(pair, tok_dirs[fam])

        # slow and fast must agree on the reference sentences (where a slow class is left)
        for fam, (slow, fast, _) in toks.items():
            for s in SENTENCES + T5_TARGETS:
                if slow is None:
                    continue
                a, b = slow(s)["input_ids"], fast(s)["input_ids"]
                assert a == b, (fam, s, a, b)

        reported_mismatch = set()
        for name, seed, builder, fam, extra in build_models(toks):
            torch.manual_seed(seed)
            model = builder()
            randomize_(model, seed, skip=extra.get("skip", ()))
            model.eval()
            pair = toks[fam]
            folder = MODELS / name
            save_model(model, folder, tok_dirs[fam])
            fast = pair[1]
            if name == "t5-lm":
                inputs = t5_inputs(fast)
                texts = {"input_ids": SENTENCES, "decoder_input_ids (shifted right)": T5_TARGETS}
            elif "pairs" in extra:
                inputs = make_inputs(fast, extra["pairs"])
                texts = [list(p) for p in extra["pairs"]]
            else:
                inputs = make_inputs(fast)
                texts = SENTENCES
            info = {"seed": seed, "texts": texts, "model_type": model.config.model_type,
                    "notes": extra.get("notes")}
            write_reference(model, inputs, folder, info)
            mismatches = write_tokenizer_reference(folder, fam, pair, tok_dirs[fam])
            if mismatches and fam not in reported_mismatch:
                reported_mismatch.add(fam)
                print(f"note: {fam}: slow and fast tokenizers differ on {mismatches!r}")
            manifest["models"][name] = {"class": type(model).__name__, "seed": seed, "reference": name}

            # Copies of the same weights in the other serialization layouts.
            if name == "bert-mlm":
                variants = {
                    "bert-mlm-bin": dict(bin=True),
                    "bert-mlm-sharded": dict(max_shard_size="40KB"),
                    "bert-mlm-sharded-bin": dict(bin=True, max_shard_size="40KB"),
                }
            elif name == "gpt2-lm":
                variants = {"gpt2-lm-bin": dict(bin=True)}
            else:
                variants = {}
            for vname, kw in variants.items():
                save_model(model, MODELS / vname, tok_dirs[fam], **dict(kw))
                entry = {"class": type(model).__name__, "seed": seed, "reference": name,
                         "save_pretrained": {k: v for k, v in kw.items() if k != "bin"}}
                if kw.get("bin"):
                    entry["bin_writer"] = ("torch.save of the state dict (sharded with huggingface_hub's "
                                           "split_torch_state_dict_into_shards), as transformers 4 wrote it: "
                                           "transformers 5's save_pretrained writes safetensors only")
                manifest["models"][vname] = entry

    # Check the reloaded copies reproduce the reference (also proves the files load).
    for vname, entry in manifest["models"].items():
        verify_reload(MODELS / vname, MODELS / entry["reference"])
        if any(MODELS.joinpath(vname).glob("pytorch_model*.bin")):
            entry["bin_shared_storage"] = shared_storage_groups(MODELS / vname)
        entry["files"] = sorted(p.name for p in (MODELS / vname).iterdir())
        entry["safetensors_keys_dropped_as_tied"] = dropped_tied_keys(MODELS / vname)

    make_bad()
    manifest["bad"] = {
        "os_system.bin": "torch.save-style zip; archive/data.pkl is GLOBAL 'os system' + REDUCE "
                         "('touch /tmp/hfjit_pwned',). Must be refused without executing.",
        "legacy.bin": "torch.save(sd, f, _use_new_zipfile_serialization=False) of {'weight': [3,4], "
                      "'bias': [3]} float32 (storage keys renamed for reproducibility)",
        "not_a_zip.bin": "37 random bytes",
    }

    (FIXTURES / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                            encoding="utf-8")

    rows = folder_summary()
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    print(f"{'folder':32} {'files':>5} {'KB':>8}")
    for folder, files, size in rows:
        print(f"{folder:32} {len(files):5d} {size / 1024:8.1f}")
    print(f"{'TOTAL tests/fixtures':32} {'':5} {total / 1024:8.1f}")
    for folder, files, size in rows:
        if folder.startswith("models/"):
            assert size < MAX_FOLDER_KB * 1024, f"{folder} is {size} bytes"
    assert total < MAX_TOTAL_MB * 1024 * 1024, f"fixtures total {total} bytes > {MAX_TOTAL_MB} MB"
    for name, entry in manifest["models"].items():
        if entry.get("bin_shared_storage"):
            for grp in entry["bin_shared_storage"]:
                print(f"shared storage in {name}/{grp['file']}: {', '.join(grp['keys'])}")
        if entry.get("safetensors_keys_dropped_as_tied"):
            print(f"tied keys not stored in {name} safetensors: "
                  f"{', '.join(entry['safetensors_keys_dropped_as_tied'])}")


def dropped_tied_keys(folder: Path):
    """Keys of the model's state_dict that save_pretrained left out of the safetensors file(s)."""
    files = sorted(folder.glob("*.safetensors"))
    files = [f for f in files if f.name != "reference.safetensors"]
    if not files:
        return []
    stored = set()
    for f in files:
        with safetensors.safe_open(str(f), framework="pt") as h:
            stored.update(h.keys())
    from transformers import AutoConfig
    import transformers as tf
    cfg = AutoConfig.from_pretrained(str(folder))
    cls = getattr(tf, cfg.architectures[0])
    model = cls(cfg)
    return sorted(set(model.state_dict().keys()) - stored)


def verify_reload(folder: Path, ref_folder: Path):
    from transformers import AutoConfig
    import transformers as tf
    cfg = AutoConfig.from_pretrained(str(folder))
    cls = getattr(tf, cfg.architectures[0])
    model, info = cls.from_pretrained(str(folder), output_loading_info=True)
    model.eval()
    missing = [k for k in info["missing_keys"]]
    assert not missing and not info["unexpected_keys"], (folder, info)
    ref = safetensors.torch.load_file(str(ref_folder / "reference.safetensors"))
    meta = json.loads((ref_folder / "reference.json").read_text())
    inputs = {i["name"]: ref[i["name"]] for i in meta["inputs"]}
    with torch.no_grad():
        out = model(**inputs, return_dict=False)
    flat, desc = {}, []
    for i, v in enumerate(out):
        flatten_outputs(v, f"output.{i}", flat, desc, "")
    assert set(flat) == {o["name"] for o in meta["outputs"]}, (folder, set(flat))
    for k, v in flat.items():
        assert torch.equal(v, ref[k]), (folder, k, (v - ref[k]).abs().max())


if __name__ == "__main__":
    main()
