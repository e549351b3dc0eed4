#!/usr/bin/env python3
"""Reference outputs of Hugging Face `transformers` pipelines for `hfjit run`.

Run with the reference environment (see scripts/pyenv):

    .venv-ref/bin/python scripts/make_run_fixtures.py [--out tests/fixtures/run/cases.json]

For every case below, a pipeline is built with
`transformers.pipeline(task, model=<folder>, tokenizer=<folder>, device="cpu")`
(float32, torch.manual_seed(0), one thread) on a tiny random model of
tests/fixtures/models/ (made by scripts/make_fixtures.py), and called once per
input (never batched). The return value of each call is stored as JSON, with
numpy / torch scalars turned into Python ints and floats (full precision, no
rounding).

Case fields:
  name              unique id
  model             folder under tests/fixtures/models
  config_overrides  keys set in config.json of a copy of the folder before
                    loading (the C++ test must do the same)
  task              Hugging Face pipeline task
  max_length, batch_size
                    the shape the C++ side traces at
  cli               `hfjit run` options equivalent to pipeline_kwargs
  pipeline_kwargs   keyword arguments of each pipeline call
  inputs            strings, or {"text", "text_pair"} / {"question", "context"}
  expected          the pipeline's return value, one per input
  expected_ids      (text-generation only) prompt + generated token ids from
                    model.generate with the same settings

transformers 5 removed the question-answering pipeline (pipeline("question-
answering") raises KeyError "The task question-answering has been removed from
transformers"). Those cases (and plain-bert-qa's expected answers) come from
the last transformers 4.x, 4.57.6, in .venv-ref4 (scripts/pyenv): this script
runs itself there with --qa-worker, on the same torch 2.15 and the same model
folders, and checks that transformers 4.57.6 tokenizes every question/context
exactly as transformers 5 does. Such cases carry
"reference": "transformers 4.57.6 ...".

Every input tokenizes to at most max_length tokens (special tokens included),
except the long-context question-answering case, which is split into windows
(max_seq_len = max_length, doc_stride from pipeline_kwargs). Running the
script twice gives byte-identical output.

It also writes tests/fixtures/run/plain/ (--plain-dir): "plain" TorchScript
files with no hfjit metadata, for `hfjit run MODEL.pt --task T --tokenizer DIR
--batch-size 1 --max-length 32`:

  plain-bert-seqcls.pt, plain-bert-qa.pt
                    torch.jit.trace of AutoModelFor...from_pretrained(folder,
                    return_dict=False) in eval mode, example inputs
                    (input_ids, attention_mask, token_type_ids) of shape
                    [PLAIN_BATCH_SIZE, MAX_LENGTH] (positional, in that order),
                    saved with torch.jit.save (no extra files)
  plain.json        {"cases": [{name, pt, tokenizer (folder under
                    tests/fixtures/models), task, cli, inputs, expected}]},
                    expected computed exactly as for cases.json

A .pt file is only rewritten when its bytes would change and the file on disk
does not load to the same outputs (so a rerun never touches an equivalent
trace).
"""

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import torch

import transformers
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "fixtures" / "models"
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "run" / "cases.json"
MAX_LENGTH = 32
BATCH_SIZE = 2
MAX_FILE_KB = 1500
DEFAULT_PLAIN_DIR = ROOT / "tests" / "fixtures" / "run" / "plain"
PLAIN_BATCH_SIZE = 1
MAX_PT_KB = 1024

torch.set_num_threads(1)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

VENV_REF4_PYTHON = ROOT / ".venv-ref4" / "bin" / "python"
QA_REFERENCE = "transformers {version} (.venv-ref4): transformers 5 has no question-answering pipeline"


# --------------------------------------------------------------------------
# Inputs (words from the training corpus of scripts/make_fixtures.py, so they
# tokenize into real pieces, plus a few rarer words that split into several).
# --------------------------------------------------------------------------
def fill_mask_inputs(mask):
    return [
        f"The cat sat on the {mask} near the kitchen door.",
        f"Paris is the {mask} of France.",
        f"Dogs run {mask} across the green field.",
        f"{mask} world! This is a simple test.",
        f"She opened the window and listened to the {mask}.",
    ]


