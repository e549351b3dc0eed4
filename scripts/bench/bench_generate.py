#!/usr/bin/env python3
"""Generation side by side (issue 19): hfjit's static-cache artifact against
transformers 5 `generate` on the same random Llama-style model, same torch.

    .venv-ref/bin/python scripts/bench/bench_generate.py --work DIR [--hfjit build/hfjit]
        [--prompt 32] [--new-tokens 128] [--threads 2] [--rounds 3] [--min-time 5]

--work DIR gets (once) model/: a LlamaForCausalLM with random weights, 12 layers,
hidden 768, 12 heads and 4 key/value heads, SwiGLU 2048, vocab 32000, tied
lm_head (110M parameters; no eos, so every generation makes --new-tokens), the
tokenizer files of tests/fixtures/models/llama-lm (the ids are random anyway),
and model.pt: `hfjit trace model --max-length PROMPT+NEW --lengths PROMPT`.

In-process, alternating rounds, batch 1, greedy, the same random prompt ids:
  hfjit         `hfjit bench model.pt --lengths PROMPT --new-tokens NEW --json`:
                p50 of whole generations, prefill, decode step p50, the series
                of each decode step's p50 by position.
  transformers  model.generate(ids, do_sample=False, max_new_tokens=NEW) with its
                default DynamicCache, and with cache_implementation="static"
                (its StaticCache, no torch.compile): median of the round's runs.
The ratio is per round (hfjit tokens/s over the transformers contender's), then
the median over rounds.

Whole process (each --rounds times, alternating): `hfjit run model.pt PROMPT_TEXT
--max-new-tokens NEW --json` against a Python process that loads the folder with
AutoModelForCausalLM / AutoTokenizer and generates the same; wall time and peak
RSS (/usr/bin/time's, see rss_of). hfjit's peak RSS is set beside its artifact's
weights (the tied lm_head cloned) + the cache. `hfjit bench`'s own peak_rss_mb is
not quoted: started from this process, it inherits its high-water mark.

Prints one JSON object (machine, versions, figures) on stdout; progress on stderr.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PROMPT_TEXT = ("The committee rejected the quarterly results before lunch, and nobody was surprised "
               "because the numbers had been falling for months")  # cut to --prompt tokens below

CHILD = r"""
import sys, time, torch
t0 = time.perf_counter()
torch.set_num_threads(int(sys.argv[2]))
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
model = AutoModelForCausalLM.from_pretrained(sys.argv[1]).eval()
enc = tok(sys.argv[3], return_tensors="pt")
with torch.inference_mode():
    out = model.generate(**enc, do_sample=False, max_new_tokens=int(sys.argv[4]))
print(tok.decode(out[0], skip_special_tokens=True))
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_model(work: Path, prompt: int, new: int, hfjit: str):
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    folder = work / "model"
    if not (folder / "model.safetensors").exists():
        torch.manual_seed(0)
        cfg = LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                          num_attention_heads=12, num_key_value_heads=4, max_position_embeddings=2048,
                          tie_word_embeddings=True, bos_token_id=None, eos_token_id=None, pad_token_id=0)
        model = LlamaForCausalLM(cfg).eval()
        model.generation_config = GenerationConfig(pad_token_id=0)
        model.save_pretrained(folder)
        src = ROOT / "tests" / "fixtures" / "models" / "llama-lm"
        for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
            shutil.copy(src / f, folder / f)
    pt = work / "model.pt"
    if not pt.exists():
        subprocess.run([hfjit, "trace", str(folder), "-o", str(pt), "--max-length", str(prompt + new),
                        "--lengths", str(prompt)], check=True, stdout=sys.stderr)
    return folder, pt


def time_transformers(model, ids, new, min_time, cache):
    import torch
    kw = {"cache_implementation": "static"} if cache == "static" else {}
    ms = []
    with torch.inference_mode():
        model.generate(ids, do_sample=False, max_new_tokens=new, **kw)  # warm-up
        t_end = time.perf_counter() + min_time
        while len(ms) < 3 or time.perf_counter() < t_end:
            t = time.perf_counter()
            out = model.generate(ids, do_sample=False, max_new_tokens=new, **kw)
            ms.append((time.perf_counter() - t) * 1000)
    assert out.shape[1] == ids.shape[1] + new, out.shape
    return statistics.median(ms)


