"""Local (block) self-attention, as in the Image Transformer (Parmar et al. 2018, section 3.2).

Dense causal attention over T positions costs O(T^2) time and memory. Local attention splits the positions into
query blocks and lets each block attend only to a nearby memory, so the cost is O(T x memory size). Both functions
here compute block by block -- the dense (T, T) matrix is never built -- and equal dense attention under the mask
that ``local_mask_1d`` / ``local_mask_2d`` describe (the tests check it), for any length or image size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import _checks
from .softmax import masked_softmax


def local_mask_1d(length: int, block_size: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """``(T, T)``: query i may attend key j iff j <= i and j's block is i's block or the one before it."""
    length = _checks.positive_int("local_mask_1d", "length", length)
    block_size = _checks.positive_int("local_mask_1d", "block_size", block_size)
    i = torch.arange(length, device=device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    return (j <= i) & (j // block_size >= i // block_size - 1)


def _check_qkv(fn: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, spatial: int) -> None:
    for name, x in (("q", q), ("k", k), ("v", v)):
        _checks.floating(fn, name, x, ndim=(spatial + 1, 8))
    _checks.same_dtype_and_device(fn, q=q, k=k, v=v)
    if q.shape != k.shape or q.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"{fn}(): q and k must have equal shapes and v the same positions, got q: "
                         f"{_checks.shape(q)}, k: {_checks.shape(k)}, v: {_checks.shape(v)}")


def local_attention_1d(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, block_size: int) -> torch.Tensor:
    """Causal local self-attention over ``(..., T, d)`` in blocks of ``block_size``; returns ``(..., T, d_v)``.

    Each query block attends to its own block (causally) and the previous one: scores ``(..., T/b, b, 2b)``.
    """
    _check_qkv("local_attention_1d", q, k, v, 1)
    b = _checks.positive_int("local_attention_1d", "block_size", block_size)
    *lead, n, d = q.shape
    n_blocks = math.ceil(n / b)
    pad = n_blocks * b - n  # padded positions come after every real query, so causality already hides them

    def blocks(x: torch.Tensor) -> torch.Tensor:  # (..., T, c) -> (..., N, b, c)
        return F.pad(x, (0, 0, 0, pad)).unflatten(-2, (n_blocks, b))

    def with_previous(x: torch.Tensor) -> torch.Tensor:  # (..., N, b, c) -> (..., N, 2b, c): previous block, then own
        return torch.cat([F.pad(x, (0, 0, 0, 0, 1, 0))[..., :-1, :, :], x], dim=-2)

    qb = blocks(q)
    kb, vb = with_previous(blocks(k)), with_previous(blocks(v))
    row = torch.arange(b, device=q.device)[:, None]
    col = torch.arange(2 * b, device=q.device)[None, :]
    allowed = (col <= row + b).expand(n_blocks, b, 2 * b).clone()  # key at or before the query
    allowed[0, :, :b] = False  # the first block has no previous block
    weights = masked_softmax(qb @ kb.transpose(-2, -1) / math.sqrt(d), allowed)
    return (weights @ vb).flatten(-3, -2)[..., :n, :]


def local_mask_2d(
    height: int, width: int, query_block: tuple[int, int], memory: tuple[int, int], *,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(HW, HW)`` in raster order: pixel (r, c) in query block (R, C) of size ``query_block = (h_q, w_q)`` may
    attend pixel (r', c') iff (r', c') comes no later in raster order and lies in the block's memory: rows
    ``[R h_q - h_m, (R + 1) h_q)`` and columns ``[C w_q - w_m, (C + 1) w_q + w_m)``, ``memory = (h_m, w_m)``."""
    (h_q, w_q), (h_m, w_m) = _check_2d("local_mask_2d", height, width, query_block, memory)
    r = torch.arange(height, device=device).repeat_interleave(width)
    c = torch.arange(width, device=device).repeat(height)
    R, C = (r // h_q)[:, None], (c // w_q)[:, None]
    rows_ok = (r[None, :] >= R * h_q - h_m) & (r[None, :] < (R + 1) * h_q)
    cols_ok = (c[None, :] >= C * w_q - w_m) & (c[None, :] < (C + 1) * w_q + w_m)
    index = torch.arange(height * width, device=device)
    return rows_ok & cols_ok & (index[None, :] <= index[:, None])


def _check_2d(fn, height, width, query_block, memory) -> tuple[tuple[int, int], tuple[int, int]]:
    _checks.positive_int(fn, "height", height)
    _checks.positive_int(fn, "width", width)
    h_q = _checks.positive_int(fn, "query_block[0]", query_block[0])
    w_q = _checks.positive_int(fn, "query_block[1]", query_block[1])
    h_m = _checks.positive_int(fn, "memory[0]", memory[0], minimum=0)
    w_m = _checks.positive_int(fn, "memory[1]", memory[1], minimum=0)
    return (h_q, w_q), (h_m, w_m)


def local_attention_2d(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, query_block: tuple[int, int], memory: tuple[int, int],
) -> torch.Tensor:
    """Causal 2-D local self-attention over an image of features ``(..., H, W, d)``; returns ``(..., H, W, d_v)``.

    Each ``h_q x w_q`` query block attends to the ``(h_m + h_q) x (w_q + 2 w_m)`` memory rectangle around it
    (``local_mask_2d``), gathered with ``unfold``: scores ``(..., H/h_q, W/w_q, h_q w_q, memory size)``.
    """
    _check_qkv("local_attention_2d", q, k, v, 2)
    *lead, height, width, d = q.shape
    (h_q, w_q), (h_m, w_m) = _check_2d("local_attention_2d", height, width, query_block, memory)
    n_r, n_c = math.ceil(height / h_q), math.ceil(width / w_q)
    pad_h, pad_w = n_r * h_q - height, n_c * w_q - width

    def query_blocks(x: torch.Tensor) -> torch.Tensor:  # (..., H, W, c) -> (..., n_r, n_c, h_q w_q, c)
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h)).unflatten(-3, (n_r, h_q)).unflatten(-2, (n_c, w_q))
        return x.transpose(-4, -3).flatten(-3, -2)

    def memory_blocks(x: torch.Tensor) -> torch.Tensor:  # (..., H, W, c) -> (..., n_r, n_c, memory size, c)
        x = F.pad(x, (0, 0, w_m, pad_w + w_m, h_m, pad_h))
        x = x.unfold(-3, h_m + h_q, h_q).unfold(-3, w_q + 2 * w_m, w_q)  # (..., n_r, n_c, c, h, w)
        return x.flatten(-2).transpose(-2, -1)

    # raster index of every pixel, -1 for padding: which memory entries are real and come no later than the query
    index = torch.arange(height * width, device=q.device).view(height, width, 1)
    query_index = query_blocks(index + 1).squeeze(-1)[..., :, None] - 1
    key_index = memory_blocks(index + 1).squeeze(-1)[..., None, :] - 1
    allowed = (key_index >= 0) & (key_index <= query_index)
    scores = query_blocks(q) @ memory_blocks(k).transpose(-2, -1) / math.sqrt(d)
    out = masked_softmax(scores, allowed) @ memory_blocks(v)  # (..., n_r, n_c, h_q w_q, d_v)
    out = out.unflatten(-2, (h_q, w_q)).transpose(-4, -3).flatten(-5, -4).flatten(-3, -2)
    return out[..., :height, :width, :]
