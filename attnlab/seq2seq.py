"""RNN encoder-decoders: the single-context-vector bottleneck and the attention decoders that removed it.

- ``Encoder``: a GRU over the source (optionally bidirectional) returning every state -- the *annotations* h_j --
  and a summary of the sentence.
- ``Decoder``: the bottleneck (Cho et al. 2014; Sutskever et al. 2014): the summary is the only thing the decoder
  knows about the source; it initialises the state and is fed at every step.
- ``AttentionDecoder``: at every target step a fresh context vector ``c_i = sum_j alpha_ij h_j`` with weights from an
  alignment score, in Bahdanau's order (score with the *previous* state s_{i-1}, then update the state with c_i;
  Bahdanau et al. 2015, appendix A) or Luong's (update the state, score with the *current* state h_t, then
  h~_t = tanh(W_c [c_t; h_t]); Luong et al. 2015, section 3.1).
- ``Seq2Seq``: encoder + decoder with teacher forcing, and ``next_log_probs`` for ``attnlab.decoding``.
- ``forward_with_forcing`` and ``inverse_sigmoid``: training with a forcing probability and scheduled sampling
  (Bengio et al. 2015): each decoder input is the reference word with probability ``forcing``, otherwise the
  model's own previous guess.
- ``edited_attention``: run a trained attention model with its weights edited (shuffled, flattened, the largest one
  removed) to measure how much the output depends on them (Jain & Wallace 2019; Serrano & Smith 2019).

Training and evaluation on the toy translation task (loss, greedy translation, exact match) live in
``attnlab.translation_task``: the models here know nothing of any data set.

Shapes: source ids ``(B, S)`` with lengths ``(B,)``; target ids ``(B, T)``; logits ``(B, T, V)``; attention weights
``(B, T, S)``, exactly zero at padded source positions. Token ids are checked against the vocabulary; lengths may be a
list, a tuple, a NumPy array or an integer tensor on any device (the masks are built on the model's device).

Book: chapters 2 (notebooks/02_seq2seq_bottleneck.ipynb), 3 (notebooks/03_bahdanau_attention.ipynb) and 4
(notebooks/04_alignment_functions.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from . import _checks, scores
from .decoding import incremental, source_batch
from .masks import padding_mask
from .softmax import masked_softmax

SCORES = ("additive", "dot", "scaled_dot", "general", "concat")
ORDERS = ("bahdanau", "luong")


class Encoder(nn.Module):
    """Embedding + GRU. ``forward(src (B, S), lengths (B,)) -> (annotations (B, S, d_out), summary (B, d_out))``.

    ``d_out = d_hidden`` (unidirectional) or ``2 d_hidden`` (bidirectional: forward and backward states
    concatenated, Bahdanau et al. 2015 section 3.2). The summary is the last forward state (and the backward state
    at the first word): the single vector a plain decoder gets. Padded positions are skipped (packed sequences).
    """

    def __init__(self, vocab_size: int, d_embed: int, d_hidden: int, *, bidirectional: bool = False,
                 pad_id: int = 0) -> None:
        super().__init__()
        vocab_size, d_embed, d_hidden = _checks.sizes("Encoder", vocab_size=vocab_size, d_embed=d_embed,
                                                      d_hidden=d_hidden)
        _checks.flag("Encoder", "bidirectional", bidirectional)
        self.embed = nn.Embedding(vocab_size, d_embed, padding_idx=_pad_id("Encoder", pad_id, vocab_size))
        self.rnn = nn.GRU(d_embed, d_hidden, batch_first=True, bidirectional=bidirectional)
        self.d_out = d_hidden * (2 if bidirectional else 1)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        src, lengths = _check_source("Encoder.forward", self.embed, src, lengths, "lengths")
        packed = pack_padded_sequence(self.embed(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, last = self.rnn(packed)
        annotations, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return annotations, torch.cat(list(last), dim=-1)  # last: (directions, B, d_hidden)


def _check_source(fn: str, embed: nn.Embedding, src: object, lengths: object, name: str
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Source ids ``(B, S)`` (B, S >= 1) for ``embed`` and their lengths in [1, S], on ``embed``'s device."""
    src = _checks.embedding_ids(fn, "src", src, embed, ndim=2)
    if src.shape[0] == 0:
        raise ValueError(f"{fn}(): src has no sentences (shape {_checks.shape(src)})")
    max_len = _checks.sequence_length(fn, "src", src)
    return src, _checks.lengths(fn, name, lengths, src.shape[0], max_len, src.device)


