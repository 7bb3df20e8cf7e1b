"""Exercises for chapter 13: training and masking the full Transformer.

``check_warmup_schedule``: ``lr = d_model^-0.5 min(step^-0.5, step warmup^-1.5)`` (Vaswani et al. 2017, eq. 3).
``check_decoder_masks``: the decoder's two masks, causal self-attention and cross-attention that hides the padded
source positions (keys, not queries).

Book: used by chapter 13 (notebooks/13_transformer.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..masks import causal_mask, padding_mask
from ._harness import Case, Group, Mistake, device_of, require_callable, run


def _rate(step: int, d_model: int, warmup: int, *, warm_power: float = 1.5, best=min, scale: bool = True) -> float:
    return (d_model ** -0.5 if scale else 1.0) * best(step ** -0.5, step * warmup ** -warm_power)


def check_warmup_schedule(fn: Callable) -> bool:
    """Check ``fn(step, d_model, warmup) -> float``: the learning rate of the original Transformer at ``step``
    (counted from 1), rising linearly for ``warmup`` steps, then decaying as ``1/sqrt(step)``."""
    require_callable("check_warmup_schedule", fn)
    cases = []
    for step, d_model, warmup in ((1, 512, 4000), (4000, 512, 4000), (100_000, 512, 4000), (30, 64, 100),
                                  (250, 64, 100)):
        knobs = ({"warm_power": 0.5}, {"best": max}, {"scale": False})
        hints = ("the warm-up branch is step * warmup^-1.5", "take the min of the two branches: rise, then decay",
                 "multiply by d_model^-0.5")
        mistakes = [Mistake(hint, _rate(step, d_model, warmup, **knob)) for hint, knob in zip(hints, knobs)]
        cases.append(Case(f"step {step}, d_model {d_model}, warmup {warmup}",
                          {"step": step, "d_model": d_model, "warmup": warmup}, _rate(step, d_model, warmup),
                          mistakes, atol=1e-12))
    return run("check_warmup_schedule", fn, [Group("steps around the warm-up", cases,
                                                   "d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)")])


def _broadcast(solution: Callable, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """The reader's masks may broadcast: expand them to ``(B, T, T)`` and ``(B, T, S)`` before comparing."""
    self_mask, memory_mask = solution(*case.inputs.values())
    return (self_mask.expand_as(case.expected[0]) if self_mask.ndim <= 3 else self_mask,
            memory_mask.expand_as(case.expected[1]) if memory_mask.ndim <= 3 else memory_mask)


def check_decoder_masks(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(src_lengths (B,), tgt_len, src_len) -> (self_mask, memory_mask)``, boolean (True = may attend):
    ``self_mask`` broadcasting to ``(B, tgt_len, tgt_len)`` lets target position i see positions <= i;
    ``memory_mask`` broadcasting to ``(B, tgt_len, src_len)`` lets every target position see the real source
    tokens of its sentence."""
    require_callable("check_decoder_masks", fn)
    dev = device_of(device)
    cases = []
    for lengths, tgt_len, src_len in (([3, 2], 3, 3), ([4, 2, 3], 5, 4), ([6, 1], 4, 6)):
        src_lengths = torch.tensor(lengths, device=dev)
        batch, causal = len(lengths), causal_mask(tgt_len, device=dev)
        real = padding_mask(src_lengths, src_len)
        full = lambda self_mask, memory: (self_mask.expand(batch, tgt_len, tgt_len),  # noqa: E731
                                          memory.expand(batch, tgt_len, src_len))
        mistakes = [Mistake("the causal diagonal is off by one: a target position may attend itself",
                            full(causal.tril(-1), real[:, None])),
                    Mistake("the causal mask is inverted: True means 'may attend' (the past and the present)",
                            full(~causal, real[:, None])),
                    Mistake("the memory mask is inverted: True at the real source tokens",
                            full(causal, ~real[:, None]))]
        if tgt_len == src_len:
            mistakes.append(Mistake("padding applies to the keys (the source positions, the last axis), not to the "
                                    "queries: index the padding mask as [:, None, :]", full(causal, real[:, :, None])))
        cases.append(Case(f"source lengths {lengths}, tgt_len {tgt_len}, src_len {src_len}",
                          {"src_lengths": src_lengths, "tgt_len": tgt_len, "src_len": src_len},
                          full(causal, real[:, None]), mistakes))
    return run("check_decoder_masks", fn, [Group("batches of padded sources", cases, "self_mask: lower triangle "
                                                 "(T, T); memory_mask: padding over the source keys, (B, 1, S)",
                                                 _broadcast)])
