"""Relative positional self-attention (Shaw et al. 2018) and the Music Transformer's skewing trick (Huang et al. 2018).

Each head learns one vector per relative distance, ``E_r`` with rows for distances -(L-1) .. 0 (causal attention
never looks ahead). The logit of query i for key j gains ``q_i . E_r[j - i + L - 1]``:

    Attention = softmax((Q K^T + S_rel) / sqrt(D)) V,    S_rel[i, j] = q_i . E_r[j - i + L - 1]  (j <= i)

Shaw et al. (2018) gathered a (L, L, D) tensor of embeddings to compute S_rel; the skew computes ``Q E_r^T``
(L x L, the size of ``Q K^T``, which attention computes anyway) and moves every entry into place with a pad, a
reshape and a slice, so the relative positions add only ``E_r`` itself, O(L D), instead of O(L^2 D) (Huang et
al., section 3.4.1). ``relative_logits`` folds the pad into E_r, so that a single (L, L+1) tensor is allocated.

Shaw et al. also *clip* distances at k: every distance beyond k shares the vector of distance k, so a model trained
on sequences longer than k has trained every vector it will ever use, at any length. ``ShawRelativeSelfAttention``
is their layer (one set of vectors shared by the heads, a relative term on the keys *and* on the values);
``RelativeMultiHeadAttention`` is the Music Transformer's (one ``E_r`` per head, keys only, via the skew), with
optional clipping.

Book: chapter 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .alibi import ALiBiSelfAttention
from .multihead import CausalSelfAttention
from .positional import sinusoidal_encoding
from .rotary import RotarySelfAttention
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


def distance_index(length: int, rows: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """``(L, L)`` row of the distance table for each (query i, key j <= i): distances -(rows-1) .. 0 are rows
    0 .. rows-1, and a distance further back than ``rows - 1`` is clipped to it (Shaw et al.'s ``clip(j - i, k)``
    with ``k = rows - 1``). Entries above the diagonal (later keys) point at distance 0; causal masks remove them."""
    length = _checks.positive_int("distance_index", "length", length)
    rows = _checks.positive_int("distance_index", "rows", rows)
    i = torch.arange(length, device=device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    return (j - i).clamp(min=-(rows - 1), max=0) + rows - 1


class RelativeMultiHeadAttention(CausalSelfAttention):
    """Causal multi-head self-attention with learned relative positions (one ``E_r`` per head), via ``skew``: the
    Music Transformer's layer (Huang et al. 2018).

    ``forward(x (B, L, d_model), mask=None, *, need_weights=False) -> (out, weights (B, H, L, L) or None)`` with
    ``L <= max_len``; ``mask`` (True = may attend) is combined with the causal mask. ``E_r`` has one row per
    distance 0 .. max_len-1, or, with ``clip=k``, per distance 0 .. k: farther keys share the row of distance k
    (Shaw et al.'s clipping), so that every row a long sequence uses was trained on shorter ones. Everything but
    the scores is ``MultiHeadAttention``'s: this class only overrides ``score_bias``. No copy to or from torch's
    module (it has no relative positions).
    """

    def __init__(self, d_model: int, num_heads: int, max_len: int, *, clip: int | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__(d_model, num_heads, dropout=dropout)
        self.max_len = _checks.positive_int("RelativeMultiHeadAttention", "max_len", max_len)
        self.clip = None if clip is None else _checks.positive_int("RelativeMultiHeadAttention", "clip", clip, minimum=0)
        rows = self.max_len if clip is None else min(self.max_len, self.clip + 1)
        self.E_r = nn.Parameter(torch.randn(self.num_heads, rows, self.d_head) / math.sqrt(self.d_head))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        fn = "RelativeMultiHeadAttention.forward"
        _checks.features(fn, "x", x, self, ndim=3)
        _checks.sequence_length(fn, "x", x, max_len=self.max_len)
        return super().forward(x, mask, need_weights=need_weights)

    def score_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``S_rel / sqrt(d_head)``: ``(B, H, L, L)`` with ``q_i . E_r`` for the distance ``j - i`` (j <= i)."""
        n, rows = q.shape[-2], self.E_r.shape[1]
        index = distance_index(n, rows, device=q.device)[-1]  # rows for distances -(L-1)..0, clipped: (L,)
        E_r = self.E_r[:, index]                                # (H, L, d_head): O(L D), never O(L^2 D)
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


class ShawRelativeSelfAttention(CausalSelfAttention):
    """Shaw et al.'s (2018) causal relative self-attention, section 3: with ``a_ij = w[clip(j - i, k)]``,

        e_ij = q_i . (k_j + a^K_ij) / sqrt(d_head),    z_i = sum_j alpha_ij (v_j + a^V_ij),

    ``w^K`` and ``w^V`` holding one ``d_head`` vector per clipped distance -k .. 0, shared by every head. The key
    term is ``q @ w^K^T`` ``(B, H, L, k+1)`` read out per pair (``distance_index``), never an ``(L, L, D)`` tensor; the
    value term sums each query's weights per distance, then multiplies by ``w^V``. ``forward(x (B, L, d_model),
    mask=None, *, need_weights=False) -> (out, weights (B, H, L, L) or None)``, any length (the teaching path runs,
    since the value term needs the weights).
    """

    def __init__(self, d_model: int, num_heads: int, clip: int, *, dropout: float = 0.0) -> None:
        super().__init__(d_model, num_heads, dropout=dropout)
        self.clip = _checks.positive_int("ShawRelativeSelfAttention", "clip", clip, minimum=0)
        self.w_K = nn.Parameter(torch.randn(self.clip + 1, self.d_head) / math.sqrt(self.d_head))
        self.w_V = nn.Parameter(torch.randn(self.clip + 1, self.d_head) / math.sqrt(self.d_head))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        _checks.flag("ShawRelativeSelfAttention.forward", "need_weights", need_weights)
        out, weights = super().forward(x, mask, need_weights=True)  # content + key term (score_bias)
        index = distance_index(x.shape[1], self.clip + 1, device=x.device).expand_as(weights)
        by_distance = torch.zeros(*weights.shape[:-1], self.clip + 1, device=x.device, dtype=x.dtype)
        by_distance.scatter_add_(-1, index, weights)                # (B, H, L, k+1): weight per clipped distance
        value_term = self.merge_heads(by_distance @ self.w_V)       # (B, L, d_model)
        return out + value_term @ self.out_proj.weight.T, (weights if need_weights else None)  # W^O is linear

    def score_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """``q_i . a^K_ij / sqrt(d_head)``: ``(B, H, L, L)``."""
        index = distance_index(q.shape[-2], self.clip + 1, device=q.device)
        per_distance = q @ self.w_K.T                               # (B, H, L, k+1)
        return per_distance.gather(-1, index.expand(*q.shape[:-1], -1)) / math.sqrt(self.d_head)


POSITIONS = ("sinusoidal", "learned", "shaw", "relative", "rotary", "alibi")


class CausalLM(nn.Module):
    """A small causal language model with one of six position schemes:

    - ``"sinusoidal"``: sinusoidal encodings added to the embeddings (Vaswani et al. 2017);
    - ``"learned"``: a learned table of ``max_len`` absolute position vectors added to the embeddings;
    - ``"shaw"``: ``ShawRelativeSelfAttention`` with clipping distance ``clip`` (default ``max_len - 1``);
    - ``"relative"``: the Music Transformer's ``RelativeMultiHeadAttention`` (optionally clipped at ``clip``);
    - ``"rotary"``: ``RotarySelfAttention`` (RoPE, Su et al. 2021);
    - ``"alibi"``: ``ALiBiSelfAttention`` (Press et al. 2022).

    The last four add nothing to the embeddings. ``forward(tokens (B, T)) -> logits (B, T, vocab)`` for the next
    token (token ids below ``vocab``, 1 <= T <= ``max_len``); pre-norm blocks of causal attention and MLP.
    """

    def __init__(self, vocab: int, *, positions: str, max_len: int, d_model: int = 64, num_heads: int = 4,
                 num_layers: int = 2, clip: int | None = None) -> None:
        super().__init__()
        fn = "CausalLM"
        vocab, max_len, d_model = _checks.sizes(fn, vocab=vocab, max_len=max_len, d_model=d_model)
        num_layers = _checks.positive_int(fn, "num_layers", num_layers, minimum=0)
        self.positions, self.max_len = _checks.choice(fn, "positions", positions, POSITIONS), max_len
        if positions == "sinusoidal" and d_model % 2:
            raise ValueError(f"{fn}(): sinusoidal positions need an even d_model, got {d_model}")
        if clip is not None and positions not in ("shaw", "relative"):
            raise ValueError(f"{fn}(): clip is for the 'shaw' and 'relative' positions, got positions={positions!r}")
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Embedding(max_len, d_model) if positions == "learned" else None
        attention = {
            "shaw": lambda: ShawRelativeSelfAttention(d_model, num_heads, max_len - 1 if clip is None else clip),
            "relative": lambda: RelativeMultiHeadAttention(d_model, num_heads, max_len, clip=clip),
            "rotary": lambda: RotarySelfAttention(d_model, num_heads),
            "alibi": lambda: ALiBiSelfAttention(d_model, num_heads),
        }.get(positions, lambda: CausalSelfAttention(d_model, num_heads))
        self.blocks = nn.ModuleList(PreNormBlock(d_model, attention()) for _ in range(num_layers))
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = _checks.embedding_ids("CausalLM.forward", "tokens", tokens, self.embed, ndim=2)
        n = _checks.sequence_length("CausalLM.forward", "tokens", tokens, max_len=self.max_len)
        h = self.embed(tokens)
        if self.positions == "sinusoidal":
            h = h + sinusoidal_encoding(n, h.shape[-1], device=h.device, dtype=h.dtype)
        elif self.positions == "learned":
            h = h + self.position.weight[:n]
        for block in self.blocks:  # causal attention inside every block
            h = block(h)  # (B, T, d_model)
        return self.head(h)
