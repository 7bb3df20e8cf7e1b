"""Token-sequence tasks for per-position labelling.

Book: used by chapters 10 (notebooks/10_multi_head_attention.ipynb), 11 (notebooks/11_positional_encoding.ipynb)
and 17 (notebooks/17_relative_attention.ipynb).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .. import _checks

IGNORE = -100  # the label of positions without a target (``F.cross_entropy``'s default ignore_index)


def neighbour_difference(
    n: int, length: int, vocab: int, *, generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens ``x (n, length)`` and labels ``y[:, i] = (x[:, i-1] - x[:, i+1]) mod vocab``.

    The first and last positions have no two neighbours and get the label ``IGNORE``. The difference is not
    symmetric, so a model must tell the left neighbour from the right one.
    """
    n = _checks.positive_int("neighbour_difference", "n", n)
    length = _checks.positive_int("neighbour_difference", "length", length, minimum=3)
    vocab = _checks.positive_int("neighbour_difference", "vocab", vocab, minimum=2)
    x = torch.randint(0, vocab, (n, length), generator=generator, device=device)
    y = torch.full_like(x, IGNORE)
    y[:, 1:-1] = (x[:, :-2] - x[:, 2:]) % vocab
    return x, y


def periodic_motifs(
    n: int, length: int, vocab: int, *, periods: tuple[int, ...] = (2, 3, 4, 5),
    generator: torch.Generator | None = None, device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(n, length)`` token sequences, each a random motif (tokens 0..vocab-1) of a random period from
    ``periods`` (ints >= 1) repeated to the full length. After its first period every token is the one p positions
    back."""
    n = _checks.positive_int("periodic_motifs", "n", n)
    length = _checks.positive_int("periodic_motifs", "length", length, minimum=2)
    vocab = _checks.positive_int("periodic_motifs", "vocab", vocab, minimum=2)
    if isinstance(periods, str) or not isinstance(periods, Iterable):
        raise TypeError(f"periodic_motifs(): periods must be a tuple of ints, got {type(periods).__name__}")
    periods = [_checks.positive_int("periodic_motifs", f"periods[{i}]", p) for i, p in enumerate(periods)]
    if not periods:
        raise ValueError("periodic_motifs(): periods is empty; give at least one period")
    period = torch.tensor(periods, device=device)[torch.randint(len(periods), (n,), generator=generator, device=device)]
    motif = torch.randint(0, vocab, (n, max(periods)), generator=generator, device=device)
    position = torch.arange(length, device=device)[None, :] % period[:, None]
    return motif.gather(1, position)
