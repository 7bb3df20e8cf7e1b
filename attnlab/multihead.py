"""Multi-head attention (Vaswani et al. 2017, section 3.2.2).

    head_h = Attention(Q W_h^Q, K W_h^K, V W_h^V),   MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O

Each projection is one ``Linear`` of full width ``d_model``; head ``h`` owns features ``[h*d, (h+1)*d)`` with
``d = d_model / num_heads``, exactly as ``torch.nn.MultiheadAttention`` lays them out, so weights copy both ways.
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .attention import attention, scaled_dot_product_attention


class MultiHeadAttention(nn.Module):
    """``num_heads`` attentions of width ``d_model / num_heads`` side by side, then an output projection.

    ``forward(query (B, Tq, d_model), key (B, Tk, kdim), value (B, Tk, vdim), mask=None, *, need_weights=False)``
    returns ``(out (B, Tq, d_model), weights (B, H, Tq, Tk) or None)``. ``mask`` is boolean (True = may attend)
    and broadcasts to ``(B, Tq, Tk)`` -- the same for every head -- or to ``(B, H, Tq, Tk)``. Without
    ``need_weights`` the fast path (torch's fused kernels) runs; with it, the teaching path returns each head's
    weights (never averaged over heads).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
    ) -> None:
        super().__init__()
        fn = "MultiHeadAttention"
        self.d_model = _checks.positive_int(fn, "d_model", d_model)
        self.num_heads = _checks.positive_int(fn, "num_heads", num_heads)
        if d_model % num_heads:
            raise ValueError(f"{fn}(): d_model={d_model} must be divisible by num_heads={num_heads}")
        self.d_head = d_model // num_heads
        self.kdim = d_model if kdim is None else _checks.positive_int(fn, "kdim", kdim)
        self.vdim = d_model if vdim is None else _checks.positive_int(fn, "vdim", vdim)
        self.dropout = _checks.probability(fn, "dropout", dropout)
        if not isinstance(bias, bool):
            raise TypeError(f"{fn}(): bias must be a bool, got {type(bias).__name__}")
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(self.kdim, d_model, bias=bias)
        self.v_proj = nn.Linear(self.vdim, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, H, T, d_head)."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.d_head).transpose(1, 2)

    def _check(self, query, key, value, mask) -> torch.Tensor | None:
        fn = "MultiHeadAttention.forward"
        for name, x, width in (("query", query, self.d_model), ("key", key, self.kdim), ("value", value, self.vdim)):
            _checks.floating(fn, name, x, ndim=3)
            if x.shape[-1] != width:
                raise ValueError(f"{fn}(): {name} must have width {width}, got shape {_checks.shape(x)}")
        _checks.same_dtype_and_device(fn, query=query, key=key, value=value)
        _checks.matches_module(fn, "query", query, self)
        if not query.shape[0] == key.shape[0] == value.shape[0] or key.shape[1] != value.shape[1]:
            raise ValueError(
                f"{fn}(): expected query (B, Tq, .), key and value (B, Tk, .), got query: "
                f"{_checks.shape(query)}, key: {_checks.shape(key)}, value: {_checks.shape(value)}"
            )
        if mask is None:
            return None
        (batch, n_q, _), n_k = query.shape, key.shape[1]
        if isinstance(mask, torch.Tensor) and mask.ndim == 4:
            target = (batch, self.num_heads, n_q, n_k)
            return _checks.bool_mask(fn, mask, target, f"(B, H, Tq, Tk) = {target}", query.device)
        target = (batch, n_q, n_k)
        mask = _checks.bool_mask(fn, mask, target, f"(B, Tq, Tk) = {target} or (B, H, Tq, Tk)", query.device)
        return mask.unsqueeze(-3) if mask.ndim == 3 else mask  # same mask for every head

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        _checks.flag("MultiHeadAttention.forward", "need_weights", need_weights)
        mask = self._check(query, key, value, mask)
        q, k, v = self._split(self.q_proj(query)), self._split(self.k_proj(key)), self._split(self.v_proj(value))
        return self._attend(q, k, v, mask, need_weights)

    def _attend(self, q, k, v, mask, need_weights, bias=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-head attention on ``(B, H, T, d_head)`` tensors, heads merged, output projection applied."""
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            heads, weights = attention(q, k, v, mask, dropout_p=dropout_p, bias=bias)
        else:
            heads, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=dropout_p, bias=bias), None
        batch, _, n_q, _ = heads.shape
        return self.out_proj(heads.transpose(1, 2).reshape(batch, n_q, self.d_model)), weights

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``torch.nn.MultiheadAttention``'s weights (same dtype and device) in attnlab's module.

        Remember that torch's masks use the opposite convention (True = NOT allowed) and that torch's module is
        sequence-first unless ``batch_first=True``; the weights do not depend on either.
        """
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"from_torch(): expected nn.MultiheadAttention, got {type(mha).__name__}")
        if mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("from_torch(): add_bias_kv and add_zero_attn have no equivalent in attnlab")
        if (mha.in_proj_bias is None) != (mha.out_proj.bias is None):
            raise ValueError("from_torch(): the input and output projections must both have biases or neither")
        weight = mha.out_proj.weight
        ours = cls(
            mha.embed_dim, mha.num_heads, dropout=mha.dropout, bias=mha.in_proj_bias is not None,
            kdim=mha.kdim, vdim=mha.vdim,
        ).to(device=weight.device, dtype=weight.dtype)
        _copy(_torch_projections(mha), ours._projections())
        return ours

    def to_torch(self) -> nn.MultiheadAttention:
        """The same weights in a ``torch.nn.MultiheadAttention`` (``batch_first=True``)."""
        weight = self.out_proj.weight
        mha = nn.MultiheadAttention(
            self.d_model, self.num_heads, dropout=self.dropout, bias=self.out_proj.bias is not None,
            kdim=self.kdim, vdim=self.vdim, batch_first=True, device=weight.device, dtype=weight.dtype,
        )
        _copy(self._projections(), _torch_projections(mha))
        return mha

    def _projections(self) -> list[dict[str, torch.Tensor | None]]:
        """The q, k, v and output projections' parameters, in that order."""
        layers = (self.q_proj, self.k_proj, self.v_proj, self.out_proj)
        return [{"weight": layer.weight, "bias": layer.bias} for layer in layers]


