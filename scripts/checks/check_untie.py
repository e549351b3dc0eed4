#!/usr/bin/env python3
"""Check the output of `hfjit untie ORIG -o UNTIED` against transformers.

    .venv-ref/bin/python scripts/checks/check_untie.py ORIG_DIR UNTIED_DIR

Options: --inputs REF.safetensors takes the inputs from another reference file.

Loads both folders with transformers (class from config.architectures[0]),
runs the same inputs (ORIG_DIR/reference.safetensors if present, else random
ids), and checks:

  * every output is equal (atol 1e-6);
  * in ORIG the input and output embeddings share memory (transformers ties them);
  * in UNTIED they do not, and the output embedding was loaded from the file
    (not left randomly initialised, not cloned by transformers).

Note on `torchscript: true`: transformers 4 *cloned* tied embeddings when
config.torchscript was set; transformers 5 has no torchscript flag at all
(the key is kept in config.json as an unknown attribute and changes nothing):
tying follows tie_word_embeddings only. The script still loads each folder
twice (as-is, and with torchscript=False forced, which is the same model under
transformers 5): ORIG must share, and UNTIED must not, which only holds if
UNTIED's config says tie_word_embeddings: false and its file holds the output
weights. Exception: transformers 5's T5Config forces tie_word_embeddings=True
(a false value only turns scale_decoder_outputs off), so a T5 folder is
always tied when transformers 5 loads it; for T5 only the outputs are compared.

Exit status 0 when everything holds, 1 otherwise.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch
import transformers
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()
ATOL = 1e-6
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "decoder_input_ids", "decoder_attention_mask")


def model_class(folder: Path):
    cfg = json.loads((folder / "config.json").read_text())
    archs = cfg.get("architectures") or []
    if not archs:
        raise SystemExit(f"{folder}/config.json has no architectures")
    cls = getattr(transformers, archs[0], None)
    if cls is None:
        raise SystemExit(f"transformers {transformers.__version__} has no class {archs[0]}")
    return cls, cfg


def load(cls, folder: Path, **overrides):
    model, info = cls.from_pretrained(str(folder), output_loading_info=True, **overrides)
    model.eval()
    return model, info


def make_inputs(folder: Path, model, ref=None):
    ref = Path(ref) if ref else folder / "reference.safetensors"
    if ref.exists():
        import safetensors.torch

        t = safetensors.torch.load_file(str(ref))
        names = None
        meta = ref.with_suffix(".json")
        if meta.exists():
            names = [i["name"] for i in json.loads(meta.read_text())["inputs"]]
        names = names or [n for n in INPUT_NAMES if n in t]
        print(f"inputs: {ref} ({', '.join(names)})")
        return {n: t[n] for n in names}
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (2, 12), generator=g)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    inputs["attention_mask"][1, 8:] = 0
    if model.config.is_encoder_decoder:
        inputs["decoder_input_ids"] = torch.randint(0, vocab, (2, 8), generator=g)
    print("inputs: random ids (no reference.safetensors in ORIG)")
    return inputs


def flatten(obj, prefix="output", out=None):
    out = {} if out is None else out
    if obj is None:
        return out
    from transformers.cache_utils import Cache, EncoderDecoderCache

    if isinstance(obj, EncoderDecoderCache):  # transformers 5: no to_legacy_cache(); same layout by hand
        obj = tuple((a.keys, a.values, b.keys, b.values)
                    for a, b in zip(obj.self_attention_cache.layers, obj.cross_attention_cache.layers))
    elif isinstance(obj, Cache):
        obj = tuple((layer.keys, layer.values) for layer in obj.layers)
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, (tuple, list)):
        for i, x in enumerate(obj):
            flatten(x, f"{prefix}.{i}", out)
    return out


def run(model, inputs):
    with torch.no_grad():
        return flatten(model(**inputs, return_dict=False))


def embedding_pair(model):
    inp = model.get_input_embeddings()
    out = model.get_output_embeddings()
    if inp is None or out is None or getattr(out, "weight", None) is None:
        return None
    return inp.weight, out.weight


def all_parameters(module, prefix=""):
    """Every (name, parameter), aliases included."""
    for name, p in module._parameters.items():
        if p is not None:
            yield prefix + name, p
    for name, child in module._modules.items():
        if child is not None:
            yield from all_parameters(child, prefix + name + ".")


def sharing_groups(model):
    """Parameter names that alias one storage (data_ptr), for information."""
    by_ptr = {}
    for name, p in all_parameters(model):
        by_ptr.setdefault(p.data_ptr(), []).append(name)
    return [names for names in by_ptr.values() if len(names) > 1]


def output_embedding_name(model):
    out = model.get_output_embeddings()
    for name, mod in model.named_modules():
        if mod is out:
            return name + ".weight"
    return None


SCALED_WHEN_TIED = {"t5", "mt5", "umt5", "longt5", "switch_transformers"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("orig", type=Path)
    ap.add_argument("untied", type=Path)
    ap.add_argument("--inputs", type=Path, default=None,
                    help="reference.safetensors to take the inputs from (default: ORIG_DIR/reference.safetensors; "
                         "the -bin/-sharded fixture copies use bert-mlm's / gpt2-lm's)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    failures = []

    cls_o, cfg_o = model_class(args.orig)
    cls_u, cfg_u = model_class(args.untied)
    if cls_o is not cls_u:
        failures.append(f"architectures differ: {cls_o.__name__} vs {cls_u.__name__}")
    print(f"class: {cls_u.__name__} (transformers {transformers.__version__}, torch {torch.__version__})")
    for label, cfg in (("orig", cfg_o), ("untied", cfg_u)):
        print(f"{label:7s} config: tie_word_embeddings={cfg.get('tie_word_embeddings', '(default true)')} "
              f"torchscript={cfg.get('torchscript', '(default false)')}")
    # T5 and its kin scale the decoder output only while tied, so hfjit keeps their
    # flag true (the file still stores lm_head as its own tensor; torchscript: true
    # makes transformers clone it). Every other family must say false.
    keeps_flag = (cfg_u.get("model_type") in SCALED_WHEN_TIED and cfg_o.get("tie_word_embeddings", True))
    if keeps_flag:
        print(f"{cfg_u.get('model_type')}: tie_word_embeddings stays true (decoder output scaled only when tied)")
    elif cfg_u.get("tie_word_embeddings", True) is not False:
        failures.append("untied config.json must say tie_word_embeddings: false")
    if cfg_u.get("torchscript") is not True:
        failures.append("untied config.json must say torchscript: true")

    try:
        # transformers 5 has no torchscript flag (from_pretrained refuses the
        # keyword): the tie is decided by tie_word_embeddings alone.
        orig, info_o = load(cls_o, args.orig)
        untied, info_u = load(cls_u, args.untied)                     # as a user would load it
    except Exception as e:  # e.g. a safetensors header without {"format": "pt"} metadata
        print("FAIL")
        print(f"  - transformers could not load a folder: {type(e).__name__}: {e}")
        if "metadata" in str(e):
            print('  - hint: transformers requires the safetensors header to carry '
                  '"__metadata__": {"format": "pt"}')
        return 1
    for label, info in (("orig", info_o), ("untied", info_u)):
        if info["missing_keys"]:
            failures.append(f"{label}: weights missing from the checkpoint (randomly initialised): "
                            f"{info['missing_keys']}")
        if info["unexpected_keys"]:
            print(f"{label}: note: unexpected keys ignored by transformers: {info['unexpected_keys']}")

    # --- tying facts --------------------------------------------------------
    pair_o = embedding_pair(orig)
    if pair_o is None:
        print(f"{cls_o.__name__} has no output embeddings: nothing is tied, only outputs are compared")
    else:
        out_name = output_embedding_name(orig)
        shared_o = pair_o[0].data_ptr() == pair_o[1].data_ptr()
        print(f"orig:   input/output embeddings share memory: {shared_o} "
              f"(output embedding = {out_name}, data_ptr {pair_o[0].data_ptr():#x} / {pair_o[1].data_ptr():#x})")
        if not shared_o:
            failures.append("orig: input and output embeddings do not share memory (expected tied)")
        for label, m in (("untied", untied),):
            pu = embedding_pair(m)
            shared_u = pu[0].data_ptr() == pu[1].data_ptr()
            print(f"{label}: input/output embeddings share memory: {shared_u} "
                  f"(data_ptr {pu[0].data_ptr():#x} / {pu[1].data_ptr():#x})")
            if shared_u and cfg_u.get("model_type") in SCALED_WHEN_TIED:
                print(f"{label}: note: transformers {transformers.__version__} always ties "
                      f"{cfg_u.get('model_type')} (T5Config forces tie_word_embeddings=True)")
            elif shared_u:
                failures.append(f"{label}: input and output embeddings still share memory")
        # the untied file must hold the same numbers (up to T5's folded scale, see hint below)
        same_values = torch.equal(pair_o[1], embedding_pair(untied)[1])
        print(f"untied: output embedding equal to orig's tied tensor: {same_values}")
    print(f"orig   aliasing groups: {sharing_groups(orig)}")
    print(f"untied aliasing groups: {sharing_groups(untied)}")

    # --- outputs ------------------------------------------------------------
    inputs = make_inputs(args.orig, orig, args.inputs)
    out_o = run(orig, inputs)
    for label, m in (("untied", untied),):
        out_u = run(m, inputs)
        if set(out_o) != set(out_u):
            failures.append(f"{label}: output names differ: {sorted(out_o)} vs {sorted(out_u)}")
            continue
        worst = 0.0
        for k in out_o:
            if out_o[k].shape != out_u[k].shape:
                failures.append(f"{label}: {k} shape {tuple(out_u[k].shape)} != {tuple(out_o[k].shape)}")
                continue
            d = (out_o[k].double() - out_u[k].double()).abs().max().item() if out_o[k].numel() else 0.0
            worst = max(worst, d)
            if not torch.allclose(out_o[k], out_u[k], atol=ATOL, rtol=0):
                failures.append(f"{label}: {k} differs, max abs diff {d:.3e} > {ATOL}")
        print(f"{label}: {len(out_o)} outputs compared, max abs diff {worst:.3e}")


    if failures:
        print("FAIL")
        for f in failures:
            print("  - " + f)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
