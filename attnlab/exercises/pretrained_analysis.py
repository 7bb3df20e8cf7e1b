"""Exercises for chapter 18: reading a pretrained encoder.

``check_mean_pool``: a sentence embedding as the mean of the real tokens' hidden states (Reimers and Gurevych 2019).
``check_head_importance``: an ablation that masks one head at a time and measures how much a score gets worse
(Michel et al. 2019, section 3).

Book: used by chapter 18 (notebooks/18_pretrained_transformer.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..pretrained import mean_pool
from ._harness import Case, Group, Mistake, device_of, generator, has_nan, randn, require_callable, run


def check_mean_pool(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(hidden (B, T, d), attention_mask (B, T)) -> (B, d)``: the mean of ``hidden`` over the positions
    where ``attention_mask`` is 1 (an integer tensor, as tokenizers return it); zeros for a sequence without any."""
    require_callable("check_mean_pool", fn)
    dev = device_of(device)

    def case(label: str, hidden: torch.Tensor, lengths: list[int]) -> Case:
        mask = (torch.arange(hidden.shape[1])[None] < torch.tensor(lengths)[:, None]).long().to(dev)
        weights = mask[..., None].to(hidden.dtype)
        mistakes = [Mistake("the padded positions were averaged too: use attention_mask", hidden.mean(1)),
                    Mistake("divide by the number of real tokens of each sequence, not by T",
                            (hidden * weights).sum(1) / hidden.shape[1]),
                    Mistake("a sequence without real tokens gives NaN (0 / 0): clamp the count to at least a tiny "
                            "number", test=has_nan)]
        return Case(label, {"hidden": hidden, "attention_mask": mask}, mean_pool(hidden, mask), mistakes)

    g = generator()
    small = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], device=dev)
    return run("check_mean_pool", fn, [
        Group("one padded sentence", [case("2 real tokens and 1 padding", small, [2])],
              "sum hidden * mask over T, divide by mask.sum over T"),
        Group("a batch", [case("B=3, T=5, d=4", randn(g, 3, 5, 4, device=dev), [5, 2, 3])], "per-sentence counts"),
        Group("an empty sequence", [case("lengths [3, 0]", randn(g, 2, 4, 3, device=dev), [3, 0])],
              "a sequence without real tokens gives a zero vector")])


class _ToyScore:
    """A loss of a model with ``num_layers x num_heads`` heads, given which heads are on (``head_mask`` 1) or off (0).

    Heads matter by different amounts, and two of them interact, so that ablating one at a time differs from keeping
    only one or ablating them cumulatively."""

    def __init__(self, num_layers: int, num_heads: int, seed: int, device: torch.device) -> None:
        self.shape = (num_layers, num_heads)
        self.weight = randn(generator(seed), num_layers, num_heads, device=device).abs()
        self.device = device

    def __call__(self, head_mask: torch.Tensor) -> float:
        if not isinstance(head_mask, torch.Tensor) or tuple(head_mask.shape) != self.shape:
            raise ValueError(f"score(): head_mask must be a tensor of shape {self.shape}, got {head_mask!r}")
        off = 1 - head_mask.to(self.device, torch.float32)
        return float(1.0 + (self.weight * off).sum() + 0.5 * off[0, 0] * off[-1, -1] + 0.1 * off.sum() ** 2)

    def __repr__(self) -> str:
        return f"a toy loss over {self.shape[0]} layers x {self.shape[1]} heads"


def _importance(score: _ToyScore, *, keep_one: bool = False, cumulative: bool = False, sign: float = 1.0
                ) -> torch.Tensor:
    layers, heads = score.shape
    full = score(torch.ones(layers, heads))
    mask, out = torch.ones(layers, heads), torch.zeros(layers, heads)
    for layer in range(layers):
        for head in range(heads):
            if not cumulative:
                mask = torch.zeros(layers, heads) if keep_one else torch.ones(layers, heads)
            mask[layer, head] = 1.0 if keep_one else 0.0
            out[layer, head] = sign * (score(mask) - full)
    return out.to(score.device)


def check_head_importance(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(score, num_layers, num_heads) -> (num_layers, num_heads)``: entry (l, h) is ``score(mask) -
    score(all ones)`` where ``mask`` is all ones except a 0 at (l, h); ``score(head_mask (L, H)) -> float`` is a loss
    (higher is worse)."""
    require_callable("check_head_importance", fn)
    dev = device_of(device)
    cases = []
    for seed, (layers, heads) in enumerate(((1, 2), (2, 3), (3, 4))):
        score = _ToyScore(layers, heads, seed, dev)
        mistakes = [Mistake("ablate one head at a time: all heads on except (l, h), not only (l, h) on",
                            _importance(score, keep_one=True)),
                    Mistake("importance is the loss with the head off minus the loss with every head on",
                            _importance(score, sign=-1.0)),
                    Mistake("switch the previous head back on: each ablation starts from all ones",
                            _importance(score, cumulative=True))]
        cases.append(Case(f"{layers} layers x {heads} heads", {"score": score, "num_layers": layers,
                                                               "num_heads": heads}, _importance(score), mistakes))
    return run("check_head_importance", fn, [Group("toy losses", cases, "one call with every head on, then one "
                                                   "call per head with only that head off")])
