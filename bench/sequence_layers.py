"""Item 6: recurrent vs convolutional vs self-attention layer, forward time and peak memory vs sequence length.

The measurements behind chapter 14's log-log plot, at more lengths. The reference is the recurrent layer (a GRU) at
the same length. Each point runs in a fresh process (attnlab.measure). No target: this is the complexity chapter's
evidence (attention's T^2 against the others' T).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from bench.common import spread_note, sweep, sweep_figure, sweep_settings, sweep_table

TITLE = "Recurrent vs convolution vs self-attention layers"
SETUP = """
from attnlab import sequence_layers as sl
torch.set_num_threads(1)
torch.set_grad_enabled(False)
x = torch.randn(4, {T}, {d}, device=device)
"""
RUNS = {
    "recurrent": "layer = sl.layer('recurrent', x.shape[-1]).to(device).eval()\nrun = lambda: layer(x)",
    "convolution": "layer = sl.layer('convolution', x.shape[-1]).to(device).eval()\nrun = lambda: layer(x)",
    "self-attention (fused)": "layer = sl.layer('self-attention', x.shape[-1]).to(device).eval()\nrun = lambda: layer(x)",
    "self-attention (weights)": "layer = sl.layer('self-attention', x.shape[-1]).to(device).eval()\n"
                                "run = lambda: layer(x, need_weights=True)",
}


def run(quick: bool = False) -> dict:
    lengths, d = ((16,), 8) if quick else ((256, 512, 1024, 2048, 4096), 64)
    return {"d": d, "rows": sweep(lambda T: SETUP.format(T=T, d=d), RUNS, lengths, key="T",
                                  repeats=1 if quick else 2, reference="recurrent", processes=1 if quick else 3)}


def report(result: dict) -> str:
    rows = result["rows"]
    return (f"Settings: batch 4, d = {result['d']}, float32, forward only (no gradients), one CPU thread; one layer "
            f"of each kind from `attnlab.sequence_layers` (a GRU, a convolution, self-attention with and without "
            f"returning its weights). {sweep_settings(rows)}{spread_note(rows, 'ms, MiB')}\n\n"
            + sweep_table(rows, key="T", reference="recurrent"))


def targets(result: dict) -> list[dict]:
    return []


def figure(result: dict) -> Figure:
    return sweep_figure(result["rows"], key="T", title="one layer, forward: time and memory against length")
