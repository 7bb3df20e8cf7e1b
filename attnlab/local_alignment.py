"""Luong's local attention: attend to a window of source positions around an aligned position p_t.

Global attention (Bahdanau's, and Luong's "global" model) weighs every source position. Luong, Pham and Manning
(2015, section 3.2) also proposed *local* attention: at target step t, pick an aligned source position p_t and
attend only to the window ``[p_t - D, p_t + D]``::

    local-m (monotonic):  p_t = t
    local-p (predictive): p_t = S * sigmoid(v_p^T tanh(W_p h_t))                        (eq. 9)
    a_t(s) = align(h_t, h_s) * exp(-(s - p_t)^2 / (2 sigma^2)),   sigma = D / 2         (eq. 10)

where ``align`` is the softmax of the scores over the window only and S is the source length. Local-m uses
``align`` alone (no Gaussian); local-p multiplies it by a Gaussian centred on the real-valued p_t, so the weights
of a row sum to less than one (the paper does not renormalise). Positions are counted from 0 here, so a source
of length S has positions ``0 .. S-1`` and ``p_t`` lies in ``[0, S]``.

Shapes: scores ``(..., Tq, S)``; positions ``(..., Tq)``; a boolean ``mask`` (True = real source token) that
broadcasts to the scores. A row whose window holds no real token gets zero weights.

Book: chapter 4 (notebooks/04_alignment_functions.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .softmax import masked_softmax


def window_mask(positions: torch.Tensor, n_keys: int, window: int) -> torch.Tensor:
    """True where source position ``s`` lies in ``[p_t - D, p_t + D]``: ``positions (..., Tq)`` -> ``(..., Tq, S)``."""
    _checks.floating("window_mask", "positions", positions, ndim=(1, 8))
    n_keys = _checks.positive_int("window_mask", "n_keys", n_keys)
    window = _checks.positive_int("window_mask", "window", window)
    s = torch.arange(n_keys, device=positions.device, dtype=positions.dtype)
    return (s - positions[..., None]).abs() <= window


def gaussian(positions: torch.Tensor, n_keys: int, window: int) -> torch.Tensor:
    """``exp(-(s - p_t)^2 / (2 sigma^2))`` with ``sigma = D / 2`` (Luong et al. 2015, eq. 10): ``(..., Tq, S)``."""
    _checks.floating("gaussian", "positions", positions, ndim=(1, 8))
    n_keys = _checks.positive_int("gaussian", "n_keys", n_keys)
    sigma = _checks.positive_int("gaussian", "window", window) / 2
    s = torch.arange(n_keys, device=positions.device, dtype=positions.dtype)
    return torch.exp(-((s - positions[..., None]) ** 2) / (2 * sigma**2))


def monotonic_positions(n_queries: int, like: torch.Tensor) -> torch.Tensor:
    """Local-m's aligned positions ``p_t = t``: ``(n_queries,)`` with ``like``'s dtype and device."""
    n_queries = _checks.positive_int("monotonic_positions", "n_queries", n_queries)
    _checks.floating("monotonic_positions", "like", like)
    return torch.arange(n_queries, device=like.device, dtype=like.dtype)


def local_weights(scores: torch.Tensor, positions: torch.Tensor, window: int, mask: torch.Tensor | None = None, *,
                  predictive: bool = True) -> torch.Tensor:
    """Local attention weights ``(..., Tq, S)`` from ``scores (..., Tq, S)`` and aligned ``positions (..., Tq)``.

    The softmax runs over the window ``[p_t - D, p_t + D]`` (and the ``mask``'s real tokens) only; with
    ``predictive=True`` (local-p) the result is multiplied by ``gaussian(positions, S, D)``, with
    ``predictive=False`` (local-m) it is not.
    """
    fn = "local_weights"
    _checks.floating(fn, "scores", scores, ndim=(2, 8))
    _checks.floating(fn, "positions", positions, ndim=(1, 8))
    _checks.flag(fn, "predictive", predictive)
    if positions.shape != scores.shape[:-1]:
        raise ValueError(f"{fn}(): positions must have shape {_checks.shape(scores)[:-1]} (one per score row), got "
                         f"{_checks.shape(positions)}")
    _checks.same_dtype_and_device(fn, scores=scores, positions=positions)
    allowed = window_mask(positions, scores.shape[-1], window)
    if mask is not None:
        allowed = allowed & _checks.bool_mask(fn, mask, scores.shape, f"scores' shape {_checks.shape(scores)}",
                                              scores.device)
    weights = masked_softmax(scores, allowed)
    return weights * gaussian(positions, scores.shape[-1], window) if predictive else weights


class PredictedPosition(nn.Module):
    """Local-p's aligned position ``p_t = S * sigmoid(v_p^T tanh(W_p h_t))`` (Luong et al. 2015, eq. 9).

    ``forward(h (B, T, d_q), lengths (B,)) -> p (B, T)`` with each sentence's own length S, so ``p`` lies in
    ``[0, S]``. ``d_hidden`` is the width of ``W_p``'s output.
    """

    def __init__(self, d_q: int, d_hidden: int) -> None:
        super().__init__()
        self.d_q = _checks.positive_int("PredictedPosition", "d_q", d_q)
        d_hidden = _checks.positive_int("PredictedPosition", "d_hidden", d_hidden)
        self.W = nn.Linear(self.d_q, d_hidden, bias=False)  # W_p
        self.v = nn.Linear(d_hidden, 1, bias=False)          # v_p

    def forward(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        fn = "PredictedPosition"
        _checks.features(fn, "h", h, self, ndim=3, d=self.d_q)
        _checks.tensor(fn, "lengths", lengths, ndim=1)
        if lengths.shape[0] != h.shape[0] or lengths.is_floating_point():
            raise ValueError(f"{fn}(): lengths must be integers of shape ({h.shape[0]},), got "
                             f"{lengths.dtype} {_checks.shape(lengths)}")
        return lengths.to(h.dtype)[:, None] * torch.sigmoid(self.v(torch.tanh(self.W(h)))[..., 0])
