"""Data for the book's experiments: generated from a seed, never downloaded."""

from .sets import above_average_sets
from .shapes import is_rectangle, rectangles

__all__ = ["above_average_sets", "is_rectangle", "rectangles"]
