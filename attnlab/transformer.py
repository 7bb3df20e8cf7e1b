"""The Transformer (Vaswani et al. 2017, section 3): layers, stacks and the encoder-decoder model.

- ``FeedForward``: FFN(x) = max(0, x W1 + b1) W2 + b2 (eq. 2), applied to every position separately.
- ``EncoderLayer``: self-attention, then the feed-forward network, each wrapped in a residual connection and a
  LayerNorm. Post-norm (the paper): ``x = norm(x + sublayer(x))``; pre-norm (``norm_first=True``, now the common
  choice): ``x = x + sublayer(norm(x))``.
- ``DecoderLayer``: masked self-attention, encoder-decoder ("cross") attention with queries from the decoder and
  keys and values from the encoder output, then the feed-forward network; Add & Norm around each.
- ``Encoder`` / ``Decoder``: stacks of layers, with a final LayerNorm (needed after pre-norm layers, whose output is
  otherwise never normalised; ``nn.Transformer`` adds it in both placements).
- ``Transformer``: embeddings scaled by sqrt(d_model), sinusoidal positions, the stacks and a linear generator, with
  the ``forward(src, src_lengths, tgt_in)`` and ``next_log_probs`` interface of ``attnlab.seq2seq``, so the same
  training, evaluation and decoding code runs both.

Every layer copies its weights from torch's (``from_torch``) in both norm placements; masks are boolean with True =
may attend (torch's layers use the opposite). Shapes: ``(B, T, d_model)`` everywhere; attention weights
``(B, H, Tq, Tk)`` on request (``need_weights=True``), otherwise the fused fast path runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .data.translation import PAD
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention
from .positional import sinusoidal_encoding
from .seq2seq import source_batch

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class FeedForward(nn.Module):
    """``linear2(dropout(activation(linear1(x))))``: ``(..., d_model) -> (..., d_model)`` through width ``d_ff``."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1, *, activation: str = "relu") -> None:
        super().__init__()
        self.activation_name = _checks.choice("FeedForward", "activation", activation, tuple(ACTIVATIONS))
        self.activation = ACTIVATIONS[activation]
        self.linear1 = nn.Linear(_checks.positive_int("FeedForward", "d_model", d_model),
                                 _checks.positive_int("FeedForward", "d_ff", d_ff))
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(_checks.probability("FeedForward", "dropout", dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


def _check_config(fn: str, d_model: int, num_heads: int) -> None:
    _checks.positive_int(fn, "d_model", d_model)
    _checks.positive_int(fn, "num_heads", num_heads)
    if d_model % num_heads:
        raise ValueError(f"{fn}(): num_heads={num_heads} must divide d_model={d_model} "
                         f"(each head gets d_model / num_heads features)")


class _Sublayers(nn.Module):
    """What both layers share: the feed-forward block and the residual wiring around any sublayer."""

    def __init__(self, name: str, d_model: int, num_heads: int, d_ff: int, dropout: float, norm_first: bool,
                 activation: str, n_sublayers: int, eps: float) -> None:
        super().__init__()
        _check_config(name, d_model, num_heads)
        self.norm_first = _checks.flag(name, "norm_first", norm_first)
        _checks.number(name, "layer_norm_eps", eps, positive=True)
        self.ff = FeedForward(d_model, d_ff, dropout, activation=activation)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model, eps=eps) for _ in range(n_sublayers))
        self.dropout = nn.Dropout(dropout)

    def residual(self, i: int, x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Sublayer ``i`` with its residual connection: pre-norm ``x + f(norm(x))`` or post-norm
        ``norm(x + f(x))``; dropout on the sublayer output (section 5.4)."""
        if self.norm_first:
            return x + self.dropout(sublayer(self.norms[i](x)))
        return self.norms[i](x + self.dropout(sublayer(x)))


class EncoderLayer(_Sublayers):
    """``forward(x (B, T, d_model), mask=None, *, need_weights=False) -> (x, weights (B, H, T, T) or None)``.
    ``mask`` (True = may attend) broadcasts to ``(B, T, T)``, e.g. ``padding_mask(lengths, T)[:, None, :]``."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1, *, norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5) -> None:
        super().__init__("EncoderLayer", d_model, num_heads, d_ff, dropout, norm_first, activation, 2, layer_norm_eps)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        _check_stream("EncoderLayer.forward", "x", x, self)
        weights = None

        def attend(h: torch.Tensor) -> torch.Tensor:
            nonlocal weights
            out, weights = self.self_attn(h, h, h, mask, need_weights=need_weights)
            return out

        x = self.residual(0, x, attend)
        return self.residual(1, x, self.ff), weights

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """A copy of ``nn.TransformerEncoderLayer`` (either norm placement, relu or gelu; same dtype and device)."""
        return _layer_from_torch(cls, layer, nn.TransformerEncoderLayer, {"self_attn": "self_attn"}, 2)


class DecoderLayer(_Sublayers):
    """``forward(x (B, T, d), memory (B, S, d), *, self_mask=None, memory_mask=None, need_weights=False)
    -> (x, self_weights (B, H, T, T) or None, cross_weights (B, H, T, S) or None)``.

    ``self_mask`` is usually ``causal_mask(T)`` (a position may not look ahead); ``memory_mask`` hides padded
    source positions, e.g. ``padding_mask(src_lengths, S)[:, None, :]``.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1, *, norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5) -> None:
        super().__init__("DecoderLayer", d_model, num_heads, d_ff, dropout, norm_first, activation, 3, layer_norm_eps)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *, self_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        _check_stream("DecoderLayer.forward", "x", x, self)
        _check_stream("DecoderLayer.forward", "memory", memory, self)
        weights: dict[str, torch.Tensor | None] = {}

        def self_attend(h: torch.Tensor) -> torch.Tensor:
            out, weights["self"] = self.self_attn(h, h, h, self_mask, need_weights=need_weights)
            return out

        def cross_attend(h: torch.Tensor) -> torch.Tensor:  # queries from the decoder, keys/values from the encoder
            out, weights["cross"] = self.cross_attn(h, memory, memory, memory_mask, need_weights=need_weights)
            return out

        x = self.residual(0, x, self_attend)
        x = self.residual(1, x, cross_attend)
        return self.residual(2, x, self.ff), weights["self"], weights["cross"]

    @classmethod
    def from_torch(cls, layer: nn.TransformerDecoderLayer) -> DecoderLayer:
        """A copy of ``nn.TransformerDecoderLayer`` (either norm placement, relu or gelu; same dtype and device)."""
        return _layer_from_torch(cls, layer, nn.TransformerDecoderLayer,
                                 {"self_attn": "self_attn", "cross_attn": "multihead_attn"}, 3)


def _activation_of(layer: nn.Module) -> str:
    """The name of torch's layer activation in ``ACTIVATIONS``; anything else (tanh-approximated GELU, a custom
    function) cannot be copied exactly and is refused."""
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


def _check_stream(fn: str, name: str, x: object, layer: nn.Module) -> None:
    """A layer's input: ``(B, T, d_model)``, floating, on the layer's device and in its dtype."""
    _checks.floating(fn, name, x, ndim=3)
    _checks.width(fn, name, x, layer.ff.linear1.in_features)
    _checks.matches_module(fn, name, x, layer)


def _layer_from_torch(cls: type, layer: nn.Module, torch_cls: type, attentions: dict[str, str], n_norms: int
                      ) -> _Sublayers:
    """Build ``cls`` like torch's ``layer`` and copy its weights: attentions named ``{ours: theirs}``, the
    feed-forward network and the norms ``norm1 .. norm{n_norms}``."""
    if not isinstance(layer, torch_cls):
        raise TypeError(f"{cls.__name__}.from_torch(): expected nn.{torch_cls.__name__}, got {type(layer).__name__}")
    _check_copyable(f"{cls.__name__}.from_torch", layer, [getattr(layer, f"norm{i}") for i in range(1, n_norms + 1)])
    ours = cls(layer.self_attn.embed_dim, layer.self_attn.num_heads, layer.linear1.out_features, layer.dropout.p,
               norm_first=layer.norm_first, activation=_activation_of(layer), layer_norm_eps=layer.norm1.eps)
    ours.to(device=layer.linear1.weight.device, dtype=layer.linear1.weight.dtype)
    for mine, theirs in attentions.items():
        setattr(ours, mine, MultiHeadAttention.from_torch(getattr(layer, theirs)))
    with torch.no_grad():
        for name in ("linear1", "linear2"):
            getattr(ours.ff, name).load_state_dict(getattr(layer, name).state_dict())
        for i, norm in enumerate(ours.norms, start=1):
            norm.load_state_dict(getattr(layer, f"norm{i}").state_dict())
    return ours


class _Stack(nn.Module):
    """``num_layers`` layers of ``layer_cls`` and an optional final LayerNorm (default: with pre-norm layers, whose
    output is otherwise never normalised)."""

    layer_cls: type[_Sublayers]

    def __init__(self, num_layers: int, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1, *,
                 norm_first: bool = False, final_norm: bool | None = None, activation: str = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        num_layers = _checks.positive_int(type(self).__name__, "num_layers", num_layers)
        if final_norm is not None:
            _checks.flag(type(self).__name__, "final_norm", final_norm)
        self.layers = nn.ModuleList(self.layer_cls(d_model, num_heads, d_ff, dropout, norm_first=norm_first,
                                                   activation=activation, layer_norm_eps=layer_norm_eps)
                                    for _ in range(num_layers))
        self.norm = (nn.LayerNorm(d_model, eps=layer_norm_eps) if (norm_first if final_norm is None else final_norm)
                     else None)


class Encoder(_Stack):
    """``num_layers`` encoder layers and an optional final LayerNorm (default: with pre-norm layers).

    ``forward(x, mask=None, *, need_weights=False) -> (x, [weights per layer] or None)``.
    """

    layer_cls = EncoderLayer

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, need_weights: bool = False
                ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        weights = []
        for layer in self.layers:
            x, w = layer(x, mask, need_weights=need_weights)
            weights.append(w)
        return (self.norm(x) if self.norm is not None else x), (weights if need_weights else None)

    @classmethod
    def from_torch(cls, encoder: nn.TransformerEncoder) -> Encoder:
        """A copy of ``nn.TransformerEncoder`` (its layers and its final norm, if any)."""
        return _stack_from_torch(cls, EncoderLayer, encoder)


class Decoder(_Stack):
    """``num_layers`` decoder layers and an optional final LayerNorm (default: with pre-norm layers).

    ``forward(x, memory, *, self_mask=None, memory_mask=None, need_weights=False)
    -> (x, {"self": [...], "cross": [...]} per layer, or None)``.
    """

    layer_cls = DecoderLayer

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *, self_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, need_weights: bool = False
                ) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]] | None]:
        weights: dict[str, list] = {"self": [], "cross": []}
        for layer in self.layers:
            x, w_self, w_cross = layer(x, memory, self_mask=self_mask, memory_mask=memory_mask,
                                       need_weights=need_weights)
            weights["self"].append(w_self)
            weights["cross"].append(w_cross)
        return (self.norm(x) if self.norm is not None else x), (weights if need_weights else None)

    @classmethod
    def from_torch(cls, decoder: nn.TransformerDecoder) -> Decoder:
        """A copy of ``nn.TransformerDecoder`` (its layers and its final norm, if any)."""
        return _stack_from_torch(cls, DecoderLayer, decoder)


def _stack_from_torch(cls: type, layer_cls: type, stack: nn.Module) -> nn.Module:
    layers = [layer_cls.from_torch(layer) for layer in stack.layers]
    first = layers[0]
    ours = cls(len(layers), first.self_attn.d_model, first.self_attn.num_heads, first.ff.linear1.out_features,
               first.dropout.p, norm_first=first.norm_first, final_norm=stack.norm is not None,
               activation=first.ff.activation_name, layer_norm_eps=first.norms[0].eps)
    ours.layers = nn.ModuleList(layers)
    if stack.norm is not None:
        _check_copyable(f"{cls.__name__}.from_torch", None, [stack.norm])
        ours.norm = nn.LayerNorm(stack.norm.normalized_shape, eps=stack.norm.eps)
        ours.norm.to(stack.norm.weight.device, stack.norm.weight.dtype).load_state_dict(stack.norm.state_dict())
    return ours


class Transformer(nn.Module):
    """The encoder-decoder Transformer for token sequences (Vaswani et al. 2017, figure 1).

    ``forward(src (B, S), src_lengths (B,), tgt_in (B, T), *, need_weights=False) -> (logits (B, T, tgt_vocab),
    weights or None)``, where ``weights = {"encoder": [...], "self": [...], "cross": [...]}`` hold every layer's
    per-head weights. Embeddings are multiplied by sqrt(d_model) and added to sinusoidal positions (section 3.4,
    3.5); ``share_embeddings`` ties the source and target embeddings and the generator (as the paper's shared
    vocabulary does; needs equal vocabularies).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 512, num_heads: int = 8, num_layers: int = 6,
                 d_ff: int = 2048, dropout: float = 0.1, *, norm_first: bool = False, max_len: int = 512,
                 share_embeddings: bool = False) -> None:
        super().__init__()
        _check_config("Transformer", d_model, num_heads)
        src_vocab = _checks.positive_int("Transformer", "src_vocab", src_vocab)
        tgt_vocab = _checks.positive_int("Transformer", "tgt_vocab", tgt_vocab)
        _checks.flag("Transformer", "share_embeddings", share_embeddings)
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError(f"Transformer(): share_embeddings needs equal vocabularies, got src_vocab={src_vocab} "
                             f"and tgt_vocab={tgt_vocab}")
        self.d_model = d_model = int(d_model)
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=PAD)
        self.tgt_embed = self.src_embed if share_embeddings else nn.Embedding(tgt_vocab, d_model, padding_idx=PAD)
        self.register_buffer("positions", sinusoidal_encoding(_checks.positive_int("Transformer", "max_len", max_len),
                                                              d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder = Encoder(num_layers, d_model, num_heads, d_ff, dropout, norm_first=norm_first)
        self.decoder = Decoder(num_layers, d_model, num_heads, d_ff, dropout, norm_first=norm_first)
        self.generator = nn.Linear(d_model, tgt_vocab)
        # std d^-1/2: after the sqrt(d) scaling, unit scale like the positions (N(0, 1) would drown them). A list in
        # a fixed order (not a set, whose order changes between runs), so that a seed gives one initialisation.
        for embedding in [self.src_embed] + ([] if share_embeddings else [self.tgt_embed]):
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
            with torch.no_grad():
                embedding.weight[PAD].zero_()
        if share_embeddings:
            self.generator.weight = self.src_embed.weight

    def _embed(self, embedding: nn.Embedding, ids: torch.Tensor, name: str) -> torch.Tensor:
        _checks.token_ids("Transformer", name, ids, embedding.num_embeddings, ndim=2)
        if ids.device != self.positions.device:
            raise ValueError(f"Transformer(): {name} is on {ids.device} but the model is on {self.positions.device}")
        if ids.shape[1] > self.positions.shape[0]:
            raise ValueError(f"Transformer(): {name} is a sequence of length {ids.shape[1]}, which exceeds max_len="
                             f"{self.positions.shape[0]}")
        if ids.shape[1] == 0:
            raise ValueError(f"Transformer(): {name} is empty (length 0); every sequence needs at least one token")
        return self.dropout(embedding(ids) * math.sqrt(self.d_model) + self.positions[: ids.shape[1]])

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor, *, need_weights: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor] | None]:
        """``(memory (B, S, d_model), memory_mask (B, 1, S), encoder weights or None)``. ``src_lengths`` may be a
        list or a tensor on any device; the mask is built on ``src``'s."""
        x = self._embed(self.src_embed, src, "src")
        src_lengths = _checks.lengths("Transformer", "src_lengths", src_lengths, src.shape[0], src.shape[1], src.device)
        memory_mask = padding_mask(src_lengths, src.shape[1])[:, None, :]
        memory, weights = self.encoder(x, memory_mask, need_weights=need_weights)
        return memory, memory_mask, weights

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor, *,
               need_weights: bool = False) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]] | None]:
        """Logits ``(B, T, tgt_vocab)`` of the next token at every target position, each seeing only its past."""
        x = self._embed(self.tgt_embed, tgt_in, "tgt_in")
        self_mask = causal_mask(tgt_in.shape[1], device=tgt_in.device)
        x, weights = self.decoder(x, memory, self_mask=self_mask,
                                  memory_mask=memory_mask, need_weights=need_weights)
        return self.generator(x), weights

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
            return logits[:, -1].log_softmax(-1)

        return next_log_probs


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
