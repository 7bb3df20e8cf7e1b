"""The toy translation task's harness: the loss, greedy translation and the metrics, for any model with
``forward(src, src_lengths, tgt_in) -> (logits, weights)`` and ``next_log_probs(src, src_lengths)`` -- the RNN
translators of ``attnlab.seq2seq`` and the ``attnlab.transformer.Transformer`` alike. Batches and vocabularies
come from ``attnlab.data.translation``; the models themselves import no data.

Book: chapters 2 (notebooks/02_seq2seq_bottleneck.ipynb), 3 (notebooks/03_bahdanau_attention.ipynb), 4
(notebooks/04_alignment_functions.ipynb), 6 (notebooks/06_decoding.ipynb), 12 (notebooks/12_transformer_block.ipynb) and 13
(notebooks/13_transformer.ipynb).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .data.sequences import IGNORE
from .data.translation import BOS, EOS, Batch, Translation
from .decoding import greedy_batch
from .train import exact_match, token_accuracy


def loss(model: nn.Module, batch: Batch, *, label_smoothing: float = 0.0) -> torch.Tensor:
    """Teacher-forced cross-entropy of ``batch.tgt_out`` (padding ignored), averaged over the target tokens.

    A batch without any target token (``tgt_out`` all ``IGNORE``) has nothing to learn: its loss is 0 (with zero
    gradients), not the NaN of an average over nothing.
    """
    label_smoothing = _checks.probability("loss", "label_smoothing", label_smoothing)
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
    targets = _checks.tensor("loss", "batch.tgt_out", batch.tgt_out)
    if targets.shape != logits.shape[:2]:
        raise ValueError(f"loss(): batch.tgt_out must have the shape of batch.tgt_in {_checks.shape(batch.tgt_in)}, "
                         f"got {_checks.shape(targets)}")
    kept = _checks.token_ids("loss", "batch.tgt_out", targets[targets != IGNORE], logits.shape[-1])
    if not kept.numel():
        return logits.flatten()[:0].sum()
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten().long(), ignore_index=IGNORE,
                           label_smoothing=label_smoothing)


def translate(model: nn.Module, src: torch.Tensor, src_lengths: torch.Tensor, *, max_len: int) -> list[list[int]]:
    """Greedy translations (target ids, ``<eos>`` excluded) of a batch of sources ``src (B, S)``."""
    _checks.tensor("translate", "src", src, ndim=2)
    ids = greedy_batch(model.next_log_probs(src, src_lengths), src.shape[0], bos=BOS, eos=EOS, max_len=max_len)
    return [row[:-1] if row and row[-1] == EOS else row for row in ids]


def evaluate(model: nn.Module, data: Translation, *, batch_size: int = 500, device: torch.device | str | None = None
             ) -> dict[str, float]:
    """Token accuracy (teacher forced) and exact match (greedy, free running) of ``model`` on ``data``."""
    batch_size = _checks.positive_int("evaluate", "batch_size", batch_size)
    _check_data("evaluate", data)
    device = device or next(model.parameters()).device
    predicted, correct, total = [], 0.0, 0
    for start in range(0, len(data), batch_size):
        batch = data.batch(range(start, min(start + batch_size, len(data))), device)
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
        keep = (batch.tgt_out != IGNORE).sum().item()
        correct += token_accuracy(logits, batch.tgt_out) * keep
        total += keep
        predicted += translate(model, batch.src, batch.src_lengths, max_len=batch.tgt_out.shape[1] + 5)
    targets = [data.tgt_vocab.encode(t) for _, t in data.pairs]
    return {"token_accuracy": correct / total, "exact_match": exact_match(predicted, targets)}


def exact_match_by_length(model: nn.Module, data: Translation, *, max_len: int | None = None) -> dict[int, float]:
    """Greedy exact match of ``model`` on ``data``, per source length: ``{length: fraction}``."""
    _check_data("exact_match_by_length", data)
    if max_len is not None:
        _checks.positive_int("exact_match_by_length", "max_len", max_len)
    batch = data.batch(range(len(data)), next(model.parameters()).device)
    max_len = max_len or int((batch.tgt_out != IGNORE).sum(1).max()) + 5
    predicted = translate(model, batch.src, batch.src_lengths, max_len=max_len)
    hits: dict[int, list[bool]] = {}
    for p, (source, target) in zip(predicted, data.pairs):
        hits.setdefault(len(source), []).append(p == data.tgt_vocab.encode(target))
    return {n: sum(h) / len(h) for n, h in sorted(hits.items())}


def _check_data(fn: str, data: Translation) -> None:
    if not isinstance(data, Translation):
        raise TypeError(f"{fn}(): data must be an attnlab.data.Translation, got {type(data).__name__}")
    if not len(data):
        raise ValueError(f"{fn}(): data holds no sentence pairs")
