"""Local (block) self-attention, as in the Image Transformer (Parmar et al. 2018, section 3.2).

Dense causal attention over T positions costs O(T^2) time and memory. Local attention splits the positions into
query blocks and lets each block attend only to a nearby memory, so the cost is O(T x memory size). Both functions
here compute block by block -- the dense (T, T) matrix is never built -- and equal dense attention under the mask
that ``local_mask_1d`` / ``local_mask_2d`` describe (the tests check it), for any length or image size.

Book: chapter 16 (notebooks/16_local_attention.ipynb).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .multihead import MultiHeadAttention
from .softmax import masked_softmax
from .transformer import PreNormBlock


def local_mask_1d(length: int, block_size: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """``(T, T)``: query i may attend key j iff j <= i and j's block is i's block or the one before it."""
    length = _checks.positive_int("local_mask_1d", "length", length)
    block_size = _checks.positive_int("local_mask_1d", "block_size", block_size)
    i = torch.arange(length, device=device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    return (j <= i) & (j // block_size >= i // block_size - 1)


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


class LocalSelfAttention(MultiHeadAttention):
    """Multi-head causal self-attention where each position sees its own block and the previous one
    (``local_attention_1d`` per head). ``forward(x (B, T, d_model), mask=None, *, need_weights=False)
    -> (out (B, T, d_model), None)``: the block structure is the mask, and the weights are never built, so ``mask``
    must be None and ``need_weights`` False. The projections and the head split are ``MultiHeadAttention``'s."""

    def __init__(self, d_model: int, num_heads: int, block_size: int) -> None:
        super().__init__(d_model, num_heads)
        self.block_size = _checks.positive_int("LocalSelfAttention", "block_size", block_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,  # type: ignore[override]
                need_weights: bool = False) -> tuple[torch.Tensor, None]:
        fn = "LocalSelfAttention.forward"
        _checks.features(fn, "x", x, self, ndim=3, d=self.d_model)
        _checks.sequence_length(fn, "x", x)
        if mask is not None or _checks.flag(fn, "need_weights", need_weights):
            raise ValueError(f"{fn}(): local attention takes no extra mask and never builds the weights "
                             f"(got mask={'a tensor' if mask is not None else None}, need_weights={need_weights})")
        q, k, v = self.split_heads(self.q_proj(x)), self.split_heads(self.k_proj(x)), self.split_heads(self.v_proj(x))
        out = local_attention_1d(q, k, v, block_size=self.block_size)  # (B, H, T, d_head)
        return self.out_proj(self.merge_heads(out)), None  # (B, T, d_model)


class LocalImageTransformer(nn.Module):
    """An autoregressive model of binary images (Image Transformer style, 1-D local attention in raster order).

    ``(B, 1, size, size)`` in {0, 1} -> logits ``(B, 1, size, size)`` of p(pixel = 1 | earlier pixels). The input
    is shifted by one position (a start token), embedded with a learned position, and passed through pre-norm
    blocks of local self-attention and an MLP. Other pixel values than 0 and 1 are refused, not rounded.
    """

    def __init__(self, size: int, d_model: int = 32, num_heads: int = 2, num_layers: int = 2,
                 block_size: int = 16) -> None:
        super().__init__()
        size, d_model = _checks.sizes("LocalImageTransformer", size=size, d_model=d_model)
        num_layers = _checks.positive_int("LocalImageTransformer", "num_layers", num_layers, minimum=0)
        self.size = size
        self.pixel = nn.Embedding(3, d_model)  # 0, 1, and 2 = start
        self.position = nn.Embedding(size * size, d_model)
        self.blocks = nn.ModuleList(PreNormBlock(d_model, LocalSelfAttention(d_model, num_heads, block_size))
                                    for _ in range(num_layers))
        self.head = nn.Linear(d_model, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        fn = "LocalImageTransformer.forward"
        _checks.features(fn, "images", images, self, ndim=4)
        if images.shape[1:] != (1, self.size, self.size):
            raise ValueError(f"{fn}(): images must be (B, 1, size, size) = (B, 1, {self.size}, {self.size}), got "
                             f"{_checks.shape(images)}")
        _checks.binary(fn, "images", images)
        pixels = images.flatten(1).long()                                   # (B, T) raster order
        shifted = torch.cat([torch.full_like(pixels[:, :1], 2), pixels[:, :-1]], dim=1)
        h = self.pixel(shifted) + self.position(torch.arange(pixels.shape[1], device=images.device))
        for block in self.blocks:
            h = block(h)  # (B, T, d_model)
        return self.head(h).view_as(images)

    @torch.no_grad()
    def sample(self, n: int, *, prefix: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images pixel by pixel in raster order; ``prefix (n, 1, r, size)`` (binary) fixes the first r rows."""
        n = _checks.positive_int("LocalImageTransformer.sample", "n", n)
        weight = self.head.weight
        x = torch.zeros(n, 1, self.size, self.size, device=weight.device, dtype=weight.dtype)
        start = 0
        if prefix is not None:
            rows = _checks.image_prefix("LocalImageTransformer.sample", prefix, n, self.size)
            x[:, :, :rows] = prefix.to(weight.device)
            start = rows * self.size
        for t in range(start, self.size * self.size):
            p = torch.sigmoid(self(x).flatten(1)[:, t])
            x.view(n, -1)[:, t] = torch.bernoulli(p, generator=generator)
        return x


# ---- argument checks ----

def _check_qkv(fn: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, spatial: int) -> None:
    """Local self-attention's q, k, v: ``_checks.qkv`` for q and k, then equal q and k shapes, v at the same
    positions, at least one position."""
    _checks.qkv(fn, q, k, names=("q", "k", "v"))
    _checks.floating(fn, "v", v)
    _checks.same_dtype_and_device(fn, q=q, v=v)
    if q.ndim < spatial + 1 or q.shape != k.shape or q.shape[:-1] != v.shape[:-1] or 0 in q.shape[-spatial - 1:-1]:
        raise ValueError(f"{fn}(): q and k must have equal shapes and v the same positions (at least one), got q: "
                         f"{_checks.shape(q)}, k: {_checks.shape(k)}, v: {_checks.shape(v)}")


def _check_2d(fn, height, width, query_block, memory) -> tuple[tuple[int, int], tuple[int, int]]:
    _checks.positive_int(fn, "height", height)
    _checks.positive_int(fn, "width", width)
    h_q, w_q = _checks.int_pair(fn, "query_block", query_block)
    h_m, w_m = _checks.int_pair(fn, "memory", memory, minimum=0)
    if h_q > height or w_q > width:
        raise ValueError(f"{fn}(): query_block {(h_q, w_q)} is larger than the image {(height, width)}")
    return (h_q, w_q), (h_m, w_m)
