"""Relative logits: the Music Transformer's skew vs the naive (L, L, D) gather, time and peak memory vs L.

Target (issue: beyond text): at L = 2048, D_head = 64 the skew uses >= 30x less peak memory than the gather.
Before: skew(q @ E_r^T) allocates the logits and their padded copy: 32 MiB against the gather's 1060 MiB at
L = 2048 (33x; 28x by the lifetime-peak measure used at first, which missed the target).
After: relative_logits pads E_r instead, one (L, L+1) tensor: 16 MiB, 66x. "skew" below is that version.
Memory is the peak the computation adds to its process (attnlab.measure).
"""

from __future__ import annotations

from bench.timing import print_ratios, sweep

SETUP = """
L, D = {L}, 64
q, E_r = torch.randn(1, L, D), torch.randn(L, D)
"""
RUNS = {
    "skew": "run = lambda: relative.relative_logits(q, E_r)",
    "skew of q E_r^T": "run = lambda: relative.skew(q @ E_r.T)",
    "naive gather": "run = lambda: relative.relative_logits_naive(q, E_r)",
}


def run(lengths=(256, 512, 1024, 2048), repeats: int = 2) -> list[dict]:
    return sweep(lambda L: SETUP.format(L=L), RUNS, lengths, key="L", repeats=repeats)


def main() -> None:
    print("Relative logits (D_head = 64), CPU: skew vs naive gather")
    print_ratios(run(), key="L", reference="skew")
