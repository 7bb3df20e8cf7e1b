"""Exercises for chapter 7: scaled dot-product attention and the softmax's Jacobian.

``check_scaled_dot_product_attention``: ``softmax(Q K^T / sqrt(d_k)) V`` with a boolean mask (Vaswani et al. 2017,
eq. 1), zeros for a query with no allowed key. ``check_softmax_jacobian``: ``d p_i / d s_j = p_i (delta_ij - p_j)``,
the matrix whose shrinking the chapter measures.

Book: used by chapter 7 (notebooks/07_scaled_dot_product_attention.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..attention import attention
from ..saturation import softmax_jacobian
from ._harness import Case, Group, Mistake, device_of, generator, has_nan, randn, require_callable, run


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *,
               scale: float | None = None, dim: int = -1, fill: float = -math.inf) -> torch.Tensor:
    """Attention with a plain softmax (NaN on fully masked rows), for the mistakes' answers."""
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        scores = scores.masked_fill(~mask, fill)
    return torch.softmax(scores, dim) @ v


def attention_mistakes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
                       ) -> list[Mistake]:
    """The typical mistakes of scaled dot-product attention, each with its answer."""
    d = q.shape[-1]
    mistakes = [Mistake("the scale is missing: divide the scores by sqrt(d_k)", _attention(q, k, v, mask, scale=1.0)),
                Mistake("the scale is applied twice (or as 1/d_k): divide the scores by sqrt(d_k) once",
                        _attention(q, k, v, mask, scale=1 / d)),
                Mistake("softmax over the wrong axis: each query's weights run over the keys (the last axis)",
                        _attention(q, k, v, mask, dim=-2))]
    if mask is not None:
        mistakes += [Mistake("the mask is inverted: True means 'may attend'", _attention(q, k, v, ~mask)),
                     Mistake("a query whose keys are all masked gives NaN: its weights and output must be zeros",
                             test=has_nan),
                     Mistake("filling masked scores with a large negative number gives a fully masked query uniform "
                             "weights over keys it may not see: its output must be zeros",
                             _attention(q, k, v, mask, fill=-1e9))]
    return mistakes


def check_scaled_dot_product_attention(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(q (..., Tq, d_k), k (..., Tk, d_k), v (..., Tk, d_v), mask=None) -> (..., Tq, d_v)``; ``mask`` is
    boolean (True = may attend) and broadcasts to ``(..., Tq, Tk)``."""
    require_callable("check_scaled_dot_product_attention", fn)
    dev, g = device_of(device), generator()

    def case(label: str, shape_q: tuple, n_k: int, d_v: int, mask: torch.Tensor | None = None) -> Case:
        q = randn(g, *shape_q, device=dev) * 2
        k, v = randn(g, *shape_q[:-2], n_k, shape_q[-1], device=dev) * 2, randn(g, *shape_q[:-2], n_k, d_v, device=dev)
        inputs = {"q": q, "k": k, "v": v} | ({} if mask is None else {"mask": mask})
        return Case(label, inputs, attention(q, k, v, mask)[0], attention_mistakes(q, k, v, mask))

    some = torch.tensor([[True, False, True], [False, True, True]], device=dev)
    empty = torch.tensor([[True, True, False, False], [False] * 4, [False, False, False, True]], device=dev)
    return run("check_scaled_dot_product_attention", fn, [
        Group("no mask", [case("one query, three keys", (1, 4), 3, 2), case("batch 2", (2, 3, 4), 5, 3),
                          case("batch and heads", (2, 3, 4, 8), 6, 5)],
              "scores q k^T / sqrt(d_k) of shape (..., Tq, Tk), softmax over the keys, then @ v"),
        Group("with a mask", [case("two queries, three keys", (2, 4), 3, 2, some),
                              case("causal, batch 2", (2, 5, 4), 5, 3, torch.ones(5, 5, dtype=torch.bool,
                                                                                  device=dev).tril())],
              "masked keys get weight 0: set their scores to -inf before the softmax"),
        Group("a query with no allowed key", [case("query 1 sees nothing", (3, 4), 4, 2, empty)],
              "a fully masked row must give zero weights and a zero output, never NaN")])


def check_softmax_jacobian(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(p (..., n)) -> (..., n, n)``: the Jacobian ``J[..., i, j] = d p_i / d s_j`` of ``p = softmax(s)``,
    written with ``p`` only."""
    require_callable("check_softmax_jacobian", fn)
    dev, g = device_of(device), generator()
    cases = []
    for label, p in (("p = (0.5, 0.5)", torch.tensor([0.5, 0.5], device=dev)),
                     ("p = (0.7, 0.2, 0.1)", torch.tensor([0.7, 0.2, 0.1], device=dev)),
                     ("a batch of 2 x 3 distributions over 5", torch.softmax(randn(g, 2, 3, 5, device=dev), -1))):
        diagonal = torch.diag_embed(p)
        outer = p[..., :, None] * p[..., None, :]
        mistakes = [Mistake("the off-diagonal entries -p_i p_j are missing", torch.diag_embed(p * (1 - p))),
                    Mistake("only diag(p): subtract the outer product p p^T", diagonal),
                    Mistake("the sign is flipped: J = diag(p) - p p^T", outer - diagonal)]
        cases.append(Case(label, {"p": p}, softmax_jacobian(p), mistakes))
    s = randn(g, 4, device=dev)
    autograd = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, -1), s)
    cases.append(Case("against autograd at random scores", {"p": torch.softmax(s, -1)}, autograd))
    return run("check_softmax_jacobian", fn, [Group("Jacobians", cases, "J = diag(p) - p p^T, batched over the "
                                                    "leading dimensions")])
