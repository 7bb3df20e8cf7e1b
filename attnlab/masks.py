"""Boolean attention masks. Convention: ``True`` means "may attend", as in ``F.scaled_dot_product_attention``.

(``nn.MultiheadAttention`` and ``nn.Transformer`` use the opposite; attnlab's ``from_torch``/``to_torch`` convert.)

Book: chapter 9 (notebooks/09_masked_attention.ipynb).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import _checks


def causal_mask(n_queries: int, n_keys: int | None = None, *, device: torch.device | str | None = None) -> torch.Tensor:
    """Look-ahead mask of shape ``(Tq, Tk)``: query ``i`` may attend key ``j`` iff ``j <= i + (Tk - Tq)``.

    With ``Tq == Tk`` this is the lower triangle (a position sees itself and the past). With more keys than
    queries the queries are the *last* ``Tq`` positions of the key sequence (decoding with a cache): the last
    query sees every key. Broadcasts over batch and heads.
    """
    n_queries = _checks.positive_int("causal_mask", "n_queries", n_queries)
    n_keys = n_queries if n_keys is None else _checks.positive_int("causal_mask", "n_keys", n_keys)
    ones = torch.ones(n_queries, n_keys, dtype=torch.bool, device=device)
    return ones.tril(diagonal=n_keys - n_queries)


def padding_mask(lengths: torch.Tensor | Sequence[int], max_len: int, *, device: torch.device | str | None = None
                 ) -> torch.Tensor:
    """``(B, max_len)`` mask, True at the first ``lengths[b]`` (real) tokens of each sequence.

    ``lengths`` is a tensor, a list or a NumPy array of ints; the mask lives on ``device`` (default: the lengths'
    device, the CPU for a list). To stop queries attending padded keys, index it as
    ``padding_mask(lengths, T)[:, None, :]`` -> ``(B, 1, Tk)``.
    """
    max_len = _checks.positive_int("padding_mask", "max_len", max_len)
    if not isinstance(lengths, torch.Tensor):
        items = list(lengths.tolist() if hasattr(lengths, "tolist") else lengths)
        if not all(_checks.is_int(n) for n in items):
            raise TypeError(f"padding_mask(): lengths must hold ints, got {items!r}")
        lengths = torch.tensor([int(n) for n in items], dtype=torch.long)
    if device is not None:
        lengths = lengths.to(device)
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or lengths.is_complex():
        raise TypeError(f"padding_mask(): lengths must be an integer tensor, got dtype {lengths.dtype}")
    _checks.tensor("padding_mask", "lengths", lengths, ndim=1)
    if lengths.numel() and (lengths.min() < 0 or lengths.max() > max_len):
        raise ValueError(
            f"padding_mask(): lengths must lie in [0, max_len={max_len}], got {lengths.tolist()}"
        )
    positions = torch.arange(max_len, device=lengths.device)
    return positions[None, :] < lengths[:, None]
