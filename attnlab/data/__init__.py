"""Data for the book's experiments: generated from a seed, never downloaded."""

from .images import chelsea
from .sequences import IGNORE, neighbour_difference, periodic_motifs
from .sets import above_average_sets
from .shapes import is_rectangle, rectangles

__all__ = ["IGNORE", "above_average_sets", "chelsea", "is_rectangle", "neighbour_difference", "periodic_motifs", "rectangles"]
