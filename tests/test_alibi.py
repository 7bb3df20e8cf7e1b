"""ALiBi's slopes against the paper's rule, its bias by brute force, and the layer against its formula."""

import math

import pytest
import torch

import attnlab as al
from attnlab import alibi


def test_slopes_for_a_power_of_two_are_the_papers_geometric_sequence():
    # Press et al., section 3: for 8 heads 1/2^1, 1/2^2, ..., 1/2^8
    assert alibi.alibi_slopes(8).tolist() == [1 / 2 ** h for h in range(1, 9)]
    # 16 heads: the geometric sequence that starts at 1/sqrt(2) with ratio 1/sqrt(2)
    torch.testing.assert_close(alibi.alibi_slopes(16), torch.tensor([2 ** (-h / 2) for h in range(1, 17)],
                                                                     dtype=torch.float64), rtol=1e-15, atol=0)
    assert alibi.alibi_slopes(1).tolist() == [2 ** -8]


@pytest.mark.parametrize("n, expected", [
    (6, [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]),                    # 4 heads' slopes + 2 of 8's
    (12, [2 ** -h for h in range(1, 9)] + [2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5]),  # 8's + 4 of 16's
    (3, [2 ** -4, 2 ** -8, 2 ** -2]),
])
def test_slopes_for_other_head_counts_follow_the_reference_rule(n, expected):
    torch.testing.assert_close(alibi.alibi_slopes(n), torch.tensor(expected, dtype=torch.float64), rtol=1e-15, atol=0)


def test_the_slope_check_rejects_a_wrong_rule():
    """A linear sequence (a plausible misreading) is not the geometric one the tests require."""
    linear = torch.tensor([h / 8 for h in range(1, 9)], dtype=torch.float64)
    assert not torch.allclose(linear, alibi.alibi_slopes(8))
    ratios = alibi.alibi_slopes(8)[1:] / alibi.alibi_slopes(8)[:-1]
    assert torch.allclose(ratios, torch.full_like(ratios, 0.5))
    assert not torch.allclose(linear[1:] / linear[:-1], torch.full_like(ratios, 0.5))


def test_bias_by_brute_force():
    bias = alibi.alibi_bias(4, 6, dtype=torch.float64)
    slopes = alibi.alibi_slopes(4).tolist()
    assert bias.shape == (4, 6, 6)
    for h in range(4):
        for i in range(6):
            for j in range(6):
                expected = -slopes[h] * (i - j) if j <= i else float("-inf")
                assert bias[h, i, j].item() == expected


def test_alibi_attention_matches_its_formula_and_needs_no_maximum_length():
    layer = alibi.ALiBiSelfAttention(16, 4).double().eval()
    for T in (5, 40):
        x = torch.randn(2, T, 16, dtype=torch.float64)
        out, w = layer(x, need_weights=True)
        q, k = layer.split_heads(layer.q_proj(x)), layer.split_heads(layer.k_proj(x))
        slopes = alibi.alibi_slopes(4)[:, None, None]
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        scores = q @ k.transpose(-2, -1) / math.sqrt(4) - slopes * (i - j)
        torch.testing.assert_close(w, al.masked_softmax(scores, al.causal_mask(T)), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(layer(x)[0], out, rtol=1e-10, atol=1e-10)  # fast path == teaching path
        assert (w.triu(diagonal=1) == 0).all()


def test_with_equal_content_scores_the_weights_decay_with_distance():
    """Zero queries: every content score is 0, so head h weights key j by exp(-m_h (i - j)), normalised."""
    layer = alibi.ALiBiSelfAttention(8, 2).double().eval()
    with torch.no_grad():
        layer.q_proj.weight.zero_()
        layer.q_proj.bias.zero_()
    _, w = layer(torch.randn(1, 6, 8, dtype=torch.float64), need_weights=True)
    for h, m in enumerate(alibi.alibi_slopes(2).tolist()):
        expected = torch.tensor([math.exp(-m * (5 - j)) for j in range(6)], dtype=torch.float64)
        torch.testing.assert_close(w[0, h, 5], expected / expected.sum(), rtol=1e-10, atol=1e-10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        alibi.alibi_slopes(0)
    with pytest.raises(TypeError, match="dtype"):
        alibi.alibi_bias(2, 4, dtype=torch.long)
