"""Data for the book's experiments: generated from a seed, never downloaded."""

from .sets import above_average_sets

__all__ = ["above_average_sets"]