def _check_target(fn: str, embed: nn.Embedding, tgt_in: object, source: Source) -> torch.Tensor:
    """Target ids ``(B, T)`` (T >= 1) for ``embed``, one row per source sentence."""
    tgt_in = _checks.embedding_ids(fn, "tgt_in", tgt_in, embed, ndim=2)
    _checks.sequence_length(fn, "tgt_in", tgt_in)
    if tgt_in.shape[0] != source.summary.shape[0]:
        raise ValueError(f"{fn}(): tgt_in must have one row per source sentence, got {tgt_in.shape[0]} rows for "
                         f"{source.summary.shape[0]} sentences")
    return tgt_in


@dataclass
class Source:
    """What a decoder may read of an encoded batch: ``annotations (B, S, d_enc)``, ``summary (B, d_enc)``, the
    ``mask (B, S)`` of real source tokens, and ``u_k (B, S, d_attention)``, the additive score's key projection
    computed once per sentence (Bahdanau et al. 2015, appendix A.1.2) or None."""

    annotations: torch.Tensor
    summary: torch.Tensor
    mask: torch.Tensor
    u_k: torch.Tensor | None = None

    def expand(self, n: int) -> Source:
        """The same single sentence for ``n`` rows (beam search)."""
        return Source(*(None if t is None else t.expand(n, *t.shape[1:]) for t in
                        (self.annotations, self.summary, self.mask, self.u_k)))


class Decoder(nn.Module):
    """The bottleneck decoder: GRU over ``[embed(y_{i-1}); c]`` with ONE context ``c`` = the encoder's summary,
    which also initialises the state (Cho et al. 2014). It cannot look back at the annotations.

    ``forward(tgt_in (B, T), source) -> (logits (B, T, V), None)``; ``step(y_prev (B,), state (B, d_hidden), source)
    -> (logits (B, V), state, None)`` does one position of the same computation.
    """

    def __init__(self, vocab_size: int, d_embed: int, d_hidden: int, d_enc: int, *, pad_id: int = 0) -> None:
        super().__init__()
        vocab_size, d_embed, d_hidden, self.d_enc = _checks.sizes("Decoder", vocab_size=vocab_size, d_embed=d_embed,
                                                                  d_hidden=d_hidden, d_enc=d_enc)
        self.embed = nn.Embedding(vocab_size, d_embed, padding_idx=_pad_id("Decoder", pad_id, vocab_size))
        self.init = nn.Linear(self.d_enc, d_hidden)
        self.rnn = nn.GRU(d_embed + self.d_enc, d_hidden, batch_first=True)
        self.out = nn.Linear(d_hidden + self.d_enc, vocab_size)

    def read(self, annotations: torch.Tensor, summary: torch.Tensor, mask: torch.Tensor) -> Source:
        _checks.features("Decoder.read", "summary", summary, self, ndim=2, d=self.d_enc)
        return Source(annotations, summary, mask)

    def start(self, source: Source) -> torch.Tensor:
        return torch.tanh(self.init(source.summary))

    def forward(self, tgt_in: torch.Tensor, source: Source) -> tuple[torch.Tensor, None]:
        tgt_in = _check_target("Decoder.forward", self.embed, tgt_in, source)
        context = source.summary.unsqueeze(1).expand(-1, tgt_in.shape[1], -1)
        states, _ = self.rnn(torch.cat([self.embed(tgt_in), context], dim=-1), self.start(source)[None])
        return self.out(torch.cat([states, context], dim=-1)), None

    def step(self, y_prev: torch.Tensor, state: torch.Tensor, source: Source
             ) -> tuple[torch.Tensor, torch.Tensor, None]:
        y_prev = _checks.embedding_ids("Decoder.step", "y_prev", y_prev, self.embed, ndim=1)
        state = self.rnn(torch.cat([self.embed(y_prev), source.summary], dim=-1)[:, None], state[None])[1][0]
        return self.out(torch.cat([state, source.summary], dim=-1)), state, None


def alignment(score: str, d_query: int, d_key: int, d_attention: int) -> nn.Module | Callable[..., torch.Tensor]:
    """The score function named ``score`` for queries of width ``d_query`` and keys of width ``d_key``.

    ``dot`` and ``scaled_dot`` need ``d_query == d_key``; ``additive`` and ``concat`` use a hidden layer of width
    ``d_attention``.
    """
    _checks.choice("alignment", "score", score, SCORES)
    d_query, d_key, d_attention = _checks.sizes("alignment", d_query=d_query, d_key=d_key, d_attention=d_attention)
    if score in ("dot", "scaled_dot"):
        if d_query != d_key:
            raise ValueError(f"alignment(): the {score!r} score needs equal query and key widths, "
                             f"got d_query = {d_query} (decoder hidden size) and d_key = {d_key} (encoder output)")
        return getattr(scores, score)
    if score == "general":
        return scores.General(d_query, d_key)
    return (scores.Additive if score == "additive" else scores.Concat)(d_query, d_key, d_attention)


