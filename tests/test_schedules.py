"""The Transformer's learning-rate schedule (Vaswani et al. 2017, eq. 3) against its closed form, and Adam's betas."""

import math

import pytest
import torch
from torch import nn

from attnlab.train import fit, warmup_then_decay, warmup_then_inverse_sqrt


def paper(step: int, d_model: int, warmup: int) -> float:
    """Equation 3, with the paper's steps counted from 1."""
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


@pytest.mark.parametrize("d_model, warmup", [(512, 4000), (64, 100), (8, 1)])
def test_inverse_sqrt_equals_the_closed_form(d_model, warmup):
    schedule = warmup_then_inverse_sqrt(d_model, warmup)
    for step in [0, 1, warmup // 2, warmup - 1, warmup, 4 * warmup - 1, 10 * warmup, 100_000]:
        assert schedule(step) == pytest.approx(paper(step + 1, d_model, warmup), rel=1e-12)


def test_inverse_sqrt_peak_half_point_and_sign():
    schedule = warmup_then_inverse_sqrt(512, 4000)
    values = [schedule(s) for s in range(200_000)]
    peak = max(range(len(values)), key=values.__getitem__)
    assert peak == 3999 and values[peak] == pytest.approx(1 / math.sqrt(512 * 4000))  # 7.0e-4
    assert values[4 * 4000 - 1] == pytest.approx(values[peak] / 2)                    # 1/sqrt: half at 4 x warmup
    assert min(values) > 0                                                             # never zero or negative
    assert all(a < b for a, b in zip(values[:3999], values[1:4000]))                   # rises during warm-up
    assert all(a > b for a, b in zip(values[4000:-1], values[4001:]))                  # then always falls


def test_a_linear_decay_fails_the_inverse_sqrt_checks():
    """The check above is not a tautology: the linear schedule the book used before fails it."""
    linear = warmup_then_decay(4000, 100_000)
    peak = linear(3999)
    assert abs(linear(4 * 4000 - 1) - peak / 2) > 0.05 * peak


def test_inverse_sqrt_rejects_bad_arguments():
    with pytest.raises(ValueError, match="warmup must be >= 1"):
        warmup_then_inverse_sqrt(512, 0)
    with pytest.raises(TypeError, match="d_model must be an int"):
        warmup_then_inverse_sqrt(512.0, 10)


def test_fit_passes_betas_to_adam_and_checks_them():
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    x, y = torch.randn(16, 2), torch.randn(16, 1)
    history = fit(model, lambda m, s: ((m(x) - y) ** 2).mean(), steps=3, lr=0.1, betas=(0.9, 0.98), progress=False)
    assert len(history.loss) == 3
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\)"):
        fit(model, lambda m, s: m(x).sum(), steps=1, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="betas must be a pair"):
        fit(model, lambda m, s: m(x).sum(), steps=1, betas=0.9)
