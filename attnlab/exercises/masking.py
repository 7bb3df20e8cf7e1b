"""Exercises for chapter 9: masks.

``check_masked_softmax``: a softmax over the allowed positions only, zeros (not NaN, not uniform weights) where
nothing is allowed. ``check_causal_mask``: the look-ahead mask, also for more keys than queries (decoding with a
cache). ``check_made_masks``: MADE's weight masks for a given ordering of the inputs (Germain et al. 2015, eq.
12-13).

Book: used by chapter 9 (notebooks/09_masked_attention.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..masks import causal_mask
from ..softmax import masked_softmax
from ._harness import Case, Group, Mistake, device_of, generator, has_nan, randn, require_callable, run


def check_masked_softmax(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(scores (..., n), mask) -> (..., n)``: the softmax of each row over the positions where the boolean
    ``mask`` (broadcasting to ``scores``) is True, 0 elsewhere; a row with no True gives zeros."""
    require_callable("check_masked_softmax", fn)
    dev, g = device_of(device), generator()

    def case(label: str, scores: torch.Tensor, mask: torch.Tensor) -> Case:
        plain = lambda m, fill=-math.inf, dim=-1: torch.softmax(scores.masked_fill(~m, fill), dim)  # noqa: E731
        mistakes = [Mistake("the mask is inverted: True means 'may attend'", plain(~mask)),
                    Mistake("softmax over the wrong axis: normalise each row (the last axis)", plain(mask, dim=-2)),
                    Mistake("a row with no allowed position gives NaN: its weights must be zeros", test=has_nan),
                    Mistake("filling with a large negative number gives a fully masked row uniform weights: they "
                            "must be zeros", plain(mask, fill=-1e9))]
        return Case(label, {"scores": scores, "mask": mask}, masked_softmax(scores, mask), mistakes)

    row = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]], device=dev)
    keep = torch.tensor([[True, True, False], [True, False, True]], device=dev)
    batch = randn(g, 2, 4, 5, device=dev) * 3
    causal = causal_mask(4, 5, device=dev)
    empty = torch.tensor([[True, False, True], [False, False, False]], device=dev)
    return run("check_masked_softmax", fn, [
        Group("small rows", [case("two rows of three", row, keep)], "fill masked scores with -inf, then softmax"),
        Group("a broadcast mask", [case("(2, 4, 5) scores, (4, 5) causal mask", batch, causal)],
              "the mask broadcasts against the scores"),
        Group("a row with nothing allowed", [case("row 1 fully masked", row, empty)],
              "detect the rows with no allowed position and give them zeros")])


def check_causal_mask(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(n_queries, n_keys) -> (n_queries, n_keys)`` bool, True where query i may attend key j: the
    queries are the last ``n_queries`` of the ``n_keys`` positions, so j <= i + n_keys - n_queries."""
    require_callable("check_causal_mask", fn)
    cases = []
    for n_q, n_k in ((3, 3), (5, 5), (1, 4), (2, 5)):
        expected = causal_mask(n_q, n_k)
        ones = torch.ones(n_q, n_k, dtype=torch.bool)
        mistakes = [Mistake("the causal diagonal is off by one: a position may attend itself",
                            ones.tril(n_k - n_q - 1)),
                    Mistake("the mask is inverted: True means 'may attend' (the past and the present)", ~expected),
                    Mistake("with more keys than queries the queries are the last positions: shift the triangle by "
                            "n_keys - n_queries", ones.tril())]
        cases.append(Case(f"{n_q} queries, {n_k} keys", {"n_queries": n_q, "n_keys": n_k}, expected, mistakes))
    return run("check_causal_mask", fn, [Group("square masks", cases[:2], "lower triangle: j <= i"),
                                         Group("more keys than queries", cases[2:], "query i is position "
                                               "i + n_keys - n_queries")])


def made_masks_for(input_degrees: torch.Tensor, hidden_degrees: list[torch.Tensor], *, strict_hidden: bool = False,
                   strict_output: bool = True) -> list[torch.Tensor]:
    """The oracle, by brute force: ``(out, in)`` float masks; a hidden unit sees degrees <= its own, an output
    only degrees < its input's. The flags make the typical mistakes."""
    degrees = [input_degrees.tolist(), *(d.tolist() for d in hidden_degrees), input_degrees.tolist()]
    masks = []
    for layer, (before, after) in enumerate(zip(degrees, degrees[1:])):
        strict = strict_output if layer == len(degrees) - 2 else strict_hidden
        masks.append(torch.tensor([[float(a > b if strict else a >= b) for b in before] for a in after]))
    return masks


def check_made_masks(fn: Callable) -> bool:
    """Check ``fn(input_degrees (D,), hidden_degrees: list of (H_l,)) -> list of masks``, one ``(out, in)`` float
    mask per layer (shaped like ``nn.Linear`` weights) for the input layer, each hidden layer and the output layer.
    ``input_degrees`` is a permutation of 1..D (the ordering), hidden degrees lie in [1, D-1]; output i has the
    degree of input i."""
    require_callable("check_made_masks", fn)
    cases = []
    for seed, (order, sizes) in enumerate((([1, 2, 3], [2]), ([3, 1, 2], [4]), ([2, 4, 1, 3], [5, 3]))):
        g = generator(seed)
        inputs = torch.tensor(order)
        hidden = [torch.randint(1, len(order), (size,), generator=g) for size in sizes]
        mistakes = [Mistake("output i may see only degrees strictly below its own (>), or it sees x_i itself",
                            made_masks_for(inputs, hidden, strict_output=False)),
                    Mistake("a hidden unit may see units of equal degree (>=)",
                            made_masks_for(inputs, hidden, strict_hidden=True)),
                    Mistake("the output layer must use the ordering's degrees (input_degrees), not 1..D",
                            made_masks_for(inputs, hidden)[:-1]
                            + made_masks_for(torch.arange(1, len(order) + 1), hidden)[-1:])]
        cases.append(Case(f"order {order}, hidden sizes {sizes}", {"input_degrees": inputs, "hidden_degrees": hidden},
                          made_masks_for(inputs, hidden), mistakes))
    return run("check_made_masks", fn, [Group("orderings", cases, "mask[k, k'] = 1 where the unit k of the next "
                                              "layer may see unit k' of this one, by their degrees")])
