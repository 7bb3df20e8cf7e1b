"""Masks for dense and convolutional layers: the look-ahead mask idea outside attention.

A causal attention mask stops position i from seeing positions after it. The same effect in a dense layer comes
from zeroing weights (MADE, Germain et al. 2015) and in a convolution from zeroing the kernel's "future" half
(PixelCNN, van den Oord et al. 2016). In each case output i depends only on inputs before i, so the model defines
p(x) = prod_i p(x_i | x_<i) and can be sampled one position at a time.

Book: chapter 9 (notebooks/09_masked_attention.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks


def made_degrees(d_in: int, hidden_sizes: Sequence[int], *, order: Sequence[int] | None = None,
                 generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Degrees of the input units and of each hidden layer's units (Germain et al. 2015, section 4).

    Input ``order[t]`` gets degree ``t + 1``: it is the (t+1)-th variable generated (default ``order``: 0, 1, ...,
    D-1, so that input i has degree i + 1). Hidden degrees are drawn uniformly from [min of the previous layer,
    D-1]: a unit of degree m may depend on the first m variables of the order only.
    """
    d_in, hidden_sizes = _check_made("made_degrees", d_in, hidden_sizes)
    degrees = [_input_degrees("made_degrees", d_in, order)]
    for size in hidden_sizes:
        low = int(degrees[-1].min())
        degrees.append(torch.randint(low, d_in, (size,), generator=generator))
    return degrees


