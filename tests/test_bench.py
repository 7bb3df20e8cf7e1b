"""Smoke test: every benchmark runs at a tiny size, so that none can rot. (No timing is asserted.)"""

import math

import torch

from bench import mha


def test_mha_benchmark_runs_and_reports_finite_ratios():
    rows = mha.run(batch=2, lengths=(8, 16), d_model=16, heads=2, repeats=1, device=torch.device("cpu"))
    assert [r["T"] for r in rows] == [8, 16]
    for r in rows:
        assert math.isfinite(r["ratio_vs_torch"]) and r["ratio_vs_torch"] > 0
        assert math.isfinite(r["ratio_vs_torch_default"]) and r["ratio_vs_torch_default"] > 0
