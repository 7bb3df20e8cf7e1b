"""Local 1-D attention (block 256) vs dense attention under the same mask, time and peak memory vs length.

Target (issue: beyond text): at T = 16384 local attention is >= 10x faster and uses >= 10x less peak memory than
dense masked attention. Memory is the peak the computation adds to its process (attnlab.measure).
"""

from __future__ import annotations

from bench.timing import print_ratios, sweep

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
    return sweep(lambda T: SETUP.format(T=T, block=block), RUNS, lengths, key="T", repeats=repeats)


def main() -> None:
    print("Local 1-D attention (block 256, d = 64) vs dense masked attention, CPU")
    print_ratios(run(), key="T", reference="local")
