"""A one-layer attention model that labels every position of a token sequence: small enough to train in
seconds, big enough to watch its heads specialise.

Book: chapters 10 (notebooks/10_multi_head_attention.ipynb) and 11 (notebooks/11_positional_encoding.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .multihead import MultiHeadAttention
from .positional import sinusoidal_encoding

POSITIONS = ("learned", "sinusoidal")
COMBINE = ("add", "concat")


class AttentionTagger(nn.Module):
    """Token embeddings and positions -> one multi-head self-attention layer (residual) -> MLP -> logits.

    ``forward(tokens (B, T), *, need_weights=False) -> (logits (B, T, vocab), weights (B, H, T, T) or None)``, with
    token ids below ``vocab``.

    ``positions``: ``"learned"`` (a table of ``max_len`` vectors, as BERT and GPT-2; longer inputs are refused) or
    ``"sinusoidal"`` (Vaswani et al. 2017, section 3.5; computed for any length, so a model trained on short inputs
    can be run on longer ones). ``combine``: ``"add"`` (the Transformer: token embedding + position, both of width
    ``d_model``) or ``"concat"`` (``[token embedding; position]``, of widths ``d_model - d_position`` and
    ``d_position``, so that the model's width stays ``d_model``).
    """

    def __init__(self, vocab: int, max_len: int, d_model: int = 32, num_heads: int = 2, *,
                 positions: str = "learned", combine: str = "add", d_position: int | None = None) -> None:
        super().__init__()
        fn = "AttentionTagger"
        self.vocab, self.max_len, d_model = _checks.sizes(fn, vocab=vocab, max_len=max_len, d_model=d_model)
        self.positions = _checks.choice(fn, "positions", positions, POSITIONS)
        self.combine = _checks.choice(fn, "combine", combine, COMBINE)
        if self.combine == "add":
            if d_position is not None:
                raise ValueError(f"{fn}(): d_position is only for combine='concat', got d_position={d_position}")
            d_position = d_model
        else:
            d_position = d_model // 2 if d_position is None else _checks.positive_int(fn, "d_position", d_position)
            if d_position >= d_model:
                raise ValueError(f"{fn}(): d_position={d_position} must be smaller than d_model={d_model} "
                                 "(the rest of the width holds the token embedding)")
        if self.positions == "sinusoidal" and d_position % 2:
            raise ValueError(f"{fn}(): sinusoidal positions need an even width (sin/cos pairs), got {d_position}")
        self.d_position = d_position
        self.token = nn.Embedding(self.vocab, d_model if self.combine == "add" else d_model - d_position)
        self.position = nn.Embedding(self.max_len, d_position) if self.positions == "learned" else None
        self.attention = MultiHeadAttention(d_model, num_heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.ReLU(), nn.Linear(4 * d_model, self.vocab))

    def position_vectors(self, length: int, device: torch.device | None = None) -> torch.Tensor:
        """The ``(length, d_position)`` position vectors the model uses for positions ``0 .. length-1``."""
        if self.position is not None:
            return self.position(torch.arange(length, device=device))
        table = sinusoidal_encoding(max(length, 1), self.d_position, device=device, dtype=self.token.weight.dtype)
        return table[:length]

    def forward(self, tokens: torch.Tensor, *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        fn = "AttentionTagger.forward"
        tokens = _checks.embedding_ids(fn, "tokens", tokens, self.token, ndim=2)
        _checks.sequence_length(fn, "tokens", tokens, max_len=self.max_len if self.position is not None else None,
                                empty=True)
        _checks.flag(fn, "need_weights", need_weights)
        tok = self.token(tokens)                                        # (B, T, d_model or d_model - d_position)
        pos = self.position_vectors(tokens.shape[1], tokens.device)     # (T, d_position)
        if self.combine == "add":
            h = tok + pos
        else:
            h = torch.cat([tok, pos.expand(tokens.shape[0], -1, -1)], dim=-1)
        attended, weights = self.attention(h, h, h, need_weights=need_weights)
        return self.mlp(h + attended), weights
