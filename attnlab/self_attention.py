"""The self-attention layer: queries, keys and values all computed from the same sequence.

In a translation model the query is the decoder's state and the keys and values are the encoder's states. Let one
sequence X play every role and you get self-attention, six steps (Vaswani et al. 2017, section 3.2.1):

    Q = X W_Q,  K = X W_K,  E = Q K^T / sqrt(d_k),  A = softmax(E),  V = X W_V,  out = A V

Without positional information it is permutation equivariant: shuffling the rows of X shuffles the rows of the
output the same way, and the rows and columns of A. ``SetClassifier`` uses the layer on sets; with
``positions=True`` it becomes an order-sensitive control, and ``ConcatenationClassifier`` (an MLP on the whole set
written in a fixed order) is the other one.

Book: chapter 8 (notebooks/08_self_attention.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .attention import attention
from .positional import sinusoidal_encoding


class SelfAttention(nn.Module):
    """One head of self-attention without output projection: ``(..., T, d_model) -> (..., T, d_v)``, weights
    ``(..., T, T)``. ``mask`` is boolean (True = may attend), broadcasting to ``(..., T, T)``. ``x`` must have the
    layer's width, dtype and device."""

    def __init__(self, d_model: int, d_k: int | None = None, d_v: int | None = None, *, bias: bool = False) -> None:
        super().__init__()
        self.d_model = _checks.positive_int("SelfAttention", "d_model", d_model)
        d_k = d_model if d_k is None else _checks.positive_int("SelfAttention", "d_k", d_k)
        d_v = d_model if d_v is None else _checks.positive_int("SelfAttention", "d_v", d_v)
        _checks.flag("SelfAttention", "bias", bias)
        self.W_q = nn.Linear(self.d_model, d_k, bias=bias)
        self.W_k = nn.Linear(self.d_model, d_k, bias=bias)
        self.W_v = nn.Linear(self.d_model, d_v, bias=bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        _checks.features("SelfAttention.forward", "x", x, self, ndim=(2, 8), d=self.d_model)
        return attention(self.W_q(x), self.W_k(x), self.W_v(x), mask)


class SetClassifier(nn.Module):
    """A label per element of a set: ``(B, N)`` numbers -> ``(B, N)`` logits, for any set size N.

    Each element is embedded on its own (an MLP of its value); with ``use_attention`` a self-attention layer lets
    every element see the whole set, and the head reads ``[element; what it attended to]``. Without ``positions``
    no order is used, so the model is permutation equivariant: it treats its input as a set. ``positions=True``
    adds sinusoidal position encodings (Vaswani et al. 2017) to the embeddings before the attention layer, which
    makes the same model order-sensitive (a control for the equivariant one).
    """

    def __init__(self, d_model: int = 32, *, use_attention: bool = True, positions: bool = False) -> None:
        super().__init__()
        d_model = _checks.positive_int("SetClassifier", "d_model", d_model)
        _checks.flag("SetClassifier", "use_attention", use_attention)
        self.positions = _checks.flag("SetClassifier", "positions", positions)
        if positions and (not use_attention or d_model % 2):
            raise ValueError(f"SetClassifier(): positions=True needs use_attention=True and an even d_model, got "
                             f"use_attention={use_attention}, d_model={d_model}")
        self.embed = nn.Sequential(nn.Linear(1, d_model), nn.ReLU(), nn.Linear(d_model, d_model))
        self.attention = SelfAttention(d_model) if use_attention else None
        width = 2 * d_model if use_attention else d_model
        self.head = nn.Sequential(nn.Linear(width, d_model), nn.ReLU(), nn.Linear(d_model, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _checks.features("SetClassifier.forward", "x", x, self, ndim=2)
        h = self.embed(x.unsqueeze(-1))
        if self.attention is not None:
            a = h + sinusoidal_encoding(x.shape[1], h.shape[-1], device=x.device, dtype=x.dtype) if self.positions else h
            h = torch.cat([h, self.attention(a)[0]], dim=-1)
        return self.head(h).squeeze(-1)


class ConcatenationClassifier(nn.Module):
    """The order-sensitive control for ``SetClassifier``: an MLP on the whole set written as one vector.

    ``(B, set_size)`` numbers -> ``(B, set_size)`` logits, for one fixed ``set_size``. It sees every element, so it
    can compute anything about the set, but its weights are tied to positions: nothing makes its answers follow a
    reordering of the set, and it cannot take a set of another size.
    """

    def __init__(self, set_size: int, d_hidden: int = 64) -> None:
        super().__init__()
        self.set_size, d_hidden = _checks.sizes("ConcatenationClassifier", set_size=set_size, d_hidden=d_hidden)
        self.net = nn.Sequential(nn.Linear(set_size, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_hidden), nn.ReLU(),
                                 nn.Linear(d_hidden, set_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _checks.features("ConcatenationClassifier.forward", "x", x, self, ndim=2, d=self.set_size)
        return self.net(x)
