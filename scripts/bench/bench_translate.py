#!/usr/bin/env python3
"""Translation side by side: hfjit against transformers 5 `generate` and CTranslate2
on a random Marian of opus-mt size (issue: "Speed: 100 sentences, batch 8, 2 threads").

    .venv-ref/bin/python scripts/bench/bench_translate.py --work DIR [--hfjit build/hfjit]
        [--sentences 100] [--batch 8] [--threads 2] [--max-new-tokens 64] [--rounds 3]
        [--beams 1,4] [--skip-hfjit]

--work DIR gets (once) model/: a MarianMTModel with random weights (seed 0) of
opus-mt-en-de's size: d_model 512, 6 + 6 layers, 8 heads, ffn 2048, swish, vocab
58101, 512 positions, scale_embedding, shared embeddings tied to the lm_head,
pad = decoder_start = 58100, eos 0, forced_eos_token_id 0; generation_config.json
as opus-mt's (bad_words_ids [[58100]], num_beams 4, max_length 512,
renormalize_logits). Weights drawn with init_std INIT_STD: with transformers'
0.02 the sinusoidal positions swamp the scaled token embeddings and every
sentence gets the same output, which would make the text comparisons below
vacuous. The embedding rows of <pad> (as Marian's: the decoder starts from a
zero embedding) and of the <unused_N> fillers are zero, so the fillers' logits
are 0 and the outputs are real SentencePiece pieces (the work is unchanged: the
lm_head still has all 58101 rows). Its tokenizer:
source.spm and target.spm, unigram SentencePiece models of SPM_PIECES pieces
trained by sentencepiece's Python trainer on tests/fixtures/tokenizers/corpus.jsonl
(a JSON string a line; source on the even lines, target on the odd ones, so the
two differ as opus-mt's do), vocab.json joint as Marian's (</s> 0, <unk> 1, the
pieces of both, <unused_N> fillers, <pad> 58100) and tokenizer_config.json as
opus-mt's (MarianTokenizer, en -> de); the folder is checked to load with
MarianTokenizer.from_pretrained. Then ct2/: ctranslate2.converters.
TransformersConverter(model/).convert(quantization="float32") (its warnings are
reported; its Marian loader drops the <pad> row from the vocabulary and the
embeddings and starts the decoder from a zero embedding instead: the same as
transformers' decoder start <pad> with its zero row), and model.pt: `HFJIT trace
model -o model.pt --max-length 128 --target-length NEW+1` (timed; redone when
NEW changes). Without --skip-hfjit, an HFJIT whose trace or run lacks those
options stops the script at the start; one that fails later is left out of the
rounds that follow ("hfjit_error"). Every run rewrites
sentences.txt: --sentences corpus lines of 8 to 40 words, evenly spaced over the
candidates (printable, one line, no special-token text, at most 128 source
tokens with </s>), and sentences1.txt, its first line.

Each round, for each --beams setting B, one fresh process per contender, in turn
(so threads and peak RSS are each one's own), env OMP_NUM_THREADS=T:
  hfjit         `HFJIT --threads T run model.pt --input sentences.txt --json
                --batch-size 8 --num-beams B --max-new-tokens NEW` (one JSON line
                per input, {"translation_text": ...}; --threads T besides the
                environment, as the other benchmarks run hfjit), and the same on
                sentences1.txt: whole-process wall time, and that minus the
                1-sentence run's (labelled startup-subtracted: the start-up,
                load and one 1-sentence translation taken off, so slightly
                flattering).
  transformers  a python child: torch.set_num_threads(T), MarianMTModel.
                from_pretrained, eval, torch.inference_mode(); one untimed
                warm-up (the first batch, 2 new tokens); then the timed loop over
                batches of 8: tokenizer(batch, padding=True), model.generate(**enc,
                num_beams=B, do_sample=False, max_new_tokens=NEW), batch_decode(
                skip_special_tokens=True).
  CTranslate2   a python child: ctranslate2.Translator(ct2, device="cpu",
                inter_threads=1, intra_threads=T, compute_type="float32"); the
                same warm-up; the timed loop: source.spm pieces + "</s>" (what
                MarianTokenizer feeds the encoder), translate_batch(8 piece lists,
                beam_size=B, max_decoding_length=NEW, return_scores=False),
                target.spm decode_pieces.
Peak RSS of each process from /usr/bin/time -v; each Python child's wall time
(interpreter start to exit) is reported beside its loop time.

Same work on every side: transformers' max_new_tokens=NEW makes NEW decoder
steps after the start token, the last one forced to eos (forced_eos_token_id),
so an output that never meets eos has NEW-1 tokens of text. CTranslate2's
max_decoding_length counts the decoder steps after the start token too (an eos
it emits is one of them and is not returned), but it forces no eos: with
max_decoding_length=NEW it also makes NEW steps, and an output that never meets
eos has NEW tokens, one more than transformers'; the comparison cuts it to
NEW-1. Generated tokens = decoder steps that produced a token of the returned
hypothesis (its tokens, +1 for the eos that ended it). A random model rarely
emits eos: outputs that stopped before the last step are counted
("stopped_early"). hfjit's token count is taken as transformers' (its texts are
checked equal on greedy).

Correctness, greedy: the fraction of sentences whose CTranslate2 tokens equal
transformers' (float32 on both, so about 1; an argmax near-tie can flip one),
and the fraction of hfjit texts equal to transformers' (must be about 1).

Correctness for beam search too, as information: CTranslate2's beam search is
not transformers' (its length penalty, its stopping), hfjit's is meant to be.

Ratios per round and beam setting, sentences/s over transformers' timed loop's:
  ratio_hfjit_startup_subtracted   hfjit (wall(S) - wall(1)): the steady state
  ratio_hfjit_process_vs_loop      hfjit whole process (start-up and load included)
  ratio_hfjit_process_vs_process   the same over the transformers child's whole
                                   process (interpreter start, imports, load)
  ratio_ct2                        CTranslate2's timed loop
  ratio_ct2_process                CTranslate2's whole process over transformers'
then the medians over rounds ("medians", with each contender's median figures).
setup_s: the seconds spent making the model, the sentences, the CTranslate2
conversion and the hfjit trace (null: made by an earlier run and reused; the
trace's time is then the recorded one).

Prints one JSON object (machine, versions, figures) on stdout; progress on stderr.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "tokenizers" / "corpus.jsonl"
VOCAB = 58101          # opus-mt-en-de's; the last id is <pad>
PAD = VOCAB - 1
SPM_PIECES = 4000      # per side
MAX_SOURCE = 128       # hfjit trace --max-length
INIT_STD = 0.1         # transformers' 0.02 makes every sentence's output the same (see the docstring)
SPECIAL_TEXT = ("</s>", "<unk>", "<pad>", "<unused_", ">>")  # text MarianTokenizer would read as special

# argv: mode (transformers | ct2), model dir, ct2 dir, sentences file, threads, batch, beams, new tokens.
# Prints one JSON line: load_s, loop_s, texts, tokens (pieces, eos left out), steps (decoder steps per
# sentence), stopped_early.
CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
mode, model_dir, ct2_dir, sent_file = sys.argv[1:5]
T, B, beams, N = (int(x) for x in sys.argv[5:9])
lines = open(sent_file, encoding="utf-8").read().split("\n")[:-1]
batches = [lines[i:i + B] for i in range(0, len(lines), B)]
texts, tokens, steps = [], [], []
if mode == "transformers":
    import torch
    torch.set_num_threads(T)
    from transformers import MarianMTModel, MarianTokenizer
    from transformers.utils import logging
    logging.set_verbosity_error()  # "Both max_new_tokens and max_length (generation_config's 512) set"
    tok = MarianTokenizer.from_pretrained(model_dir)
    model = MarianMTModel.from_pretrained(model_dir).eval()
    eos, pad = model.config.eos_token_id, model.config.pad_token_id
    def translate(batch, n):
        enc = tok(batch, return_tensors="pt", padding=True)
        out = model.generate(**enc, num_beams=beams, do_sample=False, max_new_tokens=n)
        return out, tok.batch_decode(out, skip_special_tokens=True)
    load_s = time.perf_counter() - t_start
    with torch.inference_mode():
        translate(batches[0], 2)
        t = time.perf_counter()
        outs = []
        for batch in batches:
            out, dec = translate(batch, N)
            outs.append(out)
            texts += dec
        loop_s = time.perf_counter() - t
    for out in outs:
        for row in out.tolist():
            row = row[1:]  # the decoder start token
            n = row.index(eos) if eos in row else len([i for i in row if i != pad])
            tokens.append(tok.convert_ids_to_tokens(row[:n]))
            steps.append(n + (1 if eos in row else 0))
else:
    import ctranslate2, sentencepiece as spm
    src = spm.SentencePieceProcessor(model_file=model_dir + "/source.spm")
    tgt = spm.SentencePieceProcessor(model_file=model_dir + "/target.spm")
    tr = ctranslate2.Translator(ct2_dir, device="cpu", inter_threads=1, intra_threads=T, compute_type="float32")
    def translate(batch, n):
        pieces = [src.encode(s, out_type=str) + ["</s>"] for s in batch]
        res = tr.translate_batch(pieces, beam_size=beams, max_decoding_length=n, return_scores=False)
        hyps = [r.hypotheses[0] for r in res]
        return hyps, [tgt.decode_pieces(h) for h in hyps]
    load_s = time.perf_counter() - t_start
    translate(batches[0], 2)
    t = time.perf_counter()
    for batch in batches:
        hyps, dec = translate(batch, N)
        tokens += hyps
        texts += dec
    loop_s = time.perf_counter() - t
    steps = [len(h) + (1 if len(h) < N else 0) for h in tokens]
stopped_early = sum(1 for s in steps if s < N)
print(json.dumps({"load_s": load_s, "loop_s": loop_s, "texts": texts, "tokens": tokens, "steps": steps,
                  "generated_tokens": sum(steps), "stopped_early": stopped_early}))
"""

