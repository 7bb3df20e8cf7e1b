"""Relative logits: the Music Transformer's skew vs the naive (L, L, D) gather, time and peak memory vs L.

Target (issue: beyond text): at L = 2048, D_head = 64 the skew uses >= 30x less peak memory than the gather.
Before: skew(q @ E_r^T) allocates the logits and their padded copy: 32 MiB against the gather's 1060 MiB at
L = 2048 (33x; 28x by the lifetime-peak measure used at first, which missed the target).
After: relative_logits pads E_r instead, one (L, L+1) tensor: 16 MiB, 66x. "skew" below is that version.
Memory is the peak the computation adds to its process (attnlab.measure).
"""

from __future__ import annotations

from attnlab.measure import measure

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
    rows = []
    for L in lengths:
        setup = SETUP.format(L=L)
        for name, code in RUNS.items():
            m = measure(setup + code, repeats=repeats)
            rows.append({"L": L, "method": name, "seconds": m["seconds"], "peak_mib": m["peak_mib"]})
    return rows


def main() -> None:
    rows = run()
    print("Relative logits (D_head = 64), CPU: skew vs naive gather")
    print(f"{'L':>6} {'method':>16} {'ms':>9} {'peak MiB':>9} {'time ratio':>11} {'memory ratio':>13}")
    for r in rows:
        ref = next(x for x in rows if x["L"] == r["L"] and x["method"] == "skew")
        print(f"{r['L']:6d} {r['method']:>16} {1e3 * r['seconds']:9.1f} {r['peak_mib']:9.1f} "
              f"{r['seconds'] / ref['seconds']:11.1f} {r['peak_mib'] / max(ref['peak_mib'], 1e-3):13.1f}")