def made_masks(d_in: int, hidden_sizes: Sequence[int], *, order: Sequence[int] | None = None,
               generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """MADE's weight masks, shaped like ``nn.Linear`` weights ``(out, in)``.

    A hidden unit of degree m may see units of degree <= m; an output of degree i only units of degree < i, so
    each output depends only on the inputs before it in ``order`` (Germain et al. 2015, eq. 12-13).
    """
    d_in, hidden_sizes = _check_made("made_masks", d_in, hidden_sizes)
    degrees = made_degrees(d_in, hidden_sizes, order=order, generator=generator)
    masks = [(later[:, None] >= earlier[None, :]) for earlier, later in zip(degrees, degrees[1:])]
    masks.append(degrees[0][:, None] > degrees[-1][None, :])  # output i sees degree < i
    return [m.float() for m in masks]


def _input_degrees(fn: str, d_in: int, order: Sequence[int] | None) -> torch.Tensor:
    """Degree of each input, ``(d_in,)``: input ``order[t]`` gets ``t + 1``; ``order`` must be a permutation."""
    if order is None:
        return torch.arange(1, d_in + 1)
    if isinstance(order, torch.Tensor):
        order = order.tolist()
    if isinstance(order, str) or not isinstance(order, Iterable):
        raise TypeError(f"{fn}(): order must be a sequence of ints, got {type(order).__name__}")
    order = list(order)
    if not all(_checks.is_int(i) for i in order) or sorted(int(i) for i in order) != list(range(d_in)):
        raise ValueError(f"{fn}(): order must be a permutation of 0..{d_in - 1}, got {order!r}")
    degrees = torch.empty(d_in, dtype=torch.long)
    degrees[torch.tensor([int(i) for i in order])] = torch.arange(1, d_in + 1)
    return degrees


def _check_made(fn: str, d_in: object, hidden_sizes: object) -> tuple[int, list[int]]:
    d_in = _checks.positive_int(fn, "d_in", d_in, minimum=2)
    if isinstance(hidden_sizes, str) or not isinstance(hidden_sizes, Iterable):
        raise TypeError(f"{fn}(): hidden_sizes must be a list of ints, got {type(hidden_sizes).__name__}")
    return d_in, [_checks.positive_int(fn, f"hidden_sizes[{i}]", n) for i, n in enumerate(hidden_sizes)]


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by a fixed 0/1 mask ``(out, in)`` on every call."""

    def __init__(self, mask: torch.Tensor, bias: bool = True) -> None:
        _checks.tensor("MaskedLinear", "mask", mask, ndim=2)
        super().__init__(mask.shape[1], mask.shape[0], bias=_checks.flag("MaskedLinear", "bias", bias))
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _checks.features("MaskedLinear.forward", "x", x, self, ndim=(1, 8), d=self.in_features)
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Masked autoencoder for distribution estimation: ``(B, d_in) -> (B, d_in)`` logits of p(x_i | x_<i).

    Autoregressive in ``order`` (default: the natural order 0, 1, ..., d_in - 1): output ``order[t]`` depends only
    on inputs ``order[:t]``. The hidden degrees are drawn once from ``seed``.
    """

    def __init__(self, d_in: int, hidden_sizes: Sequence[int], *, seed: int = 0,
                 order: Sequence[int] | None = None) -> None:
        super().__init__()
        self.d_in, hidden_sizes = _check_made("MADE", d_in, hidden_sizes)
        if not hidden_sizes:
            raise ValueError("MADE(): hidden_sizes must name at least one hidden layer, got []")
        seed = _checks.positive_int("MADE", "seed", seed, minimum=0)
        degrees = _input_degrees("MADE", self.d_in, order)
        self.register_buffer("order", degrees.argsort())  # order[t]: the input generated at step t
        masks = made_masks(self.d_in, hidden_sizes, order=self.order.tolist(),
                           generator=torch.Generator().manual_seed(seed))
        layers: list[nn.Module] = []
        for mask in masks[:-1]:
            layers += [MaskedLinear(mask), nn.ReLU()]
        self.net = nn.Sequential(*layers, MaskedLinear(masks[-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _checks.features("MADE.forward", "x", x, self, ndim=2)
        if x.shape[1] != self.d_in:
            raise ValueError(f"MADE.forward(): x must have {self.d_in} features, got shape {_checks.shape(x)}")
        return self.net(x)

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` binary vectors ``(n, d_in)``, one variable at a time in the model's order (d_in passes)."""
        n = _checks.positive_int("MADE.sample", "n", n)
        weight = self.net[0].weight
        x = torch.zeros(n, self.d_in, device=weight.device, dtype=weight.dtype)
        for i in self.order.tolist():
            x[:, i] = torch.bernoulli(torch.sigmoid(self(x)[:, i]), generator=generator)
        return x


def conv_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """PixelCNN's ``(k, k)`` kernel mask: 1 on the rows above the centre and left of the centre in the centre row,
    0 on the rows below and right of the centre; the centre itself only for type ``"B"``. Type A (first layer)
    hides the current pixel, type B (later layers) lets a pixel's features see their own earlier computation.
    (van den Oord et al. 2016 also split the centre by colour channel, R -> G -> B; this is the one-channel case.)"""
    _checks.choice("conv_mask", "mask_type", mask_type, ("A", "B"))
    kernel_size = _checks.positive_int("conv_mask", "kernel_size", kernel_size)
    if kernel_size % 2 == 0:
        raise ValueError(f"conv_mask(): kernel_size must be odd (a centre pixel), got {kernel_size}")
    c = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    mask[:c] = 1.0
    mask[c, :c] = 1.0
    mask[c, c] = 1.0 if mask_type == "B" else 0.0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 2-D convolution that only sees pixels before the current one in raster order (PixelCNN).

    ``(B, in_channels, H, W) -> (B, out_channels, H, W)`` ("same" padding). ``mask_type="A"`` also hides the current
    pixel (use it first); ``"B"`` keeps it (use it after). Single colour channel ordering (no R -> G -> B split).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str = "B") -> None:
        in_channels, out_channels = _checks.sizes("MaskedConv2d", in_channels=in_channels, out_channels=out_channels)
        mask = conv_mask(kernel_size, mask_type)
        super().__init__(in_channels, out_channels, mask.shape[0], padding=mask.shape[0] // 2)
        self.mask_type = mask_type
        self.register_buffer("mask", mask.expand_as(self.weight).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image("MaskedConv2d.forward", x, self, self.in_channels)
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class PixelCNN(nn.Module):
    """A small PixelCNN for binary images: ``(B, 1, H, W)`` -> logits ``(B, 1, H, W)`` of p(x_ij = 1 | earlier).

    One 7x7 type-A masked convolution, ``n_layers`` residual 3x3 type-B blocks, two 1x1 convolutions.
    """

    def __init__(self, channels: int = 32, n_layers: int = 4) -> None:
        super().__init__()
        channels = _checks.positive_int("PixelCNN", "channels", channels)
        n_layers = _checks.positive_int("PixelCNN", "n_layers", n_layers, minimum=0)
        self.first = MaskedConv2d(1, channels, 7, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(channels, channels, 3, "B") for _ in range(n_layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image("PixelCNN.forward", x, self, 1)
        h = self.first(x)
        for block in self.blocks:
            h = h + block(torch.relu(h))
        return self.head(h)

    @torch.no_grad()
    def sample(self, n: int, size: int, *, prefix: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` images ``(n, 1, size, size)`` pixel by pixel in raster order. ``prefix (n, 1, r, size)``
        (binary, r <= size) fixes the first r rows, and the model completes the rest."""
        n = _checks.positive_int("PixelCNN.sample", "n", n)
        size = _checks.positive_int("PixelCNN.sample", "size", size)
        weight = next(self.parameters())
        x = torch.zeros(n, 1, size, size, device=weight.device, dtype=weight.dtype)
        start = 0
        if prefix is not None:
            start = _checks.image_prefix("PixelCNN.sample", prefix, n, size)
            x[:, :, :start] = prefix.to(weight.device)
        for i in range(start, size):
            for j in range(size):
                p = torch.sigmoid(self(x)[:, :, i, j])
                x[:, :, i, j] = torch.bernoulli(p, generator=generator)
        return x


def dependencies(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Which inputs each output depends on: ``(outputs, inputs)`` booleans, features flattened in raster order.

    ``x (B, ...)`` is a batch of examples; entry (i, j) is True when ``|d out_i / d in_j| > 0`` for at least one
    of them (a union, so that a unit that happens to be inactive at one input does not hide a connection).
    Assumes examples do not interact (eval mode); one backward pass per output feature.
    """
    if not callable(fn):
        raise TypeError(f"dependencies(): fn must be callable (a model or a function), got {type(fn).__name__}")
    _checks.floating("dependencies", "x", x, ndim=(2, 8))
    x = x.detach().clone().requires_grad_(True)
    out = fn(x).flatten(1)
    rows = [torch.autograd.grad(out[:, i].sum(), x, retain_graph=True)[0].flatten(1).abs().amax(0)
            for i in range(out.shape[1])]
    return torch.stack(rows) > 0


def negative_log_likelihood(logits: torch.Tensor, images: torch.Tensor) -> float:
    """Mean negative log-likelihood, in nats per image, of binary ``images`` under per-pixel ``logits`` (same
    shape, at least one image)."""
    _check_images("negative_log_likelihood", images)
    _checks.floating("negative_log_likelihood", "logits", logits)
    _checks.same_dtype_and_device("negative_log_likelihood", logits=logits, images=images)
    if logits.shape != images.shape:
        raise ValueError(f"negative_log_likelihood(): logits must have the shape of images "
                         f"{_checks.shape(images)}, got {_checks.shape(logits)}")
    return F.binary_cross_entropy_with_logits(logits, images, reduction="sum").item() / len(images)


def independent_pixels_nll(images: torch.Tensor) -> float:
    """The baseline: nats per image of a model drawing every pixel independently, 1 with the images' mean."""
    _check_images("independent_pixels_nll", images)
    p = images.mean().clamp(1e-6, 1 - 1e-6)
    return -(images * p.log() + (1 - images) * (1 - p).log()).sum().item() / len(images)


def _check_image(fn: str, x: object, module: nn.Module, channels: int) -> None:
    """A batch of images ``(B, channels, H, W)`` for ``module`` (its dtype and device), at least one pixel."""
    _checks.features(fn, "x", x, module, ndim=4)
    if x.shape[1] != channels or not x.shape[2] * x.shape[3]:
        raise ValueError(f"{fn}(): x must be (B, {channels}, H, W) with at least one pixel, got shape "
                         f"{_checks.shape(x)}")


def _check_images(fn: str, images: object) -> None:
    """Binary images ``(B, ...)``, at least one."""
    _checks.floating(fn, "images", images, ndim=(2, 8))
    if not images.shape[0]:
        raise ValueError(f"{fn}(): images holds no image (shape {_checks.shape(images)})")
    _checks.binary(fn, "images", images)

