"""Why attention divides scores by sqrt(d): unscaled dot products saturate the softmax.

For q, k with independent N(0, 1) components, q . k = sum_c q_c k_c has mean 0 and variance d (Vaswani et al.
2017, footnote 4). Unscaled scores therefore spread like sqrt(d); the softmax of widely spread scores is nearly
one-hot, and its Jacobian diag(p) - p p^T -- the factor every gradient through attention is multiplied by --
nearly vanishes. Dividing by sqrt(d) keeps the scores at unit variance for every d.

Book: chapter 7 (notebooks/07_scaled_dot_product_attention.ipynb).
"""

from __future__ import annotations

import torch

from . import _checks
from .scores import dot, scaled_dot
from .softmax import masked_softmax


def entropy(weights: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy in nats of the distributions along ``dim`` (0 log 0 = 0): log n when uniform, 0 when one-hot."""
    _checks.floating("entropy", "weights", weights)
    return -torch.special.xlogy(weights, weights).sum(dim)


def softmax_jacobian(weights: torch.Tensor) -> torch.Tensor:
    """``d softmax(s)_i / d s_j = p_i (delta_ij - p_j)``: ``(..., n)`` weights -> ``(..., n, n)``."""
    _checks.floating("softmax_jacobian", "weights", weights, ndim=(1, 8))
    return torch.diag_embed(weights) - weights.unsqueeze(-1) * weights.unsqueeze(-2)


def random_query_weights(
    d: int, *, scaled: bool, n_keys: int = 64, trials: int = 1, generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Attention weights ``(trials, n_keys)`` of random N(0, 1) queries over random N(0, 1) keys of width ``d``."""
    d = _checks.positive_int("random_query_weights", "d", d)
    n_keys = _checks.positive_int("random_query_weights", "n_keys", n_keys)
    trials = _checks.positive_int("random_query_weights", "trials", trials)
    _checks.flag("random_query_weights", "scaled", scaled)
    q = torch.randn(trials, 1, d, generator=generator, device=device)
    k = torch.randn(trials, n_keys, d, generator=generator, device=device)
    return masked_softmax((scaled_dot if scaled else dot)(q, k)).squeeze(1)


def saturation_statistics(
    d: int, *, scaled: bool, n_keys: int = 64, trials: int = 2000, chunk: int = 250,
    generator: torch.Generator | None = None, device: torch.device | str | None = None,
) -> dict[str, float]:
    """Averages over ``trials`` random queries: entropy of the weights, largest weight (mean and median) and the
    Frobenius norm of the softmax Jacobian. Computed ``chunk`` queries at a time to bound memory."""
    d, trials, chunk = _checks.sizes("saturation_statistics", d=d, trials=trials, chunk=chunk)
    _checks.flag("saturation_statistics", "scaled", scaled)
    weights = torch.cat([
        random_query_weights(d, scaled=scaled, n_keys=n_keys, trials=min(chunk, trials - start),
                             generator=generator, device=device)
        for start in range(0, trials, chunk)
    ])
    largest = weights.max(-1).values
    return {
        "d": d,
        "scaled": scaled,
        "entropy": entropy(weights).mean().item(),
        "max_weight": largest.mean().item(),
        "max_weight_median": largest.median().item(),
        "jacobian_norm": softmax_jacobian(weights).flatten(-2).norm(dim=-1).mean().item(),
    }
