"""Exercises for chapter 6: beam search and its length penalty.

``check_length_penalty_rescoring``: rank finished hypotheses by ``log P / ((5 + |Y|) / 6)^alpha`` (Wu et al. 2016,
section 7). ``check_beam_step``: one step of beam search, keeping the ``k`` best continuations of all live
prefixes together.

Book: used by chapter 6 (notebooks/06_decoding.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..decoding import length_penalty
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run


def _rescored(hypotheses: list, alpha: float, *, extra: int = 0, divide: bool = True, best_first: bool = True
              ) -> list[tuple[list[int], float]]:
    """The ranking, correct with the defaults; the knobs make the typical mistakes."""
    scored = [(tokens, log_p / length_penalty(len(tokens) + extra, alpha) if divide
               else log_p * length_penalty(len(tokens) + extra, alpha)) for tokens, log_p in hypotheses]
    return sorted(scored, key=lambda item: item[1], reverse=best_first)


def check_length_penalty_rescoring(fn: Callable) -> bool:
    """Check ``fn(hypotheses, alpha) -> list of (tokens, score)``, best first: ``hypotheses`` is a list of
    ``(tokens, log_prob)``, ``tokens`` the finished hypothesis without ``<bos>`` and with its ``<eos>``; the score is
    ``log_prob / ((5 + len(tokens)) / 6) ** alpha``."""
    require_callable("check_length_penalty_rescoring", fn)
    cases = []
    for alpha, hypotheses in ((0.0, [([4, 1], -1.5), ([5, 6, 1], -1.2)]),
                              (1.0, [([4, 1], -2.0), ([5, 6, 7, 8, 9, 1], -3.1), ([3, 3, 1], -2.6)]),
                              (0.6, [([2] * n + [1], -0.45 * n - 0.3) for n in (1, 3, 7, 12)])):
        mistakes = [Mistake("the length penalty uses the wrong length: count the tokens after <bos>, <eos> included "
                            "(len(tokens))", _rescored(hypotheses, alpha, extra=extra)) for extra in (1, -1)]
        mistakes += [Mistake("divide the log-probability by the penalty, do not multiply",
                             _rescored(hypotheses, alpha, divide=False)),
                     Mistake("best first: sort by score from highest to lowest",
                             _rescored(hypotheses, alpha, best_first=False))]
        cases.append(Case(f"{len(hypotheses)} hypotheses, alpha = {alpha}", {"hypotheses": hypotheses, "alpha": alpha},
                          _rescored(hypotheses, alpha), mistakes))
    return run("check_length_penalty_rescoring", fn,
               [Group("finished hypotheses", cases, "score = log_prob / ((5 + len(tokens)) / 6) ** alpha; "
                                                    "return (tokens, score) pairs sorted best first")])


def _step(scores: torch.Tensor, log_probs: torch.Tensor, beam_size: int, *, add: bool = True
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Brute force: every (prefix, token) candidate, sorted by total score."""
    totals = (scores[:, None] if add else 0) + log_probs
    candidates = sorted(((totals[i, t].item(), i, t) for i in range(totals.shape[0]) for t in range(totals.shape[1])),
                        reverse=True)[:beam_size]
    as_tensor = lambda values, dtype: torch.tensor(values, dtype=dtype, device=scores.device)  # noqa: E731
    return (as_tensor([c[0] for c in candidates], scores.dtype), as_tensor([c[1] for c in candidates], torch.long),
            as_tensor([c[2] for c in candidates], torch.long))


def _best_per_prefix(scores: torch.Tensor, log_probs: torch.Tensor, beam_size: int):
    best, token = (scores[:, None] + log_probs).max(-1)
    order = best.argsort(descending=True)[:beam_size]
    return best[order], order, token[order]


def check_beam_step(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(scores (k,), log_probs (k, V), beam_size) -> (new_scores, parents, tokens)``, each
    ``(min(beam_size, k V),)``: the best ``scores[i] + log_probs[i, t]`` over every prefix ``i`` and token ``t``,
    best first, with the prefix (``parents``, long) and the token (``tokens``, long) of each."""
    require_callable("check_beam_step", fn)
    dev = device_of(device)
    cases = []
    for seed, (k, vocab, beam) in enumerate(((1, 5, 3), (2, 4, 2), (3, 6, 3), (4, 7, 4))):
        g = generator(seed)
        scores = -randn(g, k, device=dev).abs() * 3
        log_probs = randn(g, k, vocab, device=dev).mul(2).log_softmax(-1)
        new, parents, tokens = expected = _step(scores, log_probs, beam)
        flat = parents * vocab + tokens
        mistakes = [Mistake("add each prefix's score to the log-probabilities of its continuations",
                            _step(scores, log_probs, beam, add=False)),
                    Mistake("index i of the flattened (k, V) matrix is prefix i // V and token i % V",
                            (new, flat % vocab, flat // vocab)),
                    Mistake("compare the candidates of all prefixes together (flatten the (k, V) totals), not only "
                            "the best token of each prefix", _best_per_prefix(scores, log_probs, beam))]
        cases.append(Case(f"k={k} live prefixes, V={vocab}, beam {beam}",
                          {"scores": scores, "log_probs": log_probs, "beam_size": beam}, expected, mistakes))
    return run("check_beam_step", fn, [Group("beam steps", cases, "totals = scores[:, None] + log_probs; the "
                                             "beam_size largest of totals.flatten(), parent and token from the index")])
