"""Rotary position embeddings (RoPE) against a brute-force rotation matrix, complex multiplication, and the
relative property <R_m q, R_n k> = f(q, k, n - m)."""

import math

import pytest
import torch

import attnlab as al
from attnlab import rotary


def rotation_matrix(m: float, d: int, base: float = 10000.0) -> torch.Tensor:
    """The oracle: R_m built entry by entry, block diagonal with [[cos, -sin], [sin, cos]] (Su et al., eq. 15)."""
    R = torch.zeros(d, d, dtype=torch.float64)
    for i in range(d // 2):
        a = m * base ** (-2 * i / d)
        R[2 * i, 2 * i], R[2 * i, 2 * i + 1] = math.cos(a), -math.sin(a)
        R[2 * i + 1, 2 * i], R[2 * i + 1, 2 * i + 1] = math.sin(a), math.cos(a)
    return R


def test_rotate_equals_the_brute_force_rotation_matrix():
    x = torch.randn(3, 7, 8, dtype=torch.float64)
    out = rotary.rotate(x)
    for m in range(7):
        torch.testing.assert_close(out[:, m], x[:, m] @ rotation_matrix(m, 8).T, rtol=1e-12, atol=1e-12)


def test_rotate_equals_complex_multiplication():
    """Su et al., eq. 12-13: pair (x_2i, x_2i+1) as the complex number x_2i + i x_2i+1, times e^{i m theta_i}."""
    x = torch.randn(5, 6, dtype=torch.float64)
    positions = torch.tensor([0, 3, 4, 10, 100])
    z = torch.view_as_complex(x.view(5, 3, 2).contiguous())
    theta = 10000.0 ** (-torch.arange(0, 6, 2, dtype=torch.float64) / 6)
    expected = torch.view_as_real(z * torch.polar(torch.ones(5, 3, dtype=torch.float64),
                                                  positions[:, None] * theta)).flatten(-2)
    torch.testing.assert_close(rotary.rotate(x, positions), expected, rtol=1e-12, atol=1e-12)


def scores_by_position(q: torch.Tensor, k: torch.Tensor, n: int, encode) -> torch.Tensor:
    """(n, n) scores of the same query vector at position m against the same key vector at position j."""
    return encode(q.expand(n, -1)) @ encode(k.expand(n, -1)).T


def depends_only_on_offset(scores: torch.Tensor) -> bool:
    """True when every diagonal of ``scores`` is constant (the score is a function of n - m alone)."""
    return torch.allclose(scores[1:, 1:], scores[:-1, :-1], rtol=1e-10, atol=1e-10)


def test_rope_scores_depend_only_on_the_offset():
    q, k = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    scores = scores_by_position(q, k, 20, rotary.rotate)
    assert depends_only_on_offset(scores)
    # <R_m q, R_n k> = q^T R_{n-m} k, a closed form in the offset
    for m, n in [(0, 5), (7, 2), (13, 13), (3, 19)]:
        assert scores[m, n].item() == pytest.approx((q @ rotation_matrix(n - m, 16) @ k).item(), abs=1e-10)


def test_the_offset_check_fails_for_absolute_positions():
    """The same check on added sinusoidal positions (the absolute scheme) must fail: it can tell them apart."""
    q, k = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    added = lambda x: x + al.sinusoidal_encoding(len(x), 16, dtype=torch.float64)  # noqa: E731
    assert not depends_only_on_offset(scores_by_position(q, k, 20, added))
    broken = lambda x: rotary.rotate(x, torch.arange(len(x)) ** 2)  # noqa: E731  angle not linear in m
    assert not depends_only_on_offset(scores_by_position(q, k, 20, broken))


def test_rotation_keeps_norms_and_position_zero_is_the_identity():
    x = torch.randn(2, 9, 12, dtype=torch.float64)
    out = rotary.rotate(x)
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out[:, 0], x[:, 0], rtol=0, atol=0)


def test_rotary_attention_is_translation_invariant_and_matches_its_formula():
    layer = rotary.RotarySelfAttention(16, 2).double().eval()
    x = torch.randn(2, 9, 16, dtype=torch.float64)
    out, w = layer(x, need_weights=True)
    q, k = layer.split_heads(layer.q_proj(x)), layer.split_heads(layer.k_proj(x))
    R = torch.stack([rotation_matrix(m, 8) for m in range(9)])  # (T, 8, 8)
    qr, kr = (R @ q.unsqueeze(-1)).squeeze(-1), (R @ k.unsqueeze(-1)).squeeze(-1)
    expected = al.masked_softmax(qr @ kr.transpose(-2, -1) / math.sqrt(8), al.causal_mask(9))
    torch.testing.assert_close(w, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(layer(x)[0], out, rtol=1e-10, atol=1e-10)  # fast path == teaching path
    # the scores use positions only through their offsets: the same queries and keys at positions 5 .. 13 give
    # the same scores
    shifted = torch.arange(5, 14)
    s0 = rotary.rotate(q) @ rotary.rotate(k).transpose(-2, -1)
    s5 = rotary.rotate(q, shifted) @ rotary.rotate(k, shifted).transpose(-2, -1)
    torch.testing.assert_close(s5, s0, rtol=1e-10, atol=1e-10)


def test_dtype_is_kept():
    x = torch.randn(1, 5, 8, dtype=torch.bfloat16)
    out = rotary.rotate(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.double(), rotary.rotate(x.double()), rtol=2e-2, atol=2e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="even"):
        rotary.rotate(torch.randn(4, 7))
    with pytest.raises(ValueError, match="positions"):
        rotary.rotate(torch.randn(4, 8), torch.arange(5))
    with pytest.raises(TypeError, match="x"):
        rotary.rotate(torch.ones(4, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="even"):
        rotary.RotarySelfAttention(12, 4)  # d_head = 3
