"""Items 2 and 3: how close the fast path gets to this machine's matmul, and what the teaching path's weights cost.

3. Achieved GFLOP/s of MultiHeadAttention's fast path (forward + backward) vs the GFLOP/s of a large ``torch.matmul``
   measured in the same run, the practical ceiling. Target: >= 60% at T = 1024.
2. The teaching path (``al.attention``, which materialises and returns the weights) vs the fast path
   (``al.scaled_dot_product_attention``): time (forward + backward) and peak memory, each point in a fresh process.

FLOPs counted as multiply-adds x 2: forward = 4 projections (2 B T d^2 each) + scores and weighted sum
(2 B T^2 d each); backward = 2 x forward.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

import attnlab as al
from bench.common import devices, markdown_table, spread_note, sweep, sweep_figure, sweep_settings, sweep_table, \
    target, timed, with_spread

TITLE = "Throughput: the fast path against matmul, and the price of returning the weights"


def gflops(flop: float, measured: dict) -> dict[str, float]:
    """GFLOP/s at the median time, and its range (the slowest run gives the lowest rate)."""
    return {"gflops": flop / measured["seconds"] / 1e9, "gflops_min": flop / measured["seconds_max"] / 1e9,
            "gflops_max": flop / measured["seconds_min"] / 1e9}


def matmul_gflops(n: int, *, device: torch.device, repeats: int) -> dict[str, float]:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return gflops(2 * n**3, timed(lambda: a @ b, device=device, repeats=repeats))


def mha_gflops(*, batch: int, length: int, d_model: int, heads: int, device: torch.device, repeats: int
               ) -> dict[str, float]:
    torch.manual_seed(0)
    mha = al.MultiHeadAttention(d_model, heads).to(device)
    x = torch.randn(batch, length, d_model, device=device, requires_grad=True)
    measured = timed(lambda: mha(x, x, x)[0].sum().backward(), device=device, repeats=repeats)
    forward = 4 * 2 * batch * length * d_model**2 + 2 * 2 * batch * length**2 * d_model
    return gflops(3 * forward, measured)


SETUP = """
torch.set_num_threads(1)
q, k, v = (torch.randn(4, 4, {T}, 64, device=device, requires_grad=True) for _ in range(3))
"""
RUNS = {
    "fast path": "run = lambda: al.scaled_dot_product_attention(q, k, v).sum().backward()",
    "teaching path": "run = lambda: al.attention(q, k, v)[0].sum().backward()",
}


def run(quick: bool = False) -> dict:
    batch, lengths, d_model, heads, matmul_n, repeats = ((2, (8,), 16, 2, 64, 1) if quick
                                                         else (16, (128, 512, 1024), 256, 8, 2048, 5))
    ceilings, rows = {}, []
    for device in devices():
        ceilings[device.type] = matmul_gflops(matmul_n, device=device, repeats=repeats)
        for length in lengths:
            g = mha_gflops(batch=batch, length=length, d_model=d_model, heads=heads, device=device, repeats=repeats)
            rows.append({"device": device.type, "T": length, **g,
                         "fraction_of_matmul": g["gflops"] / ceilings[device.type]["gflops"]})
    paths = sweep(lambda T: SETUP.format(T=T), RUNS, (16,) if quick else (256, 1024, 2048), key="T",
                  repeats=1 if quick else 2, reference="fast path", processes=1 if quick else 3)
    return {"matmul_n": matmul_n, "matmul_gflops": ceilings, "batch": batch, "d_model": d_model, "heads": heads,
            "repeats": repeats, "rows": rows, "paths": paths}


def report(result: dict) -> str:
    n = result["matmul_n"]

    def ceiling(device: str) -> str:  # older runs stored the median alone
        value = result["matmul_gflops"][device]
        return with_spread(value, "gflops") if isinstance(value, dict) else f"{value:,.3g}"

    def ceiling_median(device: str) -> float:
        value = result["matmul_gflops"][device]
        return value["gflops"] if isinstance(value, dict) else value

    gflops_table = markdown_table(
        ["device", "T", "fast path GFLOP/s", f"matmul {n}^3 GFLOP/s", "fraction of matmul (medians)"],
        [[r["device"], r["T"], with_spread(r, "gflops"), ceiling(r["device"]),
          f"{r['gflops'] / ceiling_median(r['device']):.0%}"] for r in result["rows"]])
    runs = f"median of {result['repeats']} runs after 3 warm-up runs" if "repeats" in result else "median of 5 runs"
    paths = sweep_table(result["paths"], key="T", reference="fast path")
    return (f"Settings: MultiHeadAttention's fast path, forward + backward, B = {result.get('batch', 16)}, "
            f"d = {result.get('d_model', 256)}, {result.get('heads', 8)} heads, float32, torch's default threads, "
            f"against a {n} x {n} float32 `torch.matmul` on the same device in the same run; {runs}. FLOPs count "
            f"each multiply-add as 2: the four projections and the two attention products, backward as twice the "
            f"forward. {spread_note(result['rows'], 'GFLOP/s', 'gflops')}\n\n{gflops_table}\n\n"
            f"Teaching path (`al.attention`, weights materialised) vs fast path (`al.scaled_dot_product_attention`): "
            f"B = 4, H = 4, d_head = 64, float32, forward + backward, one CPU thread. "
            f"{sweep_settings(result['paths'])}{spread_note(result['paths'], 'ms, MiB')}\n\n{paths}")


def targets(result: dict) -> list[dict]:
    longest = max(r["T"] for r in result["rows"])
    return [target(f"fast path GFLOP/s / matmul GFLOP/s ({r['device']}, T = {r['T']})", r["fraction_of_matmul"],
                   ">= 0.60", r["fraction_of_matmul"] >= 0.6) for r in result["rows"] if r["T"] == longest]


def figure(result: dict) -> Figure:
    return sweep_figure(result["paths"], key="T", title="teaching path (weights returned) vs fast path")
