"""Decoding: turn a model's next-token distribution into an output sequence. Model-agnostic.

Every function takes ``next_log_probs(prefixes)``: a LongTensor ``(N, t)`` of prefixes, each starting with ``bos``,
to ``(N, V)`` log-probabilities of the next token. ``Seq2Seq.next_log_probs`` and ``Transformer.next_log_probs``
give one. Returned sequences exclude ``bos`` and include ``eos`` when it was produced; a sequence that reaches
``max_len`` tokens without ``eos`` is finished too.

Beam search keeps the ``beam_size`` best prefixes by summed log-probability; finished hypotheses are ranked by
``log P(Y) / ((5 + |Y|) / 6) ** alpha`` (the GNMT length penalty, Wu et al. 2016; the Transformer used beam 4,
alpha 0.6). With alpha = 0 beam search prefers short outputs: every extra token adds a negative log-probability.

Book: chapter 6 (notebooks/06_decoding.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import _checks

NextLogProbs = Callable[[torch.Tensor], torch.Tensor]


def _check(fn: str, bos: int, eos: int, max_len: int) -> tuple[int, int, int]:
    return (_checks.positive_int(fn, "bos", bos, minimum=0), _checks.positive_int(fn, "eos", eos, minimum=0),
            _checks.positive_int(fn, "max_len", max_len))


def _call(fn: str, next_log_probs: NextLogProbs, prefixes: torch.Tensor, eos: int) -> torch.Tensor:
    """``next_log_probs(prefixes)``, checked: ``(N, V)`` floating log-probabilities, no NaN, ``eos < V``."""
    log_probs = next_log_probs(prefixes)
    if not isinstance(log_probs, torch.Tensor) or log_probs.ndim != 2 or log_probs.shape[0] != prefixes.shape[0]:
        got = tuple(log_probs.shape) if isinstance(log_probs, torch.Tensor) else type(log_probs).__name__
        raise ValueError(f"{fn}(): next_log_probs must return (N, V) = ({prefixes.shape[0]}, V) for "
                         f"{prefixes.shape[0]} prefixes, got {got}")
    if not log_probs.is_floating_point():
        raise TypeError(f"{fn}(): next_log_probs must return floating log-probabilities, got dtype {log_probs.dtype}")
    if eos >= log_probs.shape[1]:
        raise ValueError(f"{fn}(): eos={eos} is not in the model's vocabulary of size {log_probs.shape[1]}")
    if bool(torch.isnan(log_probs).any()):
        raise ValueError(f"{fn}(): next_log_probs returned NaN after a prefix of length {prefixes.shape[1]} "
                         "(the model's output is not a distribution)")
    return log_probs


def greedy_batch(next_log_probs: NextLogProbs, batch_size: int, *, bos: int, eos: int, max_len: int
                 ) -> list[list[int]]:
    """Greedy decoding of ``batch_size`` independent sequences at once: row ``b`` of the prefixes passed to
    ``next_log_probs`` always belongs to sequence ``b``. Each step appends the most likely token."""
    bos, eos, max_len = _check("greedy_batch", bos, eos, max_len)
    batch_size = _checks.positive_int("greedy_batch", "batch_size", batch_size)
    prefixes = torch.full((batch_size, 1), bos, dtype=torch.long)
    done = torch.zeros(batch_size, dtype=torch.bool)
    for _ in range(max_len):
        token = _call("greedy_batch", next_log_probs, prefixes, eos).argmax(-1).cpu()
        prefixes = torch.cat([prefixes, token[:, None]], dim=1)
        done |= token == eos
        if bool(done.all()):
            break
    out = []
    for row in prefixes[:, 1:].tolist():
        out.append(row[: row.index(eos) + 1] if eos in row else row)
    return out


def greedy_decode(next_log_probs: NextLogProbs, *, bos: int, eos: int, max_len: int) -> list[int]:
    """The most likely next token at every step, until ``eos`` or ``max_len`` tokens."""
    return greedy_batch(next_log_probs, 1, bos=bos, eos=eos, max_len=max_len)[0]


State = torch.Tensor | tuple[torch.Tensor, ...]


def _rows(state: State, index: list[int]) -> State:
    return tuple(t[index] for t in state) if isinstance(state, tuple) else state[index]


def incremental(start: Callable[[int], State], step: Callable[[torch.Tensor, State], tuple[torch.Tensor, State]],
                batch: int) -> NextLogProbs:
    """``next_log_probs`` for a recurrent decoder that reads one token at a time.

    ``start(n)`` gives the initial state of ``n`` rows; ``step(tokens (n,), state) -> (logits (n, V), state)``
    reads one token. ``batch`` is the number of sources: 1 (any number of prefixes of one source, as in beam
    search) or N (row b continues source b, as in ``greedy_batch``). The states of the previous call are kept, so
    a prefix that extends one of them costs one step; other prefixes are read from the start.
    """
    cache: dict[tuple[int, tuple[int, ...]], int] = {}
    states: State = torch.empty(0)

    def next_log_probs(prefixes: torch.Tensor) -> torch.Tensor:
        nonlocal cache, states
        n, rows = prefixes.shape[0], prefixes.tolist()
        if batch not in (1, n):
            raise ValueError(f"next_log_probs(): got {n} prefixes for a batch of {batch} sources")
        keys = [(i if batch > 1 else 0, tuple(row)) for i, row in enumerate(rows)]
        parents = [cache.get((i, row[:-1])) for i, row in keys]
        with torch.no_grad():
            if None in parents:
                state, todo = start(n), prefixes
            else:
                state, todo = _rows(states, parents), prefixes[:, -1:]
            for t in range(todo.shape[1]):
                logits, state = step(todo[:, t], state)
        cache, states = {key: i for i, key in enumerate(keys)}, state
        return logits.log_softmax(-1)

    return next_log_probs


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ``((5 + |Y|) / 6) ** alpha``: the divisor of a finished hypothesis' log-probability."""
    return ((5 + length) / 6) ** alpha


