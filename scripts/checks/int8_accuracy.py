#!/usr/bin/env python3
"""Int8 accuracy of all-MiniLM-L6-v2, layer by layer and end to end (issue 17).

  analyze  Python only (torch's own kernels simulated exactly in fp32): for
           each Linear, its input's range and outlier channels and the relative
           error of its output under each activation scheme; which layers the
           final cosine loss comes from; end-to-end cosine / top-1 per scheme.
  classifier DIR  writes MiniLM's encoder + pooler with a trained 13-label head
           (the kind of each sentence; BertForSequenceClassification) to DIR,
           for hfjit trace.
  eval FP32_EMB INT8_EMB [FP32_CLS INT8_CLS]  hfjit's outputs (run --output):
           cosine per sentence (min / mean) and top-1 agreement.

  .venv-ref/bin/python scripts/checks/int8_accuracy.py analyze
Schemes (weights: int8 per output channel, symmetric, scale max|w|/127.5):
  torch_rr   activations uint8 per tensor, 7-bit (reduce_range): torch's
             quantize_dynamic / hfjit's int8-dynamic
  tensor8    the same with all 8 bits
  token8     asymmetric 8-bit, one scale and zero point per token (row)
"""
import json
import sys

import numpy as np
import torch

MODEL = ".cache/models/all-MiniLM-L6-v2"
SENTENCES = "tests/fixtures/minilm/sentences1000.txt"
MAX_LEN = 128


def fq_weight(w):
    s = (w.abs().amax(1, keepdim=True) / 127.5).clamp_min(torch.finfo(torch.float32).eps)
    return (w / s).round().clamp(-128, 127) * s


def fq_act(x, scheme):
    if scheme == "fp32":
        return x
    if scheme == "token8":
        lo = x.amin(-1, keepdim=True).clamp_max(0)
        hi = x.amax(-1, keepdim=True).clamp_min(0)
        qmax = 255
    else:
        lo, hi = x.min().clamp_max(0), x.max().clamp_min(0)
        qmax = 127 if scheme == "torch_rr" else 255
    s = ((hi - lo) / qmax).clamp_min(1e-8)
    zp = (-lo / s).round().clamp(0, qmax)
    return ((x / s).round() + zp).clamp(0, qmax).sub(zp) * s


class Sim:
    """Patches every nn.Linear of a model: scheme per layer name."""

    def __init__(self, model):
        self.lins = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
        self.w = {n: m.weight.detach().clone() for n, m in self.lins.items()}
        self.wq = {n: fq_weight(w) for n, w in self.w.items()}
        self.plan = {}
        for n, m in self.lins.items():
            m.forward = self._fwd(n, m)

    def _fwd(self, name, m):
        def f(x):
            scheme = self.plan.get(name, "fp32")
            w = self.w[name] if scheme == "fp32" else self.wq[name]
            return torch.nn.functional.linear(fq_act(x, scheme), w, m.bias)
        return f


def short(name):
    return name.replace("0.auto_model.", "").replace("0.model.", "").replace("encoder.layer.", "L").replace(
        "attention.self.", "").replace("attention.output.dense", "attn_out").replace(
        "intermediate.dense", "ffn_in").replace("output.dense", "ffn_out")


