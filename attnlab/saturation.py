"""Why attention divides scores by sqrt(d): unscaled dot products saturate the softmax.

For q, k with independent N(0, 1) components, q . k = sum_c q_c k_c has mean 0 and variance d (Vaswani et al.
2017, footnote 4). Unscaled scores therefore spread like sqrt(d); the softmax of widely spread scores is nearly
one-hot, and its Jacobian diag(p) - p p^T nearly vanishes. The gradient that reaches the query is
scale * K^T J dL/dp, though: without the scale the factor K^T grows like sqrt(d) while J shrinks, so the gradient
becomes heavy-tailed rather than small (most queries get almost nothing, a few get very large steps);
``query_key_gradients`` measures it with autograd. Dividing by sqrt(d) keeps the scores at unit variance and both
factors independent of d.

Book: chapter 7 (notebooks/07_scaled_dot_product_attention.ipynb).
"""

from __future__ import annotations

import torch

from . import _checks
from .attention import attention
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


def query_key_gradients(
    d: int, *, scale: float | None = None, n_keys: int = 64, trials: int = 1000, chunk: int = 250,
    generator: torch.Generator | None = None, device: torch.device | str | None = None,
) -> dict[str, torch.Tensor]:
    """The gradient that reaches the query and the keys, by autograd, for ``trials`` random queries.

    Each trial draws a query ``q (1, d)``, keys ``K (n_keys, d)`` and scalar values ``v (n_keys, 1)``, all with
    independent N(0, 1) entries, computes ``out = attention(q, K, v, scale=scale)`` (``scale=None``: 1/sqrt(d);
    ``1.0``: unscaled) and backpropagates ``L = out``, so that the upstream gradient on the weights is
    ``dL/dp = v``. By the chain rule ``dL/dq = scale * K^T J v`` with ``J`` the softmax Jacobian. Returns the
    per-trial norms ``{"query": (trials,), "keys": (trials,)}`` (``||dL/dq||`` and the Frobenius norm of
    ``dL/dK``), computed ``chunk`` trials at a time to bound memory.
    """
    fn = "query_key_gradients"
    d, n_keys, trials, chunk = _checks.sizes(fn, d=d, n_keys=n_keys, trials=trials, chunk=chunk)
    if scale is not None:
        scale = _checks.number(fn, "scale", scale, positive=True)
    norms: dict[str, list[torch.Tensor]] = {"query": [], "keys": []}
    for start in range(0, trials, chunk):
        b = min(chunk, trials - start)
        q = torch.randn(b, 1, d, generator=generator, device=device).requires_grad_(True)
        k = torch.randn(b, n_keys, d, generator=generator, device=device).requires_grad_(True)
        v = torch.randn(b, n_keys, 1, generator=generator, device=device)
        out, _ = attention(q, k, v, scale=scale)
        grad_q, grad_k = torch.autograd.grad(out.sum(), (q, k))  # trials are independent: one backward pass
        norms["query"].append(grad_q.flatten(1).norm(dim=-1))
        norms["keys"].append(grad_k.flatten(1).norm(dim=-1))
    return {name: torch.cat(parts) for name, parts in norms.items()}
