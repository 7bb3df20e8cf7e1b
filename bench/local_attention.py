"""Item 5: local 1-D attention (block 256) vs dense attention under the same mask, time and peak memory vs length.

Target: at T = 16384 local attention is >= 10x faster and uses >= 10x less peak memory than dense masked attention
(the fused fast path; the teaching path, which also stores the weights, is shown too). Each point runs in a fresh
process (attnlab.measure).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from bench.common import spread_note, sweep, sweep_figure, sweep_settings, sweep_table, target

TITLE = "Local 1-D attention vs dense masked attention"
SETUP = """
T, d, block = {T}, 64, {block}
q, k, v = (torch.randn(1, T, d, device=device) for _ in range(3))
"""
RUNS = {
    "local": "run = lambda: local.local_attention_1d(q, k, v, block_size=block)",
    "dense (fast path)": "mask = local.local_mask_1d(T, block, device=device)\n"
                         "run = lambda: al.scaled_dot_product_attention(q, k, v, mask)",
    "dense (teaching path)": "mask = local.local_mask_1d(T, block, device=device)\nrun = lambda: al.attention(q, k, v, mask)",
}


def run(quick: bool = False) -> dict:
    lengths, block = ((64,), 16) if quick else ((1024, 4096, 16384), 256)
    rows = sweep(lambda T: SETUP.format(T=T, block=block), RUNS, lengths, key="T", repeats=1 if quick else 2,
                 reference="local", processes=1 if quick else 3)
    return {"block": block, "rows": rows}


def report(result: dict) -> str:
    rows = result["rows"]
    return (f"Settings: one sequence of T positions, d = 64, float32, forward only, torch's default threads; "
            f"`local_attention_1d` with blocks of {result['block']} against dense attention under the same boolean "
            f"mask (the same keys allowed), computed by the fused fast path and by the teaching path. "
            f"{sweep_settings(rows)}{spread_note(rows, 'ms, MiB')}\n\n"
            + sweep_table(rows, key="T", reference="local"))


def targets(result: dict) -> list[dict]:
    longest = max(r["T"] for r in result["rows"])
    out = []
    for r in result["rows"]:
        if r["T"] == longest and r["method"] == "dense (fast path)":
            for field, what in (("time_ratio", "time"), ("memory_ratio", "peak memory")):
                out.append(target(f"dense / local {what} ({r['device']}, T = {longest})", r[field], ">= 10",
                                  r[field] >= 10))
    return out


def figure(result: dict) -> Figure:
    return sweep_figure(result["rows"], key="T", title=f"local (block {result['block']}) vs dense masked attention")
