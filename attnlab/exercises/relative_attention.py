"""Exercises for chapter 17: relative positions.

``check_skew``: Huang et al.'s skew (2018, section 3.4.1), which turns logits indexed by relative distance into
logits indexed by key position without an ``(L, L, D)`` gather. ``check_alibi_bias``: ALiBi's per-head linear
distance penalty (Press et al. 2022, section 3), a relative bias with no parameters, passed as ``bias=``.

Book: used by chapter 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..alibi import alibi_bias, alibi_slopes
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run


def skew_by_gather(rel_logits: torch.Tensor) -> torch.Tensor:
    """The oracle: ``out[..., i, j] = rel_logits[..., i, j - i + L - 1]`` for ``j <= i``, 0 above the diagonal."""
    n = rel_logits.shape[-1]
    i, j = torch.arange(n, device=rel_logits.device)[:, None], torch.arange(n, device=rel_logits.device)[None, :]
    index = (j - i + n - 1).clamp(min=0, max=n - 1).expand(*rel_logits.shape)
    return rel_logits.gather(-1, index).masked_fill(j > i, 0.0)


def _skew(rel_logits: torch.Tensor, *, pad: str = "left", drop: str = "first") -> torch.Tensor:
    *lead, n, _ = rel_logits.shape
    padded = F.pad(rel_logits, (1, 0) if pad == "left" else (0, 1)).reshape(*lead, n + 1, n)
    return padded[..., 1:, :] if drop == "first" else padded[..., :-1, :]


def _lower(solution: Callable, case: Case) -> torch.Tensor:
    """The reader's skew with the entries above the diagonal (left-overs that get masked) set to 0."""
    out = solution(*case.inputs.values())
    n = case.expected.shape[-1]
    return out.masked_fill(torch.ones(n, n, dtype=torch.bool, device=out.device).triu(1), 0.0)


def check_skew(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(rel_logits (..., L, L)) -> (..., L, L)``, where column r of ``rel_logits`` is the relative
    distance r - (L - 1): ``out[..., i, j] = rel_logits[..., i, j - i + L - 1]`` for ``j <= i``. Entries above the
    diagonal are not checked (they are masked later)."""
    require_callable("check_skew", fn)
    dev = device_of(device)
    cases = []
    for seed, shape in enumerate(((3, 3), (2, 4, 4), (2, 2, 6, 6))):
        x = randn(generator(seed), *shape, device=dev) if seed else torch.arange(9.0, device=dev).view(3, 3)
        lower = lambda t: t.masked_fill(torch.ones_like(t, dtype=torch.bool).triu(1), 0.0)  # noqa: E731
        mistakes = [Mistake("pad the zero column on the left, before distance -(L - 1)", lower(_skew(x, pad="right"))),
                    Mistake("after the reshape to (L + 1, L), drop the first row", lower(_skew(x, drop="last")))]
        mistakes.append(Mistake("this is the relative logits unchanged: the skew moves row i left by L - 1 - i",
                                lower(x)))
        label = "L = 3, rel_logits counting 0..8" if not seed else f"shape {shape}"
        cases.append(Case(label, {"rel_logits": x}, skew_by_gather(x), mistakes))
    return run("check_skew", fn, [Group("relative logits", cases, "pad one zero column on the left -> (L, L + 1); "
                                        "reshape -> (L + 1, L); drop the first row", _lower)])


def _alibi(num_heads: int, length: int, *, slopes: torch.Tensor | None = None, sign: float = -1.0,
           future: float = -math.inf) -> torch.Tensor:
    """ALiBi's bias with the typical mistakes made on purpose (the oracle is ``attnlab.alibi.alibi_bias``)."""
    slopes = alibi_slopes(num_heads) if slopes is None else slopes
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    bias = sign * slopes[:, None, None] * (i - j)
    return bias.masked_fill(j > i, future).float()


def check_alibi_bias(fn: Callable) -> bool:
    """Check ``fn(num_heads, length) -> (num_heads, length, length)`` float: ``bias[h, i, j] = -m_h (i - j)`` for
    ``j <= i`` and ``-inf`` for ``j > i`` (causal), with slopes ``m_h = 2^(-8 (h + 1) / H)`` for heads h = 0..H-1."""
    require_callable("check_alibi_bias", fn)
    cases = []
    for heads, length in ((1, 3), (2, 4), (4, 5), (8, 6)):  # powers of two: the paper's geometric slopes
        mistakes = [Mistake("the bias penalises distance: it must be <= 0 on and below the diagonal",
                            _alibi(heads, length, sign=1.0)),
                    Mistake("future keys (j > i) must be -inf, so that the bias is also the causal mask",
                            _alibi(heads, length, future=0.0)),
                    Mistake("head 0 gets the largest slope, 2^(-8/H); the slopes then shrink geometrically",
                            _alibi(heads, length, slopes=alibi_slopes(heads).flip(0)))]
        cases.append(Case(f"{heads} heads, length {length}", {"num_heads": heads, "length": length},
                          alibi_bias(heads, length), mistakes))
    return run("check_alibi_bias", fn, [Group("heads and lengths", cases, "slopes 2^(-8 (h + 1) / H); bias = "
                                              "-slope * (i - j), -inf above the diagonal")])