class AttentionDecoder(nn.Module):
    """A GRU decoder that computes a new context vector at every step.

    ``order="bahdanau"``: e_ij = score(s_{i-1}, h_j); c_i = sum_j alpha_ij h_j; s_i = GRU([embed(y_{i-1}); c_i],
    s_{i-1}); logits from [s_i; c_i] (Bahdanau et al. 2015, appendix A.2). ``order="luong"``: h_t =
    GRU(embed(y_{t-1}), h_{t-1}); e_ts = score(h_t, h_s); h~_t = tanh(W_c [c_t; h_t]); logits = W_s h~_t (Luong et
    al. 2015, eq. 5-6; without input feeding, so in training the GRU runs over the whole target at once).

    ``forward(tgt_in (B, T), source) -> (logits (B, T, V), weights (B, T, S))``;
    ``step(y_prev (B,), state (B, d_hidden), source) -> (logits (B, V), state, weights (B, S))``.
    """

    edit: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None  # set by ``edited_attention``

    def __init__(self, vocab_size: int, d_embed: int, d_hidden: int, d_enc: int, *, score: str = "additive",
                 order: str = "bahdanau", d_attention: int | None = None, pad_id: int = 0) -> None:
        super().__init__()
        fn = "AttentionDecoder"
        vocab_size, d_embed, d_hidden, d_enc = _checks.sizes(fn, vocab_size=vocab_size, d_embed=d_embed,
                                                             d_hidden=d_hidden, d_enc=d_enc)
        d_attention = d_hidden if d_attention is None else _checks.positive_int(fn, "d_attention", d_attention)
        self.order = _checks.choice(fn, "order", order, ORDERS)
        self.d_enc = d_enc
        self.score_name = score
        self.score = alignment(score, d_hidden, d_enc, d_attention)
        self.embed = nn.Embedding(vocab_size, d_embed, padding_idx=_pad_id(fn, pad_id, vocab_size))
        self.init = nn.Linear(d_enc, d_hidden)
        if order == "bahdanau":
            self.cell = nn.GRUCell(d_embed + d_enc, d_hidden)
            self.out = nn.Linear(d_hidden + d_enc, vocab_size)
        else:
            self.rnn = nn.GRU(d_embed, d_hidden, batch_first=True)
            self.combine = nn.Linear(d_enc + d_hidden, d_hidden)  # W_c
            self.out = nn.Linear(d_hidden, vocab_size)  # W_s

    def read(self, annotations: torch.Tensor, summary: torch.Tensor, mask: torch.Tensor) -> Source:
        _checks.features("AttentionDecoder.read", "annotations", annotations, self, ndim=3, d=self.d_enc)
        u_k = self.score.U(annotations) if isinstance(self.score, scores.Additive) else None
        return Source(annotations, summary, mask, u_k)

    def start(self, source: Source) -> torch.Tensor:
        return torch.tanh(self.init(source.summary))

    def attend(self, query: torch.Tensor, source: Source) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries ``(B, T, d_hidden)`` -> contexts ``(B, T, d_enc)`` and weights ``(B, T, S)``, exactly zero at
        padded source positions."""
        keys = {} if source.u_k is None else {"u_k": source.u_k}
        weights = masked_softmax(self.score(query, source.annotations, **keys), source.mask[:, None, :])
        if self.edit is not None:
            weights = self.edit(weights, source.mask)
        return weights @ source.annotations, weights

    def _luong_logits(self, states: torch.Tensor, source: Source) -> tuple[torch.Tensor, torch.Tensor]:
        contexts, weights = self.attend(states, source)  # score with the current state h_t
        return self.out(torch.tanh(self.combine(torch.cat([contexts, states], dim=-1)))), weights

    def step(self, y_prev: torch.Tensor, state: torch.Tensor, source: Source
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self._step(_checks.embedding_ids("AttentionDecoder.step", "y_prev", y_prev, self.embed, ndim=1), state,
                          source)

    def _step(self, y_prev: torch.Tensor, state: torch.Tensor, source: Source
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        embedded = self.embed(y_prev)
        if self.order == "luong":
            state = self.rnn(embedded[:, None], state[None])[1][0]
            logits, weights = self._luong_logits(state[:, None], source)
            return logits[:, 0], state, weights[:, 0]
        context, weights = self.attend(state[:, None], source)  # score with the previous state s_{i-1}
        state = self.cell(torch.cat([embedded, context[:, 0]], dim=-1), state)
        return self.out(torch.cat([state, context[:, 0]], dim=-1)), state, weights[:, 0]

    def forward(self, tgt_in: torch.Tensor, source: Source) -> tuple[torch.Tensor, torch.Tensor]:
        tgt_in = _check_target("AttentionDecoder.forward", self.embed, tgt_in, source)
        state = self.start(source)
        if self.order == "luong":
            states, _ = self.rnn(self.embed(tgt_in), state[None])
            return self._luong_logits(states, source)
        return self._unroll(tgt_in, state, source)

    def _unroll(self, tgt_in: torch.Tensor, state, source: Source) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced decoding one ``_step`` at a time from ``state``: (logits (B, T, V), weights (B, T, S))."""
        logits, weights = [], []
        for i in range(tgt_in.shape[1]):
            step_logits, state, alpha = self._step(tgt_in[:, i], state, source)
            logits.append(step_logits)
            weights.append(alpha)
        return torch.stack(logits, 1), torch.stack(weights, 1)


