"""Exercises for chapter 2: the recurrent encoder-decoder.

``check_gru_step``: one step of the encoder's GRU from its weights (Cho et al. 2014; torch's gate layout).
``check_greedy_decode``: the decoding loop that feeds each most likely token back in until ``<eos>``.

Book: used by chapter 2 (notebooks/02_seq2seq_bottleneck.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..decoding import greedy_decode
from ._harness import Case, Group, Mistake, device_of, generator, randn, require_callable, run, seeded


def check_gru_step(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(x (B, d_in), h (B, d_h), cell: nn.GRUCell) -> h_new (B, d_h)``, computed from the cell's weights
    ``weight_ih (3 d_h, d_in)``, ``weight_hh (3 d_h, d_h)`` and biases, gates stacked as reset, update, new."""
    require_callable("check_gru_step", fn)
    dev, g = device_of(device), generator()
    cases = []
    for batch, d_in, d_h in ((1, 2, 2), (3, 5, 4)):
        with seeded(len(cases)):
            cell = nn.GRUCell(d_in, d_h).to(dev)
        cases.append(_gru_case(randn(g, batch, d_in, device=dev), randn(g, batch, d_h, device=dev), cell))
    return run("check_gru_step", fn, [Group("GRUCell with copied weights", cases,
                                            "r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise, "
                                            "n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) n + z h")])


def _gru(x: torch.Tensor, h: torch.Tensor, cell: nn.GRUCell, *, order: str = "rzn", keep_new: bool = False,
         bias_outside: bool = False) -> torch.Tensor:
    """A GRU step, correct with the defaults; each knob makes one typical mistake."""
    gi = dict(zip(order, (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, -1)))
    w_hh, b_hh = dict(zip(order, cell.weight_hh.chunk(3))), dict(zip(order, cell.bias_hh.chunk(3)))
    r = torch.sigmoid(gi["r"] + h @ w_hh["r"].T + b_hh["r"])
    z = torch.sigmoid(gi["z"] + h @ w_hh["z"].T + b_hh["z"])
    hidden = r * (h @ w_hh["n"].T) + b_hh["n"] if bias_outside else r * (h @ w_hh["n"].T + b_hh["n"])
    n = torch.tanh(gi["n"] + hidden)
    return z * n + (1 - z) * h if keep_new else (1 - z) * n + z * h


def _gru_case(x: torch.Tensor, h: torch.Tensor, cell: nn.GRUCell) -> Case:
    with torch.no_grad():
        expected = cell(x, h)
        mistakes = [Mistake("the update gate z keeps the old state: h' = (1 - z) * n + z * h",
                            _gru(x, h, cell, keep_new=True)),
                    Mistake("torch stacks the gates as reset, update, new (r, z, n) in weight_ih and weight_hh",
                            _gru(x, h, cell, order="zrn")),
                    Mistake("the reset gate multiplies W_hn h + b_hn, its bias included",
                            _gru(x, h, cell, bias_outside=True))]
    return Case(f"batch {x.shape[0]}, d_in {x.shape[1]}, d_h {h.shape[1]}", {"x": x, "h": h, "cell": cell},
                expected, mistakes)


class _ToyModel:
    """``next_log_probs`` of a toy language model: the next token depends on the last one and the length."""

    def __init__(self, vocab: int, seed: int, device: torch.device) -> None:
        g = generator(seed)
        self.by_token, self.by_step = randn(g, vocab, vocab, device=device), randn(g, 64, vocab, device=device)
        self.text = f"a toy model over {vocab} tokens (seed {seed})"

    def __call__(self, prefixes: torch.Tensor) -> torch.Tensor:
        logits = self.by_token[prefixes[:, -1].to(self.by_token.device)] + self.by_step[prefixes.shape[1]]
        return logits.log_softmax(-1)

    def __repr__(self) -> str:
        return self.text


def _no_stop(model: Callable, bos: int, max_len: int) -> list[int]:
    tokens = [bos]
    for _ in range(max_len):
        tokens.append(int(model(torch.tensor([tokens])).argmax(-1)[0]))
    return tokens[1:]


def check_greedy_decode(fn: Callable, *, device: torch.device | str | None = None) -> bool:
    """Check ``fn(next_log_probs, bos, eos, max_len) -> list[int]``: start from ``[bos]``, append the most likely
    token until ``eos`` (kept) or ``max_len`` tokens; return the tokens after ``bos``. ``next_log_probs`` maps
    prefixes ``(N, t)`` (token ids, ``torch.long``) to log-probabilities ``(N, V)``."""
    require_callable("check_greedy_decode", fn)
    dev = device_of(device)
    cases = []
    for vocab, seed, max_len in ((5, 0, 10), (6, 3, 12), (4, 1, 3), (8, 7, 20)):
        model = _ToyModel(vocab, seed, dev)
        expected = greedy_decode(model, bos=0, eos=1, max_len=max_len)
        mistakes = [Mistake("return the tokens after <bos>, without <bos> itself", [0, *expected]),
                    Mistake("stop as soon as the model produces <eos>", _no_stop(model, 0, max_len))]
        if expected[-1] == 1:
            mistakes.append(Mistake("keep the <eos> token at the end of the output", expected[:-1]))
        inputs = {"next_log_probs": model, "bos": 0, "eos": 1, "max_len": max_len}
        cases.append(Case(f"vocabulary {vocab}, max_len {max_len}", inputs, expected, mistakes))
    return run("check_greedy_decode", fn, [Group("toy models", cases, "each step: feed the whole prefix (N, t), take "
                                                 "the argmax of the last log-probabilities, append it")])
