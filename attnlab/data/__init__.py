"""Data for the book's experiments: generated from a seed, never downloaded.

Book: used by the experiments of most chapters, first in chapter 2 (notebooks/02_seq2seq_bottleneck.ipynb).
"""

from . import translation
from .captions import Captions, shape_captions
from .colour_pairs import ColourPairs, colour_pairs
from .images import chelsea
from .sequences import IGNORE, neighbour_difference, periodic_motifs
from .sets import above_average_sets
from .shapes import is_rectangle, rectangles
from .translation import Translation, Vocab, sentence_pairs, translation_task

__all__ = [
    "IGNORE", "Captions", "ColourPairs", "Translation", "Vocab", "above_average_sets", "chelsea", "colour_pairs", "is_rectangle",
    "neighbour_difference", "periodic_motifs", "rectangles", "sentence_pairs", "shape_captions", "translation", "translation_task",
]
