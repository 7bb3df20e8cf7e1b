"""Multi-head attention (Vaswani et al. 2017, section 3.2.2).

    head_h = Attention(Q W_h^Q, K W_h^K, V W_h^V),   MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O

Each projection is one ``Linear`` of full width ``d_model``; head ``h`` owns features ``[h*d, (h+1)*d)`` with
``d = d_model / num_heads``, exactly as ``torch.nn.MultiheadAttention`` lays them out, so weights copy both ways
(``from_torch`` / ``to_torch``, implemented in ``attnlab.interop``).

Extension points (small methods a subclass overrides instead of rewriting ``forward``): ``split_heads`` and
``merge_heads`` (the head layout), ``position_qk(q, k)`` (positions applied to the queries and keys: rotary
embeddings), ``score_bias(q, k)`` (an additive term on the scaled scores: relative positions, ALiBi).
``RelativeMultiHeadAttention`` (chapter 17) overrides ``score_bias``, ``RotarySelfAttention`` ``position_qk``;
``LocalSelfAttention`` (chapter 16) reuses the projections and the head split.

Book: chapter 10 (notebooks/10_multi_head_attention.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .attention import attention, scaled_dot_product_attention
from .masks import causal_mask


class MultiHeadAttention(nn.Module):
    """``num_heads`` attentions of width ``d_model / num_heads`` side by side, then an output projection.

    ``forward(query (B, Tq, d_model), key (B, Tk, kdim), value (B, Tk, vdim), mask=None, *, need_weights=False)``
    returns ``(out (B, Tq, d_model), weights (B, H, Tq, Tk) or None)``. ``mask`` is boolean (True = may attend)
    and broadcasts to ``(B, Tq, Tk)`` -- the same for every head -- or to ``(B, H, Tq, Tk)``. Without
    ``need_weights`` the fast path (torch's fused kernels) runs; with it, the teaching path returns each head's
    weights (never averaged over heads).
    """

    def __init__(self, d_model: int, num_heads: int, *, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None) -> None:
        super().__init__()
        self.d_model, self.num_heads, self.kdim, self.vdim = _check_sizes(d_model, num_heads, kdim, vdim)
        self.d_head = self.d_model // self.num_heads
        self.dropout = _checks.probability("MultiHeadAttention", "dropout", dropout)
        bias = _checks.flag("MultiHeadAttention", "bias", bias)
        self.q_proj = nn.Linear(self.d_model, self.d_model, bias=bias)
        self.k_proj = nn.Linear(self.kdim, self.d_model, bias=bias)
        self.v_proj = nn.Linear(self.vdim, self.d_model, bias=bias)
        self.out_proj = nn.Linear(self.d_model, self.d_model, bias=bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None,
                *, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        mask = self._check(query, key, value, mask, need_weights)
        q = self.split_heads(self.q_proj(query))  # (B, H, Tq, d_head)
        k = self.split_heads(self.k_proj(key))    # (B, H, Tk, d_head)
        v = self.split_heads(self.v_proj(value))  # (B, H, Tk, d_head)
        q, k = self.position_qk(q, k)             # unchanged here; rotary positions rotate them
        bias = self.score_bias(q, k)              # None, or broadcasting to (B, H, Tq, Tk)
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:  # the teaching path: every head's weights (B, H, Tq, Tk)
            heads, weights = attention(q, k, v, mask, dropout_p=dropout_p, bias=bias)
        else:             # the fast path: torch's fused kernels, weights never materialised
            heads, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=dropout_p, bias=bias), None
        return self.out_proj(self.merge_heads(heads)), weights  # (B, Tq, d_model)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d_model) -> (B, H, T, d_head)``: head ``h`` takes features ``[h*d_head, (h+1)*d_head)``."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.d_head).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, H, T, d_head) -> (B, T, d_model)``: the inverse of ``split_heads`` (Concat(head_1, ..., head_H))."""
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).reshape(batch, length, self.d_model)

    def position_qk(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions applied to the per-head queries and keys ``(B, H, T, d_head)`` before the scores: unchanged
        here; rotary position embeddings (``attnlab.rotary``) override it."""
        return q, k

    def score_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor | None:
        """An additive term on the scaled scores ``q k^T / sqrt(d_head)``, broadcasting to ``(B, H, Tq, Tk)``;
        ``-inf`` forbids a key like a False mask entry. None here; relative attention overrides it."""
        return None

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``torch.nn.MultiheadAttention``'s weights (same dtype and device) in attnlab's module.

        Remember that torch's masks use the opposite convention (True = NOT allowed) and that torch's module is
        sequence-first unless ``batch_first=True``; the weights do not depend on either.
        """
        from .interop import mha_from_torch
        return mha_from_torch(mha)

    def to_torch(self) -> nn.MultiheadAttention:
        """The same weights in a ``torch.nn.MultiheadAttention`` (``batch_first=True``)."""
        from .interop import mha_to_torch
        return mha_to_torch(self)

    def _check(self, query, key, value, mask, need_weights) -> torch.Tensor | None:
        """Validate ``forward``'s arguments; return the mask shaped for the heads, ``(B, 1 or H, Tq, Tk)``."""
        return _check_forward(self, query, key, value, mask, need_weights)


class CausalSelfAttention(MultiHeadAttention):
    """Multi-head self-attention in which position ``i`` sees positions ``<= i`` (a decoder's, GPT's).

    ``forward(x (B, T, d_model), mask=None, *, need_weights=False) -> (out (B, T, d_model), weights or None)``;
    ``mask`` (True = may attend) is combined with ``causal_mask(T)``.
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,  # type: ignore[override]
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        mask = self._check(x, x, x, mask, need_weights)  # (B, 1 or H, T, T) or None
        causal = causal_mask(x.shape[1], device=x.device)  # (T, T)
        return super().forward(x, x, x, causal if mask is None else mask & causal, need_weights=need_weights)


# ---- argument checks ----

def _check_sizes(d_model, num_heads, kdim, vdim) -> tuple[int, int, int, int]:
    fn = "MultiHeadAttention"
    d_model = _checks.positive_int(fn, "d_model", d_model)
    num_heads = _checks.positive_int(fn, "num_heads", num_heads)
    if d_model % num_heads:
        raise ValueError(f"{fn}(): d_model={d_model} must be divisible by num_heads={num_heads}")
    kdim = d_model if kdim is None else _checks.positive_int(fn, "kdim", kdim)
    vdim = d_model if vdim is None else _checks.positive_int(fn, "vdim", vdim)
    return d_model, num_heads, kdim, vdim


def _check_forward(module: MultiHeadAttention, query, key, value, mask, need_weights) -> torch.Tensor | None:
    fn = f"{type(module).__name__}.forward"
    _checks.flag(fn, "need_weights", need_weights)
    for name, x, width in (("query", query, module.d_model), ("key", key, module.kdim),
                           ("value", value, module.vdim)):
        _checks.floating(fn, name, x, ndim=3)
        if x.shape[-1] != width:
            raise ValueError(f"{fn}(): {name} must have width {width}, got shape {_checks.shape(x)}")
    _checks.same_dtype_and_device(fn, query=query, key=key, value=value)
    _checks.matches_module(fn, "query", query, module)
    if not query.shape[0] == key.shape[0] == value.shape[0] or key.shape[1] != value.shape[1]:
        raise ValueError(
            f"{fn}(): expected query (B, Tq, .), key and value (B, Tk, .), got query: "
            f"{_checks.shape(query)}, key: {_checks.shape(key)}, value: {_checks.shape(value)}"
        )
    if mask is None:
        return None
    (batch, n_q, _), n_k = query.shape, key.shape[1]
    if isinstance(mask, torch.Tensor) and mask.ndim == 4:
        target = (batch, module.num_heads, n_q, n_k)
        return _checks.bool_mask(fn, mask, target, f"(B, H, Tq, Tk) = {target}", query.device)
    target = (batch, n_q, n_k)
    mask = _checks.bool_mask(fn, mask, target, f"(B, Tq, Tk) = {target} or (B, H, Tq, Tk)", query.device)
    return mask.unsqueeze(-3) if mask.ndim == 3 else mask  # the same mask for every head