def _torch_projections(mha: nn.MultiheadAttention) -> list[dict[str, torch.Tensor | None]]:
    """Views of torch's q, k, v and output projections, in that order.

    torch packs W_q, W_k, W_v as rows ``[0:E]``, ``[E:2E]``, ``[2E:3E]`` of ``in_proj_weight`` when
    ``kdim == vdim == embed_dim`` and keeps separate ``{q,k,v}_proj_weight`` otherwise; ``in_proj_bias`` is
    always packed. Slices are views, so copying into them writes torch's parameters.
    """
    d = mha.embed_dim
    packed_bias = mha.in_proj_bias
    if mha._qkv_same_embed_dim:
        weights = [mha.in_proj_weight[i * d:(i + 1) * d] for i in range(3)]
    else:
        weights = [mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight]
    biases = [None if packed_bias is None else packed_bias[i * d:(i + 1) * d] for i in range(3)]
    projections = [{"weight": w, "bias": b} for w, b in zip(weights, biases)]
    return projections + [{"weight": mha.out_proj.weight, "bias": mha.out_proj.bias}]


def _copy(source: list[dict[str, torch.Tensor | None]], target: list[dict[str, torch.Tensor | None]]) -> None:
    """Copy projection parameters in place (both sides have biases, or neither)."""
    with torch.no_grad():
        for src, dst in zip(source, target):
            for name, param in dst.items():
                if param is not None:
                    param.copy_(src[name])
