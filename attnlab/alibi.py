"""Attention with linear biases, ALiBi (Press et al. 2022, "Train short, test long", section 3).

No position vector at all: each head adds to the score of query i and key j <= i a penalty proportional to their
distance,

    softmax(q_i K^T / sqrt(d) - m_h * [i - 0, i - 1, ..., 1, 0]),

with a fixed (not learned) slope ``m_h`` per head. For n heads, n a power of two, the slopes are the geometric
sequence ``m_h = 2^(-8 h / n)``, h = 1 .. n (for 8 heads: 1/2, 1/4, ..., 1/256). For other head counts the paper's
reference implementation takes the slopes of the closest smaller power of two, c, and adds every other slope of the
sequence for 2c until there are n. Steep heads look at the last few tokens, shallow ones far back; and a distance
the model never saw in training gets a penalty on the same line as the ones it did see.

Book: chapter 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

import math

import torch

from . import _checks
from .multihead import CausalSelfAttention


def _geometric(n: int) -> list[float]:
    """``2^(-8 h / n)`` for h = 1 .. n."""
    return [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """The ``(num_heads,)`` slopes ``m_h`` (float64): ``2^(-8 h / n)`` for a power of two n; otherwise the closest
    smaller power of two's slopes, then every other slope of twice that power."""
    n = _checks.positive_int("alibi_slopes", "num_heads", num_heads)
    closest = 2 ** int(math.floor(math.log2(n)))
    slopes = _geometric(closest) + _geometric(2 * closest)[0::2][: n - closest]
    return torch.tensor(slopes, dtype=torch.float64)


def alibi_bias(num_heads: int, length: int, *, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(num_heads, T, T)``: ``-m_h (i - j)`` for keys j <= i and ``-inf`` for later keys (causal), to add to the
    scaled scores (the ``bias=`` argument of ``attnlab.attention``)."""
    length = _checks.positive_int("alibi_bias", "length", length)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"alibi_bias(): dtype must be a floating torch.dtype, got {dtype!r}")
    slopes = alibi_slopes(num_heads).to(device)
    i = torch.arange(length, device=device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    bias = -slopes[:, None, None] * (i - j).to(torch.float64)  # (H, T, T)
    return bias.masked_fill(j > i, float("-inf")).to(dtype)


class ALiBiSelfAttention(CausalSelfAttention):
    """Causal multi-head self-attention with ALiBi: head h adds ``-m_h (i - j)`` to its scaled scores. No position
    parameter and no maximum length. ``forward(x (B, T, d_model), mask=None, *, need_weights=False)
    -> (out, weights or None)``. Only ``score_bias`` is overridden."""

    def score_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``(1, H, T, T)``: ``alibi_bias`` in the queries' dtype and device."""
        return alibi_bias(self.num_heads, q.shape[-2], device=q.device, dtype=q.dtype)[None]
