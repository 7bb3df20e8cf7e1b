"""Same colour or not? Two squares far apart: a task that no small window of the image can answer.

Book: used by chapter 15 (notebooks/15_self_attention_in_a_cnn.ipynb).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .. import _checks

PALETTE = torch.tensor([[1.0, 0.1, 0.1], [0.1, 0.9, 0.1], [0.2, 0.4, 1.0], [1.0, 0.9, 0.1], [0.9, 0.2, 0.9],
                        [0.1, 0.9, 0.9]])  # red, green, blue, yellow, magenta, cyan
SQUARE, DOT = 4, 2  # side of the two target squares and of the distractor dots, in pixels


class ColourPairs(NamedTuple):
    """``images (n, 3, size, size)`` in [0, 1]; ``labels (n,)`` int64, 1 where the two squares share a colour;
    ``boxes (n, 2, 4)`` int64, each square as ``(top, left, height, width)`` in pixels, the left one first."""

    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor


def colour_pairs(
    n: int, size: int = 32, *, colours: int = 6, distractors: int = 4, min_gap: int = 12,
    generator: torch.Generator | None = None, device: torch.device | str | None = None,
) -> ColourPairs:
    """``n`` black images, each with two 4 x 4 squares and ``distractors`` 2 x 2 dots, all in colours of the palette.

    The label is 1 when the two squares have the same colour (probability 1/2: the first colour is uniform, the
    second equals it or is uniform over the others). At least ``min_gap`` empty columns separate the squares (the
    left one starts in columns 0 .. size - 8 - min_gap, rows anywhere), so a window narrower than ``min_gap + 2``
    pixels never holds a pixel of each. Dots have random colours and keep one pixel away from the squares (they may
    touch one another); they do not change the label. Both colours are independent of every position, so given
    the positions and the dots, the label is a function of the two colours alone.
    """
    fn = "colour_pairs"
    n = _checks.positive_int(fn, "n", n)
    size = _checks.positive_int(fn, "size", size, minimum=2 * SQUARE + 1)
    colours = _checks.positive_int(fn, "colours", colours, minimum=2)
    if colours > len(PALETTE):
        raise ValueError(f"{fn}(): colours must be <= {len(PALETTE)} (the palette's size), got {colours}")
    distractors = _checks.positive_int(fn, "distractors", distractors, minimum=0)
    min_gap = _checks.positive_int(fn, "min_gap", min_gap, minimum=0)
    if 2 * SQUARE + min_gap > size:
        raise ValueError(f"{fn}(): two {SQUARE}-pixel squares {min_gap} columns apart need size >= "
                         f"{2 * SQUARE + min_gap}, got size={size}")
    randint = lambda high, shape: torch.randint(0, high, shape, generator=generator)  # noqa: E731

    first = randint(colours, (n,))
    same = randint(2, (n,))
    second = torch.where(same.bool(), first, (first + 1 + randint(colours - 1, (n,))) % colours)
    spare = size - 2 * SQUARE - min_gap                       # how far right the left square may start
    left = randint(spare + 1, (n,))
    right = left + SQUARE + min_gap + (torch.rand(n, generator=generator) * (spare - left + 1)).long()
    tops = randint(size - SQUARE + 1, (n, 2))
    boxes = torch.stack([torch.stack([tops[:, 0], left], -1), torch.stack([tops[:, 1], right], -1)], 1)
    boxes = torch.cat([boxes, torch.full((n, 2, 2), SQUARE)], -1)

    images = torch.zeros(n, 3, size, size)
    pixels = torch.arange(size)

    def paint(top: torch.Tensor, lft: torch.Tensor, side: int, colour: torch.Tensor, where: torch.Tensor) -> None:
        rows = (pixels >= top[:, None]) & (pixels < top[:, None] + side)           # (n, size)
        cols = (pixels >= lft[:, None]) & (pixels < lft[:, None] + side)
        inside = rows[:, :, None] & cols[:, None, :] & where[:, None, None]         # (n, size, size)
        images.copy_(torch.where(inside[:, None], PALETTE[colour][:, :, None, None], images))

    # Dots first (squares are painted over them), each at the first of 16 random places that keeps one pixel away
    # from both squares; in the rare image where all 16 fail, that dot is left out.
    for _ in range(distractors):
        place = randint(size - DOT + 1, (n, 16, 2))
        clear = torch.ones(n, 16, dtype=torch.bool)
        for k in range(2):
            top, lft = boxes[:, k, 0, None], boxes[:, k, 1, None]
            apart_rows = (place[..., 0] + DOT < top) | (place[..., 0] > top + SQUARE)
            apart_cols = (place[..., 1] + DOT < lft) | (place[..., 1] > lft + SQUARE)
            clear &= apart_rows | apart_cols
        pick = clear.float().argmax(1)
        chosen = place[torch.arange(n), pick]
        paint(chosen[:, 0], chosen[:, 1], DOT, randint(colours, (n,)), clear.any(1))
    for k, colour in enumerate((first, second)):
        paint(boxes[:, k, 0], boxes[:, k, 1], SQUARE, colour, torch.ones(n, dtype=torch.bool))
    return ColourPairs(images.to(device), same.to(device), boxes.to(device))
