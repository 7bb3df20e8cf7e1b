"""Exercises for chapter 3: Bahdanau's additive attention.

``check_additive_score``: ``e_j = v^T tanh(W s_{i-1} + U h_j)`` for every source position (Bahdanau et al. 2015,
appendix A.1.2). ``check_bahdanau_context``: the masked softmax of those scores over a padded source and the
context vector ``c_i = sum_j alpha_ij h_j``.

Book: used by chapter 3 (notebooks/03_bahdanau_attention.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..masks import padding_mask
from ..scores import Additive
from ..softmax import masked_softmax
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run, seeded


def additive_scores(s_prev: torch.Tensor, h: torch.Tensor, W: torch.Tensor, U: torch.Tensor, v: torch.Tensor
                    ) -> torch.Tensor:
    """The oracle: ``attnlab.scores.Additive`` with the given weights; ``(B, d_s), (B, T, d_h) -> (B, T)``."""
    with seeded(0):  # the weights are overwritten; the seed only spares the reader's random state
        score = Additive(W.shape[1], U.shape[1], W.shape[0]).to(h)
    with torch.no_grad():
        score.W.weight.copy_(W), score.U.weight.copy_(U), score.v.weight.copy_(v[None])
        return score(s_prev[:, None], h)[:, 0]


def _weights(batch: int, length: int, d_s: int, d_h: int, d_a: int, seed: int, dev: torch.device) -> dict:
    g = generator(seed)
    return {"s_prev": randn(g, batch, d_s, device=dev), "h": randn(g, batch, length, d_h, device=dev),
            "W": randn(g, d_a, d_s, device=dev), "U": randn(g, d_a, d_h, device=dev), "v": randn(g, d_a, device=dev)}


SIZES = ((1, 3, 2, 2, 2), (2, 5, 4, 4, 3), (3, 7, 6, 5, 8))  # batch, T, d_s, d_h, d_a


def check_additive_score(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(s_prev (B, d_s), h (B, T, d_h), W (d_a, d_s), U (d_a, d_h), v (d_a,)) -> e (B, T)`` with
    ``e[b, j] = v . tanh(W s_prev[b] + U h[b, j])``."""
    require_callable("check_additive_score", fn)
    dev = device_of(device)
    cases = []
    for seed, sizes in enumerate(SIZES):
        x = _weights(*sizes, seed, dev)
        expected = additive_scores(**x)
        mistakes = [Mistake("tanh is missing: e = v . tanh(W s + U h_j)",
                            (x["W"] @ x["s_prev"][..., None]).transpose(1, 2) @ x["v"] + x["h"] @ x["U"].T @ x["v"]),
                    Mistake("return the scores e, before the softmax", torch.softmax(expected, -1))]
        if x["W"].shape == x["U"].shape:
            mistakes.append(Mistake("W projects the decoder state s_prev, U the annotations h",
                                    additive_scores(x["s_prev"], x["h"], x["U"], x["W"], x["v"])))
        cases.append(Case("B={}, T={}, d_s={}, d_h={}, d_a={}".format(*sizes), x, expected, mistakes))
    return run("check_additive_score", fn, [Group("additive scores", cases,
                                                  "W s_prev is (B, d_a), U h is (B, T, d_a): add them with "
                                                  "broadcasting, tanh, then the dot product with v")])


def check_bahdanau_context(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(s_prev, h, mask (B, T) bool, W, U, v) -> (context (B, d_h), alpha (B, T))``: the additive scores,
    a softmax over the real source positions (``mask`` True) and the weighted sum of the annotations."""
    require_callable("check_bahdanau_context", fn)
    dev = device_of(device)
    cases = []
    for seed, sizes in enumerate(SIZES):
        x = _weights(*sizes, seed, dev)
        batch, length = sizes[:2]
        mask = padding_mask([length - (b % 2) * (length // 2) for b in range(batch)], length, device=dev)
        scores = additive_scores(**x)
        answer = lambda alpha: ((alpha[:, None] @ x["h"])[:, 0], alpha)  # noqa: E731
        mistakes = [Mistake("padded source positions got weight: mask them before the softmax",
                            answer(torch.softmax(scores, -1))),
                    Mistake("filling masked scores with 0 still gives them weight; use -inf (or masked_softmax)",
                            answer(torch.softmax(scores.masked_fill(~mask, 0.0), -1))),
                    Mistake("softmax over the source positions (the last axis), not over the batch",
                            answer(torch.softmax(scores.masked_fill(~mask, -torch.inf), 0)))]
        inputs = {"s_prev": x["s_prev"], "h": x["h"], "mask": mask, "W": x["W"], "U": x["U"], "v": x["v"]}
        cases.append(Case("B={}, T={}, d_s={}, d_h={}, d_a={}, padded".format(*sizes), inputs,
                          answer(masked_softmax(scores, mask)), mistakes))
    return run("check_bahdanau_context", fn, [Group("context vectors over padded sources", cases,
                                                    "scores (B, T) -> masked softmax over T -> "
                                                    "context = sum_j alpha_j h_j")])
