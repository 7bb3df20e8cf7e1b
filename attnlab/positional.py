"""Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5).

    PE(pos, 2i) = sin(pos / 10000^(2i/d)),   PE(pos, 2i+1) = cos(pos / 10000^(2i/d))

Each pair of features (2i, 2i+1) is a point on the unit circle turning at frequency w_i = 10000^(-2i/d), so
PE(pos + k) is PE(pos) rotated pair by pair by angles w_i k that do not depend on pos, and PE(p) . PE(p + k) =
sum_i cos(w_i k) depends only on the offset k.

Book: chapter 11 (notebooks/11_positional_encoding.ipynb).
"""

from __future__ import annotations

import torch

from . import _checks


def sinusoidal_encoding(
    length: int,
    d_model: int,
    *,
    base: float = 10000.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The ``(length, d_model)`` table of encodings for positions ``0 .. length-1`` (computed in float64)."""
    length = _checks.positive_int("sinusoidal_encoding", "length", length)
    d_model = _checks.positive_int("sinusoidal_encoding", "d_model", d_model, minimum=2)
    if d_model % 2:
        raise ValueError(f"sinusoidal_encoding(): d_model must be even (sin/cos pairs), got {d_model}")
    base = _check_base("sinusoidal_encoding", base)
    _check_dtype("sinusoidal_encoding", dtype)
    position = torch.arange(length, dtype=torch.float64, device=device)[:, None]
    frequency = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64, device=device) / d_model)
    angle = position * frequency  # (length, d_model / 2)
    encoding = torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)  # interleave: sin, cos, sin, ...
    return encoding.to(dtype)


def integer_encoding(length: int, d_model: int) -> torch.Tensor:
    """The naive alternative: position ``p`` encoded as ``p`` in every feature, ``(length, d_model)``.
    Unbounded: at position 1000 it dwarfs any word embedding."""
    length = _checks.positive_int("integer_encoding", "length", length)
    d_model = _checks.positive_int("integer_encoding", "d_model", d_model)
    return torch.arange(length, dtype=torch.float32)[:, None].expand(length, d_model).clone()


def normalised_encoding(length: int, d_model: int) -> torch.Tensor:
    """``p / (length - 1)`` in every feature: bounded in [0, 1], but one step means something different in a
    sequence of 10 and one of 100, and the length must be known in advance."""
    length = _checks.positive_int("normalised_encoding", "length", length, minimum=2)
    d_model = _checks.positive_int("normalised_encoding", "d_model", d_model)
    return integer_encoding(length, d_model) / (length - 1)


def shift_rotation(k: int, d_model: int, *, base: float = 10000.0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The ``(d_model, d_model)`` matrix ``M_k`` with ``PE(p + k) = M_k PE(p)`` for every position p.

    Block diagonal: the (sin, cos) pair of frequency w_i is rotated by the angle w_i k, which does not depend on p.
    """
    k = _checks.number("shift_rotation", "k", k)
    d_model = _checks.positive_int("shift_rotation", "d_model", d_model, minimum=2)
    if d_model % 2:
        raise ValueError(f"shift_rotation(): d_model must be even (sin/cos pairs), got {d_model}")
    base = _check_base("shift_rotation", base)
    _check_dtype("shift_rotation", dtype)
    angle = k * base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    c, s = torch.cos(angle), torch.sin(angle)
    # [sin(a + b), cos(a + b)] = [[cos b, sin b], [-sin b, cos b]] @ [sin a, cos a]
    blocks = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)  # (d/2, 2, 2)
    return torch.block_diag(*blocks).to(dtype)


def _check_base(fn: str, base: object) -> float:
    base = _checks.number(fn, "base", base)
    if base <= 1:
        raise ValueError(f"{fn}(): base must be > 1, got {base}")
    return base


def _check_dtype(fn: str, dtype: object) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{fn}(): dtype must be a floating torch.dtype, got {dtype!r}")
