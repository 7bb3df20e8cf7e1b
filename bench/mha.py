"""Item 1: attnlab's MultiHeadAttention (fast path) vs torch.nn.MultiheadAttention, forward + backward.

The same weights (``from_torch``), B = 16, T in {128, 512, 1024}, d = 256, 8 heads, float32, on the CPU and on the
GPU when there is one. torch is timed both with ``need_weights=False`` (its fused path) and with its default
(``need_weights=True``, which also computes and averages the heads' weights). Target: time(attnlab) / time(torch)
<= 1.05 everywhere, against ``need_weights=False`` only: attnlab's fast path computes no weights either, so that is
the like-for-like comparison; the default is shown for information (it does more work).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import nn

import attnlab as al
from bench.common import devices, markdown_table, spread_note, target, timed, with_spread

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
            calls = {
                "attnlab": lambda: ours(x, x, x)[0].sum().backward(),
                "torch": lambda: theirs(x, x, x, need_weights=False)[0].sum().backward(),
                "torch default": lambda: theirs(x, x, x)[0].sum().backward(),
            }
            row = {"device": device.type, "T": length}
            for name, call in calls.items():
                measured = timed(call, device=device, repeats=repeats)
                row |= {f"{name}_s": measured["seconds"], f"{name}_s_min": measured["seconds_min"],
                        f"{name}_s_max": measured["seconds_max"]}
            rows.append(row | {"ratio": row["attnlab_s"] / row["torch_s"],
                               "ratio_default": row["attnlab_s"] / row["torch default_s"]})
    return {"batch": batch, "d_model": d_model, "heads": heads, "repeats": repeats, "warmup": 3, "rows": rows}


def report(result: dict) -> str:
    rows = result["rows"]
    runs = f"median of {result['repeats']} runs after {result['warmup']} warm-up runs" if "repeats" in result else \
        "median of 10 runs after 3 warm-up runs"
    settings = (f"Settings: B = {result['batch']}, d_model = {result['d_model']}, {result['heads']} heads, float32, "
                f"forward + backward (the sum of the output, backpropagated), the same weights in both modules "
                f"(`from_torch`); {runs}. The ratio compares attnlab with torch's `need_weights=False`, which like "
                f"attnlab's fast path computes no weights; torch's default also computes and averages the weights, "
                f"so its column is information, not a target. Both end in the same fused kernel "
                f"(`scaled_dot_product_attention`), so a ratio below 1 comes from the work around it (projections, "
                f"checks, reshapes), which has not been profiled. {spread_note(rows, 'ms', 'attnlab_s')}")
    table = markdown_table(
        ["device", "T", "attnlab ms", "torch ms (need_weights=False)", "ratio", "torch ms (default, more work)",
         "ratio (not comparable)"],
        [[r["device"], r["T"], with_spread(r, "attnlab_s", 1e3), with_spread(r, "torch_s", 1e3), r["ratio"],
          with_spread(r, "torch default_s", 1e3), r["ratio_default"]] for r in rows])
    return f"{settings}\n\n{table}"


def targets(result: dict) -> list[dict]:
    return [target(f"MHA time / torch with need_weights=False ({r['device']}, T = {r['T']})", r["ratio"], "<= 1.05",
                   r["ratio"] <= 1.05) for r in result["rows"]]


def figure(result: dict) -> Figure:
    fig = Figure(figsize=(7, 3.8))
    ax = fig.subplots()
    rows = result["rows"]
    labels = [f"{r['device']}\nT={r['T']}" for r in rows]
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r["ratio"] for r in rows], 0.4, label="vs torch, need_weights=False")
    ax.bar([i + 0.2 for i in x], [r["ratio_default"] for r in rows], 0.4, label="vs torch default (more work: not comparable)")
    ax.axhline(1.05, color="k", ls="--", lw=1, label="target 1.05")
    ax.set(xticks=list(x), xticklabels=labels, ylabel="time(attnlab) / time(torch)",
           title="forward + backward, same weights (lower is faster)")
    ax.set_ylim(0, 1.3 * max(1.05, *(r["ratio"] for r in rows), *(r["ratio_default"] for r in rows)))
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    fig.tight_layout()
    return fig
