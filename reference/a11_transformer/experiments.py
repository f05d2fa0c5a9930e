"""Experiments of a11, reproduced with this package's own functions: the transformer's parameter count, torch's
attention modules as ground truth, the properties of attention, the DETR matcher, a toy task learnt, attention maps.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a11``) or, once your functions work, on yours.
"""
from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import torch

from grader.experiments import row

from . import model
from .attention import attention_weights, multi_head_attention_forward
from .detr import hungarian_match
from .layers import positional_encoding
from .transformer import causal_mask, decoder_layer_backward, decoder_layer_forward, encoder_layer_forward
from .vision import split_attention_forward

F64 = torch.float64
PUBLISHED_TOTAL = 44_140_544  # sum(p.numel() for p in nn.Transformer().parameters())


def parameter_counts() -> list[dict]:
    """nn.Transformer() (d_model 512, 8 heads, 6 + 6 layers, d_ff 2048) against the reference's own, tensor by tensor."""
    import torch.nn as nn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its note on nested tensors and norm_first does not concern a count
        theirs = nn.Transformer(device="meta")  # shapes only, no memory
    ours = model.init_transformer()
    torch_total = sum(p.numel() for p in theirs.parameters())
    total = model.count_parameters(ours)
    enc, dec = model.count_parameters(ours["encoder"][0]), model.count_parameters(ours["decoder"][0])
    torch_enc = sum(p.numel() for p in theirs.encoder.layers[0].parameters())
    torch_dec = sum(p.numel() for p in theirs.decoder.layers[0].parameters())
    return [row("nn.Transformer() parameters (torch)", PUBLISHED_TOTAL, torch_total, torch_total == PUBLISHED_TOTAL),
            row("reference transformer of that configuration: parameters", PUBLISHED_TOTAL, total,
                total == PUBLISHED_TOTAL),
            row("one encoder layer: parameters (torch's nn.TransformerEncoderLayer)", torch_enc, enc, enc == torch_enc),
            row("one decoder layer: parameters (torch's nn.TransformerDecoderLayer)", torch_dec, dec, dec == torch_dec)]


def against_torch(g: torch.Generator) -> list[dict]:
    """Multi-head attention against nn.MultiheadAttention with the same weights (float64, causal mask)."""
    import torch.nn as nn

    n, t, e, h = 3, 6, 12, 3
    mha = nn.MultiheadAttention(e, h, batch_first=True, dtype=F64)
    x = torch.randn(n, t, e, generator=g, dtype=F64)
    mask = causal_mask(t)
    with torch.no_grad():
        ref, ref_w = mha(x, x, x, attn_mask=~mask)  # torch: True = masked out
    out, cache = multi_head_attention_forward(x, x, x, mha.in_proj_weight.detach(), mha.in_proj_bias.detach(),
                                              mha.out_proj.weight.detach(), mha.out_proj.bias.detach(), h, mask)
    diff = float((out - ref).abs().max())
    wdiff = float((attention_weights(cache).mean(1) - ref_w).abs().max())
    return [row("multi-head attention vs nn.MultiheadAttention: max |output diff|", "0 (< 1e-12)", diff, diff < 1e-12),
            row("its head-averaged attention weights vs torch's: max |diff|", "0 (< 1e-12)", wdiff, wdiff < 1e-12)]


def _layer(g: torch.Generator, e: int, f: int, attentions: tuple[str, ...], norms: int) -> dict:
    p = model._layer_params(g, e, f, attentions, norms, F64)
    return {k: v + 0.1 * torch.randn(v.shape, generator=g, dtype=F64) for k, v in p.items()}  # no symmetric zeros


