"""Three ways to process a sequence: recurrence, convolution, self-attention (Vaswani et al. 2017, section 4).

Each layer maps ``x (B, T, d)`` to ``(B, T, d)`` and is *causal*: output t depends on inputs 0..t only, so the three
compare on equal terms::

    | layer                 | cost per layer | sequential steps | longest path between positions |
    |-----------------------|----------------|------------------|--------------------------------|
    | ``RecurrentLayer``    | O(T d^2)       | O(T)             | O(T)                           |
    | ``ConvolutionLayer``  | O(k T d^2)     | O(1)             | O(T / k) (O(log_k T) dilated)   |
    | ``SelfAttentionLayer``| O(T^2 d)       | O(1)             | O(1)                           |

``SequenceClassifier`` stacks ``num_layers`` of one kind (with residual connections and LayerNorm) and reads the
last position out: the model of the chapter's long-range experiment. Inputs are checked: at least one position,
the layer's width, dtype and device; token ids below the vocabulary size.

Book: chapter 14 (notebooks/14_rnn_conv_attention.ipynb).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .masks import causal_mask
from .multihead import MultiHeadAttention
from .positional import sinusoidal_encoding

KINDS = ("recurrent", "convolution", "self-attention")


class RecurrentLayer(nn.Module):
    """A GRU: ``h_t = GRU(x_t, h_{t-1})``; T steps, one after the other."""

    def __init__(self, d: int) -> None:
        super().__init__()
        d = _checks.positive_int("RecurrentLayer", "d", d)
        self.rnn = nn.GRU(d, d, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence("RecurrentLayer.forward", x, self, self.rnn.input_size)
        return self.rnn(x)[0]


class ConvolutionLayer(nn.Module):
    """A causal 1D convolution of width ``kernel_size``: output t sees inputs t - k + 1 .. t (left zero padding)."""

    def __init__(self, d: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.kernel_size = _checks.positive_int("ConvolutionLayer", "kernel_size", kernel_size)
        d = _checks.positive_int("ConvolutionLayer", "d", d)
        self.conv = nn.Conv1d(d, d, self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence("ConvolutionLayer.forward", x, self, self.conv.in_channels)
        return self.conv(F.pad(x.transpose(1, 2), (self.kernel_size - 1, 0))).transpose(1, 2)


class SelfAttentionLayer(nn.Module):
    """Causal multi-head self-attention. ``need_weights=True`` takes the teaching path, which materialises the
    ``(B, H, T, T)`` weights; otherwise torch's fused kernel runs."""

    def __init__(self, d: int, num_heads: int = 1) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(d, num_heads)

    def forward(self, x: torch.Tensor, *, need_weights: bool = False) -> torch.Tensor:
        T = _check_sequence("SelfAttentionLayer.forward", x, self, self.attn.d_model)
        _checks.flag("SelfAttentionLayer.forward", "need_weights", need_weights)
        return self.attn(x, x, x, causal_mask(T, device=x.device), need_weights=need_weights)[0]


def layer(kind: str, d: int, *, kernel_size: int = 3, num_heads: int = 1) -> nn.Module:
    """A ``RecurrentLayer``, ``ConvolutionLayer`` or ``SelfAttentionLayer`` by name (``KINDS``)."""
    _checks.choice("layer", "kind", kind, KINDS)
    _checks.positive_int("layer", "kernel_size", kernel_size)
    if kind == "recurrent":
        return RecurrentLayer(d)
    return ConvolutionLayer(d, kernel_size) if kind == "convolution" else SelfAttentionLayer(d, num_heads)


class SequenceClassifier(nn.Module):
    """Token embedding + sinusoidal positions, ``num_layers`` residual blocks ``x + layer(LayerNorm(x))`` of one
    ``kind``, and a linear read-out of the last position: ``forward(tokens (B, T)) -> logits (B, n_classes)``."""

    def __init__(self, kind: str, num_layers: int, vocab: int, n_classes: int, *, d: int = 32, max_len: int = 256,
                 kernel_size: int = 3) -> None:
        super().__init__()
        fn = "SequenceClassifier"
        _checks.choice(fn, "kind", kind, KINDS)
        num_layers, vocab, n_classes, d, max_len = _checks.sizes(fn, num_layers=num_layers, vocab=vocab,
                                                                 n_classes=n_classes, d=d, max_len=max_len)
        if d % 2:
            raise ValueError(f"{fn}(): d must be even (sinusoidal positions come in sin/cos pairs), got {d}")
        self.embed = nn.Embedding(vocab, d)
        self.register_buffer("positions", sinusoidal_encoding(max_len, d), persistent=False)
        self.layers = nn.ModuleList(layer(kind, d, kernel_size=kernel_size) for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(num_layers))
        self.out = nn.Linear(d, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        fn = "SequenceClassifier.forward"
        tokens = _checks.embedding_ids(fn, "tokens", tokens, self.embed, ndim=2)
        _checks.sequence_length(fn, "tokens", tokens, max_len=self.positions.shape[0])
        x = self.embed(tokens) + self.positions[: tokens.shape[1]]
        for norm, block in zip(self.norms, self.layers):
            x = x + block(norm(x))
        return self.out(x[:, -1])


def receptive_field(num_layers: int, kernel_size: int) -> int:
    """How many inputs (the last one included) a stack of causal convolutions lets the last output see."""
    num_layers = _checks.positive_int("receptive_field", "num_layers", num_layers, minimum=0)
    kernel_size = _checks.positive_int("receptive_field", "kernel_size", kernel_size)
    return num_layers * (kernel_size - 1) + 1


def _check_sequence(fn: str, x: object, module: nn.Module, d: int) -> int:
    """A layer's input ``(B, T, d)`` with T >= 1, in the layer's dtype and on its device; returns T."""
    _checks.features(fn, "x", x, module, ndim=3, d=d)
    return _checks.sequence_length(fn, "x", x)