def load_sentences():
    with open(SENTENCES, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def batches(tok, sents, bs=50):
    order = sorted(range(len(sents)), key=lambda i: len(sents[i]))
    for i in range(0, len(order), bs):
        idx = order[i:i + bs]
        yield idx, tok([sents[j] for j in idx], padding=True, truncation=True,
                       max_length=MAX_LEN, return_tensors="pt")


def embed(st, sents):
    out = torch.empty(len(sents), 384)
    with torch.inference_mode():
        for idx, feats in batches(st.tokenizer, sents):
            out[idx] = st(dict(feats))["sentence_embedding"]
    return out


def cos_stats(a, b):
    c = torch.nn.functional.cosine_similarity(a, b, dim=1)
    return c.min().item(), c.mean().item()


def analyze():
    from sentence_transformers import SentenceTransformer
    torch.manual_seed(0)
    torch.set_num_threads(2)
    sents = load_sentences()
    st = SentenceTransformer(MODEL, device="cpu")
    st.max_seq_length = MAX_LEN
    sim = Sim(st)
    names = list(sim.lins)
    ref = embed(st, sents)

    # Per layer: input statistics and output error, on the fp32 model's inputs.
    stats = {n: {"err": {s: [0.0, 0.0] for s in ("torch_rr", "tensor8", "token8")},
                 "chmax": None, "absmax": 0.0} for n in names}

    def hook(name):
        def h(mod, inp, out):
            x = inp[0].reshape(-1, inp[0].shape[-1])
            x = x[x.abs().sum(1) > 0]
            st_ = stats[name]
            chmax = x.abs().amax(0)
            st_["chmax"] = chmax if st_["chmax"] is None else torch.maximum(st_["chmax"], chmax)
            y = torch.nn.functional.linear(x, sim.w[name])
            for s in st_["err"]:
                yq = torch.nn.functional.linear(fq_act(x, s), sim.wq[name])
                st_["err"][s][0] += (yq - y).pow(2).sum().item()
                st_["err"][s][1] += y.pow(2).sum().item()
        return h

    hs = [sim.lins[n].register_forward_hook(hook(n)) for n in names]
    sub = sents[::4]
    with torch.inference_mode():
        for idx, feats in batches(st.tokenizer, sub):
            # per sentence so per-tensor scales see one sentence, as at batch 1
            for i in range(feats["input_ids"].shape[0]):
                m = feats["attention_mask"][i].bool()
                st({k: v[i:i + 1, m] for k, v in feats.items()})
    for h in hs:
        h.remove()

    print(f"Per Linear (inputs of {len(sub)} sentences, batch 1): relative output error "
          "||y_q - y|| / ||y||, input max|x|, outlier ratio (max channel / median channel max)")
    print(f"{'layer':18} {'torch_rr':>9} {'tensor8':>9} {'token8':>9} {'max|x|':>8} {'ratio':>7}  top channels")
    for n in names:
        s = stats[n]
        e = {k: (v[0] / v[1]) ** 0.5 for k, v in s["err"].items()}
        ch = s["chmax"]
        top = ch.topk(3).indices.tolist()
        print(f"{short(n):18} {e['torch_rr']:9.4f} {e['tensor8']:9.4f} {e['token8']:9.4f} "
              f"{ch.max().item():8.2f} {(ch.max() / ch.median()).item():7.1f}  {top}")

    # Which layers the final loss comes from (a quarter of the sentences).
    def run(plan, sents_=sub):
        sim.plan = plan
        out = cos_stats(embed(st, sents_), ref[::4] if sents_ is sub else ref)
        sim.plan = {}
        return out

    kinds = ["query", "key", "value", "attn_out", "ffn_in", "ffn_out"]
    kind_of = {n: next(k for k in kinds if short(n).endswith(k)) for n in names if ".encoder.layer." in n}
    print("\nSensitivity (torch_rr; cosine to fp32, min / mean):")
    print(f"  all quantized: {run({n: 'torch_rr' for n in kind_of})}")
    for k in kinds:
        only = {n: "torch_rr" for n in kind_of if kind_of[n] == k}
        but = {n: "torch_rr" for n in kind_of if kind_of[n] != k}
        print(f"  {k:9} only: %.4f / %.4f   all but {k}: %.4f / %.4f" % (*run(only), *run(but)))
    for li in range(6):
        but = {n: "torch_rr" for n in kind_of if not short(n).startswith(f"L{li}.")}
        print(f"  all but layer {li}: %.4f / %.4f" % run(but))

    print("\nEnd to end, 1,000 sentences (cosine min / mean):")
    for scheme in ("torch_rr", "tensor8", "token8"):
        print(f"  {scheme:9}: %.4f / %.4f" % run({n: scheme for n in kind_of}, sents))
        print(f"  {scheme:9} ffn_out fp32: %.4f / %.4f" % run(
            {n: scheme for n in kind_of if kind_of[n] != "ffn_out"}, sents))


def classifier(out_dir):
    """MiniLM's encoder + pooler with a trained head: which of the 13 kinds of
    scripts/checks/make_sentences.py a sentence is (prose, code, url, ...),
    logistic regression on the float32 pooler outputs of the even-numbered
    sentences. A trained head has real decision margins; a random one puts
    every label within a hair of the others, and its top-1 flips on noise."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from make_sentences import KINDS, generate
    from transformers import AutoTokenizer, BertForSequenceClassification
    torch.manual_seed(0)
    torch.set_num_threads(2)
    kinds = list(KINDS)
    pairs = generate()
    assert [s for _, s in pairs] == load_sentences(), "sentences1000.txt is not make_sentences.py's"
    labels = torch.tensor([kinds.index(k) for k, _ in pairs])
    m = BertForSequenceClassification.from_pretrained(
        MODEL, num_labels=len(kinds), id2label=dict(enumerate(kinds)), label2id={k: i for i, k in enumerate(kinds)})
    m.eval()
    tok = AutoTokenizer.from_pretrained(MODEL)
    sents = [s for _, s in pairs]
    feats = torch.empty(len(sents), m.config.hidden_size)
    with torch.inference_mode():
        for idx, enc in batches(tok, sents):
            feats[idx] = m.bert(**enc).pooler_output
    train = torch.arange(0, len(sents), 2)
    head = torch.nn.Linear(m.config.hidden_size, len(kinds))
    opt = torch.optim.LBFGS(head.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(feats[train]), labels[train]) + 1e-4 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = head(feats).argmax(1)
        m.classifier.weight.copy_(head.weight)
        m.classifier.bias.copy_(head.bias)
    test = torch.arange(1, len(sents), 2)
    print(json.dumps({"train_accuracy": (pred[train] == labels[train]).float().mean().item(),
                      "heldout_accuracy": (pred[test] == labels[test]).float().mean().item()}))
    m.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)


def top1(path):
    with open(path) as f:
        rows = [json.loads(l) for l in f]
    return [r[0]["label"] if isinstance(r, list) else r["label"] for r in rows]


def evaluate(fp32, int8, fp32_cls=None, int8_cls=None):
    a, b = torch.from_numpy(np.load(fp32)), torch.from_numpy(np.load(int8))
    mn, mean = cos_stats(a, b)
    res = {"cosine_min": round(mn, 4), "cosine_mean": round(mean, 4)}
    if fp32_cls:
        x, y = top1(fp32_cls), top1(int8_cls)
        res["top1_agreement"] = sum(p == q for p, q in zip(x, y)) / len(x)
    print(json.dumps(res))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "analyze":
        analyze()
    elif cmd == "classifier":
        classifier(sys.argv[2])
    else:
        evaluate(*sys.argv[2:])