def properties(g: torch.Generator) -> list[dict]:
    """Self-attention without positions commutes with permutations; a causal decoder's output t ignores inputs s > t."""
    n, t, e, h = 2, 7, 8, 2
    enc = _layer(g, e, 16, ("self_attn",), 2)
    x = torch.randn(n, t, e, generator=g, dtype=F64)
    perm = torch.randperm(t, generator=g)
    out, _ = encoder_layer_forward(x, enc, h)
    out_p, _ = encoder_layer_forward(x[:, perm], enc, h)
    equi = float((out_p - out[:, perm]).abs().max())

    dec = _layer(g, e, 16, ("self_attn", "multihead_attn"), 3)
    memory = torch.randn(1, 5, e, generator=g, dtype=F64)
    y = torch.randn(1, t, e, generator=g, dtype=F64)
    out, cache = decoder_layer_forward(y, memory, dec, h, causal_mask(t))
    above, below = 0.0, 0.0
    for pos in range(t):  # row block pos of the Jacobian: the gradient of sum(out[:, pos]) wrt every input position
        dout = torch.zeros_like(out)
        dout[:, pos] = 1.0
        dx = decoder_layer_backward(dout, cache)[0][0].abs().sum(-1)  # (T,)
        above = max(above, float(dx[pos + 1:].max()) if pos + 1 < t else 0.0)
        below = max(below, float(dx[:pos + 1].min()))
    return [row("self-attention without positions: max |f(Px) - P f(x)|", "0 (< 1e-12)", equi, equi < 1e-12),
            row("causal decoder layer: max |d out_t / d x_s|, s > t", 0.0, above, above == 0.0),
            row("causal decoder layer: min |d out_t / d x_s|, s <= t", "> 0", round(below, 6), below > 0)]


def split_attention_is_se(g: torch.Generator) -> list[dict]:
    """Radix 1: split attention is a squeeze-and-excitation gate, x * sigmoid(W2 ReLU(W1 avgpool(x) + b1) + b2)."""
    n, c, hw, z = 3, 6, 5, 4
    x = torch.randn(n, c, hw, hw, generator=g, dtype=F64)
    w1, b1 = torch.randn(z, c, generator=g, dtype=F64), torch.randn(z, generator=g, dtype=F64)
    w2, b2 = torch.randn(c, z, generator=g, dtype=F64), torch.randn(c, generator=g, dtype=F64)
    out, _ = split_attention_forward(x, w1, b1, w2, b2, 1)
    se = x * torch.sigmoid(torch.relu(x.mean((2, 3)) @ w1.T + b1) @ w2.T + b2)[:, :, None, None]
    diff = float((out - se).abs().max())
    return [row("split attention, radix 1, vs a squeeze-and-excitation gate: max |diff|", "0 (< 1e-12)", diff,
                diff < 1e-12)]


