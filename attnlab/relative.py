"""Relative positional self-attention with the Music Transformer's skewing trick (Huang et al. 2018).

Each head learns one vector per relative distance, ``E_r`` with rows for distances -(L-1) .. 0 (causal attention
never looks ahead). The logit of query i for key j gains ``q_i . E_r[j - i + L - 1]``:

    Attention = softmax((Q K^T + S_rel) / sqrt(D)) V,    S_rel[i, j] = q_i . E_r[j - i + L - 1]  (j <= i)

Shaw et al. (2018) gathered a (L, L, D) tensor of embeddings to compute S_rel; the skew computes ``Q E_r^T``
(L x L) and moves every entry into place with a pad, a reshape and a slice: O(L^2) memory instead of O(L^2 D).
``relative_logits`` folds the pad into E_r, so that a single (L, L+1) tensor is allocated.

Book: chapter 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .multihead import CausalSelfAttention
from .positional import sinusoidal_encoding
from .transformer import PreNormBlock


def skew(rel_logits: torch.Tensor) -> torch.Tensor:
    """``(..., L, L)`` logits by relative distance -> by absolute key position.

    Column r of ``rel_logits`` is distance r - (L - 1). Returns ``out[..., i, j] = rel_logits[..., i, j - i + L - 1]``
    for j <= i; entries above the diagonal are left-overs of the reshape and must be masked. Steps: pad one zero
    column on the left -> (L, L+1); reshape -> (L+1, L); drop the first row -> (L, L).
    """
    _checks.tensor("skew", "rel_logits", rel_logits, ndim=(2, 8))
    *lead, n, m = rel_logits.shape
    if n != m:
        raise ValueError(f"skew(): rel_logits must be square in its last two dimensions, got {_checks.shape(rel_logits)}")
    return _shift(F.pad(rel_logits, (1, 0)))  # (..., L, L+1) -> (..., L, L)


def _shift(padded: torch.Tensor) -> torch.Tensor:
    """The skew's reshape and slice: ``(..., L, L+1)`` with a zero first column -> ``(..., L, L)`` (a view)."""
    *lead, n, _ = padded.shape
    return padded.reshape(*lead, n + 1, n)[..., 1:, :]


def relative_logits(q: torch.Tensor, E_r: torch.Tensor) -> torch.Tensor:
    """``S_rel = skew(q @ E_r^T)`` with the skew's zero column padded onto ``E_r`` instead of onto the logits:
    ``q @ [0; E_r]^T`` is already the padded ``(L, L+1)`` matrix, so one such tensor is allocated, not two.
    ``q (..., L, D)``, ``E_r (..., L, D)`` (rows for distances -(L-1)..0; leading dimensions broadcast)."""
    _checks.floating("relative_logits", "q", q, ndim=(2, 8))
    _checks.floating("relative_logits", "E_r", E_r, ndim=(2, 8))
    _checks.same_dtype_and_device("relative_logits", q=q, E_r=E_r)
    if E_r.shape[-2:] != q.shape[-2:] or not _checks.broadcasts_to(E_r.shape[:-2], q.shape[:-2]):
        raise ValueError(f"relative_logits(): E_r must be (..., L, D) = (..., {q.shape[-2]}, {q.shape[-1]}) like q, "
                         f"got q: {_checks.shape(q)}, E_r: {_checks.shape(E_r)}")
    return _shift(q @ F.pad(E_r, (0, 0, 1, 0)).transpose(-2, -1))


def relative_logits_naive(q: torch.Tensor, E_r: torch.Tensor) -> torch.Tensor:
    """The same ``S_rel`` by gathering an ``(L, L, D)`` tensor of embeddings (Shaw et al. 2018): for teaching and
    testing only; zero above the diagonal. ``q (..., L, D)``, ``E_r (L, D)``."""
    _checks.floating("relative_logits_naive", "q", q, ndim=(2, 8))
    _checks.floating("relative_logits_naive", "E_r", E_r, ndim=2)
    n = q.shape[-2]
    if E_r.shape != (n, q.shape[-1]):
        raise ValueError(f"relative_logits_naive(): E_r must be (L, D) = {(n, q.shape[-1])}, got {_checks.shape(E_r)}")
    i, j = torch.arange(n, device=q.device)[:, None], torch.arange(n, device=q.device)[None, :]
    gathered = E_r[(j - i + n - 1).clamp(max=n - 1)]  # (L, L, D): E_r for every pair; j > i is masked below
    logits = torch.einsum("...id,ijd->...ij", q, gathered)
    return logits.masked_fill(j > i, 0.0)