class Seq2Seq(nn.Module):
    """Encoder + decoder. ``forward(src, src_lengths, tgt_in) -> (logits (B, T, V), weights (B, T, S) or None)``
    with teacher forcing (the decoder reads the true previous token)."""

    def __init__(self, encoder: Encoder, decoder: Decoder | AttentionDecoder) -> None:
        super().__init__()
        if not isinstance(encoder, Encoder) or not isinstance(decoder, (Decoder, AttentionDecoder)):
            raise TypeError(f"Seq2Seq(): expected an Encoder and a Decoder or AttentionDecoder, got "
                            f"{type(encoder).__name__} and {type(decoder).__name__}")
        if decoder.d_enc != encoder.d_out:
            raise ValueError(f"Seq2Seq(): the decoder expects encoder outputs of width {decoder.d_enc}, "
                             f"the encoder gives {encoder.d_out}")
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def build(cls, src_vocab: int, tgt_vocab: int, *, attention: str | None = "additive", order: str | None = None,
              d_embed: int = 32, d_hidden: int = 64, bidirectional: bool = True, pad_id: int = 0) -> Seq2Seq:
        """A model in one line: ``attention=None`` gives the bottleneck; otherwise the score name, with
        ``order`` defaulting to Bahdanau's for the additive score and Luong's for the others. The decoder's
        hidden size is the encoder's output width (``2 d_hidden`` when bidirectional), so every score fits.
        ``pad_id`` is the padding token of both vocabularies (its embedding stays zero)."""
        if attention is not None:
            _checks.choice("Seq2Seq.build", "attention", attention, SCORES)
        if order is not None:
            _checks.choice("Seq2Seq.build", "order", order, ORDERS)
        encoder = Encoder(src_vocab, d_embed, d_hidden, bidirectional=bidirectional, pad_id=pad_id)
        if attention is None:
            return cls(encoder, Decoder(tgt_vocab, d_embed, encoder.d_out, encoder.d_out, pad_id=pad_id))
        order = order or ("bahdanau" if attention == "additive" else "luong")
        return cls(encoder, AttentionDecoder(tgt_vocab, d_embed, encoder.d_out, encoder.d_out, score=attention,
                                             order=order, d_attention=d_hidden, pad_id=pad_id))

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Source:
        src, src_lengths = _check_source("Seq2Seq", self.encoder.embed, src, src_lengths, "src_lengths")
        annotations, summary = self.encoder(src, src_lengths)
        return self.decoder.read(annotations, summary, padding_mask(src_lengths, src.shape[1]))

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        _checks.embedding_ids("Seq2Seq", "tgt_in", tgt_in, self.decoder.embed, ndim=2)
        _checks.sequence_length("Seq2Seq", "tgt_in", tgt_in)
        return self.decoder(tgt_in, self.encode(src, src_lengths))

    def next_log_probs(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None
                       ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The function ``prefixes (N, t) -> (N, V)`` (next-token log-probabilities) that ``attnlab.decoding``
        expects, for source ids ``src (S,)`` (one sentence, N prefixes of it, as in beam search) or ``src (B, S)``
        with ``src_lengths`` (N = B, row b continues sentence b, as in ``greedy_batch``).

        The source is encoded once; ``attnlab.decoding.incremental`` keeps the decoder states between calls.
        """
        src, src_lengths = source_batch(src, src_lengths)
        with torch.no_grad():
            source = self.encode(src, src_lengths)
        rows = lambda n: source if n == src.shape[0] else source.expand(n)  # noqa: E731

        def step(tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits, state, _ = self.decoder.step(tokens.to(src.device), state, rows(tokens.shape[0]))
            return logits, state

        return incremental(lambda n: self.decoder.start(rows(n)), step, src.shape[0])


def forward_with_forcing(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor, *,
                         forcing: float, generator: torch.Generator | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``model``'s logits ``(B, T, V)`` (and attention weights ``(B, T, S)`` or None) when the decoder input at step
    ``i >= 1`` is the reference word ``tgt_in[:, i]`` with probability ``forcing`` (a coin per sentence and step,
    drawn with ``generator`` on the CPU) and otherwise the model's own most likely word at step ``i - 1``.

    ``forcing=1`` is teacher forcing (the logits of ``model(src, src_lengths, tgt_in)``); ``forcing=0`` is free
    running: the argmax of row ``i`` is the ``i``-th word of greedy decoding. In between, with ``forcing`` lowered
    during training, it is scheduled sampling (Bengio et al. 2015, who feed a word sampled from the model's
    distribution; here its most likely word, as the PyTorch translation tutorial does). No gradient flows through
    the chosen word. The first input, ``tgt_in[:, 0]`` (``<bos>``), is always the reference.
    """
    fn = "forward_with_forcing"
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"{fn}(): model must be an attnlab.seq2seq.Seq2Seq, got {type(model).__name__}")
    forcing = _checks.number(fn, "forcing", forcing, low=0.0)
    if forcing > 1.0:
        raise ValueError(f"{fn}(): forcing is a probability in [0, 1], got {forcing}")
    source = model.encode(src, src_lengths)
    tgt_in = _check_target(fn, model.decoder.embed, tgt_in, source)
    B, T = tgt_in.shape
    forced = torch.rand(B, T, generator=generator) < forcing  # on the CPU, so that a CPU generator works anywhere
    state, y, logits, weights = model.decoder.start(source), tgt_in[:, 0], [], []
    for i in range(T):
        if i:
            y = torch.where(forced[:, i].to(tgt_in.device), tgt_in[:, i], logits[-1].argmax(-1))
        step_logits, state, alpha = model.decoder.step(y, state, source)
        logits.append(step_logits)
        weights.append(alpha)
    return torch.stack(logits, 1), None if weights[0] is None else torch.stack(weights, 1)


