"""Attention: a weighted average of values, weighted by how well each key matches the query.

``attention`` is the teaching path: it builds the ``(Tq, Tk)`` score matrix, softmaxes it and returns the
weights for inspection. ``scaled_dot_product_attention`` is the fast path with the same semantics, handing the
work to ``torch.nn.functional.scaled_dot_product_attention`` (flash / memory-efficient kernels on a GPU) and never
materialising the weights. Both follow Vaswani et al. 2017, eq. 1:

    Attention(Q, K, V) = softmax(Q K^T * scale) V,   scale = 1 / sqrt(d_k) by default.

Shapes: ``q (..., Tq, d_k)``, ``k (..., Tk, d_k)``, ``v (..., Tk, d_v)`` -> ``out (..., Tq, d_v)``, weights
``(..., Tq, Tk)``; ``...`` is batch (and heads), equal across the three. ``mask`` is boolean, True = may attend,
and broadcasts to ``(..., Tq, Tk)``. A query whose keys are all masked gets zero weights and a zero output.

Book: chapters 1 (notebooks/01_attention_in_one_picture.ipynb) and 7 (notebooks/07_scaled_dot_product_attention.ipynb).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import _checks
from .masks import causal_mask
from .scores import dot
from .softmax import masked_softmax


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scale: float | None = None,
    dropout_p: float = 0.0,
    bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores -> masked softmax -> weighted sum of values. Returns ``(out, weights)``.

    ``scale=1.0`` gives plain dot-product attention. ``dropout_p`` drops weights before they multiply the values
    (as in the Transformer); the returned weights are the ones before dropout. ``bias`` (float, broadcasting to
    ``(..., Tq, Tk)``) is added to the scaled scores, as torch adds a float ``attn_mask``: relative positions, ALiBi.
    A ``-inf`` bias entry forbids its key exactly as a False mask entry does (a query left with no key gets zeros).
    """
    scale = _check_inputs("attention", q, k, v, mask, scale, dropout_p, bias)
    scores = dot(q * scale, k)  # (..., Tq, Tk); scaling q first keeps float16 products in range
    weights = masked_softmax(scores if bias is None else scores + bias, mask)  # a -inf bias entry masks its key
    out = F.dropout(weights, dropout_p) @ v if dropout_p > 0 else weights @ v
    return out, weights


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    is_causal: bool = False,
    scale: float | None = None,
    dropout_p: float = 0.0,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """The fast path: same result as ``attention(...)[0]``, computed by torch's fused kernels.

    ``is_causal=True`` applies ``causal_mask(Tq, Tk)`` (combined with ``mask`` if both are given). With
    ``Tq != Tk`` the queries are the last ``Tq`` positions, as in ``causal_mask`` -- unlike torch's own
    ``is_causal``, which aligns the triangle to the top-left corner. ``bias`` is added as in ``attention``.
    """
    scale = _check_inputs("scaled_dot_product_attention", q, k, v, mask, scale, dropout_p, bias)
    if not isinstance(is_causal, bool):
        raise TypeError(f"scaled_dot_product_attention(): is_causal must be a bool, got {type(is_causal).__name__}")
    n_q, n_k = q.shape[-2], k.shape[-2]
    if is_causal and (mask is not None or bias is not None or n_q != n_k):
        causal = causal_mask(n_q, n_k, device=q.device)
        mask, is_causal = (causal if mask is None else mask & causal), False
    allowed = mask  # which keys each query may attend: the mask, and a bias that is not -inf
    if bias is not None:
        finite = bias != float("-inf")
        allowed = finite if allowed is None else allowed & finite
    if allowed is None:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=is_causal, scale=scale)
    # A query with no allowed key: some kernels return NaN for it, and zeroing the output afterwards would not stop
    # NaN in the backward pass. So no kernel ever sees such a row: it is opened to every key, and its output zeroed.
    empty = ~allowed.any(dim=-1, keepdim=True)  # (..., Tq, 1)
    if bias is None:
        attn_mask = allowed | empty
    else:  # torch takes one mask; with a bias, a float one: the bias, -inf where attending is not allowed
        attn_mask = bias.masked_fill(~allowed, float("-inf")).masked_fill(empty, 0.0)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, scale=scale)
    return out.masked_fill(empty, 0.0)  # (..., Tq, d_v)


# ---- argument checks, shared by both paths ----

def _check_inputs(fn: str, q, k, v, mask, scale, dropout_p, bias=None) -> float:
    """Validate the arguments shared by both paths; return the scale to use."""
    _checks.qkv(fn, q, k, v)
    if mask is not None:
        target = (*q.shape[:-1], k.shape[-2])
        _checks.bool_mask(fn, mask, target, f"(..., Tq, Tk) = {target}", q.device)
    if bias is not None:
        _checks.floating(fn, "bias", bias)
        _checks.same_dtype_and_device(fn, query=q, bias=bias)
        target = (*q.shape[:-1], k.shape[-2])
        if not _checks.broadcasts_to(bias.shape, target):
            raise ValueError(f"{fn}(): bias of shape {_checks.shape(bias)} does not broadcast to (..., Tq, Tk) = {target}")
    _checks.probability(fn, "dropout_p", dropout_p)
    if scale is None:
        return 1.0 / math.sqrt(q.shape[-1])
    if not _checks.is_real(scale):
        raise TypeError(f"{fn}(): scale must be a float or None, got {type(scale).__name__}")
    if not math.isfinite(scale):
        raise ValueError(f"{fn}(): scale must be finite, got {scale}")
    return float(scale)
