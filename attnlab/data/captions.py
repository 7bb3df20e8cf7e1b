"""Synthetic images for captioning with attention: 2-4 coloured shapes, captioned left to right.

Each ``size x size`` image is a 4 x 4 grid of cells; each shape sits in its own column (so "left to right" is
well defined) at a random row, jittered by a pixel or two, on a faintly noisy background. The caption names every
shape as ``colour shape`` in order of its column: "red circle blue square green triangle". ``masks`` keep each
shape's pixels, in caption order, to check where a model attends.

Book: used by chapter 5 (notebooks/05_image_captioning.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import _checks
from .translation import Vocab, teacher_forcing

COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.75, 0.1), "blue": (0.15, 0.3, 0.95), "yellow": (0.95, 0.85, 0.1)}
SHAPES = ("square", "circle", "triangle", "cross")


def _stencil(shape: str, n: int) -> torch.Tensor:
    """An ``(n, n)`` boolean drawing of ``shape``."""
    y, x = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing="ij")
    c = n / 2
    if shape == "square":
        return torch.ones(n, n, dtype=torch.bool)
    if shape == "circle":
        return (y - c) ** 2 + (x - c) ** 2 <= c**2
    if shape == "triangle":  # apex at the top, base at the bottom
        return (x - c).abs() <= y / 2
    return ((x - c).abs() < n / 6) | ((y - c).abs() < n / 6)  # cross


@dataclass
class Captions:
    """``images (n, 3, size, size)`` in [0, 1], ``captions`` (token lists), ``masks (n, 4, size, size)`` (shape k's
    pixels, k in caption order; all False past the last shape) and the caption ``vocab``."""

    images: torch.Tensor
    captions: list[list[str]]
    masks: torch.Tensor
    vocab: Vocab

    def __len__(self) -> int:
        return len(self.captions)

    def batch(self, indices: list[int] | torch.Tensor | range, device: torch.device | str | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``images (B, 3, H, W)``, decoder inputs ``tgt_in (B, T)`` and targets ``tgt_out (B, T)`` on ``device``."""
        index = torch.as_tensor(list(indices))
        tgt_in, tgt_out = teacher_forcing([self.vocab.encode(self.captions[i]) for i in index.tolist()])
        return self.images[index].to(device), tgt_in.to(device), tgt_out.to(device)


def caption_vocab() -> Vocab:
    """The captions' vocabulary: every colour and shape word, after ``<pad>``, ``<bos>`` and ``<eos>``."""
    return Vocab([*COLOURS, *SHAPES])


def shape_captions(n: int, *, size: int = 32, objects: tuple[int, int] = (2, 4), seed: int = 0) -> Captions:
    """``n`` captioned images with ``objects[0]`` to ``objects[1]`` shapes each (at most 4), deterministic given
    ``seed``."""
    n = _checks.positive_int("shape_captions", "n", n)
    size = _checks.positive_int("shape_captions", "size", size, minimum=16)
    lo, hi = _checks.int_pair("shape_captions", "objects", objects, minimum=0)
    if not 1 <= lo <= hi <= 4:
        raise ValueError(f"shape_captions(): objects must be (lo, hi) with 1 <= lo <= hi <= 4, got {objects}")
    g = torch.Generator().manual_seed(_checks.integer("shape_captions", "seed", seed))
    cell = size // 4
    side = cell - 2
    stencils = {s: _stencil(s, side) for s in SHAPES}
    images = 0.05 * torch.rand(n, 3, size, size, generator=g)
    masks = torch.zeros(n, 4, size, size, dtype=torch.bool)
    captions = []
    colour_names = list(COLOURS)
    for b in range(n):
        k = int(torch.randint(lo, hi + 1, (1,), generator=g))
        columns = sorted(torch.randperm(4, generator=g)[:k].tolist())
        caption = []
        for slot, column in enumerate(columns):
            row = int(torch.randint(4, (1,), generator=g))
            dy, dx = torch.randint(0, cell - side + 1, (2,), generator=g).tolist()
            colour = colour_names[int(torch.randint(len(COLOURS), (1,), generator=g))]
            shape = SHAPES[int(torch.randint(len(SHAPES), (1,), generator=g))]
            top, left = row * cell + dy, column * cell + dx
            masks[b, slot, top:top + side, left:left + side] = stencils[shape]
            images[b, :, masks[b, slot]] = torch.tensor(COLOURS[colour])[:, None]
            caption += [colour, shape]
        captions.append(caption)
    return Captions(images, captions, masks, caption_vocab())
