"""How close the fast path gets to this machine's matmul speed, and what the teaching path's weights cost.

1. Achieved GFLOP/s of MultiHeadAttention's fast path (forward + backward) vs the GFLOP/s of a large ``torch.matmul``
   measured in the same run, the practical ceiling. Target (issue: benchmarks): >= 60% at T = 1024.
2. The teaching path (``al.attention``, which materialises and returns the weights) vs the fast path
   (``al.scaled_dot_product_attention``): time (forward + backward) and peak memory (fresh process each).

FLOPs counted as multiply-adds x 2: forward = 4 projections (2 B T d^2 each) + scores and weighted sum
(2 B T^2 d each); backward = 2 x forward.
"""

from __future__ import annotations

import torch

import attnlab as al
from bench.timing import median_seconds, print_ratios, sweep


def matmul_gflops(n: int = 2048, *, device: torch.device, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n**3 / median_seconds(lambda: a @ b, device=device, repeats=repeats) / 1e9


def mha_gflops(*, batch: int, length: int, d_model: int, heads: int, device: torch.device, repeats: int) -> float:
    torch.manual_seed(0)
    mha = al.MultiHeadAttention(d_model, heads).to(device)
    x = torch.randn(batch, length, d_model, device=device, requires_grad=True)
    seconds = median_seconds(lambda: mha(x, x, x)[0].sum().backward(), device=device, repeats=repeats)
    forward = 4 * 2 * batch * length * d_model**2 + 2 * 2 * batch * length**2 * d_model
    return 3 * forward / seconds / 1e9


def run_throughput(*, batch: int = 16, lengths=(128, 512, 1024), d_model: int = 256, heads: int = 8,
                   matmul_n: int = 2048, repeats: int = 5, device: torch.device | None = None) -> dict:
    device = device or al.get_device()
    ceiling = matmul_gflops(matmul_n, device=device, repeats=repeats)
    rows = [{"T": T, "gflops": (g := mha_gflops(batch=batch, length=T, d_model=d_model, heads=heads, device=device,
                                                repeats=repeats)), "fraction_of_matmul": g / ceiling}
            for T in lengths]
    return {"device": str(device), "matmul_gflops": ceiling, "rows": rows}


SETUP = """
torch.set_num_threads(1)
q, k, v = (torch.randn(4, 4, {T}, 64, requires_grad=True) for _ in range(3))
"""
RUNS = {
    "fast path": "run = lambda: al.scaled_dot_product_attention(q, k, v).sum().backward()",
    "teaching path": "run = lambda: al.attention(q, k, v)[0].sum().backward()",
}


def run_paths(lengths=(256, 1024, 2048), repeats: int = 2) -> list[dict]:
    return sweep(lambda T: SETUP.format(T=T), RUNS, lengths, key="T", repeats=repeats)


def main() -> None:
    result = run_throughput()
    print(f"MultiHeadAttention fast path, forward + backward, on {result['device']} (B=16, d=256, 8 heads, float32); "
          f"matmul 2048^3: {result['matmul_gflops']:.1f} GFLOP/s")
    for r in result["rows"]:
        print(f"  T={r['T']:5d}: {r['gflops']:7.1f} GFLOP/s = {r['fraction_of_matmul']:.0%} of matmul (target >= 60% "
              f"at T = 1024)")
    print("\nTeaching path (weights materialised and returned) vs fast path, B=4, H=4, d=64, fwd+bwd, one thread, CPU")
    print_ratios(run_paths(), key="T", reference="fast path")