SENTIMENT = [
    "I think this movie was wonderful.",
    "I think that book was terrible.",
    "The music was fine, not great, not bad.",
    "Good food, good friends, and a quiet evening.",
    "The weather today is cold and windy.",
]
SENTIMENT_PAIRS = [
    {"text": "Where did the cat sit?", "text_pair": "The cat sat on the mat."},
    {"text": "Who runs in the morning?", "text_pair": "My brother runs every morning."},
    {"text": "I think this movie was wonderful.", "text_pair": "The music was fine, not great."},
]
NER = [
    "John Smith lives in New York and works for a large bank.",
    "Marie Curie was a physicist who worked in Paris.",
    " Anna teaches music at a school in London. ",
    "Berlin is the capital of Germany, and Paris is the capital of France!",
    "Scientists measure the temperature of the ocean every year.",
    "Dragons, towers, and wonderful pictures.",
]
QA_SHORT = [
    {"question": "Where did the cat sit?", "context": "The cat sat on the warm mat near the kitchen door."},
    {"question": "Who runs every morning?", "context": "My brother runs every morning before work."},
    {"question": "What is the capital of France?", "context": "Paris is the capital of France."},
    {"question": "Where does Anna live?", "context": "Anna lives in London and teaches music at a school."},
    {"question": "When does the train leave?", "context": "The train leaves at seven and arrives at nine."},
]
LONG_CONTEXT = (
    "Marie Curie was a physicist and chemist who worked in Paris. She won the Nobel Prize twice, in physics "
    "and in chemistry. The library opens at eight in the morning and closes at six in the evening. Students "
    "study quietly between the shelves. Scientists measure the temperature of the ocean every year. The water "
    "is getting warmer, and the ice is melting faster. John Smith lives in New York and works for a large "
    "bank. Anna lives in London and teaches music at a school. The train leaves at seven and arrives at nine. "
    "If you are late, you will have to wait for the next one. Farmers plant wheat in autumn and harvest it in "
    "summer. Bread, pasta, and cakes are all made from wheat flour. Our team played a great game on Saturday. "
    "We scored two goals in the second half and won the championship."
)
QA_LONG = [
    {"question": "Where does Anna live?", "context": LONG_CONTEXT},
    {"question": "Who won the Nobel Prize?", "context": LONG_CONTEXT},
    {"question": "When does the library open?", "context": LONG_CONTEXT},
]
FEATURES = [
    "The cat sat on the mat.",
    "Hello world!",
    "Dogs run fast.",
]
PROMPTS = [
    "The cat sat on the",
    "Paris is the capital of",
    "Dogs run fast across",
    # The pipeline decodes with clean_up_tokenization_spaces=True and cuts
    # len(decode(prompt)) characters: here that is one less than len(prompt).
    "Hello world !",
]
PROMPTS_LONG = [
    "The cat sat",
    "Hello world!",
    "She opened the window",
]


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
def case(name, model, task, inputs, cli=(), pipeline_kwargs=None, config_overrides=None,
         max_length=MAX_LENGTH, batch_size=BATCH_SIZE, allow_long=False):
    return {
        "name": name,
        "model": model,
        "config_overrides": config_overrides or {},
        "task": task,
        "max_length": max_length,
        "batch_size": batch_size,
        "cli": list(cli),
        "pipeline_kwargs": pipeline_kwargs or {},
        "inputs": inputs,
        "_allow_long": allow_long,
    }


