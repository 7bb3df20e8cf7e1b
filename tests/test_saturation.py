"""The sqrt(d) statistics against autograd, closed forms and chapter 7's measured table (CONTRIBUTING.md, "Oracles")."""

import math

import pytest
import torch

import attnlab as al
from attnlab import saturation


def test_entropy_closed_forms():
    assert saturation.entropy(torch.full((8,), 1 / 8)).item() == pytest.approx(math.log(8))
    assert saturation.entropy(torch.tensor([0.0, 1.0, 0.0])).item() == 0.0  # 0 log 0 = 0, no NaN


def test_softmax_jacobian_matches_autograd():
    scores = torch.randn(3, 6, dtype=torch.float64)
    jacobian = saturation.softmax_jacobian(torch.softmax(scores, -1))
    for b in range(3):
        expected = torch.autograd.functional.jacobian(lambda s: torch.softmax(s, -1), scores[b])
        torch.testing.assert_close(jacobian[b], expected, rtol=1e-12, atol=1e-12)


def test_dot_product_variance_is_d_and_scaling_restores_one():
    g = torch.Generator().manual_seed(0)
    for d in (4, 64, 1024):
        q, k = torch.randn(20000, 1, d, generator=g), torch.randn(20000, 1, d, generator=g)
        assert al.scores.dot(q, k).var().item() == pytest.approx(d, rel=0.05)
        assert al.scores.scaled_dot(q, k).var().item() == pytest.approx(1.0, rel=0.05)


# Chapter 7's table (CONTRIBUTING.md, "Oracles"), 64 keys and 2000 trials: unscaled entropy per d; the scaled plateau.
ORACLE_UNSCALED_ENTROPY = {4: 2.80, 16: 1.39, 64: 0.60, 256: 0.26, 1024: 0.13}


@pytest.fixture(scope="module")
def table():
    g = torch.Generator().manual_seed(0)
    return {(d, s): saturation.saturation_statistics(d, scaled=s, generator=g) for d in ORACLE_UNSCALED_ENTROPY
            for s in (False, True)}


def test_reproduces_the_oracle_table(table):
    for d, expected in ORACLE_UNSCALED_ENTROPY.items():
        assert table[d, False]["entropy"] == pytest.approx(expected, abs=0.06)
        assert table[d, True]["entropy"] == pytest.approx(3.69, abs=0.03)
        assert table[d, True]["max_weight"] == pytest.approx(0.106, abs=0.005)
        assert table[d, True]["jacobian_norm"] == pytest.approx(0.18, abs=0.01)
    assert table[4, False]["max_weight"] == pytest.approx(0.27, abs=0.02)
    assert table[1024, False]["max_weight"] == pytest.approx(0.95, abs=0.02)
    assert table[1024, False]["jacobian_norm"] == pytest.approx(0.07, abs=0.015)


def test_table_shape(table):
    dims = list(ORACLE_UNSCALED_ENTROPY)
    unscaled = [table[d, False]["entropy"] for d in dims]
    assert all(a > b for a, b in zip(unscaled, unscaled[1:]))
    scaled = [table[d, True]["entropy"] for d in dims]
    assert max(scaled) - min(scaled) < 0.05
    for d in (256, 1024):
        assert table[d, False]["max_weight_median"] > 0.9
    assert table[1024, False]["max_weight"] > 0.9
    assert table[1024, False]["jacobian_norm"] < 0.5 * table[1024, True]["jacobian_norm"]


def test_entropy_falls_as_the_scale_grows_from_uniform_to_one_hot():
    """Chapter 1's experiment: scale 0 is a plain average, large scales a lookup of the best key."""
    scores = torch.randn(50, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    betas = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 64.0, 1e4]
    entropies = [saturation.entropy(al.masked_softmax(beta * scores)) for beta in betas]
    torch.testing.assert_close(entropies[0], torch.full((50,), math.log(32), dtype=torch.float64))
    for a, b in zip(entropies, entropies[1:]):
        assert (b < a).all()
    assert (entropies[-1] < 0.1).all()
