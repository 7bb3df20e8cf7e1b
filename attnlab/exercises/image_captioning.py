"""Exercises for chapter 5: attention over an image's feature grid (Show, Attend and Tell).

``check_grid_attention``: turn a CNN feature map ``(B, D, H, W)`` into ``H W`` annotation vectors in raster order,
attend over them with the additive score and return the context and the weights as a map ``(B, H, W)`` (Xu et al.
2015, section 4.2). ``check_doubly_stochastic_penalty``: ``lambda sum_i (1 - sum_t alpha_ti)^2`` over the real
steps of each caption, averaged over the batch (Xu et al. 2015, eq. 14).

Book: used by chapter 5 (notebooks/05_image_captioning.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..vision import doubly_stochastic_penalty
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run
from .additive_attention import additive_scores


def _attend(h: torch.Tensor, a: torch.Tensor, W_h: torch.Tensor, W_a: torch.Tensor, v: torch.Tensor, dim: int = -1
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft attention of ``h (B, d_h)`` over annotations ``a (B, L, D)``: context ``(B, D)`` and weights ``(B, L)``."""
    alpha = torch.softmax(additive_scores(h, a, W_h, W_a, v), dim)
    return (alpha[:, None] @ a)[:, 0], alpha


def check_grid_attention(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(h (B, d_h), features (B, D, H, W), W_h (d_a, d_h), W_a (d_a, D), v (d_a,)) ->
    (z (B, D), alpha (B, H, W))``: the additive score of every grid cell, a softmax over the ``H W`` cells and the
    weighted sum of their feature vectors; ``alpha[b, r, c]`` is the weight of the cell in row r, column c."""
    require_callable("check_grid_attention", fn)
    dev = device_of(device)
    cases = [_grid_case(seed, *sizes, dev) for seed, sizes in enumerate(((2, 2, 1, 3, 2), (2, 4, 2, 3, 3),
                                                                         (3, 6, 4, 5, 4)))]
    return run("check_grid_attention", fn, [Group("feature grids", cases, "annotations a = (B, H W, D) in raster "
                                                  "order; scores v . tanh(W_h h + W_a a_i); softmax over the cells")])


def _grid_case(seed: int, batch: int, depth: int, height: int, width: int, d_h: int, dev: torch.device) -> Case:
    g = generator(seed)
    x = {"h": randn(g, batch, d_h, device=dev), "features": randn(g, batch, depth, height, width, device=dev),
         "W_h": randn(g, 3, d_h, device=dev), "W_a": randn(g, 3, depth, device=dev), "v": randn(g, 3, device=dev)}
    h, rest = x["h"], (x["W_h"], x["W_a"], x["v"])
    on_grid = lambda z, alpha: (z, alpha.reshape(batch, height, width))  # noqa: E731
    cells = x["features"].flatten(2).transpose(1, 2)  # (B, H W, D) in raster order
    mistakes = [Mistake("reshaping (B, D, H, W) to (B, H W, D) directly mixes channels and positions: move the "
                        "channel axis last first (flatten(2).transpose(1, 2))",
                        on_grid(*_attend(h, x["features"].reshape(batch, -1, depth), *rest))),
                Mistake("alpha must be a softmax over the grid cells of each image, not over the batch",
                        on_grid(*_attend(h, cells, *rest, dim=0)))]
    if height > 1:
        by_columns = x["features"].transpose(2, 3).flatten(2).transpose(1, 2)
        mistakes.append(Mistake("cells go in raster order, row by row: cell (r, c) is index r * W + c",
                                on_grid(*_attend(h, by_columns, *rest))))
    return Case(f"B={batch}, D={depth}, grid {height}x{width}", x, on_grid(*_attend(h, cells, *rest)), mistakes)


def check_doubly_stochastic_penalty(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(alpha (B, T, L), steps (B, T) bool, lam) -> scalar tensor``:
    ``lam * mean_b sum_i (1 - sum_{t real} alpha[b, t, i])^2``, padded steps (``steps`` False) left out."""
    require_callable("check_doubly_stochastic_penalty", fn)
    dev = device_of(device)
    cases = []
    for seed, (batch, steps, cells, lam) in enumerate(((1, 2, 3, 1.0), (2, 4, 6, 0.5), (3, 5, 16, 2.0))):
        alpha = torch.softmax(randn(generator(seed), batch, steps, cells, device=dev), -1)
        lengths = torch.tensor([steps - b for b in range(batch)], device=dev)
        real = torch.arange(steps, device=dev)[None] < lengths[:, None]  # (B, T): True at real words
        kept = alpha * real[..., None]
        mistakes = [Mistake("sum over the time steps t for each location i (alpha.sum(1)), not over the locations",
                            lam * ((1 - kept.sum(2)) ** 2).sum(-1).mean()),
                    Mistake("leave the padded steps (steps False) out of the sum",
                            lam * doubly_stochastic_penalty(alpha)),
                    Mistake("square each location's (1 - sum_t alpha) before summing",
                            lam * (1 - kept.sum(1)).sum(-1).mean()),
                    Mistake("average over the batch, do not sum", lam * ((1 - kept.sum(1)) ** 2).sum())]
        cases.append(Case(f"B={batch}, T={steps}, L={cells}, lam={lam}",
                          {"alpha": alpha, "steps": real, "lam": lam},
                          lam * doubly_stochastic_penalty(alpha, real), mistakes))
    return run("check_doubly_stochastic_penalty", fn, [Group("random attention over captions", cases,
                                                             "zero the padded steps, sum alpha over t, then "
                                                             "(1 - that)^2 summed over i, mean over the batch")])
