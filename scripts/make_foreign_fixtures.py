#!/usr/bin/env python3
"""TorchScript files written by Python torch (not by hfjit), for `hfjit run`,
`bench` and `untie` of foreign `.pt` files (issue 15) and for the graph check
of untrusted archives (issue 22).

    .venv-ref/bin/python scripts/make_foreign_fixtures.py [--out tests/fixtures/foreign]

Needs tests/fixtures/models/ (scripts/make_fixtures.py) for the tiny weights.
Python is only used here, to produce reference data; the product never needs it.

Writes (each file well under 1 MB):

  bert-dict.pt          transformers 5 BertModel (models/bert-base) traced with
                        torch.jit.trace(model, (input_ids, attention_mask,
                        token_type_ids), strict=False): its forward returns a
                        dict {"last_hidden_state", "pooler_output"}.
  bert-dict.reference.safetensors
                        input_ids, attention_mask, token_type_ids [2, 12] and
                        the outputs under their dict keys (eager model, sdpa).
  gpt2-lm.pt            transformers 5 GPT2LMHeadModel (models/gpt2-lm) with
                        use_cache=False, traced with example_kwarg_inputs
                        {input_ids, attention_mask}, strict=False:
                        forward(input_ids, attention_mask) -> {"logits"}.
  gpt2-lm.reference.safetensors
                        input_ids, attention_mask [2, 12], "logits".
  scripted-classifier.pt
                        torch.jit.script of a small nn.Module (embedding, a
                        loop over layers, an if on the pooling mode, a label
                        head): forward(input_ids, attention_mask) -> logits [B, 3].
  scripted-classifier.reference.safetensors
                        input_ids, attention_mask [2, 12], "logits".
  crafted/from_file.pt  a scripted module whose forward calls
                        torch.from_file("/etc/passwd", ...) (aten::from_file):
                        must be refused before anything runs.
  crafted/custom_op.pt  a traced module calling hfjit_evil::exfiltrate, an op
                        registered with torch.library only in this script:
                        an unknown namespace for any other process.
  crafted/forged_meta.pt
                        bert-dict's graph traced with return_dict=False,
                        saved with extra files hfjit/meta.json (a forged
                        hfjit format_version 1 metadata, the layout of
                        docs/artifact.md), config.json and the tokenizer
                        files: pretends to be an hfjit artifact.
  crafted/forged_meta_from_file.pt
                        from_file.pt's graph with the same forged extra files:
                        the metadata must not exempt the graph from the check.
  README.json           what each file is, its methods, inputs, outputs, and
                        the versions that made it.

torch.jit.save records source ranges (with the Python file paths of this
machine's transformers) in the archive's debug files, so the bytes depend on
where .venv-ref lives; a file is only rewritten when its bytes would change
and the file on disk does not load to the same outputs.
"""

import argparse
import json
import os
import sys
import tempfile
from typing import Tuple
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import safetensors
import safetensors.torch
import torch
import transformers
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "fixtures" / "models"
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "foreign"
MAX_KB = 1024
ATOL = 1e-5

torch.set_num_threads(1)
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


def ref_inputs(model: str):
    t = safetensors.torch.load_file(str(MODELS / model / "reference.safetensors"))
    meta = json.loads((MODELS / model / "reference.json").read_text())
    return {i["name"]: t[i["name"]] for i in meta["inputs"]}


def outputs_of(module, args=(), kwargs=None):
    with torch.no_grad():
        out = module(*args, **(kwargs or {}))
    if isinstance(out, dict):
        return {k: v.detach().clone() for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        return {str(i): v.detach().clone() for i, v in enumerate(out)}
    return {"0": out.detach().clone()}


def same(a: dict, b: dict, atol=0.0):
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and
                                        (torch.equal(a[k], b[k]) if atol == 0 else
                                         torch.allclose(a[k], b[k], rtol=0, atol=atol)) for k in a)


