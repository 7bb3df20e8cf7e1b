"""Self-attention inside a CNN: the SAGAN block (Zhang et al. 2019, section 3) and a small CNN that uses it.

A feature map ``x (B, C, H, W)`` is a set of N = HW vectors ``x_i``. Four 1x1 convolutions (the same linear map at
every pixel, no bias) project it, with C' = C // reduction (the paper: C' = C/8)::

    f(x) = W_f x  (keys, C -> C')        g(x) = W_g x  (queries, C -> C')      h(x) = W_h x  (values, C -> C')
    s_ij = f(x_i) . g(x_j)               beta_ji = softmax_i(s_ij)   (where query j looks; scores not scaled)
    o_j = v( sum_i beta_ji h(x_i) )      v(x) = W_v x  (the output 1x1 convolution, C' -> C)
    y = gamma * o + x                    gamma: a learned scalar, 0 at initialisation

The output 1x1 convolution ``v`` and the C' value channels are those of the ICML 2019 paper; the authors' released
code (and BigGAN) use C/2 value channels and pool the keys and values 2x2 to save memory, and a widely copied
PyTorch version keeps C value channels and no ``v``. With gamma = 0 the block is exactly the identity when training
starts, so the network "first relies on the cues in the local neighbourhood" and only gradually learns to use
distant evidence (the paper's reason); at first only gamma receives a gradient.

``AttentionCNN`` is the book's small classifier: two 3x3 convolutions of stride 2 with ReLUs (a 7 x 7 pixel
receptive field), optionally the block, a 1x1 convolution + ReLU, global average pooling and a linear read-out; the
three convolutions start from He initialisation, without which the features are so small that training stalls.
Without the block every grid cell sees only its 7 x 7 window, and the logits are a sum of local evidence.

``attention_mass`` measures where a block looks: the share of each query's attention that lands on given cells.

Book: chapter 15 (notebooks/15_self_attention_in_a_cnn.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .attention import attention, scaled_dot_product_attention


class SelfAttention2d(nn.Module):
    """SAGAN's self-attention block. ``forward(x (B, C, H, W), return_attention=False) -> y (B, C, H, W)`` and, on
    request, the attention ``beta (B, HW, HW)``: row j is where pixel j looks, pixels in raster order (``i = r W +
    c``). Attributes (the paper's names): ``key`` = f, ``query`` = g, ``value`` = h (all ``C -> C // reduction``),
    ``out`` = v (``C // reduction -> C``), ``gamma``. ``x`` must have the module's channels, dtype and device, and at
    least one pixel."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.channels = _checks.positive_int("SelfAttention2d", "channels", channels)
        reduction = _checks.positive_int("SelfAttention2d", "reduction", reduction)
        if channels < reduction:
            raise ValueError(f"SelfAttention2d(): channels={channels} must be >= reduction={reduction} "
                             f"(queries, keys and values have channels // reduction features)")
        inner = channels // reduction
        self.key = nn.Conv2d(channels, inner, 1, bias=False)    # f
        self.query = nn.Conv2d(channels, inner, 1, bias=False)  # g
        self.value = nn.Conv2d(channels, inner, 1, bias=False)  # h
        self.out = nn.Conv2d(inner, channels, 1, bias=False)    # v
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        fn = "SelfAttention2d.forward"
        _checks.features(fn, "x", x, self, ndim=4)
        if x.shape[1] != self.channels or not x.shape[2] * x.shape[3]:
            raise ValueError(f"{fn}(): x must be (B, C, H, W) with C = {self.channels} channels and at least one "
                             f"pixel, got shape {_checks.shape(x)}")
        _checks.flag(fn, "return_attention", return_attention)
        B, _, H, W = x.shape
        pixels = lambda t: t.flatten(2).transpose(1, 2)  # noqa: E731  (B, c, H, W) -> (B, HW, c)
        q, k, v = pixels(self.query(x)), pixels(self.key(x)), pixels(self.value(x))
        if return_attention:  # the teaching path: explicit (HW, HW) weights
            mixed, weights = attention(q, k, v, scale=1.0)
        else:                 # the fused path: the same numbers, without keeping the weights
            mixed = scaled_dot_product_attention(q, k, v, scale=1.0)
        o = self.out(mixed.transpose(1, 2).reshape(B, -1, H, W))
        y = self.gamma * o + x
        return (y, weights) if return_attention else y


class AttentionCNN(nn.Module):
    """A small image classifier, with or without a SAGAN block on its feature grid.

    ``(B, 3, H, W)`` -> conv 3x3 stride 2 (3 -> C/2) + ReLU -> conv 3x3 stride 2 (C/2 -> C) + ReLU -> [block] ->
    conv 1x1 (C -> C) + ReLU -> mean over the (H/4) x (W/4) grid -> linear (C -> n_classes). ``forward(images,
    return_attention=False) -> logits (B, n_classes)`` and, on request (with the block only), the block's attention
    ``(B, HW/16, HW/16)``. H and W must be multiples of 4. ``attention=False`` puts nothing in the block's place
    (``self.block`` is ``None``): the same CNN, every weight of it in the same place.
    """

    def __init__(self, n_classes: int = 2, channels: int = 32, *, attention: bool = True, reduction: int = 8) -> None:
        super().__init__()
        n_classes, channels = _checks.sizes("AttentionCNN", n_classes=n_classes, channels=channels)
        _checks.flag("AttentionCNN", "attention", attention)
        if channels % 2:
            raise ValueError(f"AttentionCNN(): channels must be even (the first stage has channels // 2), got "
                             f"{channels}")
        self.features = nn.Sequential(
            nn.Conv2d(3, channels // 2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.block = SelfAttention2d(channels, reduction) if attention else None
        self.mix = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU())
        self.out = nn.Linear(channels, n_classes)
        for conv in (self.features[0], self.features[2], self.mix[0]):  # He et al. 2015: keeps the features' scale
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def grid(self, images: torch.Tensor, return_attention: bool = False):
        """The feature grid after the block and the 1x1 convolution, ``(B, C, H/4, W/4)`` (and the attention)."""
        fn = "AttentionCNN"
        _checks.features(fn, "images", images, self, ndim=4)
        if images.shape[1] != 3 or images.shape[2] % 4 or images.shape[3] % 4 or not images.shape[2] * images.shape[3]:
            raise ValueError(f"{fn}(): images must be (B, 3, H, W) with H and W positive multiples of 4, got "
                             f"{_checks.shape(images)}")
        _checks.flag(fn, "return_attention", return_attention)
        if return_attention and self.block is None:
            raise ValueError(f"{fn}(): return_attention=True needs the block (this model has attention=False)")
        x = self.features(images)
        weights = None
        if self.block is not None:
            x, weights = self.block(x, return_attention=True) if return_attention else (self.block(x), None)
        x = self.mix(x)
        return (x, weights) if return_attention else x

    def forward(self, images: torch.Tensor, return_attention: bool = False):
        x, weights = self.grid(images, return_attention=True) if return_attention else (self.grid(images), None)
        logits = self.out(x.mean((2, 3)))
        return (logits, weights) if return_attention else logits


def attention_mass(weights: torch.Tensor, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """How much attention lands on ``keys``, averaged over ``queries``: ``(B,)``.

    ``weights (B, N, N)`` (rows: queries, each a distribution over the N keys); ``queries`` and ``keys`` are bool
    ``(B, N)`` (True at the cells to average over, and at the cells to count). For each image: the mean, over its
    query cells, of the summed weight on its key cells. Uniform attention gives the fraction of cells that are keys.
    Every image needs at least one query cell.
    """
    fn = "attention_mass"
    _checks.floating(fn, "weights", weights, ndim=3)
    B, N, M = weights.shape
    if N != M:
        raise ValueError(f"{fn}(): weights must be (B, N, N) (self-attention), got {_checks.shape(weights)}")
    for name, cells in (("queries", queries), ("keys", keys)):
        _checks.tensor(fn, name, cells, ndim=2)
        if cells.dtype != torch.bool:
            raise TypeError(f"{fn}(): {name} must be a bool tensor (True at the cells), got dtype {cells.dtype}")
        if cells.shape != (B, N):
            raise ValueError(f"{fn}(): {name} must be (B, N) = {(B, N)}, got {_checks.shape(cells)}")
    counts = queries.sum(1)
    if (counts == 0).any():
        empty = counts.eq(0).nonzero()[:, 0].tolist()
        raise ValueError(f"{fn}(): every image needs at least one query cell; images {empty} have none")
    queries, keys = queries.to(weights.device), keys.to(weights.device)
    on_keys = (weights * keys[:, None, :].to(weights.dtype)).sum(-1)      # (B, N): each query's mass on the keys
    return (on_keys * queries.to(weights.dtype)).sum(-1) / counts.to(weights.device, weights.dtype)


def cells_of(boxes: torch.Tensor, image_size: tuple[int, int], grid: tuple[int, int]) -> torch.Tensor:
    """The grid cells that pixel boxes overlap: ``boxes (B, K, 4)`` as ``(top, left, height, width)`` in pixels of an
    ``image_size = (H, W)`` image -> bool ``(B, K, h * w)`` over a ``grid = (h, w)`` of equal cells, raster order."""
    fn = "cells_of"
    _checks.tensor(fn, "boxes", boxes, ndim=3)
    if boxes.shape[-1] != 4:
        raise ValueError(f"{fn}(): boxes must be (B, K, 4) as (top, left, height, width), got {_checks.shape(boxes)}")
    H, W = _checks.int_pair(fn, "image_size", image_size)
    h, w = _checks.int_pair(fn, "grid", grid)
    if H % h or W % w:
        raise ValueError(f"{fn}(): the grid {(h, w)} must divide the image {(H, W)} into equal cells")
    rows = torch.arange(h, device=boxes.device) * (H // h)  # each cell's first pixel row / column
    cols = torch.arange(w, device=boxes.device) * (W // w)
    top, left, height, width = boxes.unbind(-1)
    in_rows = (rows < (top + height)[..., None]) & (rows + H // h > top[..., None])     # (B, K, h)
    in_cols = (cols < (left + width)[..., None]) & (cols + W // w > left[..., None])    # (B, K, w)
    return (in_rows[..., :, None] & in_cols[..., None, :]).flatten(-2)
