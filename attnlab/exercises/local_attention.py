"""Exercises for chapter 16: local attention masks.

``check_local_mask_1d``: causal attention within fixed blocks of the raster sequence and the block before
(Parmar et al. 2018, section 3.2). ``check_local_mask_2d``: rectangular query blocks whose memory extends ``h_m`` rows
above and ``w_m`` columns to either side, causal in raster order.

Book: used by chapter 16 (notebooks/16_local_attention.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..local import local_mask_1d, local_mask_2d
from ._harness import Case, Group, Mistake, require_callable, run


def _mask_1d(length: int, block: int, *, causal: bool = True, previous: bool = True, sliding: bool = False
             ) -> torch.Tensor:
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    near = (i - j < 2 * block) if sliding else (j // block >= i // block - int(previous)) & (j // block <= i // block)
    return near & (j <= i) if causal else near


def check_local_mask_1d(fn: Callable) -> bool:
    """Check ``fn(length, block_size) -> (length, length)`` bool: query i may attend key j iff ``j <= i`` and j lies
    in i's block or the block before it (blocks are ``[0, b), [b, 2b), ...``)."""
    require_callable("check_local_mask_1d", fn)
    cases = []
    for length, block in ((4, 2), (7, 2), (9, 3), (10, 4)):
        mistakes = [Mistake("inside its memory a query still sees only earlier keys (j <= i)",
                            _mask_1d(length, block, causal=False)),
                    Mistake("a query also sees the block before its own", _mask_1d(length, block, previous=False)),
                    Mistake("blocks are fixed, [0, b), [b, 2b), ...: key j is in block j // b (not a sliding window "
                            "around i)", _mask_1d(length, block, sliding=True))]
        cases.append(Case(f"length {length}, block {block}", {"length": length, "block_size": block},
                          local_mask_1d(length, block), mistakes))
    return run("check_local_mask_1d", fn, [Group("lengths and blocks", cases, "compare the block indices i // b "
                                                 "and j // b, and keep j <= i")])


def _mask_2d(height: int, width: int, query_block: tuple, memory: tuple, *, causal: bool = True,
             both_sides: bool = True, per_pixel: bool = False) -> torch.Tensor:
    (h_q, w_q), (h_m, w_m) = query_block, memory
    r, c = torch.arange(height).repeat_interleave(width), torch.arange(width).repeat(height)
    if per_pixel:
        h_q = w_q = 1
    R, C = (r // h_q)[:, None], (c // w_q)[:, None]
    rows = (r[None] >= R * h_q - h_m) & (r[None] < (R + 1) * h_q)
    cols = (c[None] >= C * w_q - w_m) & (c[None] < (C + 1) * w_q + (w_m if both_sides else 0))
    index = torch.arange(height * width)
    return rows & cols & (index[None] <= index[:, None]) if causal else rows & cols


def check_local_mask_2d(fn: Callable) -> bool:
    """Check ``fn(height, width, query_block, memory) -> (H W, H W)`` bool, pixels in raster order: pixel (r, c) in
    query block (R, C) of size ``query_block = (h_q, w_q)`` may attend pixel (r', c') iff (r', c') comes no later in
    raster order, ``R h_q - h_m <= r' < (R + 1) h_q`` and ``C w_q - w_m <= c' < (C + 1) w_q + w_m``, with
    ``memory = (h_m, w_m)``."""
    require_callable("check_local_mask_2d", fn)
    cases = []
    for size, query_block, memory in (((2, 3), (1, 1), (1, 1)), ((4, 4), (2, 2), (1, 1)), ((4, 6), (2, 3), (2, 1)),
                                      ((6, 4), (3, 2), (1, 2))):
        mistakes = [Mistake("a pixel may attend only pixels that come no later in raster order",
                            _mask_2d(*size, query_block, memory, causal=False)),
                    Mistake("the memory extends w_m columns to both sides of the query block",
                            _mask_2d(*size, query_block, memory, both_sides=False)),
                    Mistake("the memory belongs to the query block (R, C), shared by all its pixels, not to each "
                            "pixel", _mask_2d(*size, query_block, memory, per_pixel=True))]
        cases.append(Case(f"{size[0]}x{size[1]} pixels, query block {query_block}, memory {memory}",
                          {"height": size[0], "width": size[1], "query_block": query_block, "memory": memory},
                          local_mask_2d(*size, query_block, memory, order="raster"), mistakes))
    return run("check_local_mask_2d", fn, [Group("images and blocks", cases, "row and column of every pixel: "
                                                 "r = index // W, c = index % W")])