def rss_of(cmd, env=None):
    """(wall seconds, peak RSS MB, stdout) of one child, the RSS from /usr/bin/time -f %M.

    Not from this process's wait4: a child forked from this Python process (which holds the
    transformers model) starts with its resident pages, and Linux keeps that high-water mark
    across exec, so its ru_maxrss would be this process's size. /usr/bin/time is small, and its
    own child starts clean."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr[-2000:]}")
    return wall, int(p.stderr.strip().splitlines()[-1]) / 1024, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--hfjit", default=str(ROOT / "build" / "hfjit"))
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=5.0)
    ap.add_argument("--no-process", action="store_true", help="skip the whole-process comparison")
    args = ap.parse_args()

    import torch
    import transformers
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    folder, pt = make_model(work, args.prompt, args.new_tokens, args.hfjit)
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained(folder).eval()
    n_params = sum(p.numel() for p in model.parameters())
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    cfg = model.config
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    cache_mb = cfg.num_hidden_layers * 2 * cfg.num_key_value_heads * (args.prompt + args.new_tokens) * head_dim * 4 / 2**20
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 30000, (1, args.prompt), generator=g)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    # The whole-process prompt: the longest prefix of PROMPT_TEXT's words within --prompt tokens.
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    words = PROMPT_TEXT.split()
    prompt_text = " ".join(words[:1])
    for n in range(1, len(words) + 1):
        if len(tok(" ".join(words[:n]))["input_ids"]) <= args.prompt:
            prompt_text = " ".join(words[:n])

    rounds = []
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}: hfjit bench")
        out = subprocess.run([args.hfjit, "bench", str(pt), "--lengths", str(args.prompt), "--new-tokens",
                              str(args.new_tokens), "--min-time", str(args.min_time), "--json"],
                             check=True, capture_output=True, text=True, env=env).stdout
        h = json.loads(out.strip().splitlines()[-1])
        entry = {"hfjit": {k: h[k] for k in ("mode", "p50_ms", "tokens_per_s", "prefill_ms", "decode_ms",
                                             "iterations", "decode_ms_by_step")}}
        for cache in ("dynamic", "static"):
            log(f"round {r + 1}/{args.rounds}: transformers generate ({cache} cache)")
            ms = time_transformers(model, ids, args.new_tokens, args.min_time, cache)
            entry[f"transformers_{cache}"] = {"p50_ms": ms, "tokens_per_s": args.new_tokens * 1000 / ms}
        for cache in ("dynamic", "static"):
            entry[f"ratio_vs_{cache}"] = h["tokens_per_s"] / entry[f"transformers_{cache}"]["tokens_per_s"]
        rounds.append(entry)
        log(json.dumps({k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items()
                                                               if kk != "decode_ms_by_step"})
                        for k, v in entry.items()}))

    process = []
    if not args.no_process:
        py = sys.executable
        for r in range(args.rounds):
            log(f"process round {r + 1}/{args.rounds}")
            hw, hr, ho = rss_of([args.hfjit, "run", str(pt), prompt_text, "--max-new-tokens",
                                 str(args.new_tokens), "--json"], env)
            tw, tr, to = rss_of([py, "-c", CHILD, str(folder), str(args.threads), prompt_text,
                                 str(args.new_tokens)], env)
            answer = json.loads(ho.strip().splitlines()[-1])
            same = (answer[0] if isinstance(answer, list) else answer)["generated_text"] == to.strip()
            process.append({"hfjit_s": hw, "hfjit_rss_mb": hr, "transformers_s": tw, "transformers_rss_mb": tr,
                            "ratio": tw / hw, "same_text": same})
            log(json.dumps(process[-1]))

    series = [statistics.median(x) for x in zip(*[e["hfjit"]["decode_ms_by_step"] for e in rounds])]
    q = len(series) // 4 or 1
    report = {
        "machine": machine.describe(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "prompt_text": prompt_text,
        "model": {"parameters": n_params, "weights_mb": weights_mb, "cache_mb": cache_mb,
                  "artifact_mb": pt.stat().st_size / 2**20,
                  "prompt": args.prompt, "new_tokens": args.new_tokens, "threads": args.threads},
        "rounds": rounds,
        "median_ratio_vs_dynamic": statistics.median(e["ratio_vs_dynamic"] for e in rounds),
        "median_ratio_vs_static": statistics.median(e["ratio_vs_static"] for e in rounds),
        "decode_ms_by_step_median": series,
        "decode_ms_first_quarter_vs_last_quarter": [statistics.median(series[:q]), statistics.median(series[-q:])],
        "process": process,
    }
    if process:
        report["process_median_ratio"] = statistics.median(p["ratio"] for p in process)
        # The artifact holds the tied lm_head cloned (the untie step): its weights are the file's.
        report["hfjit_rss_over_artifact_and_cache_mb"] = (
            statistics.median(p["hfjit_rss_mb"] for p in process) - pt.stat().st_size / 2**20 - cache_mb)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
