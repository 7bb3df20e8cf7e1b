"""Exercises for chapter 10: multi-head attention.

``check_split_heads``: ``(B, T, d_model) -> (B, H, T, d_head)``, head h owning features ``[h d_head, (h+1)
d_head)``. ``check_multi_head_attention``: a whole ``nn.Module`` (Vaswani et al. 2017, section 3.2.2), checked
against ``torch.nn.MultiheadAttention`` with the same weights.

Book: used by chapter 10 (notebooks/10_multi_head_attention.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..multihead import MultiHeadAttention
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, require_class, run, seeded


def check_split_heads(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x (B, T, d_model), num_heads) -> (B, H, T, d_head)`` with ``out[b, h, t] = x[b, t, h*d_head :
    (h+1)*d_head]``."""
    require_callable("check_split_heads", fn)
    dev = device_of(device)
    cases = []
    for batch, length, d_model, heads in ((1, 3, 4, 2), (2, 2, 6, 3), (2, 5, 8, 2)):
        x = torch.arange(batch * length * d_model, dtype=torch.float32, device=dev).view(batch, length, d_model)
        d_head = d_model // heads
        mistakes = [Mistake("heads split in the wrong order: view as (B, T, H, d_head), then swap T and H; viewing "
                            "as (B, H, T, d_head) directly mixes positions into heads",
                            x.reshape(batch, heads, length, d_head)),
                    Mistake("head h takes the contiguous features [h d_head, (h+1) d_head), not every H-th feature",
                            x.view(batch, length, d_head, heads).permute(0, 3, 1, 2)),
                    Mistake("the heads come before time: transpose (B, T, H, d_head) to (B, H, T, d_head)",
                            x.view(batch, length, heads, d_head))]
        with seeded(0):
            expected = MultiHeadAttention(d_model, heads).split_heads(x)
        cases.append(Case(f"B={batch}, T={length}, d_model={d_model}, H={heads} (x counts 0, 1, 2, ...)",
                          {"x": x, "num_heads": heads}, expected, mistakes))
    return run("check_split_heads", fn, [Group("splits", cases, "x.view(B, T, H, d_head).transpose(1, 2)")])


def _heads(x: torch.Tensor, heads: int, order: str) -> torch.Tensor:
    batch, length, d_model = x.shape
    if order == "wrong":
        return x.reshape(batch, heads, length, d_model // heads)
    return x.view(batch, length, heads, d_model // heads).transpose(1, 2)


def _mha(reference: MultiHeadAttention, query, key, value, mask, *, order: str = "right", scale: float | None = None,
         project_out: bool = True) -> torch.Tensor:
    """Multi-head attention from ``reference``'s weights, with a plain softmax; the knobs make the mistakes."""
    heads = reference.num_heads
    q, k, v = (_heads(proj(x), heads, order) for proj, x in
               ((reference.q_proj, query), (reference.k_proj, key), (reference.v_proj, value)))
    scores = q @ k.transpose(-2, -1) * (scale or 1 / math.sqrt(reference.d_head))
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None], -math.inf)
    out = (torch.softmax(scores, -1) @ v).transpose(1, 2).flatten(2)
    return reference.out_proj(out) if project_out else out


def check_multi_head_attention(module_cls: type, *, device: torch.device | str | None = None) -> bool:
    """Check a class ``module_cls(d_model, num_heads)`` with ``nn.Linear(d_model, d_model)`` projections named
    ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` and ``forward(query (B, Tq, d_model), key (B, Tk, d_model),
    value (B, Tk, d_model), mask=None) -> (B, Tq, d_model)``; ``mask (B, Tq, Tk)`` is boolean, True = may attend."""
    require_class("check_multi_head_attention", module_cls)
    dev = device_of(device)
    groups = []
    for label, batch, n_q, n_k, d_model, heads, masked in (("no mask", 2, 3, 4, 8, 2, False),
                                                           ("with a mask", 2, 4, 5, 12, 3, True)):
        with seeded(0):
            reference = MultiHeadAttention(d_model, heads).to(dev)
            torch_mha = reference.to_torch()
        g = generator(1)
        x = {"query": randn(g, batch, n_q, d_model, device=dev), "key": randn(g, batch, n_k, d_model, device=dev),
             "value": randn(g, batch, n_k, d_model, device=dev)}
        if masked:
            x["mask"] = torch.rand(batch, n_q, n_k, generator=g).lt(0.7).to(dev) | torch.eye(n_q, n_k, dtype=torch.bool,
                                                                                               device=dev)
        mask = x.get("mask")
        with torch.no_grad():
            attn_mask = None if mask is None else ~mask.repeat_interleave(heads, 0)  # torch: True = blocked
            expected = torch_mha(x["query"], x["key"], x["value"], attn_mask=attn_mask, need_weights=False)[0]
            answer = lambda **knobs: _mha(reference, x["query"], x["key"], x["value"], mask, **knobs)  # noqa: E731
            mistakes = [Mistake("heads split in the wrong order: view (B, T, d_model) as (B, T, H, d_head), then "
                                "transpose to (B, H, T, d_head)", answer(order="wrong")),
                        Mistake("scale each head's scores by 1/sqrt(d_head), not 1/sqrt(d_model)",
                                answer(scale=1 / math.sqrt(d_model))),
                        Mistake("the output projection out_proj is missing", answer(project_out=False))]
            if mask is not None:
                mistakes.append(Mistake("the mask is inverted: True means 'may attend'",
                                        _mha(reference, x["query"], x["key"], x["value"], ~mask)))
        groups.append(Group(label, [Case(f"B={batch}, Tq={n_q}, Tk={n_k}, d_model={d_model}, H={heads}", x, expected,
                                         mistakes)], "project, split into heads, attend per head, merge the heads, "
                            "project out", _call(reference)))
    return run("check_multi_head_attention", module_cls, groups)


def _call(reference: MultiHeadAttention) -> Callable:
    """Build the reader's module, copy ``reference``'s weights into it (same parameter names), run it."""

    def call(module_cls: type, case: Case) -> torch.Tensor:
        with seeded(0):  # the reader's initial weights are overwritten: spare the reader's random state
            module = module_cls(reference.d_model, reference.num_heads).to(reference.out_proj.weight.device)
        module.load_state_dict(reference.state_dict())
        with torch.no_grad():
            return module(*case.inputs.values())

    return call