def build_cases():
    cases = []

    # 1. fill-mask
    bert_fm = fill_mask_inputs("[MASK]") + ["The [MASK] sat on the [MASK]."]
    cases.append(case("fill-mask-bert-default", "bert-mlm", "fill-mask", bert_fm))
    for model, mask in [("roberta-mlm", "<mask>"), ("distilbert-mlm", "[MASK]"), ("albert-mlm", "[MASK]"),
                        ("electra-generator", "[MASK]")]:
        short = model.split("-")[0]
        cases.append(case(f"fill-mask-{short}-top3", model, "fill-mask", fill_mask_inputs(mask),
                          cli=["--top-k", "3"], pipeline_kwargs={"top_k": 3}))

    # 2. text-classification
    for model in ["bert-seqcls", "roberta-seqcls", "distilbert-seqcls", "albert-seqcls", "gpt2-seqcls"]:
        cases.append(case(f"text-classification-{model.split('-')[0]}", model, "text-classification",
                          SENTIMENT))
    cases.append(case("text-classification-bert-all", "bert-seqcls", "text-classification", SENTIMENT,
                      cli=["--top-k", "all"], pipeline_kwargs={"top_k": None}))
    cases.append(case("text-classification-bert-pair", "bert-seqcls", "text-classification", SENTIMENT_PAIRS))
    cases.append(case("text-classification-bert-multilabel", "bert-seqcls", "text-classification", SENTIMENT,
                      cli=["--top-k", "all"], pipeline_kwargs={"top_k": None},
                      config_overrides={"problem_type": "multi_label_classification"}))
    cases.append(case("text-classification-bert-regression", "bert-seqcls", "text-classification", SENTIMENT,
                      cli=["--top-k", "all"], pipeline_kwargs={"top_k": None},
                      config_overrides={"problem_type": "regression"}))

    # 3. token-classification: plain labels, then labels where id 0 is not "O"
    relabel = {"id2label": {"0": "B-MISC", "1": "B-PER", "2": "I-PER", "3": "B-LOC", "4": "I-LOC"},
               "label2id": {"B-MISC": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3, "I-LOC": 4}}
    for suffix, overrides in [("", None), ("-relabel", relabel)]:
        for agg in ["none", "simple", "first", "max", "average"]:
            cases.append(case(f"token-classification-{agg}{suffix}", "bert-tokcls", "token-classification", NER,
                              cli=["--aggregation", agg], pipeline_kwargs={"aggregation_strategy": agg},
                              config_overrides=overrides))

    # 4. question-answering
    cases.append(case("question-answering-default", "bert-qa", "question-answering", QA_SHORT))
    cases.append(case("question-answering-top3", "bert-qa", "question-answering", QA_SHORT[:4],
                      cli=["--top-k", "3"], pipeline_kwargs={"top_k": 3}))
    cases.append(case("question-answering-long-context", "bert-qa", "question-answering", QA_LONG,
                      cli=["--doc-stride", "8"], pipeline_kwargs={"max_seq_len": MAX_LENGTH, "doc_stride": 8},
                      allow_long=True))
    cases.append(case("question-answering-long-context-top3", "bert-qa", "question-answering", QA_LONG[:2],
                      cli=["--doc-stride", "8", "--top-k", "3"],
                      pipeline_kwargs={"max_seq_len": MAX_LENGTH, "doc_stride": 8, "top_k": 3},
                      allow_long=True))

    # 5. feature-extraction
    for model in ["bert-base", "distilbert-sinusoidal"]:
        cases.append(case(f"feature-extraction-{model}", model, "feature-extraction", FEATURES))

    # 6. text-generation (greedy)
    cases.append(case("text-generation-gpt2-greedy8", "gpt2-lm", "text-generation", PROMPTS,
                      cli=["--max-new-tokens", "8"], pipeline_kwargs={"do_sample": False, "max_new_tokens": 8}))
    cases.append(case("text-generation-gpt2-greedy20", "gpt2-lm", "text-generation", PROMPTS_LONG,
                      cli=["--max-new-tokens", "20"], pipeline_kwargs={"do_sample": False, "max_new_tokens": 20}))
    return cases


