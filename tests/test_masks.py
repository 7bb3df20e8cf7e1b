"""causal_mask, padding_mask and masked_softmax against brute force and closed-form facts."""

import math

import pytest
import torch

import attnlab as al


@pytest.mark.parametrize("n_q, n_k", [(1, 1), (4, 4), (3, 7), (5, 2)])
def test_causal_mask_is_bottom_right_aligned(n_q, n_k):
    mask = al.causal_mask(n_q, n_k)
    assert mask.dtype == torch.bool and mask.shape == (n_q, n_k)
    offset = n_k - n_q  # query i is position i + offset of the key sequence
    for i in range(n_q):
        for j in range(n_k):
            assert mask[i, j].item() == (j <= i + offset)


def test_causal_mask_square_is_lower_triangle_and_last_query_sees_all_keys():
    assert torch.equal(al.causal_mask(4), torch.tril(torch.ones(4, 4, dtype=torch.bool)))
    assert al.causal_mask(2, 6)[-1].all() and al.causal_mask(2, 6)[0].sum() == 5


def test_padding_mask_marks_real_tokens():
    mask = al.padding_mask(torch.tensor([3, 0, 5]), 5)
    expected = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)
    assert torch.equal(al.padding_mask([3, 0, 5], 5), expected)


def test_masked_softmax_without_mask_is_softmax():
    scores = torch.randn(2, 3, 5, dtype=torch.float64)
    torch.testing.assert_close(al.masked_softmax(scores), torch.softmax(scores, -1), rtol=0, atol=1e-15)
    torch.testing.assert_close(al.masked_softmax(scores, dim=1), torch.softmax(scores, 1), rtol=0, atol=1e-15)


def test_masked_softmax_matches_brute_force_over_allowed_keys():
    scores = torch.randn(3, 6, dtype=torch.float64)
    mask = torch.rand(3, 6) > 0.4
    mask[:, 0] = True
    weights = al.masked_softmax(scores, mask)
    for i in range(3):
        allowed = [j for j in range(6) if mask[i, j]]
        total = sum(math.exp(scores[i, j].item()) for j in allowed)
        for j in range(6):
            expected = math.exp(scores[i, j].item()) / total if mask[i, j] else 0.0
            assert weights[i, j].item() == pytest.approx(expected, abs=1e-14)


def test_fully_masked_row_gets_zero_weights_and_zero_gradient_not_nan():
    scores = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1] = False
    weights = al.masked_softmax(scores, mask)
    assert torch.equal(weights[0, 1], torch.zeros(4, dtype=torch.float64))
    torch.testing.assert_close(weights[0, 0].sum(), torch.tensor(1.0, dtype=torch.float64))
    (weights * torch.randn_like(weights)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert torch.equal(scores.grad[0, 1], torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_extreme_logits_stay_finite(dtype):
    big = torch.finfo(dtype).max / 4
    scores = torch.tensor([[big, 0.0, -big], [-big, -big, -big], [128.0, 127.0, -128.0]], dtype=dtype)  # exact in bf16
    weights = al.masked_softmax(scores, torch.tensor([True, True, False]))
    assert torch.isfinite(weights).all()
    torch.testing.assert_close(weights[0].float(), torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(weights[1].float(), torch.tensor([0.5, 0.5, 0.0]))
    expected = torch.tensor([1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1)), 0.0])
    torch.testing.assert_close(weights[2].float(), expected, rtol=1e-2, atol=1e-2)