CONVERT = r"""
import sys, time, ctranslate2
t = time.perf_counter()
ctranslate2.converters.TransformersConverter(sys.argv[1]).convert(sys.argv[2], quantization="float32", force=True)
print(time.perf_counter() - t)
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def corpus_lines():
    # split on "\n" only: the strings hold U+2028 and the like raw, which str.splitlines would split on
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").split("\n") if line.strip()]


def make_tokenizer(folder: Path, spm_dir: Path):
    """source.spm, target.spm, vocab.json, tokenizer_config.json, special_tokens_map.json in folder."""
    import sentencepiece as spm
    spm_dir.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(s.split()) for s in corpus_lines() if isinstance(s, str)]
    pieces = []
    for side, part in (("source", lines[0::2]), ("target", lines[1::2])):
        txt = spm_dir / f"{side}.txt"
        txt.write_text("\n".join(s for s in part if s) + "\n", encoding="utf-8")
        # Marian's spm: unigram, </s> and <unk> only (no <s>); Marian's vocab.json holds the ids.
        spm.SentencePieceTrainer.train(input=str(txt), model_prefix=str(spm_dir / side), vocab_size=SPM_PIECES,
                                       model_type="unigram", character_coverage=1.0, hard_vocab_limit=False,
                                       unk_id=1, eos_id=0, bos_id=-1, pad_id=-1, num_threads=1,
                                       minloglevel=2)
        (folder / f"{side}.spm").write_bytes((spm_dir / f"{side}.model").read_bytes())
        sp = spm.SentencePieceProcessor(model_file=str(spm_dir / f"{side}.model"))
        pieces += [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                   if not (sp.is_control(i) or sp.is_unknown(i))]
    vocab = {"</s>": 0, "<unk>": 1}
    for p in pieces:
        vocab.setdefault(p, len(vocab))
    n_pieces = len(vocab)
    for i in range(len(vocab), PAD):
        vocab[f"<unused_{i}>"] = i
    vocab["<pad>"] = PAD
    assert len(vocab) == VOCAB and sorted(vocab.values()) == list(range(VOCAB))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "MarianTokenizer", "source_lang": "en", "target_lang": "de",
        "model_max_length": 512, "separate_vocabs": False, "sp_model_kwargs": {},
        "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, indent=1))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}))
    return n_pieces


def make_model(work: Path):
    """work/model: the random Marian and its tokenizer (made once). Returns the seconds spent making
    it (None: reused)."""
    folder = work / "model"
    if (folder / "model.safetensors").exists() and (folder / "vocab.json").exists():
        return None
    t = time.perf_counter()
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer
    folder.mkdir(parents=True, exist_ok=True)
    log("training source.spm and target.spm")
    n_pieces = make_tokenizer(folder, work / "spm")  # ids n_pieces .. PAD - 1 are <unused_N> fillers
    log(f"vocab.json: {n_pieces} pieces, fillers to {PAD}")
    torch.manual_seed(0)
    cfg = MarianConfig(vocab_size=VOCAB, decoder_vocab_size=VOCAB, d_model=512, encoder_layers=6, decoder_layers=6,
                       encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
                       decoder_ffn_dim=2048, activation_function="swish", max_position_embeddings=512,
                       scale_embedding=True, share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
                       pad_token_id=PAD, decoder_start_token_id=PAD, eos_token_id=0, bos_token_id=0,
                       forced_eos_token_id=0, dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
                       init_std=INIT_STD, architectures=["MarianMTModel"])
    model = MarianMTModel(cfg).eval()
    with torch.no_grad():
        # Marian's <pad> row is zero (the decoder starts from a zero embedding); the fillers' rows
        # too, so their logits are 0 and the (tied) lm_head picks real pieces.
        model.get_input_embeddings().weight[n_pieces:].zero_()
    model.generation_config = GenerationConfig(bad_words_ids=[[PAD]], bos_token_id=0, decoder_start_token_id=PAD,
                                               eos_token_id=0, forced_eos_token_id=0, max_length=512, num_beams=4,
                                               pad_token_id=PAD, renormalize_logits=True)
    model.save_pretrained(folder)
    tok = MarianTokenizer.from_pretrained(folder)
    ids = tok(["Hello world! This is a simple test."])["input_ids"][0]
    log(f"MarianTokenizer check: {tok.convert_ids_to_tokens(ids)}")
    assert ids[-1] == 0 and 1 not in ids, ids
    return time.perf_counter() - t


def make_sentences(work: Path, n: int):
    """--sentences corpus lines of 8 to 40 words, evenly spaced over the candidates, into sentences.txt."""
    from transformers import MarianTokenizer
    tok = MarianTokenizer.from_pretrained(work / "model")
    cands = [s.strip() for s in corpus_lines() if isinstance(s, str)]
    cands = [s for s in cands if 8 <= len(s.split()) <= 40 and s.isprintable() and len(s.splitlines()) == 1
             and not any(x in s for x in SPECIAL_TEXT)]
    cands = [s for s in cands if len(tok(s)["input_ids"]) <= MAX_SOURCE]
    if len(cands) < n:
        raise SystemExit(f"only {len(cands)} candidate sentences in {CORPUS}")
    chosen = [cands[i * len(cands) // n] for i in range(n)]
    (work / "sentences.txt").write_text("".join(s + "\n" for s in chosen), encoding="utf-8")
    (work / "sentences1.txt").write_text(chosen[0] + "\n", encoding="utf-8")
    lens = [len(tok(s)["input_ids"]) for s in chosen]
    return chosen, {"candidates": len(cands), "first_source_pieces": tok.tokenize(chosen[0]),
                    "source_tokens_mean": statistics.mean(lens),
                    "source_tokens_max": max(lens), "unk_pieces": sum(tok(s)["input_ids"].count(1) for s in chosen)}


def convert_ct2(work: Path, env):
    """work/ct2 (float32), once. Returns (seconds or None if reused, the converter's warning lines)."""
    ct2 = work / "ct2"
    if (ct2 / "model.bin").exists():
        return None, []
    log("converting model/ with ctranslate2's TransformersConverter")
    p = subprocess.run([sys.executable, "-c", CONVERT, str(work / "model"), str(ct2)],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"ct2 conversion failed: {p.stderr[-2000:]}")
    warns = [line.strip() for line in p.stderr.splitlines()
             if re.search(r"warn", line, re.I) and "warnings.warn(" not in line]
    return float(p.stdout.strip().splitlines()[-1]), warns


def hfjit_missing(hfjit):
    """Why this hfjit cannot run the benchmark (None if it can)."""
    if not Path(hfjit).exists():
        return f"{hfjit} does not exist"
    for sub, opts in (("trace", ("--target-length",)), ("run", ("--num-beams", "--max-new-tokens", "--batch-size"))):
        h = subprocess.run([hfjit, sub, "--help"], capture_output=True, text=True).stdout
        missing = [o for o in opts if o not in h]
        if missing:
            return f"`hfjit {sub}` has no {', '.join(missing)}"
    return None


def trace(hfjit, work: Path, new, env):
    """model.pt for --target-length NEW+1, traced once per NEW. Returns the trace's seconds (recorded)."""
    pt, rec = work / "model.pt", work / "model.pt.json"
    if pt.exists() and rec.exists() and json.loads(rec.read_text())["target_length"] == new + 1:
        return json.loads(rec.read_text())["seconds"]
    log(f"hfjit trace --target-length {new + 1}")
    t = time.perf_counter()
    subprocess.run([hfjit, "trace", str(work / "model"), "-o", str(pt), "--max-length", str(MAX_SOURCE),
                    "--target-length", str(new + 1), "--force"], check=True, stdout=sys.stderr, env=env)
    s = time.perf_counter() - t
    rec.write_text(json.dumps({"target_length": new + 1, "seconds": s}))
    return s


def timed_rss(cmd, env):
    """(wall seconds, peak RSS MiB, stdout) of one child under /usr/bin/time -v (which starts clean,
    unlike a child forked from this process: Linux keeps the fork's high-water mark across exec)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} {cmd[1] if len(cmd) > 1 else ''} exited {p.returncode}: "
                           f"{p.stderr.strip()[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return wall, int(m.group(1)) / 1024, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--hfjit", default=str(ROOT / "build" / "hfjit"))
    ap.add_argument("--sentences", type=int, default=100)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--beams", default="1,4", help="comma-separated num_beams settings (default 1,4)")
    ap.add_argument("--skip-hfjit", action="store_true", help="transformers and CTranslate2 only")
    args = ap.parse_args()
    beams = [int(b) for b in args.beams.split(",")]
    T, B, N, S = args.threads, args.batch, args.max_new_tokens, args.sentences

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    hfjit = str(Path(args.hfjit).resolve())
    if not args.skip_hfjit:
        why = hfjit_missing(hfjit)
        if why:
            raise SystemExit(f"{why}: build it, or pass --skip-hfjit")
    env = dict(os.environ, OMP_NUM_THREADS=str(T))
    t0 = time.perf_counter()
    setup = {"model_s": make_model(work)}
    t = time.perf_counter()
    sentences, sent_info = make_sentences(work, S)
    setup["sentences_s"] = time.perf_counter() - t
    setup["ct2_convert_s"], ct2_warnings = convert_ct2(work, env)
    for w in ct2_warnings:
        log(f"ct2 converter: {w}")
    hfjit_error = None
    if not args.skip_hfjit:
        try:
            setup["hfjit_trace_s"] = trace(hfjit, work, N, env)
        except subprocess.CalledProcessError as e:
            hfjit_error = f"hfjit trace exited {e.returncode}"

    import ctranslate2
    import sentencepiece
    import torch
    import transformers
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "ctranslate2": ctranslate2.__version__, "sentencepiece": sentencepiece.__version__}
    if not args.skip_hfjit and not hfjit_error:
        versions["hfjit"] = subprocess.run([hfjit, "--version"], capture_output=True, text=True).stdout.strip()

    res = {"machine": machine.describe(), "versions": versions, "load1_before": machine.load1(),
           "busy_cores_before": machine.busy_cores()}
    py, sfile = sys.executable, str(work / "sentences.txt")

    def child(mode, b):
        cmd = [py, "-c", CHILD, mode, str(work / "model"), str(work / "ct2"), sfile, str(T), str(B), str(b), str(N)]
        wall, rss, out = timed_rss(cmd, env)
        r = json.loads(out.strip().splitlines()[-1])
        r.update(process_s=wall, peak_rss_mb=rss, sentences_per_s=S / r["loop_s"],
                 tokens_per_s=r["generated_tokens"] / r["loop_s"], process_sentences_per_s=S / wall)
        return r

    def run_hfjit(b, f):
        return timed_rss([hfjit, "--threads", str(T), "run", str(work / "model.pt"), "--input", f, "--json",
                          "--batch-size", str(B), "--num-beams", str(b), "--max-new-tokens", str(N)], env)

    rounds, reference, texts_seen = [], {}, {}
    for r in range(args.rounds):
        entry = {}
        for b in beams:
            e = {}
            if not args.skip_hfjit and not hfjit_error:
                log(f"round {r + 1}/{args.rounds}, beams {b}: hfjit run ({S} sentences, then 1)")
                try:
                    wall, rss, out = run_hfjit(b, sfile)
                    wall1, rss1, _ = run_hfjit(b, str(work / "sentences1.txt"))
                    answers = [json.loads(line) for line in out.strip().splitlines()]
                    answers = [a[0] if isinstance(a, list) else a for a in answers]
                    if len(answers) != S:
                        raise RuntimeError(f"hfjit run printed {len(answers)} answers for {S} inputs")
                    texts_seen[("hfjit", b)] = [a["translation_text"] for a in answers]
                except (RuntimeError, ValueError, KeyError) as err:
                    hfjit_error = f"{type(err).__name__}: {err}"
                    log(f"hfjit left out from here on: {hfjit_error}")
                else:
                    e["hfjit"] = {"process_s": wall, "peak_rss_mb": rss, "process_1_sentence_s": wall1,
                                  "peak_rss_1_sentence_mb": rss1, "startup_subtracted_s": wall - wall1,
                                  "process_sentences_per_s": S / wall,
                                  "startup_subtracted_sentences_per_s": S / (wall - wall1) if wall > wall1 else None}
            for mode in ("transformers", "ct2"):
                log(f"round {r + 1}/{args.rounds}, beams {b}: {mode}")
                c = child(mode, b)
                texts_seen[(mode, b)] = c.pop("texts")
                reference[(mode, b)] = (c.pop("tokens"), c.pop("steps"))
                e[mode] = c
            tf = e["transformers"]
            e["ratio_ct2"] = e["ct2"]["sentences_per_s"] / tf["sentences_per_s"]
            e["ratio_ct2_process"] = e["ct2"]["process_sentences_per_s"] / tf["process_sentences_per_s"]
            if "hfjit" in e:
                h = e["hfjit"]
                sub = h["startup_subtracted_sentences_per_s"]
                h["tokens_per_s_at_transformers_count"] = sub and sub * tf["generated_tokens"] / S
                e["ratio_hfjit_startup_subtracted"] = sub and sub / tf["sentences_per_s"]
                e["ratio_hfjit_process_vs_loop"] = h["process_sentences_per_s"] / tf["sentences_per_s"]
                e["ratio_hfjit_process_vs_process"] = h["process_sentences_per_s"] / tf["process_sentences_per_s"]
            entry[f"beams_{b}"] = e
            log(json.dumps(e))
        rounds.append(entry)
    res["load1_after"] = machine.load1()

    medians = {}
    for b in beams:
        es = [e[f"beams_{b}"] for e in rounds]
        def med(values):
            values = [v for v in values if v is not None]
            return statistics.median(values) if values else None
        keys = dict.fromkeys(k for e in es for k in e if k.startswith("ratio"))
        m = {k: med(e.get(k) for e in es) for k in keys}
        for who in ("transformers", "ct2", "hfjit"):
            rows = [e[who] for e in es if who in e]
            if rows:
                m[who] = {k: med(x[k] for x in rows) for k in rows[0] if k.endswith(("_per_s", "_s", "_mb"))}
        medians[f"beams_{b}"] = m

    # Correctness (the last round's outputs; every round computes the same).
    # Greedy is the check (beams: informational; CTranslate2's beam search differs from transformers').
    # CTranslate2's tokens are cut to NEW-1: transformers' last step is the forced eos.
    correctness = {}
    for b in beams:
        tf_tok, _ = reference[("transformers", b)]
        ct_tok, _ = reference[("ct2", b)]
        same = [a == c[:N - 1] for a, c in zip(tf_tok, ct_tok)]
        correctness[f"ct2_beams_{b}_tokens_equal_fraction"] = sum(same) / S
        correctness[f"ct2_beams_{b}_first_differences"] = [
            {"sentence": i, "at_token": next((k for k, (x, y) in enumerate(zip(tf_tok[i], ct_tok[i])) if x != y),
                                             min(len(tf_tok[i]), len(ct_tok[i])))}
            for i in range(S) if not same[i]][:10]
        if ("hfjit", b) in texts_seen:
            tf_txt, hf_txt = texts_seen[("transformers", b)], texts_seen[("hfjit", b)]
            eq = [a == c for a, c in zip(tf_txt, hf_txt)]
            correctness[f"hfjit_beams_{b}_texts_equal_fraction"] = sum(eq) / S
            correctness[f"hfjit_beams_{b}_first_unequal"] = next(
                ({"sentence": i, "transformers": tf_txt[i], "hfjit": hf_txt[i]} for i in range(S) if not eq[i]), None)
    for b in beams:
        for mode in ("transformers", "ct2"):
            toks, steps = reference[(mode, b)]
            correctness[f"{mode}_beams_{b}_stopped_early"] = sum(1 for s in steps if s < N)
            correctness[f"{mode}_beams_{b}_text_tokens_mean"] = statistics.mean(len(x) for x in toks)

    res.update({
        "settings": {"sentences": S, "batch": B, "threads": T, "max_new_tokens": N, "rounds": args.rounds,
                     "beams": beams, "max_source_length": MAX_SOURCE, "hfjit": not args.skip_hfjit},
        "model": {"config": "MarianMTModel, d_model 512, 6+6 layers, 8 heads, ffn 2048, vocab 58101, random (seed 0)",
                  "weights_mb": (work / "model" / "model.safetensors").stat().st_size / 2**20,
                  "ct2_mb": (work / "ct2" / "model.bin").stat().st_size / 2**20,
                  **({"artifact_mb": (work / "model.pt").stat().st_size / 2**20}
                     if not args.skip_hfjit and (work / "model.pt").exists() else {})},
        "sentences": sent_info,
        "setup_s": setup,
        "ct2_converter_warnings": ct2_warnings,
        "rounds": rounds,
        "medians": medians,
        "correctness": correctness,
        "example": {"source": sentences[0], "beams": beams[0],
                    **{who: texts_seen[(who, beams[0])][0] for who in ("transformers", "ct2", "hfjit")
                       if (who, beams[0]) in texts_seen}},
        "machine_busy": machine.too_busy(res, T),
        **({"hfjit_error": hfjit_error} if hfjit_error else {}),
        "total_s": time.perf_counter() - t0,
    })
    log(machine.load_note(res))
    if res["machine_busy"]:
        log(f"WARNING: {res['busy_cores_before']:.1f} of {res['machine']['cores']} cores busy just before the run, "
            f"{T} threads: other work shares the cores; run again on a quiet machine")
    print(json.dumps(res, ensure_ascii=False))


if __name__ == "__main__":
    main()
