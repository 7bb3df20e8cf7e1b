"""attnlab: attention, built step by step. The package behind the attnlab book.

Conventions (CONTRIBUTING.md, "The API contract"): batch first -- sequences ``(B, T, d)``, heads ``(B, H, T, d_head)``,
weights ``(B, Tq, Tk)`` or ``(B, H, Tq, Tk)``; boolean masks with True = may attend; a query with no allowed key
gets zero weights and a zero output.
"""

import importlib

from . import fonts  # noqa: F401  (Hangul in figures)
from . import (autoregressive, data, decoding, interop, local, positional, pretrained, relative, sagan, saturation,
               scores, seq2seq, sequence_layers, train, transformer, translation_task, vision, wordpiece)
from . import hard_attention, local_alignment, luong_decoder  # chapters 4 and 5
from . import alibi, rotary  # chapter 17
from .attention import attention, scaled_dot_product_attention
from .device import get_device, seed_everything
from .masks import causal_mask, padding_mask
from .multihead import MultiHeadAttention
from .positional import sinusoidal_encoding
from .self_attention import SelfAttention, SetClassifier
from .softmax import masked_softmax
from .tagger import AttentionTagger

__version__ = "0.1.0"


def __getattr__(name: str):
    """Import the drawing, measuring and exercise modules on first use, so that training code never pays for them."""
    if name in ("exercises", "measure", "viz", "widgets"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'attnlab' has no attribute {name!r}")


__all__ = [
    "AttentionTagger",
    "MultiHeadAttention",
    "SelfAttention",
    "SetClassifier",
    "alibi",
    "attention",
    "autoregressive",
    "causal_mask",
    "data",
    "decoding",
    "exercises",
    "get_device",
    "hard_attention",
    "interop",
    "local",
    "local_alignment",
    "luong_decoder",
    "masked_softmax",
    "measure",
    "padding_mask",
    "positional",
    "pretrained",
    "relative",
    "rotary",
    "sagan",
    "scaled_dot_product_attention",
    "saturation",
    "scores",
    "seed_everything",
    "seq2seq",
    "sequence_layers",
    "sinusoidal_encoding",
    "train",
    "transformer",
    "translation_task",
    "vision",
    "viz",
    "widgets",
    "wordpiece",
]
