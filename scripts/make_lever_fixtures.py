#!/usr/bin/env python3
"""Reference outputs of the speed levers (`hfjit trace --dtype bfloat16`,
`--quantize int8`), from transformers + PyTorch on the fixtures' weights.

    .venv-ref/bin/python scripts/make_lever_fixtures.py

For each model below, on the inputs of its tests/fixtures/models/<m>/reference.safetensors:

- bf16: the transformers model converted with `model.to(torch.bfloat16)`, its
  outputs cast to float32 (what hfjit's bf16 artifact returns);
- int8: `torch.ao.quantization.quantize_dynamic` with
  `per_channel_dynamic_qconfig` on every nn.Linear (weights int8 per output
  channel, activations quantized per call) on the default quantized engine
  (torch 2.15's PyPI wheel: "x86", FBGEMM-based; recorded in levers.json).
  GPT-2's Conv1D layers are
  first replaced by the nn.Linear they equal (weight transposed), since hfjit
  quantizes them too.

Writes tests/fixtures/levers/<m>.safetensors: "<variant>.<output name>" for
each output of reference.json (hidden states excluded), and levers.json with
the versions, the engine and the attention implementation. The models run
with attn_implementation="eager" (as before the move to transformers 5;
scripts/make_fixtures.py checks that eager and the default sdpa agree within
1e-5 in float32). Python is only used here, to produce references.
"""

import json
import sys
from pathlib import Path

import safetensors.torch
import torch
import transformers
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = ["bert-mlm", "distilbert-seqcls", "roberta-mlm", "gpt2-lm", "bert-qa"]


def conv1d_to_linear(model: nn.Module) -> None:
    from transformers.pytorch_utils import Conv1D

    for name, child in list(model.named_children()):
        if isinstance(child, Conv1D):
            lin = nn.Linear(child.weight.shape[0], child.weight.shape[1])
            with torch.no_grad():
                lin.weight.copy_(child.weight.t())
                lin.bias.copy_(child.bias)
            setattr(model, name, lin)
        else:
            conv1d_to_linear(child)


def load(m: str):
    folder = FIXTURES / "models" / m
    ref = json.loads((folder / "reference.json").read_text())
    cls = getattr(transformers, ref["class"])
    # transformers 5 has no torchscript flag; tuple outputs come from return_dict=False in outputs()
    model = cls.from_pretrained(str(folder), attn_implementation="eager")
    model.eval()
    tensors = safetensors.torch.load_file(str(folder / "reference.safetensors"))
    inputs = {i["name"]: tensors[i["name"]] for i in ref["inputs"]}
    names = [o["name"] for o in ref["outputs"]]
    return model, inputs, names, ref


def outputs(model, inputs):
    with torch.no_grad():
        out = model(**inputs, return_dict=False)
    flat = []

    from transformers.cache_utils import Cache

    def walk(v):
        if v is None:
            return
        if isinstance(v, Cache):  # transformers 5 returns past_key_values as a DynamicCache
            v = tuple((layer.keys, layer.values) for layer in v.layers)
        if isinstance(v, torch.Tensor):
            flat.append(v)
        else:
            for x in v:
                walk(x)

    walk(out)
    return flat


def main() -> int:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out_dir = FIXTURES / "levers"
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "generator": "scripts/make_lever_fixtures.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "quantized_engine": torch.backends.quantized.engine,
        "attn_implementation": "eager",
        "models": {},
    }
    for m in MODELS:
        tensors = {}
        model, inputs, names, ref = load(m)
        fp32 = outputs(model, inputs)
        assert len(fp32) >= len(names), (m, len(fp32), names)

        bf = outputs(model.to(torch.bfloat16), inputs)
        model, _, _, _ = load(m)
        conv1d_to_linear(model)
        q = torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8)
        i8 = outputs(q, inputs)
        entry = {}
        for i, name in enumerate(names):
            tensors[f"bf16.{name}"] = bf[i].float().contiguous()
            tensors[f"int8.{name}"] = i8[i].float().contiguous()
            entry[name] = {
                "bf16_max_abs_diff_to_fp32": float((bf[i].float() - fp32[i]).abs().max()),
                "int8_max_abs_diff_to_fp32": float((i8[i].float() - fp32[i]).abs().max()),
            }
        summary["models"][m] = {"class": ref["class"], "outputs": entry}
        safetensors.torch.save_file(tensors, str(out_dir / f"{m}.safetensors"), metadata={"format": "pt"})
        print(m, json.dumps(entry))
    (out_dir / "levers.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
