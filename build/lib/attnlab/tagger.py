"""A one-layer attention model that labels every position of a token sequence: small enough to train in
seconds, big enough to watch its heads specialise."""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .multihead import MultiHeadAttention


class AttentionTagger(nn.Module):
    """Token + learned position embeddings -> one multi-head self-attention layer (residual) -> MLP -> logits.

    ``forward(tokens (B, T), *, need_weights=False) -> (logits (B, T, vocab), weights (B, H, T, T) or None)``.
    """

    def __init__(self, vocab: int, max_len: int, d_model: int = 32, num_heads: int = 2) -> None:
        super().__init__()
        self.vocab = _checks.positive_int("AttentionTagger", "vocab", vocab)
        self.max_len = _checks.positive_int("AttentionTagger", "max_len", max_len)
        self.token = nn.Embedding(vocab, d_model)
        self.position = nn.Embedding(max_len, d_model)
        self.attention = MultiHeadAttention(d_model, num_heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.ReLU(), nn.Linear(4 * d_model, vocab))

    def forward(self, tokens: torch.Tensor, *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        _checks.tensor("AttentionTagger.forward", "tokens", tokens, ndim=2)
        if tokens.dtype != torch.long:
            raise TypeError(f"AttentionTagger.forward(): tokens must be torch.long, got dtype {tokens.dtype}")
        if tokens.shape[1] > self.max_len:
            raise ValueError(f"AttentionTagger.forward(): at most {self.max_len} positions, got shape "
                             f"{_checks.shape(tokens)}")
        h = self.token(tokens) + self.position(torch.arange(tokens.shape[1], device=tokens.device))
        attended, weights = self.attention(h, h, h, need_weights=need_weights)
        return self.mlp(h + attended), weights
