"""The Transformer (Vaswani et al. 2017, section 3): layers, stacks and the encoder-decoder model.

Book: chapter 12 (notebooks/12_transformer_block.ipynb) builds the block by hand; chapter 13
(notebooks/13_transformer.ipynb) the full model.

- ``FeedForward``: FFN(x) = max(0, x W1 + b1) W2 + b2 (eq. 2), applied to every position separately.
- ``EncoderLayer``: self-attention, then the feed-forward network, each wrapped in a residual connection and a
  LayerNorm. Post-norm (the paper): ``x = norm(x + sublayer(x))``; pre-norm (``norm_first=True``, now the common
  choice): ``x = x + sublayer(norm(x))``.
- ``DecoderLayer``: masked self-attention, encoder-decoder ("cross") attention with queries from the decoder and
  keys and values from the encoder output, then the feed-forward network; Add & Norm around each.
- ``Encoder`` / ``Decoder``: stacks of layers, with a final LayerNorm (needed after pre-norm layers, whose output is
  otherwise never normalised; ``nn.Transformer`` adds it in both placements).
- ``Transformer``: embeddings scaled by sqrt(d_model), sinusoidal positions, the stacks and a linear generator, with
  the ``forward(src, src_lengths, tgt_in)`` and ``next_log_probs`` interface of the RNN translators
  (``attnlab.seq2seq``), so the same training, evaluation and decoding code runs both.
- ``residual_stream_and_gradients``: the size of the residual stream after every layer of an encoder stack and the
  gradient norm of every layer, the diagnostics behind post-norm vs pre-norm (Xiong et al. 2020).

Layers and stacks return a tensor, as torch's do; with ``need_weights=True`` they return a small named tuple with
the per-head attention weights ``(B, H, Tq, Tk)`` as well (otherwise the fused fast path runs). Masks are boolean
with True = may attend (torch's layers use the opposite); weights copy from torch's modules with ``from_torch``
(``attnlab.interop``). Shapes: ``(B, T, d_model)`` everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .decoding import source_batch
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention
from .positional import sinusoidal_encoding

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class FeedForward(nn.Module):
    """``linear2(dropout(activation(linear1(x))))``: ``(..., d_model) -> (..., d_model)`` through width ``d_ff``."""

    def __init__(self, d_model: int, d_ff: int, *, dropout: float = 0.1, activation: str = "relu") -> None:
        super().__init__()
        self.activation_name = _checks.choice("FeedForward", "activation", activation, tuple(ACTIVATIONS))
        self.activation = ACTIVATIONS[activation]
        self.linear1 = nn.Linear(_checks.positive_int("FeedForward", "d_model", d_model),
                                 _checks.positive_int("FeedForward", "d_ff", d_ff))
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(_checks.probability("FeedForward", "dropout", dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))  # (..., d_model)


class EncoderWeights(NamedTuple):
    """What ``EncoderLayer(..., need_weights=True)`` returns: the output and its self-attention weights."""

    x: torch.Tensor  # (B, T, d_model)
    self_weights: torch.Tensor  # (B, H, T, T)


class DecoderWeights(NamedTuple):
    """What ``DecoderLayer(..., need_weights=True)`` returns: the output and both attentions' weights."""

    x: torch.Tensor  # (B, T, d_model)
    self_weights: torch.Tensor  # (B, H, T, T)
    cross_weights: torch.Tensor  # (B, H, T, S)


