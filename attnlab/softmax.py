"""Softmax over the keys that a mask allows.

Book: chapter 9 (notebooks/09_masked_attention.ipynb).
"""

from __future__ import annotations

import torch

from . import _checks


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` along ``dim`` over the positions where ``mask`` is True; 0 elsewhere.

    ``mask`` is boolean (True = may attend) and broadcasts to ``scores``; a score of ``-inf`` (torch's float-mask
    convention, e.g. a ``-inf`` bias) is a masked position too. A row with no allowed position gets
    all-zero weights -- not NaN (what ``torch.softmax`` gives for a row of ``-inf``) and not uniform weights
    (what filling with ``-1e6`` gives) -- so its context vector is zero. No NaN appears in the backward pass
    either. Large finite scores are safe: softmax subtracts the row maximum.
    """
    _checks.floating("masked_softmax", "scores", scores)
    if not _checks.is_int(dim):
        raise TypeError(f"masked_softmax(): dim must be an int, got {type(dim).__name__}")
    if not -scores.ndim <= dim < max(scores.ndim, 1):
        raise ValueError(f"masked_softmax(): dim {dim} is out of range for scores of shape {_checks.shape(scores)}")
    allowed = scores != float("-inf")  # a -inf score (torch's float-mask convention) is a masked position
    if mask is not None:
        _checks.bool_mask("masked_softmax", mask, scores.shape, f"scores' shape {_checks.shape(scores)}",
                          scores.device)
        allowed = allowed & mask
    any_allowed = allowed.any(dim=dim, keepdim=True)
    # Fully masked rows are softmaxed over zeros (finite, so no NaN in either pass), then zeroed.
    scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(~any_allowed, 0.0)
    return torch.softmax(scores, dim=dim).masked_fill(~any_allowed, 0.0)
