"""Luong's local attention (local-m, local-p) and location score against brute force and the paper's formulas."""

import math

import pytest
import torch

from attnlab import local_alignment as la
from attnlab import scores


def brute_force(scores_row, p, D, real, predictive):
    """One row by hand: softmax over the real positions s with |s - p| <= D, times exp(-(s-p)^2 / (2 (D/2)^2))."""
    inside = [s for s in range(len(scores_row)) if abs(s - p) <= D and real[s]]
    if not inside:
        return [0.0] * len(scores_row)
    z = sum(math.exp(scores_row[s]) for s in inside)
    out = []
    for s in range(len(scores_row)):
        w = math.exp(scores_row[s]) / z if s in inside else 0.0
        out.append(w * math.exp(-((s - p) ** 2) / (2 * (D / 2) ** 2)) if predictive else w)
    return out


@pytest.mark.parametrize("predictive", [True, False])
def test_local_weights_match_brute_force(predictive):
    g = torch.Generator().manual_seed(0)
    e = torch.randn(2, 4, 9, generator=g, dtype=torch.float64)
    p = torch.tensor([[0.0, 3.0, 4.6, 8.9], [1.5, 2.0, 7.0, 12.0]], dtype=torch.float64)
    mask = torch.ones(2, 1, 9, dtype=torch.bool)
    mask[1, :, 6:] = False  # the second sentence has 6 words
    w = la.local_weights(e, p, 2, mask, predictive=predictive)
    for b in range(2):
        for t in range(4):
            expected = brute_force(e[b, t].tolist(), p[b, t].item(), 2, mask[b, 0].tolist(), predictive)
            torch.testing.assert_close(w[b, t], torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12)
    assert (w[1, 3] == 0).all()  # p = 12 in a 6-word sentence: no real word in the window -> zeros, not NaN


def test_the_window_is_closed_and_the_gaussian_has_sigma_d_over_2():
    p = torch.tensor([3.0])
    assert la.window_mask(p, 8, 2)[0].tolist() == [False, True, True, True, True, True, False, False]
    g = la.gaussian(p, 8, 2)[0]
    assert g[3] == 1 and abs(g[4].item() - math.exp(-0.5)) < 1e-7  # one sigma = D/2 = 1 away
    assert abs(g[5].item() - math.exp(-2.0)) < 1e-7


def test_local_m_rows_sum_to_one_and_local_p_rows_to_less():
    e = torch.randn(3, 5, 10)
    p = torch.tensor([0.0, 2.5, 4.0, 6.2, 9.0]).expand(3, 5)
    local_m = la.local_weights(e, p, 3, predictive=False)
    local_p = la.local_weights(e, p, 3)
    torch.testing.assert_close(local_m.sum(-1), torch.ones(3, 5))
    assert (local_p.sum(-1) < 1).all() and (local_p <= local_m + 1e-7).all()


def test_gradients_of_an_empty_window_are_zero_and_finite():
    e = torch.randn(1, 2, 4, requires_grad=True)
    p = torch.tensor([[1.0, 20.0]], requires_grad=True)
    w = la.local_weights(e, p, 1)
    (w * torch.randn_like(w)).sum().backward()
    assert torch.isfinite(e.grad).all() and (e.grad[0, 1] == 0).all() and torch.isfinite(p.grad).all()


def test_predicted_position_is_luongs_formula_per_sentence_length():
    torch.manual_seed(0)
    position = la.PredictedPosition(6, 5).double()
    h = torch.randn(2, 3, 6, dtype=torch.float64)
    lengths = torch.tensor([4, 9])
    p = position(h, lengths)
    W, v = position.W.weight, position.v.weight[0]
    for b in range(2):
        for t in range(3):
            expected = lengths[b].item() / (1 + math.exp(-(v @ torch.tanh(W @ h[b, t])).item()))
            assert abs(p[b, t].item() - expected) < 1e-12
    assert (p >= 0).all() and (p <= lengths[:, None]).all()


def test_location_score_reads_only_the_number_of_keys():
    torch.manual_seed(0)
    location = scores.Location(8, 12)
    q = torch.randn(2, 5, 8)
    k1, k2 = torch.randn(2, 7, 3), torch.randn(2, 7, 3)
    torch.testing.assert_close(location(q, k1), location(q, k2))  # what the keys hold does not matter
    torch.testing.assert_close(location(q, k1), q @ location.W.weight[:7].T)  # W_a h_t, the first 7 positions
    general = scores.General(8, 3)  # a content-based score, for contrast: the same check fails
    assert not torch.allclose(general(q, k1), general(q, k2))
    with pytest.raises(ValueError, match="max_len=12"):
        location(q, torch.randn(2, 13, 3))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: la.local_weights(torch.randn(2, 3, 5), torch.zeros(2, 4), 2), ValueError, "positions must have shape"),
    (lambda: la.local_weights(torch.randn(2, 3, 5), torch.zeros(2, 3), 0), ValueError, "window must be >= 1"),
    (lambda: la.local_weights(torch.randn(2, 3, 5), torch.zeros(2, 3), 2, torch.ones(2, 1, 5)), TypeError, "mask"),
    (lambda: la.local_weights(torch.randn(2, 3, 5), torch.zeros(2, 3).long(), 2), TypeError, "positions"),
    (lambda: la.window_mask(torch.zeros(3), 4, 2.0), TypeError, "window must be an int"),
    (lambda: la.PredictedPosition(4, 3)(torch.randn(2, 3, 4), torch.tensor([1.0, 2.0])), ValueError, "lengths"),
    (lambda: scores.Location(4, 5)(torch.randn(2, 3, 6), torch.randn(2, 3, 6)), ValueError, "width 4"),
])
def test_bad_input_is_named(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()