def beam_search(next_log_probs: NextLogProbs, *, bos: int, eos: int, beam_size: int, max_len: int,
                alpha: float = 0.0, trace: list[dict[str, list]] | None = None) -> list[tuple[list[int], float]]:
    """The ``beam_size`` best finished hypotheses, best first, as ``(tokens, score)``.

    Each step extends every live prefix by every token and keeps the ``beam_size`` best candidates by summed
    log-probability; a candidate ending in ``eos`` is set aside as finished, the others live on. The score of a
    finished hypothesis is its summed log-probability divided by ``length_penalty(len(tokens), alpha)``. The
    penalty only ranks finished hypotheses: the pruning of live prefixes uses the plain sums, whatever ``alpha``.

    ``trace``, a list, receives one dict per step (the search tree, for drawing it): ``"live"`` and ``"pruned"``
    hold ``(tokens, summed log-probability)`` of the prefixes kept and of the next ``beam_size`` best that were
    dropped; ``"finished"`` holds ``(tokens, summed log-probability, score)`` of the hypotheses finished at this
    step. Tokens exclude ``bos``; a node's parent is its tokens without the last one.
    """
    bos, eos, max_len = _check("beam_search", bos, eos, max_len)
    beam_size = _checks.positive_int("beam_search", "beam_size", beam_size)
    alpha = _checks.number("beam_search", "alpha", alpha, low=0.0)
    if trace is not None and not isinstance(trace, list):
        raise TypeError(f"beam_search(): trace must be a list (it receives one dict per step), got "
                        f"{type(trace).__name__}")
    live: list[tuple[list[int], float]] = [([bos], 0.0)]
    finished: list[tuple[list[int], float]] = []
    for step in range(max_len):
        prefixes = torch.tensor([tokens for tokens, _ in live])
        log_probs = _call("beam_search", next_log_probs, prefixes, eos).detach().double().cpu()
        totals = torch.tensor([score for _, score in live], dtype=torch.float64)[:, None] + log_probs
        shown = beam_size if trace is None else 2 * beam_size  # the trace also records the best pruned ones
        top = totals.flatten().topk(min(shown, totals.numel()))
        vocab = totals.shape[1]
        # flat index i of the (live prefix, token) table: prefix i // vocab, extended by token i % vocab
        ranked = [(live[i // vocab][0] + [i % vocab], s) for s, i in zip(top.values.tolist(), top.indices.tolist())
                  if s > -math.inf]  # a token of probability 0 is not a candidate
        candidates, pruned = ranked[:beam_size], ranked[beam_size:]
        if not candidates:
            raise ValueError(f"beam_search(): next_log_probs gave every token probability 0 (-inf) after a prefix of "
                             f"length {step + 1}; no hypothesis can continue")
        live, done = [], []
        for tokens, score in candidates:
            if tokens[-1] == eos or step == max_len - 1:
                done.append((tokens[1:], score, score / length_penalty(len(tokens) - 1, alpha)))
            else:
                live.append((tokens, score))
        finished += [(tokens, score) for tokens, _, score in done]
        if trace is not None:
            trace.append({"live": [(tokens[1:], score) for tokens, score in live], "finished": done,
                          "pruned": [(tokens[1:], score) for tokens, score in pruned]})
        if not live:
            break
    return sorted(finished, key=lambda hypothesis: -hypothesis[1])[:beam_size]


def source_batch(src: torch.Tensor, src_lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``next_log_probs`` accepts, as a batch: one sentence ``src (S,)`` becomes ``(1, S)`` with its length;
    a batch ``(B, S)`` needs ``src_lengths (B,)`` (a list, an array or a tensor), returned as a long tensor on
    ``src``'s device."""
    _checks.tensor("next_log_probs", "src", src, ndim=(1, 2))
    if src.ndim == 1:
        src, src_lengths = src[None], [src.shape[0]]
    elif src_lengths is None:
        raise ValueError("next_log_probs(): a batch of sources (B, S) needs src_lengths (B,)")
    max_len = _checks.sequence_length("next_log_probs", "src", src)
    return src, _checks.lengths("next_log_probs", "src_lengths", src_lengths, src.shape[0], max_len, src.device)
