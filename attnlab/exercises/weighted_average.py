"""Exercises for chapter 1: attention as a weighted average of values.

``check_single_query_attention``: dot-product attention of one query (scores, softmax, weighted sum), the
computation the chapter does by hand. ``check_kernel_regression``: Nadaraya-Watson kernel regression (Nadaraya
1964, Watson 1964), attention whose score is minus a scaled squared distance.

Book: used by chapter 1 (notebooks/01_attention_in_one_picture.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..attention import attention
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run


def check_single_query_attention(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(query (d,), keys (n, d), values (n, d_v)) -> (out (d_v,), weights (n,))``: plain dot-product
    attention (no scale) of one query."""
    require_callable("check_single_query_attention", fn)
    dev, g = device_of(device), generator()
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.7, 0.7]], device=dev)
    values = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], device=dev)
    small = [_case(torch.tensor([2.0, 0.0], device=dev), keys, values),
             _case(torch.tensor([0.0, 0.5], device=dev), keys, values)]
    rand = [_case(randn(g, d, device=dev), randn(g, n, d, device=dev), randn(g, n, dv, device=dev))
            for d, n, dv in ((3, 5, 3), (8, 7, 4))]
    hint = "scores q . k_j for every key, a softmax over the keys, then the weighted sum of the values"
    return run("check_single_query_attention", fn,
               [Group("the chapter's four keys", small, hint), Group("random sizes", rand, hint)])


def _case(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> Case:
    out, weights = attention(query[None], keys, values, scale=1.0)
    scores = keys @ query
    scaled = torch.softmax(scores / math.sqrt(query.shape[0]), -1)
    mistakes = [Mistake("the weights must be a softmax of the scores: positive and summing to one",
                        (scores @ values, scores)),
                Mistake("chapter 1 uses the plain dot product q . k, without a 1/sqrt(d) scale",
                        (scaled @ values, scaled))]
    if keys.shape == values.shape:
        mistakes.append(Mistake("the output is a weighted average of the values, not of the keys",
                                (weights[0] @ keys, weights[0])))
    return Case(f"{keys.shape[0]} keys of width {keys.shape[1]}", {"query": query, "keys": keys, "values": values},
                (out[0], weights[0]), mistakes)


def check_kernel_regression(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x_query (m,), x_train (n,), y_train (n,), bandwidth) -> (m,)``: Nadaraya-Watson regression with
    a Gaussian kernel, ``f(x) = sum_i softmax_i(-(x - x_i)^2 / (2 h^2)) y_i``."""
    require_callable("check_kernel_regression", fn)
    dev, g = device_of(device), generator()
    small = [_regression(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0, 3.0]), torch.tensor([1.0, 2.0, 0.0]),
                         1.0, dev)]
    rand = [_regression(randn(g, m) * 3, randn(g, n) * 3, randn(g, n), h, dev)
            for m, n, h in ((4, 9, 0.5), (6, 20, 2.0))]
    hint = "weights softmax_i(-(x - x_i)^2 / (2 h^2)) over the training points i, then the weighted sum of y_i"
    return run("check_kernel_regression", fn,
               [Group("three training points", small, hint), Group("random data, two bandwidths", rand, hint)])


def _brute_force(x_query: list[float], x_train: list[float], y_train: list[float], h: float, *,
                 power: int = 2, divisor: float = 2.0, sign: float = -1.0) -> list[float]:
    """The kernel estimate, one query at a time in plain Python (and the typical mistakes by their knobs)."""
    out = []
    for x in x_query:
        scores = [sign * abs(x - xi) ** power / (divisor * h * h) for xi in x_train]
        top = max(scores)
        kernel = [math.exp(s - top) for s in scores]
        out.append(sum(k * y for k, y in zip(kernel, y_train)) / sum(kernel))
    return out


def _regression(x_query: torch.Tensor, x_train: torch.Tensor, y_train: torch.Tensor, h: float,
                dev: torch.device) -> Case:
    args = (x_query.tolist(), x_train.tolist(), y_train.tolist(), h)
    answer = lambda **knobs: torch.tensor(_brute_force(*args, **knobs), device=dev)  # noqa: E731
    d2 = -(x_query[:, None] - x_train[None, :]) ** 2 / (2 * h * h)
    over_queries = (torch.softmax(d2, 0) * y_train).sum(1).to(dev)
    mistakes = [Mistake("normalise over the training points (each query's weights sum to one), not over the queries",
                        over_queries),
                Mistake("the Gaussian kernel uses the squared distance (x - x_i)^2", answer(power=1)),
                Mistake("divide the squared distance by 2 h^2, not by h^2", answer(divisor=1.0)),
                Mistake("the score is minus the squared distance: nearer points must weigh more", answer(sign=1.0))]
    inputs = {"x_query": x_query.to(dev), "x_train": x_train.to(dev), "y_train": y_train.to(dev), "bandwidth": h}
    return Case(f"{len(x_query)} queries, {len(x_train)} training points, h = {h}", inputs, answer(), mistakes)
