"""Exercises for chapter 15: self-attention inside a CNN (SAGAN).

``check_sagan_block``: the block ``y = gamma o + x`` with 1x1-convolution queries, keys, values and output, and
``gamma`` starting at zero (Zhang et al. 2019, section 3). ``check_pixel_attention_map``: where one pixel looks, as an
``(H, W)`` map.

Book: used by chapter 15 (notebooks/15_self_attention_in_a_cnn.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..attention import attention
from ..sagan import SelfAttention2d
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, require_class, run, seeded


def _pixels(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(2).transpose(1, 2)  # (B, c, H, W) -> (B, HW, c), raster order


def _sagan(block: SelfAttention2d, x: torch.Tensor, *, dim: int = -1, scale: float = 1.0, residual: bool = True
           ) -> torch.Tensor:
    """The block by hand; the knobs make the typical mistakes."""
    scores = _pixels(block.query(x)) @ _pixels(block.key(x)).transpose(1, 2) * scale
    mixed = torch.softmax(scores, dim) @ _pixels(block.value(x))  # (B, HW, C')
    out = block.out(mixed.transpose(1, 2).reshape(x.shape[0], -1, *x.shape[2:]))
    return block.gamma * out + (x if residual else 0)


def check_sagan_block(module_cls: type, *, device: torch.device | str | None = None) -> bool:
    """Check a class ``module_cls(channels)`` with bias-free 1x1 convolutions ``query``, ``key``, ``value``
    (``C -> C // 8``) and ``out`` (``C // 8 -> C``), a parameter ``gamma`` of shape ``(1,)`` starting at 0, and
    ``forward(x (B, C, H, W)) -> (B, C, H, W)``: ``y = gamma * out(m) + x``, where pixel i's ``m`` is the sum over
    all pixels j of ``softmax_j(query(x)_i . key(x)_j) value(x)_j`` (no scale)."""
    require_class("check_sagan_block", module_cls)
    dev = device_of(device)

    def fresh(cls: type, case: Case) -> torch.Tensor:
        with seeded(0), torch.no_grad():  # seeded: the reader's random state is left as it was
            return cls(case.inputs["x"].shape[1]).to(dev)(case.inputs["x"])

    def copied(cls: type, case: Case) -> torch.Tensor:
        with seeded(0):
            block = cls(case.inputs["x"].shape[1]).to(dev)
        block.load_state_dict(case.inputs["weights"].state_dict())
        with torch.no_grad():
            return block(case.inputs["x"])

    x0 = randn(generator(0), 2, 16, 3, 4, device=dev)
    start = Case("a new block, C=16, 3x4 pixels", {"x": x0}, x0,
                 [Mistake("the residual is missing: y = gamma * out(m) + x", test=lambda got: not got.any()),
                  Mistake("gamma starts at 0, so that a new block is exactly the identity", test=lambda got: True)])
    cases = []
    for seed, (batch, channels, height, width) in enumerate(((1, 8, 2, 2), (2, 16, 3, 4))):
        with seeded(seed):
            reference = SelfAttention2d(channels).to(dev)
        with torch.no_grad():
            reference.gamma.fill_(0.7)
            x = randn(generator(seed), batch, channels, height, width, device=dev)
            d = channels // 8
            mistakes = [Mistake("softmax over the wrong axis: pixel i's weights run over the pixels j it looks at",
                                _sagan(reference, x, dim=1)),
                        Mistake("the residual is missing: y = gamma * out(m) + x",
                                _sagan(reference, x, residual=False)),
                        Mistake("SAGAN's scores are plain dot products, without 1/sqrt(d)",
                                _sagan(reference, x, scale=1 / math.sqrt(d)))]
            cases.append(Case(f"B={batch}, C={channels}, {height}x{width} pixels, gamma=0.7",
                              {"x": x, "weights": reference}, reference(x), mistakes))
    return run("check_sagan_block", module_cls, [
        Group("at initialisation", [start], "gamma = nn.Parameter(torch.zeros(1))", fresh),
        Group("with attnlab's weights copied in", cases, "flatten the pixels (B, HW, c), attend, reshape back to "
              "(B, C // 8, H, W), then out, y = gamma * out(m) + x", copied)])


def check_pixel_attention_map(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(queries (B, c, H, W), keys (B, c, H, W), row, col) -> (B, H, W)``: the attention weights of the
    pixel at (row, col) over every pixel, ``softmax`` over all ``H W`` pixels of ``queries[:, :, row, col] .
    keys[:, :, r, c]`` (no scale), shaped as the image."""
    require_callable("check_pixel_attention_map", fn)
    dev = device_of(device)
    cases = []
    for seed, (batch, c, height, width, row, col) in enumerate(((1, 2, 2, 3, 0, 2), (2, 4, 3, 5, 2, 1),
                                                                (2, 3, 4, 6, 1, 4))):
        g = generator(seed)
        q, k = randn(g, batch, c, height, width, device=dev), randn(g, batch, c, height, width, device=dev)
        weights = lambda q_, k_: attention(_pixels(q_), _pixels(k_), _pixels(k_), scale=1.0)[1]  # noqa: E731
        expected = weights(q, k)[:, row * width + col].reshape(batch, height, width)
        mistakes = [Mistake("the query comes from `queries` at (row, col); the keys are every pixel of `keys`",
                            weights(k, q)[:, row * width + col].reshape(batch, height, width)),
                    Mistake("in raster order pixel (r, c) is index r * W + c",
                            weights(q, k)[:, col * height + row].reshape(batch, height, width)),
                    Mistake("the map has the image's shape (H, W): rows first",
                            test=lambda got, transposed=(batch, width, height): tuple(got.shape) == transposed)]
        cases.append(Case(f"B={batch}, c={c}, {height}x{width} pixels, pixel ({row}, {col})",
                          {"queries": q, "keys": k, "row": row, "col": col}, expected, mistakes))
    return run("check_pixel_attention_map", fn, [Group("feature maps", cases, "dot products of the pixel's query "
                                                       "with every key, softmax over all H W of them, reshape")])
