"""Exercises for chapter 8: self-attention and permutation equivariance.

``check_self_attention``: queries, keys and values projected from the same tokens, then scaled dot-product
attention. ``check_permutation_equivariance_test``: a test that tells an equivariant layer (``f(X[perm]) =
f(X)[perm]``) from one that is not; the checker runs it on layers whose answer is known.

Book: used by chapter 8 (notebooks/08_self_attention.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..attention import attention
from ..masks import causal_mask
from ..positional import sinusoidal_encoding
from ._harness import Case, Described, Group, Mistake, device_of, generator, randn, require_callable, run, seeded


def check_self_attention(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x (B, T, d_model), W_q (d_model, d_k), W_k (d_model, d_k), W_v (d_model, d_v)) ->
    (out (B, T, d_v), weights (B, T, T))``: ``Q = x W_q``, ``K = x W_k``, ``V = x W_v``, then
    ``softmax(Q K^T / sqrt(d_k)) V``; ``weights[b, i, j]`` is how much token i attends to token j."""
    require_callable("check_self_attention", fn)
    dev = device_of(device)
    cases = []
    for seed, (batch, length, d_model, d_k, d_v) in enumerate(((1, 3, 2, 2, 2), (2, 4, 6, 3, 6), (2, 5, 8, 4, 8))):
        g = generator(seed)
        x = {"x": randn(g, batch, length, d_model, device=dev), "W_q": randn(g, d_model, d_k, device=dev),
             "W_k": randn(g, d_model, d_k, device=dev), "W_v": randn(g, d_model, d_v, device=dev)}
        q, k, v = x["x"] @ x["W_q"], x["x"] @ x["W_k"], x["x"] @ x["W_v"]
        out, weights = attention(q, k, v)
        scores = q @ k.transpose(1, 2) / math.sqrt(d_k)
        by_queries, swapped = torch.softmax(scores, 1), torch.softmax(scores.transpose(1, 2), -1)
        mistakes = [Mistake("softmax over the wrong axis: token i's weights run over the keys j (the last axis)",
                            (by_queries @ v, by_queries)),
                    Mistake("weights[i, j] is query i against key j: Q K^T, not K Q^T", (swapped @ v, swapped)),
                    Mistake("the values are x W_v, not x itself", (weights @ x["x"], weights))]
        if d_k != d_model:
            mistakes.append(Mistake("scale by 1/sqrt(d_k), the width of the queries and keys, not of the tokens",
                                    attention(q, k, v, scale=1 / math.sqrt(d_model))))
        cases.append(Case(f"B={batch}, T={length}, d_model={d_model}, d_k={d_k}, d_v={d_v}", x, (out, weights),
                          mistakes))
    return run("check_self_attention", fn, [Group("projected self-attention", cases,
                                                  "project x three times, then scaled dot-product attention")])


def _layers(d: int, dev: torch.device) -> list[tuple[Described, bool]]:
    """Layers ``(B, T, d) -> (B, T, d)`` and whether each is permutation equivariant."""
    with seeded(0):
        mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.Tanh(), nn.Linear(2 * d, d)).to(dev)
    W = randn(generator(1), 3, d, d, device=dev) / math.sqrt(d)
    attend = lambda x, mask=None: attention(x @ W[0], x @ W[1], x @ W[2], mask)[0]  # noqa: E731
    return [(Described(attend, "self-attention with projections"), True),
            (Described(mlp, "the same MLP applied to every token"), True),
            (Described(lambda x: attend(x + sinusoidal_encoding(x.shape[1], d, device=x.device)),
                       "self-attention after adding sinusoidal positions"), False),
            (Described(lambda x: attend(x, causal_mask(x.shape[1], device=x.device)),
                       "causally masked self-attention"), False),
            (Described(lambda x: x.cumsum(1), "a running sum over the tokens"), False)]


def check_permutation_equivariance_test(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(layer, x (B, T, d)) -> bool``: whether ``layer(x[:, perm]) == layer(x)[:, perm]`` (within float
    tolerance) for a permutation ``perm`` of the tokens; ``layer`` maps ``(B, T, d)`` to ``(B, T, d)``."""
    require_callable("check_permutation_equivariance_test", fn)
    dev = device_of(device)
    x = randn(generator(2), 2, 6, 4, device=dev)
    cases = []
    for layer, equivariant in _layers(4, dev):
        mistake = (Mistake("an equivariant layer moves its outputs with its inputs: compare layer(x[:, perm]) with "
                           "layer(x)[:, perm] (not with layer(x)), with a float tolerance (torch.allclose)",
                           test=lambda got: got is False) if equivariant else
                   Mistake("shuffle the tokens (dim 1) with a permutation that really moves them; shuffling the "
                           "batch, or the identity permutation, changes nothing", test=lambda got: got is True))
        cases.append(Case(f"{layer!r} (equivariant: {equivariant})", {"layer": layer, "x": x}, equivariant,
                          [mistake]))
    return run("check_permutation_equivariance_test", fn, [Group("layers with a known answer", cases,
                                                                 "return a Python bool")])
