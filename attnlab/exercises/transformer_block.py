"""Exercises for chapter 12: the Transformer block.

``check_layer_norm``: normalise each position over its features, then scale and shift (Ba et al. 2016).
``check_encoder_layer``: the two residual sub-layers of an encoder layer in the post-norm order of the original
Transformer and the pre-norm order (Xiong et al. 2020), checked against ``torch.nn.TransformerEncoderLayer``.

Book: used by chapter 12 (notebooks/12_transformer_block.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ._harness import Case, Described, Group, Mistake, device_of, generator, randn, require_callable, run, seeded


def _layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, *, dim: int = -1,
                unbiased: bool = False, eps_inside: bool = True) -> torch.Tensor:
    centred = x - x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=unbiased)
    normed = centred / (var + eps).sqrt() if eps_inside else centred / (var.sqrt() + eps)
    return normed * weight + bias


def check_layer_norm(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x (..., d), weight (d,), bias (d,), eps) -> (..., d)``: each position normalised over its ``d``
    features (mean 0, biased variance 1, ``eps`` inside the square root), then ``* weight + bias``."""
    require_callable("check_layer_norm", fn)
    dev = device_of(device)
    cases = []
    for seed, (shape, eps) in enumerate((((2, 4), 1e-5), ((2, 3, 6), 0.1), ((3, 5, 8), 1e-5))):
        g = generator(seed)
        x = randn(g, *shape, device=dev) * 0.5 + 1
        weight, bias = randn(g, shape[-1], device=dev), randn(g, shape[-1], device=dev)
        mistakes = [Mistake("normalise each position over its features (the last axis), not over the positions",
                            _layer_norm(x, weight, bias, eps, dim=-2)),
                    Mistake("layer norm uses the biased variance (unbiased=False, divide by d)",
                            _layer_norm(x, weight, bias, eps, unbiased=True)),
                    Mistake("eps goes inside the square root: (x - mean) / sqrt(var + eps)",
                            _layer_norm(x, weight, bias, eps, eps_inside=False))]
        cases.append(Case(f"x {shape}, eps {eps}", {"x": x, "weight": weight, "bias": bias, "eps": eps},
                          F.layer_norm(x, shape[-1:], weight, bias, eps), mistakes, atol=1e-4))
    return run("check_layer_norm", fn, [Group("inputs", cases, "mean and variance over the last axis, keepdim=True")])


def _encoder_layer(x, attn, ff, norm1, norm2, norm_first: bool, *, mistake: str | None = None) -> torch.Tensor:
    """Both orders, correct when ``mistake`` is None."""
    if mistake == "order":
        norm_first = not norm_first
    if norm_first:
        if mistake == "residual":
            x = norm1(x)
            x = x + attn(x)
            y = norm2(x)
            return y + ff(y)
        x = x + attn(norm1(x))
        return x + ff(norm2(x))
    if mistake == "residual":
        x = norm1(attn(x)) + x
        return norm2(ff(x)) + x
    x = norm1(x + attn(x))
    return norm2(x + ff(x))


def _torch_layer(d: int, norm_first: bool, dev: torch.device) -> tuple[nn.TransformerEncoderLayer, dict]:
    with seeded(int(norm_first)), torch.no_grad():
        layer = nn.TransformerEncoderLayer(d, 2, 2 * d, dropout=0.0, batch_first=True, norm_first=norm_first).to(dev)
        for norm in (layer.norm1, layer.norm2):  # norms that differ from the identity and from each other
            norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.5, 0.5)
    parts = {"attn": Described(lambda y: layer.self_attn(y, y, y, need_weights=False)[0], "the self-attention "
                               "sub-layer (B, T, d) -> (B, T, d)"),
             "ff": Described(lambda y: layer.linear2(F.relu(layer.linear1(y))), "the feed-forward sub-layer"),
             "norm1": layer.norm1, "norm2": layer.norm2}
    return layer, parts


def check_encoder_layer(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x (B, T, d), attn, ff, norm1, norm2, norm_first) -> (B, T, d)``: post-norm
    ``x = norm1(x + attn(x)); x = norm2(x + ff(x))`` when ``norm_first`` is False, pre-norm
    ``x = x + attn(norm1(x)); x = x + ff(norm2(x))`` when it is True. ``attn`` and ``ff`` map ``(B, T, d)`` to
    ``(B, T, d)``."""
    require_callable("check_encoder_layer", fn)
    dev = device_of(device)
    groups = []
    for norm_first in (False, True):
        layer, parts = _torch_layer(8, norm_first, dev)
        x = randn(generator(int(norm_first)), 2, 5, 8, device=dev)
        inputs = {"x": x, **parts, "norm_first": norm_first}
        expected = layer(x).detach()  # grad enabled: torch's reference path, not its fused inference path
        with torch.no_grad():
            mistakes = [Mistake("in pre-norm the residual stream carries the un-normalised x: x + attn(norm1(x))"
                                if norm_first else "post-norm normalises the sum: norm1(x + attn(x))",
                                _encoder_layer(**inputs, mistake="residual")),
                        Mistake("norm_first=True is pre-norm (normalise the sub-layer's input), False is post-norm "
                                "(normalise after the residual sum)", _encoder_layer(**inputs, mistake="order")),
                        Mistake("norm1 goes with the attention sub-layer, norm2 with the feed-forward one",
                                _encoder_layer(x, parts["attn"], parts["ff"], parts["norm2"], parts["norm1"],
                                               norm_first))]
        name = "pre-norm (norm_first=True)" if norm_first else "post-norm (norm_first=False)"
        groups.append(Group(name, [Case("B=2, T=5, d=8, against nn.TransformerEncoderLayer", inputs, expected,
                                        mistakes)], "two residual sub-layers: attention, then feed-forward"))
    return run("check_encoder_layer", fn, groups)
