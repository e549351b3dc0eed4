#!/usr/bin/env python3
"""Writes the varied 1,000-sentence set the int8 accuracy check runs on.

Deterministic (seeded, no downloads): prose in several languages and scripts,
numbers and units, symbols, code, URLs and e-mail addresses, emoji, one-word
inputs, and long paragraphs that run past 128 tokens (hfjit truncates them to
the traced length). One sentence a line, no tabs or newlines inside.

  .venv-ref/bin/python scripts/checks/make_sentences.py \
      tests/fixtures/minilm/sentences1000.txt
"""
import random
import sys

SEED = 17
N = 1000

SUBJECTS = ["The cat", "My neighbour", "A small startup", "The committee", "Our team",
            "The old bridge", "This algorithm", "The weather service", "A young doctor",
            "The orchestra", "Every student", "The new phone", "The river", "Grandma"]
VERBS = ["announced", "rejected", "repaired", "described", "ignored", "celebrated",
         "measured", "forgot", "painted", "sold", "explained", "predicted", "doubted"]
OBJECTS = ["the quarterly results", "a strange noise at night", "the broken window",
           "the price of bread", "an unexpected storm", "the final chapter",
           "a bug in the parser", "the holiday schedule", "the red bicycle",
           "three overdue invoices", "the migration of birds", "a cheaper flight"]
TAILS = ["yesterday.", "before lunch.", "without telling anyone.", "for the third time.",
         "and nobody was surprised.", "in front of the whole town.", "at 3 a.m.",
         "because it was raining.", "with great enthusiasm.", "!", "?", "..."]
QUESTIONS = ["How do I reset my password?", "What is the capital of Australia?",
             "Why is the sky blue?", "Can you recommend a good book?",
             "Where did you park the car?", "Is it going to rain tomorrow?",
             "Who wrote this code?", "When does the store open?"]
REVIEWS = ["Absolutely loved it, would buy again.", "Terrible service, never coming back.",
           "It was okay, nothing special.", "The battery dies after two hours.",
           "Best pizza in town, hands down.", "Shipping took forever and the box was crushed.",
           "Great value for the money.", "I want a refund immediately."]
FOREIGN = [
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Je voudrais réserver une table pour deux personnes ce soir.",
    "¿Dónde está la estación de tren más cercana?",
    "Il treno per Milano parte alle otto e mezza.",
    "Eu não sei se vou conseguir terminar o relatório hoje.",
    "Ik heb gisteren een nieuwe fiets gekocht.",
    "Я не понимаю, почему программа не компилируется.",
    "Мы поедем на дачу в субботу, если погода будет хорошей.",
    "Η θάλασσα ήταν πολύ ήρεμη σήμερα το πρωί.",
    "Bugün hava çok güzel, parka gidelim mi?",
    "Dziękuję bardzo za pomoc z tym projektem.",
    "Tämä on erittäin vaikea kysymys.",
    "今日はとても暑いですね。",
    "東京駅までどうやって行けばいいですか？",
    "我今天早上喝了两杯咖啡。",
    "这个问题比我想象的要复杂得多。",
    "오늘 저녁에 뭐 먹을까요?",
    "مرحبا، كيف حالك اليوم؟",
    "אני אוהב לקרוא ספרים בערב.",
    "मुझे हिंदी सीखना बहुत पसंद है।",
    "ฉันชอบกินอาหารไทยมาก",
    "Tôi muốn đặt một phòng khách sạn.",
    "Saya akan pergi ke pasar besok pagi.",
    "Habari za asubuhi, rafiki yangu?",
]
CODE = [
    "def add(a, b):    return a + b  # simple helper",
    "for (int i = 0; i < n; ++i) { sum += v[i] * w[i]; }",
    "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY name;",
    "const x = await fetch(`/api/v1/items?id=${id}`).then(r => r.json());",
    "std::vector<std::pair<int, std::string>> table{{1, \"one\"}, {2, \"two\"}};",
    "git commit -m \"fix: handle empty input\" && git push origin main",
    "if err != nil { return nil, fmt.Errorf(\"open %s: %w\", path, err) }",
    "<div class=\"header\" id=\"top\"><a href=\"#\">Home</a></div>",
    "x = np.linspace(0, 2 * np.pi, 100); y = np.sin(x) ** 2",
    "fn main() { println!(\"{:?}\", vec![1, 2, 3].iter().sum::<i32>()); }",
    "{\"name\": \"hfjit\", \"version\": \"0.3.1\", \"deps\": [\"libtorch\", \"fmt\"]}",
    "sudo apt-get install -y build-essential cmake ninja-build",
    "lambda x: x[0] if isinstance(x, (list, tuple)) else x",
    "SyntaxError: unexpected token '}' at line 42, column 7",
    "Traceback (most recent call last): File \"main.py\", line 3, in <module>",
]
URLS = ["https://www.example.com/path/to/page?query=1&lang=en#section-2",
        "http://localhost:8080/api/health", "ftp://files.example.org/pub/data.tar.gz",
        "https://github.com/huggingface/transformers/issues/12345",
        "john.doe+news@example.co.uk", "www.wikipedia.org/wiki/Quantization_(signal_processing)",
        "https://t.co/AbC123xYz", "mailto:support@hfjit.dev"]
