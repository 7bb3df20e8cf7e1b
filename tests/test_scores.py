"""Alignment functions: brute force on tiny cases, and Luong et al. 2015's identities (CONTRIBUTING.md, "Oracles")."""

import math

import pytest
import torch

import attnlab as al
from attnlab import scores


def test_dot_and_scaled_dot_match_brute_force():
    q, k = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
    d, s = scores.dot(q, k), scores.scaled_dot(q, k)
    assert d.shape == (2, 3, 5)
    for b in range(2):
        for i in range(3):
            for j in range(5):
                exact = sum(q[b, i, c].item() * k[b, j, c].item() for c in range(4))
                assert d[b, i, j].item() == pytest.approx(exact, abs=1e-12)
                assert s[b, i, j].item() == pytest.approx(exact / 2.0, abs=1e-12)


def test_general_is_bilinear_and_equals_dot_with_identity():
    general = scores.General(4, 3).double()
    q, k = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 3, dtype=torch.float64)
    W = general.W.weight  # (d_q, d_k)
    torch.testing.assert_close(general(q, k), torch.einsum("bic,cd,bjd->bij", q, W, k), rtol=1e-12, atol=1e-12)
    square = scores.General(4).double()
    with torch.no_grad():
        square.W.weight.copy_(torch.eye(4))
    k4 = torch.randn(2, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(square(q, k4), scores.dot(q, k4), rtol=1e-12, atol=1e-12)


def test_additive_matches_brute_force():
    additive = scores.Additive(3, 2, 4).double()
    q, k = torch.randn(2, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    W, U, v = additive.W.weight, additive.U.weight, additive.v.weight[0]
    expected = torch.stack([torch.stack([v @ torch.tanh(W @ q[i] + U @ k[j]) for j in range(4)]) for i in range(2)])
    torch.testing.assert_close(additive(q, k), expected, rtol=1e-12, atol=1e-12)


def test_concat_with_split_weight_equals_additive():
    concat = scores.Concat(3, 5, 6).double()
    additive = scores.Additive(3, 5, 6).double()
    with torch.no_grad():
        additive.W.weight.copy_(concat.W.weight[:, :3])
        additive.U.weight.copy_(concat.W.weight[:, 3:])
        additive.v.weight.copy_(concat.v.weight)
    q, k = torch.randn(2, 4, 3, dtype=torch.float64), torch.randn(2, 7, 5, dtype=torch.float64)
    torch.testing.assert_close(concat(q, k), additive(q, k), rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        additive.U.weight.add_(0.1)  # the identity is specific: other weights differ
    assert not torch.allclose(concat(q, k), additive(q, k))


def test_additive_with_zero_v_gives_uniform_weights_over_valid_keys():
    additive = scores.Additive(3, 3, 8).double()
    with torch.no_grad():
        additive.v.weight.zero_()
    q, k = torch.randn(2, 4, 3, dtype=torch.float64), torch.randn(2, 6, 3, dtype=torch.float64)
    valid = al.padding_mask([6, 4], 6)[:, None, :]
    weights = al.masked_softmax(additive(q, k), valid)
    torch.testing.assert_close(weights[0], torch.full((4, 6), 1 / 6, dtype=torch.float64))
    torch.testing.assert_close(weights[1, :, :4], torch.full((4, 4), 1 / 4, dtype=torch.float64))
    assert torch.equal(weights[1, :, 4:], torch.zeros(4, 2, dtype=torch.float64))


@pytest.mark.parametrize("make", [lambda: scores.General(4, 6), lambda: scores.Additive(4, 6, 5),
                                  lambda: scores.Concat(4, 6, 5)])
def test_modules_support_heads_and_keep_dtype(make):
    module = make()
    q, k = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 6)
    assert module(q, k).shape == (2, 3, 5, 7)
    module = module.double()
    assert module(q.double(), k.double()).dtype == torch.float64


def test_scaled_dot_has_unit_variance_for_unit_variance_inputs():
    d = 256
    q, k = torch.randn(4000, 1, d, dtype=torch.float64), torch.randn(4000, 1, d, dtype=torch.float64)
    assert scores.dot(q, k).var().item() == pytest.approx(d, rel=0.1)
    assert scores.scaled_dot(q, k).var().item() == pytest.approx(1.0, rel=0.1)
    assert math.isclose(scores.scaled_dot(q, k).var().item() * d, scores.dot(q, k).var().item(), rel_tol=1e-9)
