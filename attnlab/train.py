"""One small fit loop for the whole book: Adam, gradient clipping, an optional learning-rate schedule, a progress
bar, and a history of losses and metrics.

Book: used by every chapter that trains a model, first in chapter 2 (notebooks/02_seq2seq_bottleneck.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from . import _checks
from .data.sequences import IGNORE


@dataclass
class History:
    """What ``fit`` recorded: the loss of every step, and each metric of ``evaluate`` as ``(step, value)`` pairs."""

    loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def last(self, name: str) -> float:
        """The latest value of metric ``name``."""
        return self.metrics[name][-1][1]


def fit(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, int], torch.Tensor],
    *,
    steps: int,
    lr: float = 1e-3,
    clip: float | None = 1.0,
    schedule: Callable[[int], float] | None = None,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    eval_every: int | None = None,
    progress: bool = True,
    desc: str = "training",
    betas: tuple[float, float] = (0.9, 0.999),
) -> History:
    """Train ``model`` for ``steps`` Adam steps; ``loss_fn(model, step)`` draws a batch and returns its loss.

    The batch lives wherever ``loss_fn`` puts it: build it on the model's device and the same loop runs on CPU or
    GPU. Gradients are clipped to norm ``clip`` (None: no clipping); ``schedule(step)`` multiplies ``lr`` (e.g. a
    warm-up). ``betas`` are Adam's (the Transformer paper used ``(0.9, 0.98)``). ``evaluate(model)`` -> ``{name: value}`` runs in evaluation mode without gradients every
    ``eval_every`` steps and after the last one. The model is in training mode during the loop and in evaluation
    mode afterwards. The progress bar (``tqdm.auto``: a widget in Jupyter, text elsewhere) shows a running loss and
    the latest metrics.
    """
    steps = _checks.positive_int("fit", "steps", steps)
    lr = _checks.number("fit", "lr", lr, positive=True)
    if clip is not None:
        clip = _checks.number("fit", "clip", clip, positive=True)
    if eval_every is not None:
        _checks.positive_int("fit", "eval_every", eval_every)
    betas = tuple(_checks.probability("fit", f"betas[{i}]", b) for i, b in enumerate(_check_pair("fit", "betas", betas)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule) if schedule is not None else None
    history = History()
    model.train()
    with tqdm(range(steps), desc=desc, disable=not progress) as bar:
        for step in bar:
            loss = loss_fn(model, step)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ValueError(f"fit(): loss_fn must return a scalar tensor, got {loss!r:.80}")
            value = loss.item()
            if not math.isfinite(value):
                raise ValueError(f"fit(): the loss is {value} at step {step}; training stopped (lower lr, clip "
                                 "gradients, or check the data)")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            history.loss.append(value)
            last = step == steps - 1
            if evaluate is not None and (last or (eval_every is not None and (step + 1) % eval_every == 0)):
                model.eval()
                with torch.no_grad():
                    for name, value in evaluate(model).items():
                        history.metrics.setdefault(name, []).append((step + 1, float(value)))
                model.train()
            if step % 50 == 0 or last:
                recent = history.loss[-50:]
                bar.set_postfix(loss=f"{sum(recent) / len(recent):.4f}",
                                **{name: f"{values[-1][1]:.3f}" for name, values in history.metrics.items()})
    model.eval()
    return history


def token_accuracy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = IGNORE) -> float:
    """Fraction of target tokens (``targets (...)``, skipping ``ignore_index``) that are the argmax of
    ``logits (..., V)``."""
    keep = targets != ignore_index
    if not bool(keep.any()):
        raise ValueError(f"token_accuracy(): no target token to score (every target is ignore_index={ignore_index})")
    return (logits.argmax(-1)[keep] == targets[keep]).float().mean().item()


def exact_match(predicted: Sequence[Sequence[int]], targets: Sequence[Sequence[int]]) -> float:
    """Fraction of sequences predicted exactly, token for token (lengths included)."""
    if len(predicted) != len(targets) or not targets:
        raise ValueError(f"exact_match(): expected two equally long, non-empty lists, got {len(predicted)} "
                         f"and {len(targets)} sequences")
    return sum(list(p) == list(t) for p, t in zip(predicted, targets)) / len(targets)


def warmup_then_decay(warmup: int, steps: int) -> Callable[[int], float]:
    """A ``schedule`` for ``fit``: the learning rate rises linearly over ``warmup`` steps, then falls linearly to
    zero at ``steps`` and stays there (warm-up as in Vaswani et al. 2017, section 5.3, with a linear instead of
    1/sqrt decay). Never negative: a ``fit`` that runs past ``steps`` trains with a learning rate of 0."""
    warmup = _checks.positive_int("warmup_then_decay", "warmup", warmup)
    steps = _checks.positive_int("warmup_then_decay", "steps", steps)
    if warmup >= steps:
        raise ValueError(f"warmup_then_decay(): warmup={warmup} must be smaller than steps={steps}")
    return lambda step: max(0.0, min((step + 1) / warmup, (steps - step) / (steps - warmup)))


def warmup_then_inverse_sqrt(d_model: int, warmup: int) -> Callable[[int], float]:
    """The Transformer's schedule (Vaswani et al. 2017, section 5.3, eq. 3), as a ``schedule`` for ``fit``:

        lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5),   step = 1, 2, 3, ...

    a linear rise for ``warmup`` steps to the peak ``(d_model * warmup)^-0.5``, then a decay as ``1 / sqrt(step)``
    (half the peak at ``4 * warmup``); positive for every step, never zero or negative. ``fit`` multiplies ``lr`` by
    it and counts steps from 0, so ``fit(..., lr=1.0, schedule=...)`` trains with exactly the paper's rate (the paper
    used ``warmup=4000`` with ``d_model=512``: a peak of 7.0e-4); a smaller ``lr`` scales the whole curve. Chapter 13
    trains with it. (``warmup_then_decay`` is the linear-decay variant, which reaches zero at a planned step.)
    """
    d_model = _checks.positive_int("warmup_then_inverse_sqrt", "d_model", d_model)
    warmup = _checks.positive_int("warmup_then_inverse_sqrt", "warmup", warmup)

    def schedule(step: int) -> float:
        step = max(int(step), 0) + 1  # fit's step 0 is the paper's step 1
        return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)

    return schedule


def _check_pair(fn: str, name: str, value: object) -> tuple[object, object]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{fn}(): {name} must be a pair of numbers (beta1, beta2), got {value!r:.60}")
    return tuple(value)
