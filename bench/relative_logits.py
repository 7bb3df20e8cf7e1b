"""Item 4: relative logits, the Music Transformer's skew vs the naive (L, L, D) gather, time and peak memory vs L.

Target: at L = 2048, D_head = 64 the skew uses >= 30x less peak memory than the gather.
Before: skew(q @ E_r^T) allocates the logits and their padded copy: 32 MiB against the gather's 1060 MiB at
L = 2048 (33x; 28x by the lifetime-peak measure used at first, which missed the target).
After: relative_logits pads E_r instead, one (L, L+1) tensor: 16 MiB, 66x. "skew" below is that version; the
"before" version is measured beside it. Each point runs in a fresh process (attnlab.measure).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from bench.common import spread_note, sweep, sweep_figure, sweep_settings, sweep_table, target

TITLE = "Relative attention: the skewing trick vs the naive gather"
SETUP = """
L, D = {L}, 64
q, E_r = torch.randn(1, L, D, device=device), torch.randn(L, D, device=device)
"""
RUNS = {
    "skew": "run = lambda: relative.relative_logits(q, E_r)",
    "skew of q E_r^T (before)": "run = lambda: relative.skew(q @ E_r.T)",
    "naive gather": "run = lambda: relative.relative_logits_naive(q, E_r)",
}


def run(quick: bool = False) -> dict:
    lengths = (32,) if quick else (256, 512, 1024, 2048)
    return {"rows": sweep(lambda L: SETUP.format(L=L), RUNS, lengths, key="L", repeats=1 if quick else 2,
                          reference="skew", processes=1 if quick else 3)}


def report(result: dict) -> str:
    rows = result["rows"]
    return ("Settings: one sequence of L queries, D_head = 64, float32, forward only, torch's default threads; "
            "`relative_logits` (the skew, padding E_r) against the skew of the full q E_r^T logits (the first "
            "version) and the naive gather that builds an (L, L, D) tensor. "
            f"{sweep_settings(rows)}{spread_note(rows, 'ms, MiB')}\n\n"
            + sweep_table(rows, key="L", reference="skew"))


def targets(result: dict) -> list[dict]:
    longest = max(r["L"] for r in result["rows"])
    return [target(f"gather / skew peak memory ({r['device']}, L = {longest})", r["memory_ratio"], ">= 30",
                   r["memory_ratio"] >= 30)
            for r in result["rows"] if r["L"] == longest and r["method"] == "naive gather"]


def figure(result: dict) -> Figure:
    return sweep_figure(result["rows"], key="L", title="relative logits, D_head = 64")
