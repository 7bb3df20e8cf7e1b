"""Softmax over the keys that a mask allows."""

from __future__ import annotations

import torch

from . import _checks


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` along ``dim`` over the positions where ``mask`` is True; 0 elsewhere.

    ``mask`` is boolean (True = may attend) and broadcasts to ``scores``. A row with no allowed position gets
    all-zero weights -- not NaN (what ``torch.softmax`` gives for a row of ``-inf``) and not uniform weights
    (what filling with ``-1e6`` gives) -- so its context vector is zero. No NaN appears in the backward pass
    either. Large finite scores are safe: softmax subtracts the row maximum.
    """
    _checks.floating("masked_softmax", "scores", scores)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"masked_softmax(): dim must be an int, got {type(dim).__name__}")
    if not -scores.ndim <= dim < max(scores.ndim, 1):
        raise ValueError(f"masked_softmax(): dim {dim} is out of range for scores of shape {_checks.shape(scores)}")
    if mask is None:
        return torch.softmax(scores, dim=dim)
    _checks.bool_mask("masked_softmax", mask, scores.shape, f"scores' shape {_checks.shape(scores)}", scores.device)
    mask = mask.expand_as(scores)
    any_allowed = mask.any(dim=dim, keepdim=True)
    # Fully masked rows are softmaxed over zeros (finite, so no NaN in either pass), then zeroed.
    scores = scores.masked_fill(~mask, float("-inf")).masked_fill(~any_allowed, 0.0)
    return torch.softmax(scores, dim=dim).masked_fill(~any_allowed, 0.0)
