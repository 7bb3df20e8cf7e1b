"""Local 1-D attention (block 256) vs dense attention under the same mask, time and peak memory vs length.

Target (issue: beyond text): at T = 16384 local attention is >= 10x faster and uses >= 10x less peak memory than
dense masked attention. Memory is the peak the computation adds to its process (attnlab.measure).
"""

from __future__ import annotations

from attnlab.measure import measure

SETUP = """
T, d, block = {T}, 64, {block}
q, k, v = (torch.randn(1, T, d) for _ in range(3))
"""
RUNS = {
    "local": "run = lambda: local.local_attention_1d(q, k, v, block_size=block)",
    "dense (fast path)": "mask = local.local_mask_1d(T, block)\nrun = lambda: al.scaled_dot_product_attention(q, k, v, mask)",
    "dense (teaching path)": "mask = local.local_mask_1d(T, block)\nrun = lambda: al.attention(q, k, v, mask)",
}


def run(lengths=(1024, 4096, 16384), block: int = 256, repeats: int = 2) -> list[dict]:
    rows = []
    for T in lengths:
        setup = SETUP.format(T=T, block=block)
        for name, code in RUNS.items():
            m = measure(setup + code, repeats=repeats)
            rows.append({"T": T, "method": name, "seconds": m["seconds"], "peak_mib": m["peak_mib"]})
    return rows


def main() -> None:
    rows = run()
    print("Local 1-D attention (block 256, d = 64) vs dense masked attention, CPU")
    print(f"{'T':>6} {'method':>22} {'ms':>9} {'peak MiB':>9} {'time ratio':>11} {'memory ratio':>13}")
    for r in rows:
        ref = next(x for x in rows if x["T"] == r["T"] and x["method"] == "local")
        print(f"{r['T']:6d} {r['method']:>22} {1e3 * r['seconds']:9.1f} {r['peak_mib']:9.1f} "
              f"{r['seconds'] / ref['seconds']:11.1f} {r['peak_mib'] / max(ref['peak_mib'], 1e-3):13.1f}")