def inverse_sigmoid(k: float) -> Callable[[int], float]:
    """Bengio et al.'s (2015) inverse sigmoid decay of the forcing probability: ``step -> k / (k + exp(step / k))``,
    from about 1 at the start down to 0, halfway at ``step = k ln k``. ``k >= 1``."""
    k = _checks.number("inverse_sigmoid", "k", k, low=1.0)
    return lambda step: k / (k + math.exp(min(step / k, 700.0)))


@contextmanager
def edited_attention(model: Seq2Seq, edit: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Iterator[Seq2Seq]:
    """Within the ``with`` block, every attention step of ``model`` passes its weights through
    ``edit(weights (B, T, S), mask (B, S)) -> weights (B, T, S)`` before the context vector ``weights @ h`` is formed
    (and returns the edited weights). An experiment on the model, not a training tool: shuffle, flatten or remove
    weights and measure how much the output changes (Jain & Wallace 2019; Serrano & Smith 2019)."""
    if not isinstance(model, Seq2Seq) or not isinstance(model.decoder, AttentionDecoder):
        raise TypeError(f"edited_attention(): model must be a Seq2Seq with an AttentionDecoder, got "
                        f"{type(model).__name__}" + (f" with a {type(model.decoder).__name__}"
                                                      if isinstance(model, Seq2Seq) else ""))
    if not callable(edit):
        raise TypeError(f"edited_attention(): edit must be a function (weights, mask) -> weights, got "
                        f"{type(edit).__name__}")
    model.decoder.edit = edit
    try:
        yield model
    finally:
        model.decoder.edit = None


def _pad_id(fn: str, pad_id: int, vocab_size: int) -> int:
    pad_id = _checks.positive_int(fn, "pad_id", pad_id, minimum=0)
    if pad_id >= vocab_size:
        raise ValueError(f"{fn}(): pad_id={pad_id} is not in the vocabulary of size {vocab_size}")
    return pad_id
