"""attnlab's MultiHeadAttention (fast path) vs torch.nn.MultiheadAttention: forward + backward, same weights.

Prints time(attnlab) / time(torch) for each length; the target is <= 1.05 (issue: benchmarks).
"""

from __future__ import annotations

import torch
from torch import nn

import attnlab as al
from bench.timing import median_seconds


def run(*, batch: int = 16, lengths: tuple[int, ...] = (128, 512, 1024), d_model: int = 256, heads: int = 8,
        repeats: int = 10, device: torch.device | None = None) -> list[dict]:
    device = device or al.get_device()
    torch.manual_seed(0)
    theirs = nn.MultiheadAttention(d_model, heads, batch_first=True, device=device)
    ours = al.MultiHeadAttention.from_torch(theirs)
    rows = []
    for length in lengths:
        x = torch.randn(batch, length, d_model, device=device, requires_grad=True)

        def step_ours():
            ours(x, x, x)[0].sum().backward()

        def step_theirs(need_weights: bool):
            theirs(x, x, x, need_weights=need_weights)[0].sum().backward()

        t_ours = median_seconds(step_ours, device=device, repeats=repeats)
        t_fast = median_seconds(lambda: step_theirs(False), device=device, repeats=repeats)
        t_default = median_seconds(lambda: step_theirs(True), device=device, repeats=repeats)
        rows.append({"T": length, "attnlab_s": t_ours, "torch_s": t_fast, "torch_default_s": t_default,
                     "ratio_vs_torch": t_ours / t_fast, "ratio_vs_torch_default": t_ours / t_default})
    return rows


def main() -> None:
    device = al.get_device()
    print(f"MultiHeadAttention forward+backward on {device} (B=16, d=256, 8 heads, float32)")
    print(f"{'T':>6} {'attnlab ms':>11} {'torch ms':>9} {'ratio':>6} {'torch default ms':>17} {'ratio':>6}")
    for r in run(device=device):
        print(f"{r['T']:6d} {1e3 * r['attnlab_s']:11.1f} {1e3 * r['torch_s']:9.1f} {r['ratio_vs_torch']:6.2f} "
              f"{1e3 * r['torch_default_s']:17.1f} {r['ratio_vs_torch_default']:6.2f}")