# Plain TorchScript files (no hfjit metadata): (name, folder, task, Auto class, inputs)
PLAIN = [
    ("plain-bert-seqcls", "bert-seqcls", "text-classification", "AutoModelForSequenceClassification",
     SENTIMENT[:4]),
    ("plain-bert-qa", "bert-qa", "question-answering", "AutoModelForQuestionAnswering", QA_SHORT[:3]),
]


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def to_json(obj):
    """Pipeline output -> plain JSON types (numpy / torch scalars and arrays included)."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return to_json(obj.tolist())
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        assert np.isfinite(value), value
        return value
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot serialise {type(obj).__name__}: {obj!r}")


def model_folder(c, tmp: Path) -> Path:
    """The model folder, or a copy of it with config_overrides applied."""
    src = MODELS / c["model"]
    if not c["config_overrides"]:
        return src
    dst = tmp / c["name"]
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text(encoding="utf-8"))
    cfg.update(copy.deepcopy(c["config_overrides"]))
    (dst / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return dst


def token_count(tok, x):
    if isinstance(x, str):
        return len(tok(x)["input_ids"])
    if "question" in x:
        return len(tok(x["question"], x["context"])["input_ids"])
    return len(tok(x["text"], x["text_pair"])["input_ids"])


def check_lengths(c, pipe):
    tok = pipe.tokenizer
    for x in c["inputs"]:
        n = token_count(tok, x)
        if c["task"] == "text-generation":
            n += c["pipeline_kwargs"]["max_new_tokens"]
        if c["_allow_long"]:
            assert n > c["max_length"], (c["name"], x, n)
        else:
            assert n <= c["max_length"], (c["name"], x, n)
        if c["task"] == "fill-mask":
            ids = tok(x)["input_ids"]
            assert tok.mask_token_id in ids, (c["name"], x)
            assert tok.unk_token_id not in ids, (c["name"], x)


def run_case(c, tmp: Path):
    folder = model_folder(c, tmp)
    torch.manual_seed(0)
    pipe = transformers.pipeline(c["task"], model=str(folder), tokenizer=str(folder), device="cpu",
                                 dtype=torch.float32)
    pipe.model.eval()
    assert next(pipe.model.parameters()).dtype == torch.float32
    check_lengths(c, pipe)
    expected, expected_ids = [], []
    for x in c["inputs"]:
        torch.manual_seed(0)
        with torch.no_grad():
            if c["task"] == "question-answering":  # pipe(question=..., context=...)
                out = pipe(**x, **c["pipeline_kwargs"])
            else:
                out = pipe(x, **c["pipeline_kwargs"])
        expected.append(to_json(out))
        if c["task"] == "text-generation":
            enc = pipe.tokenizer(x, return_tensors="pt")
            torch.manual_seed(0)
            with torch.no_grad():
                ids = pipe.model.generate(**enc, **c["pipeline_kwargs"])
            ids = ids[0].tolist()
            text = pipe.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)
            prompt = pipe.tokenizer.decode(enc["input_ids"][0], skip_special_tokens=True,
                                           clean_up_tokenization_spaces=True)
            assert out[0]["generated_text"] == x + text[len(prompt):], (out, text)
            expected_ids.append(ids)
    result = {k: v for k, v in c.items() if not k.startswith("_")}
    if c["task"] == "question-answering":
        result["reference"] = QA_REFERENCE.format(version=transformers.__version__)
        result["_token_ids"] = [pipe.tokenizer(x["question"], x["context"])["input_ids"] for x in c["inputs"]]
    result["expected"] = expected
    if expected_ids:
        result["expected_ids"] = expected_ids
    return result


def run_cases(cases, tmp: Path):
    """Results of cases in order: question-answering ones from .venv-ref4 (one worker process for all)."""
    qa = [c for c in cases if c["task"] == "question-answering"]
    others = {id(c): run_case(c, tmp) for c in cases if c["task"] != "question-answering"}
    qa_results = {}
    if qa:
        if not VENV_REF4_PYTHON.exists():
            sys.exit(f"{VENV_REF4_PYTHON}: missing (scripts/pyenv ref4): the question-answering references need it")
        proc = subprocess.run([str(VENV_REF4_PYTHON), str(Path(__file__).resolve()), "--qa-worker"],
                              input=json.dumps(qa), capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"--qa-worker in .venv-ref4 failed:\n{proc.stderr}")
        done = json.loads(proc.stdout)
        assert len(done) == len(qa)
        for c, r in zip(qa, done):
            # transformers 4.57.6 must tokenize as transformers 5 does (the C++ side follows 5)
            tok = transformers.AutoTokenizer.from_pretrained(str(model_folder(c, tmp)))
            ids5 = [tok(x["question"], x["context"])["input_ids"] for x in c["inputs"]]
            assert r.pop("_token_ids") == ids5, f"{c['name']}: transformers 4 and 5 tokenize differently"
            qa_results[id(c)] = r
    return [others.get(id(c)) or qa_results[id(c)] for c in cases]


def qa_worker():
    """--qa-worker: run the question-answering cases read from stdin with this environment's
    transformers (4.57.6 in .venv-ref4); print their results as JSON."""
    import contextlib
    cases = json.loads(sys.stdin.read())
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        out = [run_case(dict(c, _allow_long=c["_allow_long"]), Path(tmp)) for c in cases]
    print(json.dumps(out))


def encode_fixed(tok, x, max_length=MAX_LENGTH):
    """Tokenizer encoding of one input padded to max_length: (input_ids, attention_mask, token_type_ids)."""
    if isinstance(x, str):
        args = (x,)
    elif "question" in x:
        args = (x["question"], x["context"])
    else:
        args = (x["text"], x["text_pair"])
    enc = tok(*args, padding="max_length", truncation=False, max_length=max_length, return_tensors="pt")
    assert enc["input_ids"].shape == (1, max_length), enc["input_ids"].shape
    return enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]


def module_outputs(module, examples):
    """Concatenated outputs of a (traced or eager) model on fixed-shape examples."""
    outs = []
    with torch.no_grad():
        for ex in examples:
            out = module(*ex)
            outs.extend(t.detach().clone() for t in (out if isinstance(out, (tuple, list)) else (out,)))
    return outs


def same_outputs(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, b))


def write_trace(traced, path: Path, examples):
    """torch.jit.save traced to path, unless path holds the same bytes or a trace with the same outputs.

    Returns "written", "unchanged (same bytes)" or "kept (same outputs)"."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / path.name  # same file name: it names the folder inside the zip
        torch.jit.save(traced, str(fresh))
        data = fresh.read_bytes()
    if path.exists():
        if path.read_bytes() == data:
            return "unchanged (same bytes)"
        try:
            old = torch.jit.load(str(path), map_location="cpu")
            old.eval()
            if same_outputs(module_outputs(old, examples), module_outputs(traced, examples)):
                return "kept (same outputs)"
        except Exception:  # unreadable / different signature: replace
            pass
    path.write_bytes(data)
    return "written"


