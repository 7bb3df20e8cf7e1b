"""Local (block) self-attention and the Image Transformer (Parmar et al. 2018, section 3.2).

Dense causal attention over T positions costs O(T^2) time and memory. Local attention splits the positions into
query blocks and lets each block attend only to a nearby memory, so the cost is O(T x memory size). Both attention
functions here compute block by block -- the dense (T, T) matrix is never built -- and equal dense attention under
the mask that ``local_mask_1d`` / ``local_mask_2d`` describe (the tests check it), for any length or image size.

In 2-D the image is generated in the paper's *block-raster* order (``block_raster_order``): query blocks one after
another in raster order, the pixels of a block in raster order. A pixel may attend the pixels of its memory
rectangle that come no later in that order. ``SuperResolutionTransformer`` is the paper's conditional setting: an
encoder reads a low-resolution image and a decoder of 2-D local self-attention, cross-attention and feed-forward
layers generates the high-resolution image pixel by pixel.

Book: chapter 16 (notebooks/16_local_attention.ipynb).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .attention import scaled_dot_product_attention
from .multihead import MultiHeadAttention
from .softmax import masked_softmax
from .transformer import DecoderLayer, Encoder, PreNormBlock


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


ORDERS = ("block", "raster")


def generation_rank(height: int, width: int, query_block: tuple[int, int], order: str = "block", *,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """``(H, W)``: a number per pixel that increases in generation order. ``order="block"`` (Parmar et al.): query
    blocks of ``h_q x w_q`` pixels in raster order, the pixels of a block in raster order; ``"raster"``: the whole
    image row by row. The numbers are unique, not necessarily consecutive (``argsort`` gives the order)."""
    (h_q, w_q), _ = _check_2d("generation_rank", height, width, query_block, (0, 0))
    _checks.choice("generation_rank", "order", order, ORDERS)
    r = torch.arange(height, device=device)[:, None]
    c = torch.arange(width, device=device)[None, :]
    if order == "raster":
        return r * width + c
    n_c = math.ceil(width / w_q)
    return ((r // h_q) * n_c + c // w_q) * (h_q * w_q) + (r % h_q) * w_q + c % w_q  # (block, row, column in block)


def block_raster_order(height: int, width: int, query_block: tuple[int, int], *,
                       device: torch.device | str | None = None) -> torch.Tensor:
    """``(HW,)``: the raster indices of the pixels in the paper's generation order (query blocks in raster order,
    raster order inside each block). ``x.flatten(-2)[..., order]`` puts an image's pixels in that order."""
    return generation_rank(height, width, query_block, "block", device=device).flatten().argsort()


