"""Set tasks: the answer for each element depends on the whole set, not on any order.

Book: used by chapter 8 (notebooks/08_self_attention.ipynb).
"""

from __future__ import annotations

import torch

from .. import _checks


def above_average_sets(
    n_sets: int, set_size: int, *, generator: torch.Generator | None = None, device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sets of numbers ``x (n_sets, set_size)`` and labels ``y`` (1.0 where an element exceeds its set's mean).

    Each set is ``offset + spread * u`` with ``u ~ U(0, 1)`` and a random offset in [-5, 5] and spread in
    [0.5, 3], so an element's value alone says little about its label: the model has to look at the set.
    """
    n_sets = _checks.positive_int("above_average_sets", "n_sets", n_sets)
    set_size = _checks.positive_int("above_average_sets", "set_size", set_size, minimum=2)
    u = torch.rand(n_sets, set_size, generator=generator, device=device)
    offset = 10 * torch.rand(n_sets, 1, generator=generator, device=device) - 5
    spread = 0.5 + 2.5 * torch.rand(n_sets, 1, generator=generator, device=device)
    x = offset + spread * u
    return x, (x > x.mean(dim=1, keepdim=True)).float()
