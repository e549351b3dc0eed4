#!/usr/bin/env python3
"""The two levers of issue 7 not built into hfjit, measured before building
them, on the same libtorch hfjit links (Debian's python3-torch 1.13 in
.venv-ref):

1. fp32 Linear through oneDNN on prepacked weights (what
   torch.utils.mkldnn.to_mkldnn does) against the default path (OpenBLAS
   sgemm via aten::linear), on BERT-base's three Linear shapes at 128 tokens.
2. A fused encoder layer (aten::_transformer_encoder_layer_fwd, the fast path
   of nn.TransformerEncoderLayer) against transformers' BertLayer with the
   same weights: dense (batch 1 x 128) and padded (batch 8, lengths 16-128,
   where the fused path runs on nested tensors and skips the padding).

Every pair is timed in turns (A, B, A, B, ...) in one process, medians
reported, and the outputs compared.

    .venv-ref/bin/python scripts/bench/bench_levers.py [--threads 2] [--rounds 15]
"""
import argparse
import statistics
import time

import torch


def timed(fn, rounds, inner):
    fn()  # warm-up
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t) / inner * 1e3)
    return out


def race(a, b, rounds, inner):
    """Medians of a and b timed in alternation."""
    ta, tb = [], []
    a(), b()
    for _ in range(rounds):
        ta += timed(a, 1, inner)
        tb += timed(b, 1, inner)
    return statistics.median(ta), statistics.median(tb)


def linear_lever(rounds):
    print("## fp32 Linear: aten::linear (OpenBLAS) vs oneDNN on prepacked weights, 128 tokens")
    print("| shape (tokens x in -> out) | aten::linear ms | GFLOP/s | oneDNN prepacked ms | GFLOP/s | oneDNN / aten | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    torch.manual_seed(0)
    for k, n in [(768, 768), (768, 3072), (3072, 768)]:
        x = torch.randn(128, k)
        lin = torch.nn.Linear(k, n).eval()
        w_mkl = lin.weight.detach().to_mkldnn()
        b = lin.bias.detach()

        def dense():
            return torch.nn.functional.linear(x, lin.weight, lin.bias)

        def onednn():
            # torch.utils.mkldnn.MkldnnLinear.forward on a dense input
            return torch._C._nn.mkldnn_linear(x.to_mkldnn(), w_mkl, b).to_dense()

        with torch.no_grad():
            diff = (dense() - onednn()).abs().max().item()
            ta, tb = race(dense, onednn, rounds, 20)
        flop = 2 * 128 * k * n
        print(f"| 128 x {k} -> {n} | {ta:.3f} | {flop / ta / 1e6:.1f} | {tb:.3f} | {flop / tb / 1e6:.1f} "
              f"| {tb / ta:.2f}x | {diff:.1e} |")


def fused_lever(rounds):
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    print()
    print("## One BERT-base encoder layer: transformers BertLayer vs aten::_transformer_encoder_layer_fwd")
    cfg = BertConfig(hidden_size=768, num_attention_heads=12, intermediate_size=3072,
                     hidden_act="gelu", layer_norm_eps=1e-12, attn_implementation="eager")
    torch.manual_seed(0)
    bert = BertLayer(cfg).eval()
    fused = torch.nn.TransformerEncoderLayer(768, 12, 3072, dropout=0.0, activation="gelu",
                                             layer_norm_eps=1e-12, batch_first=True).eval()
    with torch.no_grad():  # the same weights
        a = bert.attention
        fused.self_attn.in_proj_weight.copy_(torch.cat([a.self.query.weight, a.self.key.weight, a.self.value.weight]))
        fused.self_attn.in_proj_bias.copy_(torch.cat([a.self.query.bias, a.self.key.bias, a.self.value.bias]))
        fused.self_attn.out_proj.weight.copy_(a.output.dense.weight)
        fused.self_attn.out_proj.bias.copy_(a.output.dense.bias)
        fused.norm1.weight.copy_(a.output.LayerNorm.weight)
        fused.norm1.bias.copy_(a.output.LayerNorm.bias)
        fused.linear1.weight.copy_(bert.intermediate.dense.weight)
        fused.linear1.bias.copy_(bert.intermediate.dense.bias)
        fused.linear2.weight.copy_(bert.output.dense.weight)
        fused.linear2.bias.copy_(bert.output.dense.bias)
        fused.norm2.weight.copy_(bert.output.LayerNorm.weight)
        fused.norm2.bias.copy_(bert.output.LayerNorm.bias)
    encoder = torch.nn.TransformerEncoder(fused, num_layers=1, enable_nested_tensor=True).eval()

    print("| input | BertLayer ms | fused ms | fused / BertLayer | max abs diff (real tokens) |")
    print("|---|---|---|---|---|")
    g = torch.Generator().manual_seed(1)
    for batch, lengths in [(1, [128]), (8, torch.randint(16, 129, (8,), generator=g).tolist())]:
        x = torch.randn(batch, 128, 768, generator=g)
        pad = torch.arange(128)[None, :] >= torch.tensor(lengths)[:, None]  # True = padding
        ext = torch.zeros(batch, 1, 1, 128).masked_fill(pad[:, None, None, :], torch.finfo(torch.float32).min)

        def ref():
            return bert(x, attention_mask=ext)[0]

        def fast():
            return encoder(x, src_key_padding_mask=pad if batch > 1 else None)

        with torch.no_grad():
            r, f = ref(), fast()
            # nn.TransformerEncoder pads its nested output back to the longest input only
            f = torch.nn.functional.pad(f, (0, 0, 0, 128 - f.shape[1]))
            real = ~pad
            diff = (r - f)[real].abs().max().item()
            ta, tb = race(ref, fast, rounds, 5)
        real_tokens = sum(lengths)
        label = f"b{batch} x 128" + ("" if batch == 1 else f", {real_tokens} real tokens of {batch * 128}")
        print(f"| {label} | {ta:.2f} | {tb:.2f} | {tb / ta:.2f}x | {diff:.1e} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {torch.backends.mkldnn.is_available() and 'oneDNN' or ''}")
    linear_lever(args.rounds)
    fused_lever(args.rounds)


if __name__ == "__main__":
    main()
