"""Weights to and from torch's own modules: the parity oracle every attention layer of the book is checked against.

``MultiHeadAttention.from_torch`` / ``.to_torch`` and the ``from_torch`` of ``EncoderLayer``, ``DecoderLayer``,
``Encoder`` and ``Decoder`` call these functions. Copies are exact (same dtype and device); what cannot be copied
exactly -- ``add_bias_kv``, tanh-approximated GELU, layers without biases, norms with different eps -- is refused
with a ``ValueError`` rather than approximated. Remember that torch's masks use the opposite convention (True = NOT
allowed) and that torch's modules are sequence-first unless ``batch_first=True``; weights depend on neither.

Book: used by chapters 10 (notebooks/10_multi_head_attention.ipynb), 12 (notebooks/12_transformer_block.ipynb) and
13 (notebooks/13_transformer.ipynb), which check attnlab against torch with these copies.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .multihead import MultiHeadAttention
from .transformer import Decoder, DecoderLayer, Encoder, EncoderLayer


def mha_from_torch(mha: nn.MultiheadAttention) -> MultiHeadAttention:
    """A copy of ``torch.nn.MultiheadAttention``'s weights (same dtype and device) in attnlab's module."""
    if not isinstance(mha, nn.MultiheadAttention):
        raise TypeError(f"from_torch(): expected nn.MultiheadAttention, got {type(mha).__name__}")
    if mha.bias_k is not None or mha.add_zero_attn:
        raise ValueError("from_torch(): add_bias_kv and add_zero_attn have no equivalent in attnlab")
    if (mha.in_proj_bias is None) != (mha.out_proj.bias is None):
        raise ValueError("from_torch(): the input and output projections must both have biases or neither")
    weight = mha.out_proj.weight
    ours = MultiHeadAttention(
        mha.embed_dim, mha.num_heads, dropout=mha.dropout, bias=mha.in_proj_bias is not None,
        kdim=mha.kdim, vdim=mha.vdim,
    ).to(device=weight.device, dtype=weight.dtype)
    _copy(_torch_projections(mha), _projections(ours))
    return ours


def mha_to_torch(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    """The same weights in a ``torch.nn.MultiheadAttention`` (``batch_first=True``)."""
    weight = ours.out_proj.weight
    mha = nn.MultiheadAttention(
        ours.d_model, ours.num_heads, dropout=ours.dropout, bias=ours.out_proj.bias is not None,
        kdim=ours.kdim, vdim=ours.vdim, batch_first=True, device=weight.device, dtype=weight.dtype,
    )
    _copy(_projections(ours), _torch_projections(mha))
    return mha


def layer_from_torch(cls: type[EncoderLayer] | type[DecoderLayer], layer: nn.Module) -> EncoderLayer | DecoderLayer:
    """Build ``cls`` like torch's ``layer`` and copy its attentions, feed-forward network and norms."""
    torch_cls, attentions = ((nn.TransformerEncoderLayer, {"self_attn": "self_attn"}) if issubclass(cls, EncoderLayer)
                             else (nn.TransformerDecoderLayer, {"self_attn": "self_attn", "cross_attn": "multihead_attn"}))
    fn = f"{cls.__name__}.from_torch"
    if not isinstance(layer, torch_cls):
        raise TypeError(f"{fn}(): expected nn.{torch_cls.__name__}, got {type(layer).__name__}")
    norms = [f"norm{i}" for i in range(1, len(attentions) + 2)]
    _check_copyable(fn, layer, [getattr(layer, name) for name in norms])
    ours = cls(layer.self_attn.embed_dim, layer.self_attn.num_heads, layer.linear1.out_features,
               dropout=layer.dropout.p, norm_first=layer.norm_first, activation=_activation_of(layer),
               layer_norm_eps=layer.norm1.eps)
    ours.to(device=layer.linear1.weight.device, dtype=layer.linear1.weight.dtype)
    for mine, theirs in attentions.items():
        setattr(ours, mine, mha_from_torch(getattr(layer, theirs)))
    with torch.no_grad():
        for name in ("linear1", "linear2"):
            getattr(ours.ff, name).load_state_dict(getattr(layer, name).state_dict())
        for name in norms:
            getattr(ours, name).load_state_dict(getattr(layer, name).state_dict())
    return ours


def stack_from_torch(cls: type[Encoder] | type[Decoder], stack: nn.Module) -> Encoder | Decoder:
    """A copy of ``nn.TransformerEncoder`` / ``nn.TransformerDecoder``: its layers and its final norm, if any."""
    layer_cls = EncoderLayer if issubclass(cls, Encoder) else DecoderLayer
    torch_cls = nn.TransformerEncoder if issubclass(cls, Encoder) else nn.TransformerDecoder
    if not isinstance(stack, torch_cls):
        raise TypeError(f"{cls.__name__}.from_torch(): expected nn.{torch_cls.__name__}, got {type(stack).__name__}")
    layers = [layer_from_torch(layer_cls, layer) for layer in stack.layers]
    first = layers[0]
    ours = cls(len(layers), first.self_attn.d_model, first.self_attn.num_heads, first.ff.linear1.out_features,
               dropout=first.dropout1.p, norm_first=first.norm_first, final_norm=stack.norm is not None,
               activation=first.ff.activation_name, layer_norm_eps=first.norm1.eps)
    ours.layers = nn.ModuleList(layers)
    if stack.norm is not None:
        _check_copyable(f"{cls.__name__}.from_torch", None, [stack.norm])
        ours.norm = nn.LayerNorm(stack.norm.normalized_shape, eps=stack.norm.eps)
        ours.norm.to(stack.norm.weight.device, stack.norm.weight.dtype).load_state_dict(stack.norm.state_dict())
    return ours


# ---- helpers ----

def _projections(ours: MultiHeadAttention) -> list[dict[str, torch.Tensor | None]]:
    """attnlab's q, k, v and output projections' parameters, in that order."""
    layers = (ours.q_proj, ours.k_proj, ours.v_proj, ours.out_proj)
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


def _activation_of(layer: nn.Module) -> str:
    """The name of torch's layer activation in ``attnlab.transformer.ACTIVATIONS``; anything else (tanh-approximated
    GELU, a custom function) cannot be copied exactly and is refused."""
    activation = layer.activation
    if activation is F.relu or type(activation) is nn.ReLU:
        return "relu"
    if activation is F.gelu or (type(activation) is nn.GELU and activation.approximate == "none"):
        return "gelu"
    raise ValueError(f"from_torch(): unsupported activation {activation!r} (attnlab copies relu and exact gelu)")


def _check_copyable(fn: str, layer: nn.Module | None, norms: list[nn.Module]) -> None:
    """Refuse torch modules whose weights would not copy exactly into attnlab's: feed-forward layers without
    biases, norms that are not affine LayerNorms with biases, norms with different eps."""
    if layer is not None and (layer.linear1.bias is None or layer.linear2.bias is None):
        raise ValueError(f"{fn}(): torch's layer was built with bias=False; attnlab's layers always have biases")
    for norm in norms:
        if type(norm) is not nn.LayerNorm or norm.weight is None or norm.bias is None:
            raise ValueError(f"{fn}(): expected affine nn.LayerNorm norms with biases, got {norm!r}")
        if norm.eps != norms[0].eps:
            raise ValueError(f"{fn}(): the norms have different eps ({norms[0].eps} and {norm.eps}); attnlab's "
                             "layers use one eps")