def make_plain(plain_dir: Path, tmp: Path):
    """Trace the PLAIN models to plain_dir and return the plain.json cases (expected from the pipelines)."""
    plain_dir.mkdir(parents=True, exist_ok=True)
    cases, report = [], []
    for name, model, task, auto_class, inputs in PLAIN:
        cli = ["--task", task, "--batch-size", str(PLAIN_BATCH_SIZE), "--max-length", str(MAX_LENGTH)]
        c = run_cases([case(name, model, task, inputs, batch_size=PLAIN_BATCH_SIZE)], tmp)[0]

        folder = MODELS / model
        tok = transformers.AutoTokenizer.from_pretrained(str(folder))
        torch.manual_seed(0)
        # return_dict=False for tuple outputs (transformers 5 dropped the torchscript flag's meaning for
        # outputs: it no longer implies return_dict=False).
        net = getattr(transformers, auto_class).from_pretrained(str(folder), return_dict=False,
                                                                 dtype=torch.float32)
        net.eval()
        assert next(net.parameters()).dtype == torch.float32
        # Example: the first input, padded to [1, MAX_LENGTH] (so the mask has zeros).
        example = encode_fixed(tok, inputs[0])
        with torch.no_grad():
            traced = torch.jit.trace(net, example)
        traced.eval()
        examples = [encode_fixed(tok, x) for x in inputs]
        got, want = module_outputs(traced, examples), module_outputs(net, examples)
        assert len(got) == len(want) and all(torch.allclose(g, w, rtol=0, atol=1e-5) for g, w in zip(got, want)), \
            f"{name}: traced outputs differ from the eager model"

        pt = plain_dir / f"{name}.pt"
        status = write_trace(traced, pt, examples)
        size_kb = pt.stat().st_size / 1024
        assert size_kb < MAX_PT_KB, f"{pt} is {size_kb:.1f} KB"
        report.append(f"{pt.name}: {status} ({size_kb:.1f} KB)")

        extra = {"reference": c["reference"]} if "reference" in c else {}
        cases.append({
            "name": name,
            **extra,
            "pt": pt.name,
            "tokenizer": model,
            "task": task,
            "cli": cli,
            "inputs": c["inputs"],
            "expected": c["expected"],
        })
    return cases, report


