"""Exercises that check the reader's own code: one checker per implement-it exercise at the end of each chapter.

Each chapter ends with stubs to complete (a signature, a docstring with shapes, ``raise NotImplementedError``) and a
check cell that hands the reader's function (or class) to its checker, e.g.
``al.exercises.check_masked_softmax(my_masked_softmax)``. A checker runs the code on cases from tiny hand-readable
ones to random ones, against an oracle (attnlab's own functions, torch's modules, brute force or a closed form), on
the reader's device where the function takes tensors. It returns True and prints one line per group of cases that
passes; at the first failure it returns False and prints the case, what was expected, what came back and a hint
that names the likely mistake (found by comparing with the answers of typical mistakes) without giving the
solution. It never raises because of the reader's code: a stub reports "not attempted yet", any other exception is
reported with the case that caused it. ``EXERCISES`` lists every exercise, chapter by chapter. ``set_language("ko")``
switches the reports to Korean (the hints, the names of the groups of cases and the harness's phrases), for readers of
the book's Korean edition.

Book: used by every chapter (no chapter of its own).
"""

from __future__ import annotations

from typing import NamedTuple

from . import _harness

from .additive_attention import check_additive_score, check_bahdanau_context
from .alignment_scores import check_concat_score, check_general_score
from .beam_search import check_beam_step, check_length_penalty_rescoring
from .causal_convolution import check_causal_conv1d, check_layers_needed
from .encoder_decoder import check_greedy_decode, check_gru_step
from .image_captioning import check_doubly_stochastic_penalty, check_grid_attention
from .image_self_attention import check_pixel_attention_map, check_sagan_block
from .local_attention import check_local_mask_1d, check_local_mask_2d
from .masking import check_causal_mask, check_made_masks, check_masked_softmax
from .multi_head import check_multi_head_attention, check_split_heads
from .positional_encoding import check_shift_rotation, check_sinusoidal_encoding
from .pretrained_analysis import check_head_importance, check_mean_pool
from .relative_attention import check_alibi_bias, check_skew
from .scaled_dot_product import check_scaled_dot_product_attention, check_softmax_jacobian
from .self_attention import check_permutation_equivariance_test, check_self_attention
from .transformer_block import check_encoder_layer, check_layer_norm
from .transformer_training import check_decoder_masks, check_warmup_schedule
from .weighted_average import check_kernel_regression, check_single_query_attention


class Exercise(NamedTuple):
    """One implement-it exercise: its chapter, its title in the book and the name of its checker."""

    chapter: int
    title: str
    checker: str


EXERCISES: list[Exercise] = [
    Exercise(1, "Attention for one query", "check_single_query_attention"),
    Exercise(1, "Kernel regression", "check_kernel_regression"),
    Exercise(2, "One GRU step", "check_gru_step"),
    Exercise(2, "Greedy decoding", "check_greedy_decode"),
    Exercise(3, "The additive score", "check_additive_score"),
    Exercise(3, "The context vector over a padded source", "check_bahdanau_context"),
    Exercise(4, "Luong's general score", "check_general_score"),
    Exercise(4, "Luong's concat score", "check_concat_score"),
    Exercise(5, "Attention over a feature grid", "check_grid_attention"),
    Exercise(5, "The doubly stochastic penalty", "check_doubly_stochastic_penalty"),
    Exercise(6, "Rescoring with the length penalty", "check_length_penalty_rescoring"),
    Exercise(6, "One step of beam search", "check_beam_step"),
    Exercise(7, "Scaled dot-product attention with a mask", "check_scaled_dot_product_attention"),
    Exercise(7, "The softmax's Jacobian", "check_softmax_jacobian"),
    Exercise(8, "Self-attention with projections", "check_self_attention"),
    Exercise(8, "A test of permutation equivariance", "check_permutation_equivariance_test"),
    Exercise(9, "A masked softmax", "check_masked_softmax"),
    Exercise(9, "A causal mask for cached decoding", "check_causal_mask"),
    Exercise(9, "MADE's masks for any ordering", "check_made_masks"),
    Exercise(10, "Splitting into heads", "check_split_heads"),
    Exercise(10, "A multi-head attention module", "check_multi_head_attention"),
    Exercise(11, "The sinusoidal table", "check_sinusoidal_encoding"),
    Exercise(11, "A shift as a rotation", "check_shift_rotation"),
    Exercise(12, "Layer normalisation", "check_layer_norm"),
    Exercise(12, "Post-norm and pre-norm encoder layers", "check_encoder_layer"),
    Exercise(13, "The warm-up schedule", "check_warmup_schedule"),
    Exercise(13, "The decoder's masks", "check_decoder_masks"),
    Exercise(14, "A causal convolution", "check_causal_conv1d"),
    Exercise(14, "How many convolutions see the whole sequence", "check_layers_needed"),
    Exercise(15, "A SAGAN block", "check_sagan_block"),
    Exercise(15, "Where one pixel looks", "check_pixel_attention_map"),
    Exercise(16, "A 1-D local mask", "check_local_mask_1d"),
    Exercise(16, "A 2-D block mask", "check_local_mask_2d"),
    Exercise(17, "The skew", "check_skew"),
    Exercise(17, "ALiBi's bias", "check_alibi_bias"),
    Exercise(18, "Mean pooling over real tokens", "check_mean_pool"),
    Exercise(18, "Head importance by ablation", "check_head_importance"),
]

LANGUAGES = ("en", "ko")


def set_language(language: str) -> None:
    """The language of every checker's report from now on: ``"en"`` (the default) or ``"ko"`` (Korean)."""
    if language not in LANGUAGES:
        raise ValueError(f"set_language(): language must be one of {LANGUAGES}, got {language!r}")
    _harness.LANGUAGE = language


__all__ = ["EXERCISES", "Exercise", "set_language", *sorted(exercise.checker for exercise in EXERCISES)]
