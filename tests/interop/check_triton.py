"""Triton: the model repository `hfjit trace --triton` writes is what Triton's
PyTorch (libtorch) backend expects (docs/serving.md).

Its config.pbtxt parses with Triton's own ModelConfig schema
(tritonclient's model_config_pb2.py, which scripts/pyenv puts in
.venv-ref/triton/), its input names and dtypes are forward's arguments, its
outputs are `<name>__<index>` with the dtypes and dims the model returns, and
1/model.pt runs with inputs of the configured shapes, called by name as the
backend calls it. No Triton server runs here:
    .venv-ref/bin/python tests/interop/check_triton.py --hfjit build/hfjit --fixtures tests/fixtures
"""
import argparse
import importlib.util
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from google.protobuf import text_format

warnings.filterwarnings("ignore", message=r".*torch\.jit\..* is deprecated.*", category=FutureWarning)

SCHEMA = Path(sys.prefix) / "triton" / "model_config_pb2.py"  # the venv's own folder
TORCH_TYPES = {"TYPE_INT64": torch.int64, "TYPE_FP32": torch.float32, "TYPE_INT32": torch.int32,
               "TYPE_FP16": torch.float16, "TYPE_BOOL": torch.bool}

# (fixture, trace flags, traced batch, traced length, what the config must say)
CASES = [
    ("bert-seqcls", [], 2, 12, {"max_batch_size": 0, "dynamic": False}),
    ("bert-mlm", ["--dynamic"], 4, 16, {"max_batch_size": 4, "dynamic": True}),
    ("distilbert-seqcls", ["--quantize", "int8", "--triton-instances", "3"], 1, 8,
     {"max_batch_size": 0, "dynamic": False, "instances": 3}),
]


def load_schema():
    if not SCHEMA.is_file():
        sys.exit(f"check_triton: {SCHEMA} is missing (scripts/pyenv ref puts it there)")
    spec = importlib.util.spec_from_file_location("model_config_pb2", SCHEMA)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(pb2, hfjit, fixtures, work, model, flags, batch, length, want):
    repo = Path(work) / "repo"
    pt = Path(work) / f"{model}.pt"
    subprocess.run([hfjit, "-q", "trace", str(Path(fixtures) / "models" / model), "-o", str(pt),
                    "--batch-size", str(batch), "--max-length", str(length), "--triton", str(repo), *flags],
                   check=True, stdout=subprocess.DEVNULL)
    entry = repo / model
    config = text_format.Parse((entry / "config.pbtxt").read_text(), pb2.ModelConfig())
    assert config.name == model and config.platform == "pytorch_libtorch", config
    assert config.max_batch_size == want["max_batch_size"], config.max_batch_size
    assert config.HasField("dynamic_batching") == want["dynamic"]
    assert [(g.kind, g.count) for g in config.instance_group] == \
        [(pb2.ModelInstanceGroup.KIND_CPU, want.get("instances", 1))]
    assert config.parameters["INFERENCE_MODE"].string_value == "true"
    assert config.parameters["DISABLE_OPTIMIZED_EXECUTION"].string_value == "false"

    module = torch.jit.load(str(entry / "1" / "model.pt"))
    args = [a.name for a in module.forward.schema.arguments[1:]]  # without self
    assert [i.name for i in config.input] == args, ([i.name for i in config.input], args)
    inputs = {}
    for i in config.input:
        assert pb2.DataType.Name(i.data_type) == "TYPE_INT64", i
        dims = list(i.dims)
        if config.max_batch_size:  # Triton adds the batch dimension; run at a shorter length
            assert dims == [-1], dims
            shape = [config.max_batch_size, length // 2]
        else:
            assert dims == [batch, length], dims
            shape = dims
        inputs[i.name] = torch.ones(shape, dtype=torch.int64)
    with torch.no_grad():
        outs = module(**inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    assert len(outs) == len(config.output), (len(outs), len(config.output))
    for index, (o, t) in enumerate(zip(config.output, outs)):
        assert o.name.endswith(f"__{index}"), o.name
        assert TORCH_TYPES[pb2.DataType.Name(o.data_type)] == t.dtype, (o, t.dtype)
        shape = list(t.shape)
        if config.max_batch_size:
            shape = shape[1:]
        assert len(o.dims) == len(shape) and all(d in (-1, s) for d, s in zip(o.dims, shape)), (o, shape)
    for name in ("config.json", "tokenizer.json"):
        assert (entry / name).is_file(), f"{entry}/{name}: the tokenizer files go beside the model"
    print(f"ok {model} {' '.join(flags)}: {len(config.input)} inputs, {len(config.output)} outputs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hfjit", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    pb2 = load_schema()
    with tempfile.TemporaryDirectory() as work:
        for case in CASES:
            check(pb2, args.hfjit, args.fixtures, work, *case)


if __name__ == "__main__":
    main()