EMOJI = ["😀", "🎉", "🔥", "👍", "❤️", "🤖", "🚀", "😂", "🙏", "🍕", "🌧️", "✅", "❌", "🇫🇷", "👩‍💻"]
SYMBOLS = ["@#$%^&*()", "<<>>", "~~~", "---", "±×÷≠≤≥", "§¶†‡", "€£¥₹₿", "→←↑↓", "™©®",
           "|||", "{}[]", "°C", "½ ¼ ¾", "∑∫∂√∞", "¿¡", "“quoted” ‘text’"]
WORDS = ["yes", "no", "ok", "Hello", "thanks", "Why?", "wow", "42", "N/A", "lol", "Bonjour",
         "こんにちは", "Paris", "x", "?", "!!!", "🤔", "C++", "e", "tl;dr"]


def number(rng):
    kind = rng.randrange(7)
    if kind == 0:
        return str(rng.randrange(10 ** rng.randrange(1, 10)))
    if kind == 1:
        return f"{rng.uniform(-1000, 1000):.{rng.randrange(1, 5)}f}"
    if kind == 2:
        return f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(1950, 2030)}"
    if kind == 3:
        return f"{rng.uniform(0, 100):.1f}%"
    if kind == 4:
        return f"${rng.randrange(1, 10 ** 6):,}.{rng.randrange(100):02d}"
    if kind == 5:
        return f"{rng.randrange(1, 999)} {rng.choice(['km', 'kg', 'ms', 'GB', 'mph', '°F', 'mL'])}"
    return f"+1 ({rng.randrange(200, 999)}) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}"


def prose(rng):
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"


def long_paragraph(rng):
    parts = []
    for _ in range(rng.randrange(8, 20)):
        parts.append(rng.choice([prose, lambda r: r.choice(FOREIGN), lambda r: r.choice(REVIEWS),
                                 lambda r: f"It cost {number(r)}."])(rng))
    return " ".join(parts)


def make(rng, kind):
    if kind == "prose":
        return prose(rng)
    if kind == "question":
        return rng.choice(QUESTIONS) if rng.random() < 0.5 else f"{rng.choice(QUESTIONS)} {prose(rng)}"
    if kind == "review":
        return f"{rng.choice(REVIEWS)} {rng.choice(EMOJI) if rng.random() < 0.4 else ''}".strip()
    if kind == "foreign":
        s = rng.choice(FOREIGN)
        return s if rng.random() < 0.6 else f"{s} {rng.choice(FOREIGN)}"
    if kind == "mixed":
        return f"{prose(rng)[:-1]} — {rng.choice(FOREIGN)}"
    if kind == "numbers":
        return f"{rng.choice(['Total', 'Order #', 'Temp', 'Score', 'ID'])} {number(rng)}, then {number(rng)} and {number(rng)}."
    if kind == "symbols":
        return " ".join(rng.choice(SYMBOLS + WORDS) for _ in range(rng.randrange(1, 8)))
    if kind == "code":
        return rng.choice(CODE)
    if kind == "url":
        return f"{rng.choice(['See', 'Open', 'Mail', 'Broken link:', ''])} {rng.choice(URLS)} {rng.choice(['for details', 'now', '', '(mirror)'])}".strip()
    if kind == "emoji":
        e = "".join(rng.choice(EMOJI) for _ in range(rng.randrange(1, 6)))
        return e if rng.random() < 0.3 else f"{prose(rng)} {e}"
    if kind == "short":
        return rng.choice(WORDS)
    if kind == "caps":
        return prose(rng).upper() + "!!!"
    if kind == "long":
        return long_paragraph(rng)
    raise ValueError(kind)


KINDS = {"prose": 150, "question": 70, "review": 70, "foreign": 120, "mixed": 50,
         "numbers": 90, "symbols": 60, "code": 70, "url": 60, "emoji": 60, "short": 60,
         "caps": 30, "long": 110}


def generate():
    """The set, in file order, as (kind, line) pairs (the kinds label int8_accuracy.py's classifier)."""
    assert sum(KINDS.values()) == N
    rng = random.Random(SEED)
    pairs = [(kind, make(rng, kind)) for kind, n in KINDS.items() for _ in range(n)]
    rng.shuffle(pairs)
    pairs = [(k, " ".join(s.split()) or ".") for k, s in pairs]
    # hfjit run --input reads a line that starts with "{" as a JSON object.
    return [(k, "data: " + s if s.startswith("{") else s) for k, s in pairs]


def main():
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write("\n".join(s for _, s in generate()) + "\n")


if __name__ == "__main__":
    main()