def write_pt(module, path: Path, args, kwargs=None, extra_files=None, check_outputs=True):
    """torch.jit.save to path unless the file there has the same bytes or loads to the same outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / path.name
        torch.jit.save(module, str(fresh), _extra_files=extra_files or {})
        data = fresh.read_bytes()
    status = "written"
    if path.exists():
        if path.read_bytes() == data:
            status = "unchanged (same bytes)"
        elif check_outputs:
            try:
                extra = {k: "" for k in (extra_files or {})}
                old = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
                if (same(outputs_of(old, args, kwargs), outputs_of(module, args, kwargs))
                        and all(extra[k].encode() == (v if isinstance(v, bytes) else v.encode())
                                for k, v in (extra_files or {}).items())):
                    status = "kept (same outputs)"
            except Exception:  # noqa: BLE001 - unreadable or different: replace it
                pass
    if status == "written":
        path.write_bytes(data)
    size_kb = path.stat().st_size / 1024
    assert size_kb < MAX_KB, f"{path} is {size_kb:.1f} KB"
    print(f"{path.relative_to(ROOT)}: {status} ({size_kb:.1f} KB)")
    return size_kb


def save_reference(path: Path, inputs: dict, outputs: dict):
    tensors = {k: v.contiguous() for k, v in inputs.items()}
    for k, v in outputs.items():
        assert k not in tensors, k
        tensors[k] = v.contiguous()
    # one metadata key: safetensors writes a multi-key metadata dict in hash order
    safetensors.torch.save_file(tensors, str(path), metadata={"format": "pt"})


def io_desc(tensors: dict):
    return [{"name": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
            for k, v in tensors.items()]


# --------------------------------------------------------------------------
# 1. transformers 5 BertModel, dict outputs
# --------------------------------------------------------------------------
def bert_dict(out: Path, readme: dict):
    inputs = ref_inputs("bert-base")
    args = (inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
    model = transformers.BertModel.from_pretrained(str(MODELS / "bert-base"))
    model.eval()
    assert model.config._attn_implementation == "sdpa", model.config._attn_implementation
    eager = outputs_of(model, args)
    assert list(eager) == ["last_hidden_state", "pooler_output"], list(eager)
    with torch.no_grad():
        traced = torch.jit.trace(model, args, strict=False)
    got = outputs_of(traced, args)
    assert same(got, eager, ATOL), "traced BertModel differs from the eager one"
    size = write_pt(traced, out / "bert-dict.pt", args)
    save_reference(out / "bert-dict.reference.safetensors", inputs, eager)
    readme["bert-dict.pt"] = {
        "what": "transformers BertModel of tests/fixtures/models/bert-base (hidden_act gelu_new), "
                "torch.jit.trace(model, (input_ids, attention_mask, token_type_ids), strict=False)",
        "attn_implementation": model.config._attn_implementation,
        "forward": "forward(input_ids, attention_mask, token_type_ids) -> Dict[str, Tensor]",
        "inputs": io_desc(inputs), "outputs": io_desc(eager), "output_kind": "dict",
        "reference": "bert-dict.reference.safetensors (inputs and outputs by name, from the eager model)",
        "tokenizer": "tests/fixtures/models/bert-base", "task": "feature-extraction", "size_kb": round(size, 1),
    }
    return model, args, inputs


# --------------------------------------------------------------------------
# 2. transformers 5 GPT2LMHeadModel, use_cache=False
# --------------------------------------------------------------------------
def gpt2(out: Path, readme: dict):
    inputs = ref_inputs("gpt2-lm")
    kwargs = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
    # return_dict stays True: in transformers 5.24.0 a config with return_dict=False breaks
    # GPT2LMHeadModel.forward ("'tuple' object has no attribute 'last_hidden_state'"), and a
    # return_dict=False call argument cannot be traced. So the trace returns a dict, {"logits"}
    # only: with use_cache=False there are no past_key_values.
    model = transformers.GPT2LMHeadModel.from_pretrained(str(MODELS / "gpt2-lm"), use_cache=False)
    model.eval()
    assert model.config.use_cache is False
    eager = outputs_of(model, kwargs=kwargs)
    assert list(eager) == ["logits"], list(eager)
    with torch.no_grad():
        traced = torch.jit.trace(model, example_kwarg_inputs=kwargs, strict=False)
    got = outputs_of(traced, kwargs=kwargs)
    assert same(got, eager, ATOL), "traced GPT2LMHeadModel differs from the eager one"
    args = (kwargs["input_ids"], kwargs["attention_mask"])
    assert same(outputs_of(traced, args), eager, ATOL), "positional call differs"
    size = write_pt(traced, out / "gpt2-lm.pt", args)
    save_reference(out / "gpt2-lm.reference.safetensors", inputs, eager)
    readme["gpt2-lm.pt"] = {
        "what": "transformers GPT2LMHeadModel of tests/fixtures/models/gpt2-lm, use_cache=False, "
                "torch.jit.trace(model, example_kwarg_inputs={input_ids, attention_mask}, strict=False)",
        "attn_implementation": model.config._attn_implementation,
        "forward": "forward(input_ids, attention_mask) -> Dict[str, Tensor] {logits}",
        "inputs": io_desc(inputs), "outputs": io_desc(eager), "output_kind": "dict",
        "reference": "gpt2-lm.reference.safetensors", "tokenizer": "tests/fixtures/models/gpt2-lm",
        "task": "text-generation", "size_kb": round(size, 1),
    }


# --------------------------------------------------------------------------
# 3. torch.jit.script module
# --------------------------------------------------------------------------
class TinyClassifier(nn.Module):
    """Embedding, a loop over residual MLP blocks, masked mean or first-token pooling, 3 labels."""

    def __init__(self, vocab: int, dim: int = 16, layers: int = 2, labels: int = 3, mean_pooling: bool = True):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList([nn.Linear(dim, dim) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, labels)
        self.mean_pooling = mean_pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.embed(input_ids)
        for block in self.blocks:
            h = h + torch.tanh(block(h))
        h = self.norm(h)
        if self.mean_pooling:
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        else:
            pooled = h[:, 0]
        return self.head(pooled)


def scripted(out: Path, readme: dict):
    inputs = ref_inputs("bert-seqcls")
    args = (inputs["input_ids"], inputs["attention_mask"])
    vocab = json.loads((MODELS / "bert-seqcls" / "config.json").read_text())["vocab_size"]
    torch.manual_seed(1501)
    model = TinyClassifier(vocab)
    model.eval()
    eager = outputs_of(model, args)
    module = torch.jit.script(model)
    assert same(outputs_of(module, args), eager, ATOL)
    size = write_pt(module, out / "scripted-classifier.pt", args)
    save_reference(out / "scripted-classifier.reference.safetensors",
                   {"input_ids": args[0], "attention_mask": args[1]}, {"logits": eager["0"]})
    readme["scripted-classifier.pt"] = {
        "what": "torch.jit.script of TinyClassifier (scripts/make_foreign_fixtures.py): embedding, a for loop "
                "over 2 residual blocks, an if on the pooling mode (mean over the mask), 3 labels; seed 1501",
        "forward": "forward(input_ids, attention_mask) -> Tensor logits [batch, 3]",
        "inputs": io_desc({"input_ids": args[0], "attention_mask": args[1]}),
        "outputs": io_desc({"logits": eager["0"]}), "output_kind": "tensor",
        "reference": "scripted-classifier.reference.safetensors",
        "tokenizer": "tests/fixtures/models/bert-seqcls (its vocabulary size; labels as that model's)",
        "task": "text-classification", "size_kb": round(size, 1),
    }


# --------------------------------------------------------------------------
# 4. crafted archives (issue 22)
# --------------------------------------------------------------------------
class ReadsAFile(nn.Module):
    """forward maps a file of the machine into a tensor: aten::from_file."""

    def __init__(self):
        super().__init__()
        self.path = "/etc/passwd"

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        leaked = torch.from_file(self.path, shared=False, size=16, dtype=torch.uint8)
        return input_ids.to(torch.float32) + leaked.to(torch.float32).sum() * 0.0 + attention_mask.to(torch.float32)


class ReadsAFileOnLoad(nn.Module):
    """__setstate__ maps a file into a tensor: torch.jit.load runs it while unpickling, before any method."""

    def __init__(self):
        super().__init__()
        self.path = "/etc/passwd"
        self.leaked = torch.zeros(16, dtype=torch.uint8)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return input_ids.to(torch.float32) + attention_mask.to(torch.float32) + self.leaked.sum() * 0.0

    @torch.jit.export
    def __getstate__(self):
        return (self.path, self.leaked, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[str, torch.Tensor, bool]):
        self.path = state[0]
        self.leaked = torch.from_file(self.path, shared=False, size=16, dtype=torch.uint8)
        self.training = state[2]


def register_custom_op():
    lib = torch.library.Library("hfjit_evil", "DEF")
    lib.define("exfiltrate(Tensor x) -> Tensor")
    lib.impl("exfiltrate", lambda x: x.clone(), "CPU")
    return lib  # keep a reference: the registration lives as long as the Library


class CallsCustomOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = input_ids.to(torch.float32) * self.scale
        return torch.ops.hfjit_evil.exfiltrate(x) + attention_mask.to(torch.float32)


def forged_extra_files(inputs: dict, outputs: dict):
    """hfjit/meta.json (format_version 1, docs/artifact.md) claiming a feature-extraction BertModel, plus
    the model folder's config.json and tokenizer files, as an hfjit trace of models/bert-base embeds them."""
    folder = MODELS / "bert-base"
    cfg = json.loads((folder / "config.json").read_text())
    files = [f for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
             if (folder / f).exists()]
    b, n = inputs["input_ids"].shape
    meta = {
        "format": "hfjit",
        "format_version": 1,
        "hfjit_version": "0.1.0",
        "torch_version": "2.15.0",
        "source": {"model": "tests/fixtures/models/bert-base", "revision": ""},
        "model_type": cfg["model_type"],
        "task": "feature-extraction",
        "hf_class": "BertModel",
        "batch_size": b,
        "max_length": n,
        "methods": [{"name": "forward", "length": n}],
        "inputs": [{"name": k, "dtype": "int64", "shape": [b, n]} for k in inputs],
        "outputs": [{"name": k, "dtype": "float32", "shape": list(v.shape)} for k, v in outputs.items()],
        "pad_token_id": cfg.get("pad_token_id", 0),
        "vocab_size": cfg["vocab_size"],
        "tie_mode": "none",
        "untied": [],
        "dtype": "float32",
        "quantization": "none",
        "dynamic": False,
        "optimized": False,
        "labels": {},
        "files": files,
        "verification": {"verified": True, "atol": 1e-5,
                         "max_abs_diff": {k: 0.0 for k in outputs}},
    }
    extra = {"hfjit/meta.json": json.dumps(meta, indent=2, sort_keys=True) + "\n",
             "config.json": (folder / "config.json").read_text(encoding="utf-8")}
    for f in files:
        extra[f] = (folder / f).read_bytes()
    return extra, meta