def local_mask_2d(
    height: int, width: int, query_block: tuple[int, int], memory: tuple[int, int], *, order: str = "block",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(HW, HW)``, rows and columns in raster order: pixel (r, c) in query block (R, C) of size ``query_block =
    (h_q, w_q)`` may attend pixel (r', c') iff (r', c') comes no later in the generation ``order`` (``"block"``:
    the paper's block-raster order; ``"raster"``: row by row) and lies in the block's memory: rows
    ``[R h_q - h_m, (R + 1) h_q)`` and columns ``[C w_q - w_m, (C + 1) w_q + w_m)``, ``memory = (h_m, w_m)``."""
    (h_q, w_q), (h_m, w_m) = _check_2d("local_mask_2d", height, width, query_block, memory)
    rank = generation_rank(height, width, query_block, _checks.choice("local_mask_2d", "order", order, ORDERS),
                           device=device).flatten()
    r = torch.arange(height, device=device).repeat_interleave(width)
    c = torch.arange(width, device=device).repeat(height)
    R, C = (r // h_q)[:, None], (c // w_q)[:, None]
    rows_ok = (r[None, :] >= R * h_q - h_m) & (r[None, :] < (R + 1) * h_q)
    cols_ok = (c[None, :] >= C * w_q - w_m) & (c[None, :] < (C + 1) * w_q + w_m)
    return rows_ok & cols_ok & (rank[None, :] <= rank[:, None])


def local_attention_2d(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, query_block: tuple[int, int], memory: tuple[int, int],
    order: str = "block",
) -> torch.Tensor:
    """Causal 2-D local self-attention over an image of features ``(..., H, W, d)``; returns ``(..., H, W, d_v)``.

    Each ``h_q x w_q`` query block attends to the ``(h_m + h_q) x (w_q + 2 w_m)`` memory rectangle around it,
    causally in the generation ``order`` (``local_mask_2d``), gathered with ``unfold``: scores
    ``(..., H/h_q, W/w_q, h_q w_q, memory size)``.
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

    # generation rank of every pixel, -1 for padding: which memory entries are real and come no later than the query
    index = generation_rank(height, width, (h_q, w_q), _checks.choice("local_attention_2d", "order", order, ORDERS),
                            device=q.device).unsqueeze(-1)
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


class LocalSelfAttention2d(MultiHeadAttention):
    """Multi-head causal self-attention over the pixels of an ``image_size = (H, W)`` image in the paper's
    block-raster order: 2-D local attention (``local_attention_2d``) per head, or, with ``dense=True``, dense
    attention under the same order's causal mask (every earlier pixel is memory) for comparison.

    ``forward(query, key, value, mask=None, *, need_weights=False) -> (out (B, HW, d_model), None)``: self-attention
    only (``query``, ``key`` and ``value`` are the same ``(B, HW, d_model)`` tensor, pixels in raster order), so that
    it can stand in for ``DecoderLayer.self_attn``. The block structure is the mask: ``mask`` must be None and
    ``need_weights`` False. The projections and the head split are ``MultiHeadAttention``'s.
    """

    def __init__(self, d_model: int, num_heads: int, image_size: tuple[int, int], query_block: tuple[int, int],
                 memory: tuple[int, int], *, dense: bool = False) -> None:
        super().__init__(d_model, num_heads)
        fn = "LocalSelfAttention2d"
        self.image_size = _checks.int_pair(fn, "image_size", image_size)
        self.query_block, self.memory = _check_2d(fn, *self.image_size, query_block, memory)
        self.dense = _checks.flag(fn, "dense", dense)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,  # type: ignore[override]
                mask: torch.Tensor | None = None, *, need_weights: bool = False) -> tuple[torch.Tensor, None]:
        fn = "LocalSelfAttention2d.forward"
        height, width = self.image_size
        _checks.features(fn, "query", query, self, ndim=3, d=self.d_model)
        if key is not query or value is not query:
            raise ValueError(f"{fn}(): self-attention only: key and value must be query itself")
        if query.shape[1] != height * width:
            raise ValueError(f"{fn}(): query must hold the H * W = {height * width} pixels of a {height} x {width} "
                             f"image, got shape {_checks.shape(query)}")
        if mask is not None or _checks.flag(fn, "need_weights", need_weights):
            raise ValueError(f"{fn}(): 2-D local attention takes no extra mask and never builds the weights "
                             f"(got mask={'a tensor' if mask is not None else None}, need_weights={need_weights})")
        q, k, v = (self.split_heads(p(query)) for p in (self.q_proj, self.k_proj, self.v_proj))  # (B, H, HW, d)
        if self.dense:
            causal = local_mask_2d(height, width, self.query_block, (height, width), device=query.device)
            out = scaled_dot_product_attention(q, k, v, causal)  # (B, heads, HW, d_head)
        else:
            grid = lambda x: x.unflatten(-2, (height, width))  # noqa: E731  (B, heads, H, W, d_head)
            out = local_attention_2d(grid(q), grid(k), grid(v), query_block=self.query_block,
                                     memory=self.memory).flatten(-3, -2)
        return self.out_proj(self.merge_heads(out)), None  # (B, HW, d_model)


class SuperResolutionTransformer(nn.Module):
    """The Image Transformer's conditional setting (Parmar et al. 2018, sections 3 and 4.2) on binary images: an
    encoder reads a low-resolution grey image, a decoder generates the ``high x high`` binary image pixel by pixel
    in block-raster order.

    ``forward(low (B, 1, low, low) in [0, 1], images (B, 1, high, high) in {0, 1}) -> logits (B, 1, high, high)``
    of p(pixel = 1 | the low-resolution image, the pixels before it in generation order). The encoder is
    ``transformer.Encoder`` (pre-norm) over the low-resolution pixels with learned positions; each decoder layer is
    ``transformer.DecoderLayer`` (pre-norm) whose self-attention is ``LocalSelfAttention2d`` (``dense=False``, or
    dense under the same order with ``attention="dense"``), followed by cross-attention to the encoder's output and a
    feed-forward network. The decoder's input is the image shifted by one position *in generation order* behind a
    start token, so that the query at the current pixel predicts the next one, the target pixel.
    """

    def __init__(self, low: int, high: int, *, d_model: int = 32, num_heads: int = 2, num_layers: int = 2,
                 query_block: tuple[int, int] = (2, 4), memory: tuple[int, int] = (2, 2),
                 attention: str = "local") -> None:
        super().__init__()
        fn = "SuperResolutionTransformer"
        low, high, d_model = _checks.sizes(fn, low=low, high=high, d_model=d_model)
        num_layers = _checks.positive_int(fn, "num_layers", num_layers)
        self.attention = _checks.choice(fn, "attention", attention, ("local", "dense"))
        self.low, self.high = low, high
        self.low_embed = nn.Linear(1, d_model)
        self.low_position = nn.Embedding(low * low, d_model)
        self.encoder = Encoder(1, d_model, num_heads, 4 * d_model, dropout=0.0, norm_first=True)
        self.pixel = nn.Embedding(3, d_model)  # 0, 1, and 2 = start
        self.position = nn.Embedding(high * high, d_model)
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            layer = DecoderLayer(d_model, num_heads, 4 * d_model, dropout=0.0, norm_first=True)
            layer.self_attn = LocalSelfAttention2d(d_model, num_heads, (high, high), query_block, memory,
                                                   dense=attention == "dense")
            self.layers.append(layer)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)
        self.register_buffer("order", block_raster_order(high, high, query_block), persistent=False)

    def encode(self, low: torch.Tensor) -> torch.Tensor:
        """``(B, 1, low, low)`` in [0, 1] -> the encoder's output ``(B, low * low, d_model)``."""
        fn = "SuperResolutionTransformer.encode"
        _checks.features(fn, "low", low, self, ndim=4)
        if low.shape[1:] != (1, self.low, self.low):
            raise ValueError(f"{fn}(): low must be (B, 1, {self.low}, {self.low}), got {_checks.shape(low)}")
        if bool(((low < 0) | (low > 1)).any()):
            raise ValueError(f"{fn}(): low must hold values in [0, 1]")
        h = self.low_embed(low.flatten(1)[..., None]) + self.low_position.weight
        return self.encoder(h)

    def forward(self, low: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        fn = "SuperResolutionTransformer.forward"
        memory = self.encode(low)
        _checks.features(fn, "images", images, self, ndim=4)
        if images.shape != (low.shape[0], 1, self.high, self.high):
            raise ValueError(f"{fn}(): images must be (B, 1, {self.high}, {self.high}) with the B of low, got "
                             f"{_checks.shape(images)}")
        _checks.binary(fn, "images", images)
        pixels = images.flatten(1).long()[:, self.order]                      # (B, HW) in generation order
        shifted = torch.cat([torch.full_like(pixels[:, :1], 2), pixels[:, :-1]], dim=1)
        inputs = torch.empty_like(shifted)
        inputs[:, self.order] = shifted                                       # back to raster layout
        h = self.pixel(inputs) + self.position.weight                         # (B, HW, d_model)
        for layer in self.layers:
            h = layer(h, memory)
        return self.head(self.norm(h)).view_as(images)

    @torch.no_grad()
    def sample(self, low: torch.Tensor, *, generator: torch.Generator | None = None,
               greedy: bool = False) -> torch.Tensor:
        """High-resolution images for ``low (n, 1, low, low)``, pixel by pixel in block-raster order (drawn, or the
        likelier value with ``greedy``)."""
        weight = self.head.weight
        x = torch.zeros(low.shape[0], 1, self.high, self.high, device=weight.device, dtype=weight.dtype)
        for t in self.order.tolist():
            p = torch.sigmoid(self(low, x).flatten(1)[:, t])
            x.view(len(x), -1)[:, t] = (p > 0.5).to(x.dtype) if greedy else torch.bernoulli(p, generator=generator)
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
