"""Alignment (score) functions: how well does each query match each key?

Every function here maps queries ``q (..., Tq, d_q)`` and keys ``k (..., Tk, d_k)`` to scores ``(..., Tq, Tk)``;
``masked_softmax`` turns a row of scores into attention weights. The leading dimensions of ``q`` and ``k`` must be
equal (batch, heads). The learned scores also check that q and k have their parameters' dtype and device::

    | name         | score(q, k)                      | source                                   |
    |--------------|----------------------------------|------------------------------------------|
    | `dot`        | q . k                            | Luong et al. 2015 ("dot")                |
    | `scaled_dot` | q . k / sqrt(d)                  | Vaswani et al. 2017, eq. 1               |
    | `General`    | q^T W k                          | Luong et al. 2015 ("general")            |
    | `Additive`   | v^T tanh(W q + U k)              | Bahdanau et al. 2015, appendix A.1.2     |
    | `Concat`     | v^T tanh(W [q; k])               | Luong et al. 2015 ("concat")             |
    | `Location`   | (W_a q)_s, no key is read        | Luong et al. 2015 ("location", eq. 8)    |

Book: chapter 4 (notebooks/04_alignment_functions.ipynb).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import _checks


def dot(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Dot-product scores ``q k^T``: ``(..., Tq, d)``, ``(..., Tk, d)`` -> ``(..., Tq, Tk)``."""
    _checks.qkv("dot", q, k, names=("q", "k", "v"))
    return q @ k.transpose(-2, -1)


def scaled_dot(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``q k^T / sqrt(d)``: for q, k with unit-variance components the scores keep unit variance."""
    _checks.qkv("scaled_dot", q, k, names=("q", "k", "v"))
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])


class General(nn.Module):
    """Luong's bilinear ("general") score ``q^T W k`` with a learned ``W`` of shape ``(d_q, d_k)``.

    With ``W = I`` it is the dot score. Computed as ``q . (W k)`` so each key is projected once.
    """

    def __init__(self, d_q: int, d_k: int | None = None) -> None:
        super().__init__()
        self.d_q = _checks.positive_int("General", "d_q", d_q)
        self.d_k = d_q if d_k is None else _checks.positive_int("General", "d_k", d_k)
        self.W = nn.Linear(self.d_k, self.d_q, bias=False)  # weight (d_q, d_k): W k

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        _check_learned("General", self, q, k)
        return q @ self.W(k).transpose(-2, -1)


class Additive(nn.Module):
    """Bahdanau's additive score ``v^T tanh(W q + U k)`` with a hidden layer of width ``d_hidden``.

    In Bahdanau et al. the query is the *previous* decoder state s_{i-1} and ``U k`` can be precomputed once per
    source sentence. Broadcasting ``(..., Tq, 1, h) + (..., 1, Tk, h)`` builds a ``(..., Tq, Tk, h)`` tensor.
    """

    def __init__(self, d_q: int, d_k: int, d_hidden: int) -> None:
        super().__init__()
        self.d_q = _checks.positive_int("Additive", "d_q", d_q)
        self.d_k = _checks.positive_int("Additive", "d_k", d_k)
        d_hidden = _checks.positive_int("Additive", "d_hidden", d_hidden)
        self.W = nn.Linear(self.d_q, d_hidden, bias=False)
        self.U = nn.Linear(self.d_k, d_hidden, bias=False)
        self.v = nn.Linear(d_hidden, 1, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor, *, u_k: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``(..., Tq, Tk)``. A decoder that scores the same keys at every step passes ``u_k = self.U(k)``,
        computed once per source sentence, instead of recomputing it."""
        _check_learned("Additive", self, q, k)
        if u_k is not None:
            expected = (*k.shape[:-1], self.U.out_features)
            if _checks.tensor("Additive", "u_k", u_k).shape != expected:
                raise ValueError(f"Additive(): u_k must be self.U(k) of shape {expected}, got {_checks.shape(u_k)}")
        hidden = torch.tanh(self.W(q).unsqueeze(-2) + (self.U(k) if u_k is None else u_k).unsqueeze(-3))
        return self.v(hidden).squeeze(-1)


class Concat(nn.Module):
    """Luong's concat score ``v^T tanh(W [q; k])``, built literally from every (query, key) concatenation.

    Splitting ``W = [W_1 W_2]`` shows it equals ``Additive`` with ``W = W_1``, ``U = W_2``; this class does not
    take that shortcut, so the identity is a real check (it materialises ``(..., Tq, Tk, d_q + d_k)``).
    """

    def __init__(self, d_q: int, d_k: int, d_hidden: int) -> None:
        super().__init__()
        self.d_q = _checks.positive_int("Concat", "d_q", d_q)
        self.d_k = _checks.positive_int("Concat", "d_k", d_k)
        d_hidden = _checks.positive_int("Concat", "d_hidden", d_hidden)
        self.W = nn.Linear(self.d_q + self.d_k, d_hidden, bias=False)
        self.v = nn.Linear(d_hidden, 1, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        _check_learned("Concat", self, q, k)
        *lead, n_q, _ = q.shape
        n_k = k.shape[-2]
        pairs = torch.cat(
            [q.unsqueeze(-2).expand(*lead, n_q, n_k, self.d_q), k.unsqueeze(-3).expand(*lead, n_q, n_k, self.d_k)],
            dim=-1,
        )
        return self.v(torch.tanh(self.W(pairs))).squeeze(-1)


class Location(nn.Module):
    """Luong's location-based score ``a_t = softmax(W_a h_t)``: the scores come from the query alone.

    ``W_a`` maps the query to one score per source *position* ``0 .. max_len - 1``; the keys are read only for
    their number ``Tk`` (the first ``Tk`` scores are kept, so ``Tk <= max_len``). Two sources of the same length get
    the same weights whatever words they hold: the model can only learn *where* to look from the decoder state
    (Luong et al. 2015, section 3.1, eq. 8; the attention of the old PyTorch seq2seq tutorial is of this kind).
    """

    def __init__(self, d_q: int, max_len: int) -> None:
        super().__init__()
        self.d_q = _checks.positive_int("Location", "d_q", d_q)
        self.max_len = _checks.positive_int("Location", "max_len", max_len)
        self.W = nn.Linear(self.d_q, self.max_len, bias=False)  # W_a

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        _checks.qkv("Location", q, k, same_width=False, names=("q", "k", "v"))
        _checks.width("Location", "q", q, self.d_q)
        _checks.matches_module("Location", "q", q, self)
        if k.shape[-2] > self.max_len:
            raise ValueError(f"Location(): k has {k.shape[-2]} positions, more than max_len={self.max_len} "
                             f"(shape {_checks.shape(k)})")
        return self.W(q)[..., : k.shape[-2]]


# ---- argument checks ----

def _check_learned(fn: str, module: nn.Module, q: torch.Tensor, k: torch.Tensor) -> None:
    """A learned score's queries and keys: widths ``module.d_q`` and ``module.d_k``, the module's dtype and device."""
    _checks.qkv(fn, q, k, same_width=False, names=("q", "k", "v"))
    _checks.width(fn, "q", q, module.d_q)
    _checks.width(fn, "k", k, module.d_k)
    _checks.matches_module(fn, "q", q, module)