def summary(c):
    def short(v):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= 150 else s[:147] + "..."
    first = c["expected"][0]
    if c["task"] == "feature-extraction":
        arr = np.array(first)
        sample = f"shape {list(arr.shape)}, [0][0][:3] {arr[0, 0, :3].tolist()}"
    else:
        sample = short(first)
    nonempty = ""
    if c["task"] == "token-classification":
        nonempty = f" nonempty {sum(1 for e in c['expected'] if e)}/{len(c['expected'])}"
    return f"{c['name']:42} n={len(c['inputs'])}{nonempty}  {sample}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON (default: %(default)s)")
    parser.add_argument("--plain-dir", type=Path, default=DEFAULT_PLAIN_DIR,
                        help="output folder of the plain TorchScript cases (default: %(default)s)")
    parser.add_argument("--qa-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.qa_worker:
        qa_worker()
        return
    assert transformers.__version__.startswith("5."), "run in .venv-ref (transformers 5)"

    cases = build_cases()
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results = run_cases(cases, Path(tmp))
        plain_cases, plain_report = make_plain(args.plain_dir, Path(tmp))

    qa_version = subprocess.run([str(VENV_REF4_PYTHON), "-c", "import transformers; print(transformers.__version__)"],
                                capture_output=True, text=True, check=True).stdout.strip()
    doc = {
        "generated_by": "scripts/make_run_fixtures.py",
        "transformers_version": transformers.__version__,
        "question_answering_transformers_version": qa_version,
        "torch_version": torch.__version__,
        "cases": results,
    }
    text = json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")

    for c in results:
        print(summary(c))
    size_kb = len(text.encode("utf-8")) / 1024
    print(f"wrote {args.out} ({len(results)} cases, {size_kb:.1f} KB)")
    assert size_kb < MAX_FILE_KB, f"{args.out} is {size_kb:.1f} KB"

    plain_doc = {
        "generated_by": "scripts/make_run_fixtures.py",
        "transformers_version": transformers.__version__,
        "question_answering_transformers_version": qa_version,
        "torch_version": torch.__version__,
        "cases": plain_cases,
    }
    plain_json = args.plain_dir / "plain.json"
    plain_text = json.dumps(plain_doc, indent=1, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"
    plain_json.write_text(plain_text, encoding="utf-8")
    for c in plain_cases:
        print(summary(c))
    for line in plain_report:
        print(line)
    print(f"wrote {plain_json} ({len(plain_cases)} cases, {len(plain_text.encode('utf-8')) / 1024:.1f} KB)")


if __name__ == "__main__":
    main()
