"""Rotary position embeddings, RoPE (Su et al. 2021, "RoFormer", section 3.4).

Instead of adding a position vector to the input, RoPE rotates every query and key by its position. Feature pair
``(2i, 2i+1)`` of a vector at position m turns by the angle ``m * theta_i`` with ``theta_i = base^(-2i/d)`` (the
frequencies of the sinusoidal encoding):

    R_m x = [x_0 cos m theta_0 - x_1 sin m theta_0,  x_0 sin m theta_0 + x_1 cos m theta_0,  ...]

``R_m`` is block diagonal with 2x2 rotations, so ``R_m^T R_n = R_{n-m}`` and the score of query m and key n,

    <R_m q, R_n k> = q^T R_m^T R_n k = q^T R_{n-m} k,

depends on the positions only through n - m (Su et al., eq. 16): a relative position scheme with no learned
parameter, no extra logits and nothing to look up, which is why most large language models since use it.

Book: chapter 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

import torch

from . import _checks
from .multihead import CausalSelfAttention


def rotary_angles(positions: torch.Tensor, d: int, *, base: float = 10000.0) -> torch.Tensor:
    """``(T, d/2)`` angles ``m * theta_i`` (float64) for the positions ``positions (T,)`` and ``d`` features."""
    fn = "rotary_angles"
    _checks.tensor(fn, "positions", positions, ndim=1)
    d = _checks.positive_int(fn, "d", d, minimum=2)
    if d % 2:
        raise ValueError(f"{fn}(): d must be even (features are rotated in pairs), got {d}")
    base = _checks.number(fn, "base", base)
    if base <= 1:
        raise ValueError(f"{fn}(): base must be > 1, got {base}")
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64, device=positions.device) / d)  # (d/2,)
    return positions.to(torch.float64)[:, None] * theta  # (T, d/2)


def rotate(x: torch.Tensor, positions: torch.Tensor | None = None, *, base: float = 10000.0) -> torch.Tensor:
    """``R_m x`` for every position: ``x (..., T, d)`` (d even) -> the same shape and dtype; feature pair
    ``(2i, 2i+1)`` of row m turns by ``positions[m] * theta_i``. ``positions (T,)`` defaults to ``0 .. T-1``."""
    _checks.floating("rotate", "x", x, ndim=(2, 8))
    n, d = x.shape[-2:]
    if d % 2:
        raise ValueError(f"rotate(): x must have an even number of features (they turn in pairs), got shape "
                         f"{_checks.shape(x)}")
    if positions is None:
        positions = torch.arange(n, device=x.device)
    elif isinstance(positions, torch.Tensor) and positions.shape != (n,):
        raise ValueError(f"rotate(): positions must be (T,) = ({n},) like x's rows, got {_checks.shape(positions)}")
    angle = rotary_angles(positions, d, base=base)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)  # (T, d/2)
    even, odd = x[..., 0::2], x[..., 1::2]                       # (..., T, d/2): the two members of each pair
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


class RotarySelfAttention(CausalSelfAttention):
    """Causal multi-head self-attention with rotary positions: every head's queries and keys are rotated by their
    position (``rotate``) before the scores; the values are not. No parameter beyond ``MultiHeadAttention``'s, and
    no maximum length. ``forward(x (B, T, d_model), mask=None, *, need_weights=False) -> (out, weights or None)``;
    ``d_model / num_heads`` must be even. Only ``position_qk`` is overridden."""

    def __init__(self, d_model: int, num_heads: int, *, base: float = 10000.0, dropout: float = 0.0) -> None:
        super().__init__(d_model, num_heads, dropout=dropout)
        if self.d_head % 2:
            raise ValueError(f"RotarySelfAttention(): d_model / num_heads = {self.d_head} must be even (features "
                             "are rotated in pairs)")
        self.base = _checks.number("RotarySelfAttention", "base", base)

    def position_qk(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(R_m q_m, R_n k_n)`` for every head: ``(B, H, T, d_head)`` each."""
        return rotate(q, base=self.base), rotate(k, base=self.base)
