"""Self-attention inside a convolutional network (SAGAN: Zhang et al. 2018, section 3).

A feature map ``x (B, C, H, W)`` is a set of HW vectors. 1x1 convolutions -- the same linear map at every pixel --
turn it into queries and keys (C -> C/reduction) and values (C -> C); every pixel attends to every pixel, and the
result is added back with a learned weight that starts at zero:

    s_ij = g(x_i) . f(x_j),   beta_i = softmax_j(s_ij),   o_i = sum_j beta_ij h(x_j),   y = gamma * o + x

(SAGAN's scores are not divided by sqrt(d).) With gamma = 0 the block is exactly the identity at initialisation,
so it can be inserted into a trained network without changing it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .attention import attention


class SelfAttention2d(nn.Module):
    """``forward(x (B, C, H, W), return_attention=False) -> y (B, C, H, W)`` and, on request, the attention
    ``(B, HW, HW)`` (row i: where pixel i looks, pixels in raster order)."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.channels = _checks.positive_int("SelfAttention2d", "channels", channels)
        reduction = _checks.positive_int("SelfAttention2d", "reduction", reduction)
        if channels < reduction:
            raise ValueError(f"SelfAttention2d(): channels={channels} must be >= reduction={reduction} "
                             f"(queries and keys have channels // reduction features)")
        self.query = nn.Conv2d(channels, channels // reduction, 1)  # g in the paper
        self.key = nn.Conv2d(channels, channels // reduction, 1)    # f
        self.value = nn.Conv2d(channels, channels, 1)               # h
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        _checks.floating("SelfAttention2d.forward", "x", x, ndim=4)
        if x.shape[1] != self.channels:
            raise ValueError(f"SelfAttention2d.forward(): x must have {self.channels} channels, got shape "
                             f"{_checks.shape(x)}")
        pixels = lambda t: t.flatten(2).transpose(1, 2)  # noqa: E731  (B, c, H, W) -> (B, HW, c)
        out, weights = attention(pixels(self.query(x)), pixels(self.key(x)), pixels(self.value(x)), scale=1.0)
        y = self.gamma * out.transpose(1, 2).reshape(x.shape) + x
        return (y, weights) if return_attention else y


def colour_texture_features(images: torch.Tensor, patch: int = 8) -> torch.Tensor:
    """A fixed (untrained) convolutional feature grid: ``(B, 3, H, W)`` -> ``(B, 6, H/patch, W/patch)``.

    Per patch: the mean colour and the standard deviation of each colour (texture), both average-pooling
    convolutions; each feature standardised over the image, then each pixel's vector scaled to unit length, so
    that dot products between pixels are cosine similarities.
    """
    _checks.floating("colour_texture_features", "images", images, ndim=4)
    patch = _checks.positive_int("colour_texture_features", "patch", patch)
    mean = F.avg_pool2d(images, patch)
    std = (F.avg_pool2d(images**2, patch) - mean**2).clamp_min(0).sqrt()
    features = torch.cat([mean, std], dim=1)
    features = (features - features.mean((2, 3), keepdim=True)) / (features.std((2, 3), keepdim=True) + 1e-6)
    return F.normalize(features, dim=1)
