"""Exercises for chapter 14: convolution as a sequence layer.

``check_causal_conv1d``: a 1-D convolution whose output t sees inputs t - k + 1 .. t only (left zero padding), the
convolution layer the chapter compares with recurrence and self-attention. ``check_layers_needed``: how many
stacked causal convolutions the last output needs to see a whole sequence, the path length of Vaswani et al.
2017, table 1 (one self-attention layer always suffices).

Book: used by chapter 14 (notebooks/14_rnn_conv_attention.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..sequence_layers import ConvolutionLayer, receptive_field
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run, seeded


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, left: int, right: int, *, flip: bool = False
          ) -> torch.Tensor:
    kernel = weight.flip(-1) if flip else weight
    return F.conv1d(F.pad(x.transpose(1, 2), (left, right)), kernel, bias).transpose(1, 2)


def check_causal_conv1d(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x (B, T, d_in), weight (d_out, d_in, k), bias (d_out,)) -> (B, T, d_out)``: torch's ``conv1d``
    (a cross-correlation) over time with ``k - 1`` zeros padded on the left, so output t sees inputs t-k+1 .. t."""
    require_callable("check_causal_conv1d", fn)
    dev = device_of(device)
    cases = []
    for seed, (batch, length, d, k) in enumerate(((1, 4, 1, 3), (2, 6, 3, 3), (2, 9, 4, 5))):
        g = generator(seed)
        with seeded(seed):
            layer = ConvolutionLayer(d, k).to(dev)
        weight, bias = layer.conv.weight.detach(), layer.conv.bias.detach()
        x = randn(g, batch, length, d, device=dev)
        mistakes = [Mistake("pad only on the left (k - 1 zeros), so that output t never sees input t + 1",
                            _conv(x, weight, bias, (k - 1) // 2, k // 2)),
                    Mistake("the k - 1 zeros go on the left (before the sequence), not on the right",
                            _conv(x, weight, bias, 0, k - 1)),
                    Mistake("torch's convolution is a cross-correlation: do not flip the kernel",
                            _conv(x, weight, bias, k - 1, 0, flip=True))]
        with torch.no_grad():
            expected = layer(x)
        cases.append(Case(f"B={batch}, T={length}, d_in=d_out={d}, k={k}", {"x": x, "weight": weight, "bias": bias},
                          expected, mistakes))
    return run("check_causal_conv1d", fn, [Group("against attnlab's ConvolutionLayer", cases,
                                                 "(B, T, d) -> (B, d, T) for conv1d, pad (k - 1, 0), convolve, "
                                                 "transpose back")])


def check_layers_needed(fn: Callable) -> bool:
    """Check ``fn(length, kernel_size) -> int``: the fewest stacked causal convolutions (no dilation, ``kernel_size
    >= 2``) that let the last output of a sequence of ``length`` tokens see the first token."""
    require_callable("check_layers_needed", fn)
    cases = []
    for length, k in ((2, 2), (5, 3), (32, 3), (32, 9), (100, 5), (1000, 4)):
        expected = next(n for n in range(length) if receptive_field(n, k) >= length)
        mistakes = [Mistake("each layer adds k - 1 positions, not k", math.ceil((length - 1) / k)),
                    Mistake("round up: a layer that covers part of the distance is still needed",
                            (length - 1) // (k - 1)),
                    Mistake("the last output already sees itself: the distance to cover is length - 1",
                            math.ceil(length / (k - 1)))]
        cases.append(Case(f"length {length}, kernel {k}", {"length": length, "kernel_size": k}, expected, mistakes))
    return run("check_layers_needed", fn, [Group("lengths and kernels", cases, "L layers of kernel k see "
                                                 "L (k - 1) + 1 positions")])