class EncoderLayer(nn.Module):
    """Self-attention and a feed-forward network, each with a residual connection and a LayerNorm.

    ``forward(x (B, T, d_model), mask=None, *, need_weights=False) -> x (B, T, d_model)``, or
    ``EncoderWeights(x, self_weights (B, H, T, T))`` with ``need_weights=True``. ``mask`` (True = may attend)
    broadcasts to ``(B, T, T)``, e.g. ``padding_mask(lengths, T)[:, None, :]``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, dropout: float = 0.1, norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.norm_first = _check_layer("EncoderLayer", d_model, num_heads, norm_first, layer_norm_eps)
        self.ff = FeedForward(d_model, d_ff, dropout=dropout, activation=activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)  # on each sublayer's output, before the residual sum (section 5.4)
        self.dropout2 = nn.Dropout(dropout)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, need_weights: bool = False
                ) -> torch.Tensor | EncoderWeights:
        _check_stream("EncoderLayer.forward", "x", x, self)
        if self.norm_first:  # pre-norm: x + sublayer(norm(x))
            h = self.norm1(x)
            attended, weights = self.self_attn(h, h, h, mask, need_weights=need_weights)
            x = x + self.dropout1(attended)
            x = x + self.dropout2(self.ff(self.norm2(x)))
        else:  # post-norm (the paper): norm(x + sublayer(x))
            attended, weights = self.self_attn(x, x, x, mask, need_weights=need_weights)
            x = self.norm1(x + self.dropout1(attended))
            x = self.norm2(x + self.dropout2(self.ff(x)))
        return EncoderWeights(x, weights) if need_weights else x  # (B, T, d_model)

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """A copy of ``nn.TransformerEncoderLayer`` (either norm placement, relu or exact gelu; same dtype and
        device); refuses what it cannot copy exactly."""
        from .interop import layer_from_torch
        return layer_from_torch(cls, layer)


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's output, a feed-forward network; Add & Norm around
    each.

    ``forward(x (B, T, d), memory (B, S, d), *, self_mask=None, memory_mask=None, need_weights=False)
    -> x (B, T, d)``, or ``DecoderWeights(x, self_weights (B, H, T, T), cross_weights (B, H, T, S))``.
    ``self_mask`` is usually ``causal_mask(T)`` (a position may not look ahead); ``memory_mask`` hides padded
    source positions, e.g. ``padding_mask(src_lengths, S)[:, None, :]``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, dropout: float = 0.1, norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.norm_first = _check_layer("DecoderLayer", d_model, num_heads, norm_first, layer_norm_eps)
        self.ff = FeedForward(d_model, d_ff, dropout=dropout, activation=activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *, self_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, need_weights: bool = False
                ) -> torch.Tensor | DecoderWeights:
        _check_stream("DecoderLayer.forward", "x", x, self)
        _check_stream("DecoderLayer.forward", "memory", memory, self)
        if self.norm_first:
            h = self.norm1(x)
            attended, self_weights = self.self_attn(h, h, h, self_mask, need_weights=need_weights)
            x = x + self.dropout1(attended)
            h = self.norm2(x)  # queries from the decoder, keys and values from the encoder
            attended, cross_weights = self.cross_attn(h, memory, memory, memory_mask, need_weights=need_weights)
            x = x + self.dropout2(attended)
            x = x + self.dropout3(self.ff(self.norm3(x)))
        else:
            attended, self_weights = self.self_attn(x, x, x, self_mask, need_weights=need_weights)
            x = self.norm1(x + self.dropout1(attended))
            attended, cross_weights = self.cross_attn(x, memory, memory, memory_mask, need_weights=need_weights)
            x = self.norm2(x + self.dropout2(attended))
            x = self.norm3(x + self.dropout3(self.ff(x)))
        return DecoderWeights(x, self_weights, cross_weights) if need_weights else x  # (B, T, d_model)

    @classmethod
    def from_torch(cls, layer: nn.TransformerDecoderLayer) -> DecoderLayer:
        """A copy of ``nn.TransformerDecoderLayer`` (either norm placement, relu or exact gelu; same dtype and
        device); refuses what it cannot copy exactly."""
        from .interop import layer_from_torch
        return layer_from_torch(cls, layer)


class StackWeights(NamedTuple):
    """What ``Encoder`` / ``Decoder`` return with ``need_weights=True``: the output and every layer's weights
    (``cross_weights`` is None for the encoder)."""

    x: torch.Tensor  # (B, T, d_model)
    self_weights: list[torch.Tensor]  # per layer (B, H, T, T)
    cross_weights: list[torch.Tensor] | None  # per layer (B, H, T, S)


class Encoder(nn.Module):
    """``num_layers`` encoder layers and an optional final LayerNorm (default: with pre-norm layers, whose output is
    otherwise never normalised). ``forward(x, mask=None, *, need_weights=False) -> x`` or ``StackWeights``."""

    def __init__(self, num_layers: int, d_model: int, num_heads: int, d_ff: int, *, dropout: float = 0.1,
                 norm_first: bool = False, final_norm: bool | None = None, activation: str = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d_model, num_heads, d_ff, dropout=dropout, norm_first=norm_first,
                                                 activation=activation, layer_norm_eps=layer_norm_eps)
                                    for _ in range(_checks.positive_int("Encoder", "num_layers", num_layers)))
        self.norm = _final_norm("Encoder", d_model, norm_first, final_norm, layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, need_weights: bool = False
                ) -> torch.Tensor | StackWeights:
        weights = []
        for layer in self.layers:
            if need_weights:
                x, w = layer(x, mask, need_weights=True)
                weights.append(w)
            else:
                x = layer(x, mask)
        x = self.norm(x) if self.norm is not None else x  # (B, T, d_model)
        return StackWeights(x, weights, None) if need_weights else x

    @classmethod
    def from_torch(cls, encoder: nn.TransformerEncoder) -> Encoder:
        """A copy of ``nn.TransformerEncoder`` (its layers and its final norm, if any)."""
        from .interop import stack_from_torch
        return stack_from_torch(cls, encoder)


class Decoder(nn.Module):
    """``num_layers`` decoder layers and an optional final LayerNorm (default: with pre-norm layers).

    ``forward(x, memory, *, self_mask=None, memory_mask=None, need_weights=False) -> x`` or ``StackWeights``.
    """

    def __init__(self, num_layers: int, d_model: int, num_heads: int, d_ff: int, *, dropout: float = 0.1,
                 norm_first: bool = False, final_norm: bool | None = None, activation: str = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(d_model, num_heads, d_ff, dropout=dropout, norm_first=norm_first,
                                                 activation=activation, layer_norm_eps=layer_norm_eps)
                                    for _ in range(_checks.positive_int("Decoder", "num_layers", num_layers)))
        self.norm = _final_norm("Decoder", d_model, norm_first, final_norm, layer_norm_eps)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *, self_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, need_weights: bool = False) -> torch.Tensor | StackWeights:
        self_weights, cross_weights = [], []
        for layer in self.layers:
            if need_weights:
                x, w_self, w_cross = layer(x, memory, self_mask=self_mask, memory_mask=memory_mask, need_weights=True)
                self_weights.append(w_self)
                cross_weights.append(w_cross)
            else:
                x = layer(x, memory, self_mask=self_mask, memory_mask=memory_mask)
        x = self.norm(x) if self.norm is not None else x  # (B, T, d_model)
        return StackWeights(x, self_weights, cross_weights) if need_weights else x

    @classmethod
    def from_torch(cls, decoder: nn.TransformerDecoder) -> Decoder:
        """A copy of ``nn.TransformerDecoder`` (its layers and its final norm, if any)."""
        from .interop import stack_from_torch
        return stack_from_torch(cls, decoder)


class PreNormBlock(nn.Module):
    """The pre-norm block of GPT-style decoders: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))`` with a ReLU MLP of
    width 4 d_model. ``attn`` is any self-attention module called as ``attn(x, mask) -> (out, weights)``, e.g.
    ``CausalSelfAttention``, ``RelativeMultiHeadAttention`` or ``LocalSelfAttention``; the models of chapters 16
    and 17 stack these blocks. ``forward(x (B, T, d_model), mask=None) -> (B, T, d_model)``."""

    def __init__(self, d_model: int, attn: nn.Module) -> None:
        super().__init__()
        d_model = _checks.positive_int("PreNormBlock", "d_model", d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = attn
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.ReLU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask)[0]
        return x + self.mlp(self.norm2(x))  # (B, T, d_model)


class Transformer(nn.Module):
    """The encoder-decoder Transformer for token sequences (Vaswani et al. 2017, figure 1).

    ``forward(src (B, S), src_lengths (B,), tgt_in (B, T), *, need_weights=False) -> (logits (B, T, tgt_vocab),
    weights or None)``, where ``weights = {"encoder": [...], "self": [...], "cross": [...]}`` hold every layer's
    per-head weights. Embeddings are multiplied by sqrt(d_model) and added to sinusoidal positions (section 3.4,
    3.5); ``share_embeddings`` ties the source and target embeddings and the generator (as the paper's shared
    vocabulary does; needs equal vocabularies). ``pad_id`` is the padding token (its embedding is zero).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 512, num_heads: int = 8, num_layers: int = 6,
                 d_ff: int = 2048, *, dropout: float = 0.1, norm_first: bool = False, max_len: int = 512,
                 share_embeddings: bool = False, pad_id: int = 0) -> None:
        super().__init__()
        fn = "Transformer"
        src_vocab, tgt_vocab = _checks.positive_int(fn, "src_vocab", src_vocab), _checks.positive_int(fn, "tgt_vocab",
                                                                                                      tgt_vocab)
        d_model, max_len = _checks.positive_int(fn, "d_model", d_model), _checks.positive_int(fn, "max_len", max_len)
        pad_id = _checks.positive_int(fn, "pad_id", pad_id, minimum=0)
        if _checks.flag(fn, "share_embeddings", share_embeddings) and src_vocab != tgt_vocab:
            raise ValueError(f"{fn}(): share_embeddings needs equal vocabularies, got src_vocab={src_vocab} and "
                             f"tgt_vocab={tgt_vocab}")
        if pad_id >= min(src_vocab, tgt_vocab):
            raise ValueError(f"{fn}(): pad_id={pad_id} must be a token of both vocabularies (sizes {src_vocab}, "
                             f"{tgt_vocab})")
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=pad_id)
        self.tgt_embed = self.src_embed if share_embeddings else nn.Embedding(tgt_vocab, d_model, padding_idx=pad_id)
        self.register_buffer("positions", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder = Encoder(num_layers, d_model, num_heads, d_ff, dropout=dropout, norm_first=norm_first)
        self.decoder = Decoder(num_layers, d_model, num_heads, d_ff, dropout=dropout, norm_first=norm_first)
        self.generator = nn.Linear(d_model, tgt_vocab)
        # std d^-1/2: after the sqrt(d) scaling, unit scale like the positions (N(0, 1) would drown them). A list in
        # a fixed order (not a set, whose order changes between runs), so that a seed gives one initialisation.
        for embedding in [self.src_embed] + ([] if share_embeddings else [self.tgt_embed]):
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
            with torch.no_grad():
                embedding.weight[pad_id].zero_()
        if share_embeddings:
            self.generator.weight = self.src_embed.weight

    def embed(self, embedding: nn.Embedding, ids: torch.Tensor, name: str) -> torch.Tensor:
        """``ids (B, T)`` -> ``(B, T, d_model)``: the token embedding times sqrt(d_model) plus the positions."""
        _check_ids(name, ids, embedding.num_embeddings, self.positions)
        return self.dropout(embedding(ids) * math.sqrt(self.d_model) + self.positions[: ids.shape[1]])

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor, *, need_weights: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor] | None]:
        """``(memory (B, S, d_model), memory_mask (B, 1, S), encoder weights or None)``. ``src_lengths`` may be a
        list or a tensor on any device; the mask is built on ``src``'s."""
        x = self.embed(self.src_embed, src, "src")
        src_lengths = _checks.lengths("Transformer", "src_lengths", src_lengths, src.shape[0], src.shape[1], src.device)
        memory_mask = padding_mask(src_lengths, src.shape[1])[:, None, :]  # (B, 1, S): no query reads padding
        if not need_weights:
            return self.encoder(x, memory_mask), memory_mask, None
        memory, weights, _ = self.encoder(x, memory_mask, need_weights=True)
        return memory, memory_mask, weights

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor, *,
               need_weights: bool = False) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]] | None]:
        """Logits ``(B, T, tgt_vocab)`` of the next token at every target position, each seeing only its past."""
        x = self.embed(self.tgt_embed, tgt_in, "tgt_in")
        self_mask = causal_mask(tgt_in.shape[1], device=tgt_in.device)  # (T, T)
        if not need_weights:
            return self.generator(self.decoder(x, memory, self_mask=self_mask, memory_mask=memory_mask)), None
        x, self_weights, cross_weights = self.decoder(x, memory, self_mask=self_mask, memory_mask=memory_mask,
                                                      need_weights=True)
        return self.generator(x), {"self": self_weights, "cross": cross_weights}

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor, *,
                need_weights: bool = False) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]] | None]:
        memory, memory_mask, encoder_weights = self.encode(src, src_lengths, need_weights=need_weights)
        logits, weights = self.decode(tgt_in, memory, memory_mask, need_weights=need_weights)
        return logits, ({"encoder": encoder_weights, **weights} if need_weights else None)

    def next_log_probs(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None
                       ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``attnlab.decoding``'s ``prefixes (N, t) -> (N, V)`` for ``src (S,)`` (one sentence) or ``src (B, S)``
        with ``src_lengths`` (N = B). The source is encoded once; the decoder re-reads each prefix (no cache)."""
        src, src_lengths = source_batch(src, src_lengths)
        with torch.no_grad():
            memory, memory_mask, _ = self.encode(src, src_lengths)

        def next_log_probs(prefixes: torch.Tensor) -> torch.Tensor:
            n, b = prefixes.shape[0], src.shape[0]
            if b not in (1, n):
                raise ValueError(f"next_log_probs(): got {n} prefixes for a batch of {b} sources")
            with torch.no_grad():
                logits, _ = self.decode(prefixes.to(src.device), memory.expand(n, -1, -1),
                                        memory_mask.expand(n, -1, -1))
            return logits[:, -1].log_softmax(-1)  # (N, V)

        return next_log_probs


def residual_stream_and_gradients(stack: Encoder, x: torch.Tensor, probe: torch.Tensor
                                  ) -> tuple[list[float], list[float]]:
    """How big the residual stream and the gradients are, layer by layer, in an encoder ``stack`` as it is now.

    ``x (B, T, d_model)`` is the input and ``probe`` (the shape of the output) defines a linear loss
    ``(stack(x) * probe).sum()`` (a random probe: the gradient of ``out.sum()`` through a final LayerNorm is zero).
    Returns ``(stream, gradients)``: ``stream[l]`` is the root-mean-square of the residual stream after layer ``l``
    (``stream[0]`` the input, ``L + 1`` values, before the final norm), and ``gradients[l]`` the norm of the loss's
    gradient with respect to all parameters of layer ``l + 1`` (``L`` values). Xiong et al. (2020) analyse both for
    post-norm and pre-norm stacks at initialisation.
    """
    fn = "residual_stream_and_gradients"
    if not isinstance(stack, Encoder):
        raise TypeError(f"{fn}(): stack must be an attnlab.transformer.Encoder, got {type(stack).__name__}")
    _check_stream(fn, "x", x, stack.layers[0])
    probe = _checks.floating(fn, "probe", probe)
    if probe.shape != x.shape:
        raise ValueError(f"{fn}(): probe must have the output's shape {_checks.shape(x)}, got {_checks.shape(probe)}")
    stream = [x.pow(2).mean().sqrt().item()]
    h = x
    for layer in stack.layers:
        h = layer(h)
        stream.append(h.pow(2).mean().sqrt().item())
    out = stack.norm(h) if stack.norm is not None else h
    params = [list(layer.parameters()) for layer in stack.layers]
    grads = torch.autograd.grad((out * probe).sum(), [p for group in params for p in group])
    gradients, start = [], 0
    for group in params:
        gradients.append(math.sqrt(sum(g.pow(2).sum().item() for g in grads[start:start + len(group)])))
        start += len(group)
    return stream, gradients


def parameter_count(*, src_vocab: int, tgt_vocab: int, d_model: int, d_ff: int, num_layers: int,
                    share_embeddings: bool = False, final_norms: bool = False) -> int:
    """The number of parameters of ``Transformer(...)``, in closed form.

    Attention: 4 projections d x d with biases = 4 d^2 + 4 d; feed-forward 2 d d_ff + d_ff + d; LayerNorm 2 d.
    Encoder layer: attention + FFN + 2 norms; decoder layer: 2 attentions + FFN + 3 norms; the generator d V + V.
    The number of heads does not matter: heads split d_model, they do not add weights.
    """
    attention = 4 * d_model * d_model + 4 * d_model
    ffn = 2 * d_model * d_ff + d_ff + d_model
    norm = 2 * d_model
    layers = num_layers * (attention + ffn + 2 * norm) + num_layers * (2 * attention + ffn + 3 * norm)
    embeddings = src_vocab * d_model + (0 if share_embeddings else tgt_vocab * d_model + tgt_vocab * d_model)
    return layers + embeddings + tgt_vocab + (2 * norm if final_norms else 0)


# ---- argument checks ----

def _check_layer(fn: str, d_model: int, num_heads: int, norm_first: bool, eps: float) -> bool:
    """Sizes and options of a layer; returns ``norm_first``."""
    _checks.positive_int(fn, "d_model", d_model)
    _checks.positive_int(fn, "num_heads", num_heads)
    if d_model % num_heads:
        raise ValueError(f"{fn}(): num_heads={num_heads} must divide d_model={d_model} "
                         f"(each head gets d_model / num_heads features)")
    _checks.number(fn, "layer_norm_eps", eps, positive=True)
    return _checks.flag(fn, "norm_first", norm_first)


def _final_norm(fn: str, d_model: int, norm_first: bool, final_norm: bool | None, eps: float) -> nn.LayerNorm | None:
    """The stack's final LayerNorm: by default only after pre-norm layers."""
    if final_norm is not None:
        _checks.flag(fn, "final_norm", final_norm)
    return nn.LayerNorm(d_model, eps=eps) if (norm_first if final_norm is None else final_norm) else None


def _check_stream(fn: str, name: str, x: object, layer: nn.Module) -> None:
    """A layer's input: ``(B, T, d_model)``, floating, on the layer's device and in its dtype."""
    _checks.floating(fn, name, x, ndim=3)
    _checks.width(fn, name, x, layer.ff.linear1.in_features)
    _checks.matches_module(fn, name, x, layer)


def _check_ids(name: str, ids: object, vocab_size: int, positions: torch.Tensor) -> None:
    """Token ids ``(B, T)`` in the vocabulary, on the model's device, ``1 <= T <= max_len``."""
    _checks.token_ids("Transformer", name, ids, vocab_size, ndim=2)
    if ids.device != positions.device:
        raise ValueError(f"Transformer(): {name} is on {ids.device} but the model is on {positions.device}")
    if ids.shape[1] > positions.shape[0]:
        raise ValueError(f"Transformer(): {name} is a sequence of length {ids.shape[1]}, which exceeds max_len="
                         f"{positions.shape[0]}")
    if ids.shape[1] == 0:
        raise ValueError(f"Transformer(): {name} is empty (length 0); every sequence needs at least one token")