class RelativeMultiHeadAttention(CausalSelfAttention):
    """Causal multi-head self-attention with learned relative positions (one ``E_r`` per head), via ``skew``.

    ``forward(x (B, L, d_model), mask=None, *, need_weights=False) -> (out, weights (B, H, L, L) or None)`` with
    ``L <= max_len``; ``mask`` (True = may attend) is combined with the causal mask. Everything but the scores is
    ``MultiHeadAttention``'s: this class only overrides ``score_bias``. No copy to or from torch's module (it has
    no relative positions).
    """

    def __init__(self, d_model: int, num_heads: int, max_len: int, *, dropout: float = 0.0) -> None:
        super().__init__(d_model, num_heads, dropout=dropout)
        self.max_len = _checks.positive_int("RelativeMultiHeadAttention", "max_len", max_len)
        self.E_r = nn.Parameter(torch.randn(self.num_heads, self.max_len, self.d_head) / math.sqrt(self.d_head))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        fn = "RelativeMultiHeadAttention.forward"
        _checks.features(fn, "x", x, self, ndim=3)
        _checks.sequence_length(fn, "x", x, max_len=self.max_len)
        return super().forward(x, mask, need_weights=need_weights)

    def score_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``S_rel / sqrt(d_head)``: ``(B, H, L, L)`` with ``q_i . E_r`` for the distance ``j - i`` (j <= i)."""
        E_r = self.E_r[:, self.max_len - q.shape[-2]:]                 # (H, L, d_head): distances -(L-1)..0
        return relative_logits(q, E_r.unsqueeze(0)) / math.sqrt(self.d_head)  # (B, H, L, L)

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> RelativeMultiHeadAttention:
        """Refused: torch's module has no relative positions to copy into ``E_r``."""
        raise ValueError("RelativeMultiHeadAttention.from_torch(): torch.nn.MultiheadAttention has no relative "
                         "positions (E_r); copy it into an attnlab.MultiHeadAttention instead")

    def to_torch(self) -> nn.MultiheadAttention:
        """Refused: torch's module cannot hold ``E_r``, so the copy would compute something else."""
        raise ValueError("RelativeMultiHeadAttention.to_torch(): torch.nn.MultiheadAttention cannot hold the learned "
                         "relative positions (E_r); the copy would attend without them")


class CausalLM(nn.Module):
    """A small causal language model whose only position information is either absolute (sinusoidal encodings
    added to the embeddings) or relative (``RelativeMultiHeadAttention`` in every layer, no absolute positions).

    ``forward(tokens (B, T)) -> logits (B, T, vocab)`` for the next token (token ids below ``vocab``, 1 <= T <=
    ``max_len``); pre-norm blocks of attention and MLP.
    """

    def __init__(self, vocab: int, *, positions: str, max_len: int, d_model: int = 64, num_heads: int = 4,
                 num_layers: int = 2) -> None:
        super().__init__()
        fn = "CausalLM"
        vocab, max_len, d_model = _checks.sizes(fn, vocab=vocab, max_len=max_len, d_model=d_model)
        num_layers = _checks.positive_int(fn, "num_layers", num_layers, minimum=0)
        self.positions, self.max_len = _checks.choice(fn, "positions", positions, ("absolute", "relative")), max_len
        if positions == "absolute" and d_model % 2:
            raise ValueError(f"{fn}(): absolute (sinusoidal) positions need an even d_model, got {d_model}")
        self.embed = nn.Embedding(vocab, d_model)
        attention = (lambda: RelativeMultiHeadAttention(d_model, num_heads, max_len)) if positions == "relative" \
            else (lambda: CausalSelfAttention(d_model, num_heads))
        self.blocks = nn.ModuleList(PreNormBlock(d_model, attention()) for _ in range(num_layers))
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = _checks.embedding_ids("CausalLM.forward", "tokens", tokens, self.embed, ndim=2)
        n = _checks.sequence_length("CausalLM.forward", "tokens", tokens, max_len=self.max_len)
        h = self.embed(tokens)
        if self.positions == "absolute":
            h = h + sinusoidal_encoding(n, h.shape[-1], device=h.device, dtype=h.dtype)
        for block in self.blocks:  # causal attention inside every block
            h = block(h)  # (B, T, d_model)
        return self.head(h)
