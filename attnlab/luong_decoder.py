"""Luong's attention decoder in full: global or local attention, any score, and input feeding.

Luong, Pham and Manning (2015) update the recurrent state first and score with the *current* state h_t::

    h_t  = GRU([E y_{t-1}; h~_{t-1}], h_{t-1})       input feeding (section 3.3): the previous attentional vector
                                                     h~_{t-1} is fed back, so the RNN knows what it attended to
    a_t  = global (softmax over every source position) or local (``attnlab.local_alignment``: a window around p_t)
    c_t  = sum_s a_t(s) h_s
    h~_t = tanh(W_c [c_t; h_t]),   logits = W_s h~_t                                     (eq. 5-6)

Without input feeding the RNN never reads the context and runs over the whole target at once in training; with it,
step t needs h~_{t-1}, so training loops over the target positions like Bahdanau's decoder. The paper uses stacked
LSTMs; this book uses one GRU, as in chapters 2 and 3. ``LuongDecoder(input_feeding=False, attention="global")``
is exactly ``attnlab.seq2seq.AttentionDecoder(order="luong")`` (the tests check it with copied weights).

The state is ``(h_t, h~_t, t)`` (``h~_0 = 0``; the step count t is local-m's p_t).
``forward(tgt_in (B, T), source) -> (logits (B, T, V), weights (B, T, S))``;
``step(y_prev (B,), state, source) -> (logits (B, V), state, weights (B, S))``. Use it inside
``attnlab.seq2seq.Seq2Seq`` (``build`` makes one in a line).

Book: chapter 4 (notebooks/04_alignment_functions.ipynb).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _checks, scores
from .local_alignment import PredictedPosition, local_weights, monotonic_positions
from .seq2seq import AttentionDecoder, Encoder, Seq2Seq, Source, _check_target

ATTENTIONS = ("global", "local-m", "local-p")
State = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (h_t, h~_t, t)


class LuongDecoder(AttentionDecoder):
    """Luong et al. 2015's decoder (see the module docstring).

    ``score``: one of ``attnlab.seq2seq.SCORES`` or ``"location"`` (``attnlab.scores.Location``, which needs
    ``max_source_len``); ``attention``: ``"global"``, ``"local-m"`` or ``"local-p"`` with half-width ``window`` (D);
    ``input_feeding``: feed h~_{t-1} into the RNN.
    """

    def __init__(self, vocab_size: int, d_embed: int, d_hidden: int, d_enc: int, *, score: str = "general",
                 attention: str = "global", window: int = 2, input_feeding: bool = True,
                 max_source_len: int | None = None, d_attention: int | None = None, pad_id: int = 0) -> None:
        fn = "LuongDecoder"
        _checks.choice(fn, "score", score, (*SCORES_WITH_LOCATION,))
        location = score == "location"
        super().__init__(vocab_size, d_embed, d_hidden, d_enc, score="general" if location else score,
                         order="luong", d_attention=d_attention, pad_id=pad_id)
        if location:
            if max_source_len is None:
                raise ValueError(f"{fn}(): the 'location' score needs max_source_len (one weight row per position)")
            self.score_name, self.score = "location", scores.Location(d_hidden, max_source_len)
        self.attention = _checks.choice(fn, "attention", attention, ATTENTIONS)
        self.window = _checks.positive_int(fn, "window", window)
        self.input_feeding = _checks.flag(fn, "input_feeding", input_feeding)
        self.d_hidden = d_hidden
        if input_feeding:
            del self.rnn
            self.cell = nn.GRUCell(d_embed + d_hidden, d_hidden)  # reads [E y_{t-1}; h~_{t-1}]
        if attention == "local-p":
            self.position = PredictedPosition(d_hidden, d_attention or d_hidden)

    def start(self, source: Source) -> State:
        h = torch.tanh(self.init(source.summary))
        return h, torch.zeros_like(h), torch.zeros_like(h[:, 0])  # h_0, h~_0 = 0, and the step count t = 0

    def attend(self, query: torch.Tensor, source: Source, steps: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries ``(B, T, d_hidden)`` -> contexts ``(B, T, d_enc)`` and weights ``(B, T, S)``. ``steps (B, T)``
        holds each query's target position t (local-m's p_t = t; default ``0 .. T-1``)."""
        if self.attention == "global":
            return super().attend(query, source)
        keys = {} if source.u_k is None else {"u_k": source.u_k}
        e = self.score(query, source.annotations, **keys)
        if self.attention == "local-m":
            p = monotonic_positions(query.shape[1], e).expand(query.shape[0], -1) if steps is None else steps
        else:
            p = self.position(query, source.mask.sum(-1))
        weights = local_weights(e, p.to(e.dtype), self.window, source.mask[:, None, :],
                                predictive=self.attention == "local-p")
        return weights @ source.annotations, weights

    def _attentional(self, states: torch.Tensor, source: Source, steps: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """h~ = tanh(W_c [c; h]) and the weights, for states ``(B, T, d_hidden)``."""
        contexts, weights = self.attend(states, source, steps)
        return torch.tanh(self.combine(torch.cat([contexts, states], dim=-1))), weights

    def _step(self, y_prev: torch.Tensor, state: State, source: Source) -> tuple[torch.Tensor, State, torch.Tensor]:
        h, h_tilde, t = state
        embedded = self.embed(y_prev)
        if self.input_feeding:
            h = self.cell(torch.cat([embedded, h_tilde], dim=-1), h)
        else:
            h = self.rnn(embedded[:, None], h[None])[1][0]
        h_tilde, weights = self._attentional(h[:, None], source, t[:, None])
        return self.out(h_tilde[:, 0]), (h, h_tilde[:, 0], t + 1), weights[:, 0]

    def forward(self, tgt_in: torch.Tensor, source: Source) -> tuple[torch.Tensor, torch.Tensor]:
        tgt_in = _check_target("LuongDecoder.forward", self.embed, tgt_in, source)
        state = self.start(source)
        if not self.input_feeding:  # the RNN never reads the context: run it over the whole target at once
            states, _ = self.rnn(self.embed(tgt_in), state[0][None])
            h_tilde, weights = self._attentional(states, source)
            return self.out(h_tilde), weights
        return self._unroll(tgt_in, state, source)


SCORES_WITH_LOCATION = ("additive", "dot", "scaled_dot", "general", "concat", "location")


def build(src_vocab: int, tgt_vocab: int, *, score: str = "general", attention: str = "global", window: int = 2,
          input_feeding: bool = True, max_source_len: int | None = None, d_embed: int = 32, d_hidden: int = 64,
          pad_id: int = 0) -> Seq2Seq:
    """``Seq2Seq.build``'s sizes with a ``LuongDecoder``: a bidirectional GRU encoder of ``d_hidden`` per direction,
    a decoder of ``2 d_hidden`` (so every score fits), ``d_attention = d_hidden``."""
    encoder = Encoder(src_vocab, d_embed, d_hidden, bidirectional=True, pad_id=pad_id)
    decoder = LuongDecoder(tgt_vocab, d_embed, encoder.d_out, encoder.d_out, score=score, attention=attention,
                           window=window, input_feeding=input_feeding, max_source_len=max_source_len,
                           d_attention=d_hidden, pad_id=pad_id)
    return Seq2Seq(encoder, decoder)
