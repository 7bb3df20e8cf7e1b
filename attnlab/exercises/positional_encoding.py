"""Exercises for chapter 11: sinusoidal positions.

``check_sinusoidal_encoding``: ``PE(pos, 2i) = sin(pos / 10000^(2i/d))``, ``PE(pos, 2i+1) = cos(...)`` (Vaswani et
al. 2017, section 3.5). ``check_shift_rotation``: the matrix ``M_k`` with ``PE(p + k) = M_k PE(p)`` for every p,
block-diagonal 2x2 rotations.

Book: used by chapter 11 (notebooks/11_positional_encoding.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..positional import shift_rotation, sinusoidal_encoding
from ._harness import Case, Group, Mistake, require_callable, run


def _angles(length: int, d_model: int, *, pair_exponent: bool = True) -> torch.Tensor:
    """``pos * w_i`` of shape ``(length, d/2)``; ``pair_exponent=False`` makes the i/d (instead of 2i/d) mistake."""
    i = torch.arange(d_model // 2, dtype=torch.float64)
    return torch.arange(length, dtype=torch.float64)[:, None] * 10000 ** (-(2 * i if pair_exponent else i) / d_model)


def check_sinusoidal_encoding(fn: Callable) -> bool:
    """Check ``fn(length, d_model) -> (length, d_model)``: row pos, column 2i is ``sin(pos / 10000^(2i/d))`` and
    column 2i+1 is ``cos(pos / 10000^(2i/d))``."""
    require_callable("check_sinusoidal_encoding", fn)
    cases = []
    for length, d_model in ((3, 4), (10, 8), (50, 64)):
        angle = _angles(length, d_model)
        mistakes = [Mistake("interleave the pairs: even columns sin, odd columns cos (not all sines, then all cosines)",
                            torch.cat([angle.sin(), angle.cos()], -1)),
                    Mistake("even columns are sin and odd columns cos, not the other way round",
                            torch.stack([angle.cos(), angle.sin()], -1).flatten(1)),
                    Mistake("the exponent is 2i/d, where i counts the (sin, cos) pairs",
                            torch.stack([_angles(length, d_model, pair_exponent=False).sin(),
                                         _angles(length, d_model, pair_exponent=False).cos()], -1).flatten(1))]
        cases.append(Case(f"length {length}, d_model {d_model}", {"length": length, "d_model": d_model},
                          sinusoidal_encoding(length, d_model, dtype=torch.float64), mistakes, atol=1e-5))
    return run("check_sinusoidal_encoding", fn, [Group("tables", cases, "angle = pos * 10000^(-2i/d) for pair i; "
                                                       "column 2i holds its sine, column 2i+1 its cosine")])


def _rotation(angle: torch.Tensor, transpose: bool = False) -> torch.Tensor:
    c, s = angle.cos(), angle.sin()
    blocks = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)
    return torch.block_diag(*(blocks.transpose(-2, -1) if transpose else blocks))


def check_shift_rotation(fn: Callable) -> bool:
    """Check ``fn(k, d_model) -> (d_model, d_model)``: the matrix ``M_k`` with ``PE(p + k) = M_k @ PE(p)`` for every
    position p, where ``PE`` is the sinusoidal encoding (rows of ``check_sinusoidal_encoding``'s table)."""
    require_callable("check_shift_rotation", fn)
    cases = []
    for k, d_model in ((1, 2), (3, 4), (5, 8), (-2, 6)):
        sign = 1 if k >= 0 else -1
        angle = _angles(abs(k) + 1, d_model)[abs(k)] * sign
        mistakes = [Mistake("this rotates the other way (it maps PE(p) to PE(p - k)): transpose each 2x2 block",
                            _rotation(angle, transpose=True)),
                    Mistake("each (sin, cos) pair turns by its own angle w_i k, not by k",
                            _rotation(torch.full_like(angle, float(k)))),
                    Mistake("the frequencies are w_i = 10000^(-2i/d), where i counts the pairs",
                            _rotation(_angles(abs(k) + 1, d_model, pair_exponent=False)[abs(k)] * sign))]
        cases.append(Case(f"k = {k}, d_model = {d_model}", {"k": k, "d_model": d_model},
                          shift_rotation(k, d_model), mistakes, atol=1e-5))
    return run("check_shift_rotation", fn, [Group("shifts", cases, "sin(a + b) = sin a cos b + cos a sin b and "
                                                  "cos(a + b) = cos a cos b - sin a sin b, pair by pair")])
