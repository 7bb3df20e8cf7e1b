"""A one-layer attention model that labels every position of a token sequence: small enough to train in
seconds, big enough to watch its heads specialise.

Book: chapters 10 (notebooks/10_multi_head_attention.ipynb) and 11 (notebooks/11_positional_encoding.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .multihead import MultiHeadAttention


class AttentionTagger(nn.Module):
    """Token + learned position embeddings -> one multi-head self-attention layer (residual) -> MLP -> logits.

    ``forward(tokens (B, T), *, need_weights=False) -> (logits (B, T, vocab), weights (B, H, T, T) or None)``, with
    token ids below ``vocab`` and at most ``max_len`` positions.
    """

    def __init__(self, vocab: int, max_len: int, d_model: int = 32, num_heads: int = 2) -> None:
        super().__init__()
        self.vocab, self.max_len, d_model = _checks.sizes("AttentionTagger", vocab=vocab, max_len=max_len,
                                                          d_model=d_model)
        self.token = nn.Embedding(self.vocab, d_model)
        self.position = nn.Embedding(self.max_len, d_model)
        self.attention = MultiHeadAttention(d_model, num_heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.ReLU(), nn.Linear(4 * d_model, self.vocab))

    def forward(self, tokens: torch.Tensor, *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        fn = "AttentionTagger.forward"
        tokens = _checks.embedding_ids(fn, "tokens", tokens, self.token, ndim=2)
        _checks.sequence_length(fn, "tokens", tokens, max_len=self.max_len, empty=True)
        _checks.flag(fn, "need_weights", need_weights)
        h = self.token(tokens) + self.position(torch.arange(tokens.shape[1], device=tokens.device))
        attended, weights = self.attention(h, h, h, need_weights=need_weights)
        return self.mlp(h + attended), weights