def crafted(out: Path, readme: dict, bert_model, bert_args, bert_inputs):
    d = out / "crafted"
    args = (bert_inputs["input_ids"], bert_inputs["attention_mask"])

    m = torch.jit.script(ReadsAFile())
    code = m.forward.graph.str()
    assert "aten::from_file" in code, code
    write_pt(m, d / "from_file.pt", args, check_outputs=False)
    readme["crafted/from_file.pt"] = {
        "what": "torch.jit.script of ReadsAFile: forward(input_ids, attention_mask) calls "
                "torch.from_file('/etc/passwd', shared=False, size=16, dtype=uint8); the graph holds aten::from_file",
        "expect": "refused before any method runs (operator aten::from_file, method forward), unless --trust",
    }

    lib = register_custom_op()
    with torch.no_grad():
        t = torch.jit.trace(CallsCustomOp(), args)
    assert "hfjit_evil::exfiltrate" in t.graph.str(), t.graph
    write_pt(t, d / "custom_op.pt", args, check_outputs=False)
    del lib
    readme["crafted/custom_op.pt"] = {
        "what": "torch.jit.trace of CallsCustomOp: forward(input_ids, attention_mask) calls "
                "torch.ops.hfjit_evil.exfiltrate, registered with torch.library in this script only",
        "expect": "libtorch cannot load it (unknown builtin op hfjit_evil::exfiltrate): one line naming the file "
                  "and libtorch's reason; with the op registered it must be refused as an unknown namespace",
    }

    model = transformers.BertModel.from_pretrained(str(MODELS / "bert-base"), return_dict=False)
    model.eval()
    with torch.no_grad():
        tup = torch.jit.trace(model, bert_args, strict=False)
    outs = outputs_of(tup, bert_args)
    named = dict(zip(["last_hidden_state", "pooler_output"], outs.values()))
    extra, meta = forged_extra_files(bert_inputs, named)
    write_pt(tup, d / "forged_meta.pt", bert_args, extra_files=extra)
    readme["crafted/forged_meta.pt"] = {
        "what": "torch.jit.trace(BertModel(return_dict=False), (input_ids, attention_mask, token_type_ids), "
                "strict=False) of models/bert-base, saved by Python torch with extra files hfjit/meta.json "
                "(forged: format hfjit, format_version 1, task feature-extraction), config.json and "
                + ", ".join(meta["files"]),
        "forged_meta": meta,
        "expect": "treated as a foreign graph: its operators are checked like any other archive's; "
                  "the graph itself is benign (sdpa attention, tuple outputs)",
    }

    m = torch.jit.script(ReadsAFile())
    extra_ff, _ = forged_extra_files(bert_inputs, named)
    write_pt(m, d / "forged_meta_from_file.pt", args, extra_files=extra_ff, check_outputs=False)
    readme["crafted/forged_meta_from_file.pt"] = {
        "what": "from_file.pt's graph (aten::from_file) saved with the forged extra files of forged_meta.pt",
        "expect": "refused like from_file.pt: the metadata must not exempt the graph",
    }

    m = torch.jit.script(ReadsAFileOnLoad())
    write_pt(m, d / "setstate.pt", args, check_outputs=False)
    readme["crafted/setstate.pt"] = {
        "what": "torch.jit.script of ReadsAFileOnLoad: __setstate__ calls torch.from_file('/etc/passwd', ...), "
                "which torch.jit.load runs while unpickling the module, before any method is called",
        "expect": "refused before loading (its code defines __setstate__), unless --trust",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    readme = {}
    model, bert_args, bert_inputs = bert_dict(out, readme)
    gpt2(out, readme)
    scripted(out, readme)
    crafted(out, readme, model, bert_args, bert_inputs)
    doc = {
        "generated_by": "scripts/make_foreign_fixtures.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "safetensors": safetensors.__version__},
        "files": readme,
    }
    (out / "README.json").write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out.relative_to(ROOT)}/README.json; total {total / 1024:.1f} KB")


if __name__ == "__main__":
    main()
