"""Item 1: attnlab's MultiHeadAttention (fast path) vs torch.nn.MultiheadAttention, forward + backward.

The same weights (``from_torch``), B = 16, T in {128, 512, 1024}, d = 256, 8 heads, float32, on the CPU and on the
GPU when there is one. torch is timed both with ``need_weights=False`` (its fused path) and with its default
(``need_weights=True``, which averages the heads' weights). Target: time(attnlab) / time(torch) <= 1.05 everywhere.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import nn

import attnlab as al
from bench.common import devices, markdown_table, median_seconds, target

TITLE = "Multi-head attention: attnlab's fast path vs torch.nn.MultiheadAttention"


def run(quick: bool = False) -> dict:
    batch, lengths, d_model, heads, repeats = (2, (8, 16), 16, 2, 1) if quick else (16, (128, 512, 1024), 256, 8, 10)
    rows = []
    for device in devices():
        torch.manual_seed(0)
        theirs = nn.MultiheadAttention(d_model, heads, batch_first=True, device=device)
        ours = al.MultiHeadAttention.from_torch(theirs)
        for length in lengths:
            x = torch.randn(batch, length, d_model, device=device, requires_grad=True)
            seconds = {
                "attnlab": median_seconds(lambda: ours(x, x, x)[0].sum().backward(), device=device, repeats=repeats),
                "torch": median_seconds(lambda: theirs(x, x, x, need_weights=False)[0].sum().backward(),
                                        device=device, repeats=repeats),
                "torch default": median_seconds(lambda: theirs(x, x, x)[0].sum().backward(), device=device,
                                                repeats=repeats),
            }
            rows.append({"device": device.type, "T": length, **{f"{k}_s": v for k, v in seconds.items()},
                         "ratio": seconds["attnlab"] / seconds["torch"],
                         "ratio_default": seconds["attnlab"] / seconds["torch default"]})
    return {"batch": batch, "d_model": d_model, "heads": heads, "rows": rows}


def report(result: dict) -> str:
    return markdown_table(
        ["device", "T", "attnlab ms", "torch ms (need_weights=False)", "ratio", "torch ms (default)", "ratio"],
        [[r["device"], r["T"], 1e3 * r["attnlab_s"], 1e3 * r["torch_s"], r["ratio"], 1e3 * r["torch default_s"],
          r["ratio_default"]] for r in result["rows"]])


def targets(result: dict) -> list[dict]:
    return [target(f"MHA time / torch ({r['device']}, T = {r['T']}, {which})", r[key], "<= 1.05", r[key] <= 1.05)
            for r in result["rows"] for key, which in (("ratio", "need_weights=False"), ("ratio_default", "default"))]


def figure(result: dict) -> Figure:
    fig = Figure(figsize=(7, 3.8))
    ax = fig.subplots()
    rows = result["rows"]
    labels = [f"{r['device']}\nT={r['T']}" for r in rows]
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r["ratio"] for r in rows], 0.4, label="vs torch, need_weights=False")
    ax.bar([i + 0.2 for i in x], [r["ratio_default"] for r in rows], 0.4, label="vs torch, default")
    ax.axhline(1.05, color="k", ls="--", lw=1, label="target 1.05")
    ax.set(xticks=list(x), xticklabels=labels, ylabel="time(attnlab) / time(torch)",
           title="forward + backward, same weights (lower is faster)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
