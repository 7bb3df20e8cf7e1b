"""Exercises for chapter 4: Luong's alignment scores.

``check_general_score``: ``score(h_t, h_s) = h_t^T W h_s``. ``check_concat_score``: ``v^T tanh(W [h_t; h_s])``,
the score that equals Bahdanau's additive one once ``W`` is split (Luong et al. 2015, section 3.1).

Book: used by chapter 4 (notebooks/04_alignment_functions.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..scores import Concat, General
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run, seeded

SIZES = ((1, 2, 3, 2, 2), (2, 3, 5, 4, 4), (2, 4, 6, 3, 5))  # batch, Tq, Tk, d_t, d_s


def _states(batch: int, n_q: int, n_k: int, d_t: int, d_s: int, seed: int, dev: torch.device) -> dict:
    g = generator(seed)
    return {"h_t": randn(g, batch, n_q, d_t, device=dev), "h_s": randn(g, batch, n_k, d_s, device=dev)}


def _general(h_t: torch.Tensor, h_s: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    with seeded(0):  # the weights are overwritten; the seed only spares the reader's random state
        score = General(*W.shape).to(W)
    with torch.no_grad():
        score.W.weight.copy_(W)
        return score(h_t, h_s)


def check_general_score(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(h_t (B, Tq, d_t), h_s (B, Tk, d_s), W (d_t, d_s)) -> (B, Tq, Tk)``, entry ``h_t[i]^T W h_s[j]``."""
    require_callable("check_general_score", fn)
    dev = device_of(device)
    cases = []
    for seed, sizes in enumerate(SIZES):
        x = _states(*sizes, seed, dev) | {"W": randn(generator(10 + seed), sizes[3], sizes[4], device=dev)}
        expected = _general(**x)
        mistakes = [Mistake("Luong's general score has no 1/sqrt(d) scale", expected / math.sqrt(sizes[3]))]
        if sizes[3] == sizes[4]:
            mistakes += [Mistake("W is (d_t, d_s): the score is h_t W h_s^T, not h_t W^T h_s",
                                 _general(x["h_t"], x["h_s"], x["W"].T)),
                         Mistake("W is left out: that is the dot score", x["h_t"] @ x["h_s"].transpose(1, 2))]
        cases.append(Case("B={}, Tq={}, Tk={}, d_t={}, d_s={}".format(*sizes), x, expected, mistakes))
    return run("check_general_score", fn, [Group("general scores", cases, "(B, Tq, d_t) @ (d_t, d_s) @ "
                                                 "(B, d_s, Tk) -> (B, Tq, Tk)")])


def _concat(h_t: torch.Tensor, h_s: torch.Tensor, W: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    with seeded(0):
        score = Concat(h_t.shape[-1], h_s.shape[-1], W.shape[0]).to(W)
    with torch.no_grad():
        score.W.weight.copy_(W), score.v.weight.copy_(v[None])
        return score(h_t, h_s)


def check_concat_score(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(h_t (B, Tq, d_t), h_s (B, Tk, d_s), W (d_a, d_t + d_s), v (d_a,)) -> (B, Tq, Tk)``, entry
    ``v . tanh(W [h_t[i]; h_s[j]])``."""
    require_callable("check_concat_score", fn)
    dev = device_of(device)
    cases = []
    for seed, sizes in enumerate(SIZES):
        g = generator(10 + seed)
        x = _states(*sizes, seed, dev) | {"W": randn(g, 3, sizes[3] + sizes[4], device=dev),
                                          "v": randn(g, 3, device=dev)}
        expected = _concat(**x)
        pairs = torch.cat([x["h_t"][:, :, None].expand(-1, -1, sizes[2], -1),
                           x["h_s"][:, None].expand(-1, sizes[1], -1, -1)], -1)
        mistakes = [Mistake("tanh is missing: v . tanh(W [h_t; h_s])", pairs @ x["W"].T @ x["v"]),
                    Mistake("return the scores, before the softmax", torch.softmax(expected, -1))]
        if sizes[3] == sizes[4]:
            mistakes.append(Mistake("concatenate the query first: [h_t; h_s]",
                                    _concat(x["h_s"], x["h_t"], x["W"], x["v"]).transpose(1, 2)))
        cases.append(Case("B={}, Tq={}, Tk={}, d_t={}, d_s={}, d_a=3".format(*sizes), x, expected, mistakes))
    return run("check_concat_score", fn, [Group("concat scores", cases, "pair every query with every key "
                                                "(B, Tq, Tk, d_t + d_s), then W, tanh and v")])