def matcher(g: torch.Generator, trials: int = 200) -> list[dict]:
    """The Hungarian algorithm against scipy's linear_sum_assignment and against every permutation (N <= 6)."""
    from scipy.optimize import linear_sum_assignment

    agree = brute = 0
    for i in range(trials):
        r, s = 1 + i % 7, 1 + (i // 7) % 7
        cost = torch.rand(r, s, generator=g, dtype=F64)
        rows, cols = hungarian_match(cost)
        sr, sc = linear_sum_assignment(cost.numpy())
        agree += rows.tolist() == sr.tolist() and cols.tolist() == sc.tolist()
        if r <= 6 and s <= 6:
            best = min(itertools.permutations(range(s), r), key=lambda p: sum(float(cost[k, p[k]]) for k in range(r))) \
                if r <= s else None
            if best is not None:
                brute += cols.tolist() == list(best) and rows.tolist() == list(range(r))
            else:
                best = min(itertools.permutations(range(r), s), key=lambda p: sum(float(cost[p[k], k]) for k in range(s)))
                brute += sorted(zip(rows.tolist(), cols.tolist())) == sorted((best[k], k) for k in range(s))
    cases = sum(1 for i in range(trials) if 1 + i % 7 <= 6 and 1 + (i // 7) % 7 <= 6)
    return [row(f"Hungarian matching = scipy linear_sum_assignment ({trials} random costs, up to 7 x 7)", 1.0,
                agree / trials, agree == trials),
            row(f"Hungarian matching = brute force over permutations ({cases} costs, N <= 6)", 1.0, brute / cases,
                brute == cases)]


# The toy task: reverse a sequence of digits.

LENGTH, DIGITS, BOS = 8, 10, 10
TOY = dict(d_model=32, nhead=4, layers=1, dim_feedforward=64)


def reverse_batch(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(src, decoder input, target): the target is src reversed; the decoder input is BOS then the target shifted."""
    src = torch.randint(0, DIGITS, (n, LENGTH), generator=g)
    out = src.flip(1)
    return src, torch.cat([torch.full((n, 1), BOS), out[:, :-1]], dim=1), out


def train_reverse(steps: int = 400, batch: int = 64, lr: float = 3e-3, warmup: int = 100, seed: int = 0,
                  d_model: int = TOY["d_model"], nhead: int = TOY["nhead"], layers: int = TOY["layers"],
                  dim_feedforward: int = TOY["dim_feedforward"], test: int = 1000) -> dict:
    """A post-LN encoder-decoder trained by the reference's own backward with Adam (teacher forcing, float32);
    greedy decoding of ``test`` unseen sequences gives the token accuracy."""
    g = torch.Generator().manual_seed(seed)
    params = model.init_transformer(d_model, nhead, layers, layers, dim_feedforward, DIGITS, DIGITS + 1, g)
    opt = model.Adam(model.tensors(params), lr)
    losses = []
    for step in range(1, steps + 1):
        src, tgt_in, tgt_out = reverse_batch(batch, g)
        logits, cache = model.transformer_forward(src, tgt_in, params, nhead)
        loss, dlogits = model.cross_entropy(logits, tgt_out)
        opt.step(model.tensors(model.transformer_backward(dlogits, cache)), lr * min(1.0, step / warmup))
        losses.append(float(loss))
    src, _, tgt_out = reverse_batch(test, g)
    pred = model.greedy_decode(src, params, nhead, BOS, LENGTH)
    return {"loss": losses, "accuracy": float((pred == tgt_out).to(F64).mean()),
            "sequences": float((pred == tgt_out).all(1).to(F64).mean()), "params": params, "nhead": nhead}


def attention_maps(result: dict, seed: int = 1) -> dict:
    """One test sequence through the trained model: its encoder self-attention and cross-attention weights per head."""
    params, nhead = result["params"], result["nhead"]
    src, tgt_in, _ = reverse_batch(1, torch.Generator().manual_seed(seed))
    memory, (_, enc_caches, _) = model.encode(src, params, nhead)
    _, (_, dec_caches, _, _) = model.decode(tgt_in, memory, params, nhead)
    return {"src": src[0].tolist(), "tgt": tgt_in[0].tolist(),
            "self": attention_weights(enc_caches[-1][1])[0],  # (h, S, S)
            "cross": attention_weights(dec_caches[-1][3])[0]}  # (h, T, S)


def run(plots: Path | None = None) -> list[dict]:
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and fair to a shared machine
    g = torch.Generator().manual_seed(0)
    rows = parameter_counts() + against_torch(g) + properties(g) + split_attention_is_se(g) + matcher(g)
    result = train_reverse()
    rows += [row("toy encoder-decoder (1 + 1 layers, d 32), reversing 8 digits: token accuracy, greedy decoding",
                 ">= 0.95", round(result["accuracy"], 4), result["accuracy"] >= 0.95),
             row("  the same: whole sequences right", "reported", round(result["sequences"], 4), True)]
    if plots is not None:
        _plot(Path(plots), attention_maps(result), positional_encoding(64, 64), result["loss"])
    return rows


def _plot(folder: Path, maps: dict, pe: torch.Tensor, losses: list[float]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    heads = maps["cross"].shape[0]
    fig, axes = plt.subplots(2, heads, figsize=(3.2 * heads, 6.4), squeeze=False)
    src = [str(t) for t in maps["src"]]
    tgt = ["BOS" if t == BOS else str(t) for t in maps["tgt"]]
    for i in range(heads):
        for ax, kind, rows_labels, label in ((axes[0, i], "cross", tgt, "decoder input (query)"),
                                             (axes[1, i], "self", src, "source (query)")):
            image = ax.imshow(maps[kind][i].numpy(), cmap="viridis", vmin=0.0, vmax=1.0)
            ax.set_title(f"{'cross' if kind == 'cross' else 'encoder self'}-attention, head {i + 1}")
            ax.set(xlabel="source digit (key)", ylabel=label, xticks=range(len(src)), yticks=range(len(rows_labels)))
            ax.set_xticklabels(src)
            ax.set_yticklabels(rows_labels)
            fig.colorbar(image, ax=ax, label="attention weight", fraction=0.046)
    fig.suptitle("Trained transformer reversing digits: attention maps")
    fig.tight_layout()
    fig.savefig(folder / "a11_attention_maps.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    image = axes[0].imshow(pe.numpy(), cmap="RdBu", aspect="auto", vmin=-1, vmax=1)
    axes[0].set(title="Sinusoidal positional encoding", xlabel="feature (even: sin, odd: cos)", ylabel="position")
    fig.colorbar(image, ax=axes[0], label="PE value")
    axes[1].plot(range(1, len(losses) + 1), losses, label="training loss")
    axes[1].set(title="Toy encoder-decoder, reversing digits", xlabel="Adam step", ylabel="cross-entropy per token",
                yscale="log")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(folder / "a11_positions_and_training.png", dpi=100)
    plt.close(fig)
