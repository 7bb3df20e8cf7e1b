"""Recurrent vs convolutional vs self-attention layer: forward time and peak memory vs sequence length.

The measurements behind chapter 14's log-log plot, at more lengths. The reference is the recurrent layer (a GRU) at
the same length. Memory is the peak the computation adds to its process (attnlab.measure).
"""

from __future__ import annotations

from bench.timing import print_ratios, sweep

SETUP = """
from attnlab import sequence_layers as sl
torch.set_num_threads(1)
x = torch.randn(4, {T}, {d})
"""
RUNS = {
    "recurrent": "layer = sl.layer('recurrent', x.shape[-1]).eval()\nrun = lambda: layer(x)",
    "convolution": "layer = sl.layer('convolution', x.shape[-1]).eval()\nrun = lambda: layer(x)",
    "self-attention (fused)": "layer = sl.layer('self-attention', x.shape[-1]).eval()\nrun = lambda: layer(x)",
    "self-attention (weights)": "layer = sl.layer('self-attention', x.shape[-1]).eval()\n"
                                "run = lambda: layer(x, need_weights=True)",
}


def run(lengths=(256, 512, 1024, 2048, 4096), d: int = 64, repeats: int = 2) -> list[dict]:
    runs = {name: f"torch.set_grad_enabled(False)\n{code}" for name, code in RUNS.items()}
    return sweep(lambda T: SETUP.format(T=T, d=d), runs, lengths, key="T", repeats=repeats)


def main() -> None:
    print("Sequence layers (batch 4, d = 64, forward, one thread), CPU; ratios against the GRU")
    print_ratios(run(), key="T", reference="recurrent")
