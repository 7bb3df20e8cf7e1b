"""One small fit loop for the whole book: Adam, gradient clipping, a progress bar and a loss history."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from . import _checks


def fit(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, int], torch.Tensor],
    *,
    steps: int,
    lr: float = 1e-3,
    clip: float | None = 1.0,
    progress: bool = True,
    desc: str = "training",
) -> list[float]:
    """Train ``model`` for ``steps`` Adam steps; ``loss_fn(model, step)`` draws a batch and returns its loss.

    Gradients are clipped to norm ``clip`` (None: no clipping). The model is in training mode during the loop and
    in evaluation mode afterwards. Returns the loss of every step; the progress bar (``tqdm.auto``: a widget in
    Jupyter, text elsewhere) shows a running average.
    """
    steps = _checks.positive_int("fit", "steps", steps)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[float] = []
    model.train()
    with tqdm(range(steps), desc=desc, disable=not progress) as bar:
        for step in bar:
            loss = loss_fn(model, step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            history.append(loss.item())
            if step % 50 == 0 or step == steps - 1:
                bar.set_postfix(loss=f"{sum(history[-50:]) / len(history[-50:]):.4f}")
    model.eval()
    return history
