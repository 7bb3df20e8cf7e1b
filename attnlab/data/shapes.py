"""Small binary images of rectangle outlines, for autoregressive image models that train in seconds.

Book: used by chapters 9 (notebooks/09_masked_attention.ipynb) and 16 (notebooks/16_local_attention.ipynb).
"""

from __future__ import annotations

import torch

from .. import _checks


def rectangles(n: int, size: int = 8, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(n, 1, size, size)`` images in {0, 1}, each the outline of one axis-aligned rectangle with sides of at
    least 3 pixels, at a random place."""
    n = _checks.positive_int("rectangles", "n", n)
    size = _checks.positive_int("rectangles", "size", size, minimum=4)
    images = torch.zeros(n, 1, size, size)
    corners = torch.randint(0, size - 2, (n, 2), generator=generator)
    for b, (top, left) in enumerate(corners.tolist()):
        bottom = top + 2 + int(torch.randint(0, size - top - 2, (1,), generator=generator))
        right = left + 2 + int(torch.randint(0, size - left - 2, (1,), generator=generator))
        images[b, 0, top:bottom + 1, [left, right]] = 1.0
        images[b, 0, [top, bottom], left:right + 1] = 1.0
    return images


def is_rectangle(images: torch.Tensor) -> torch.Tensor:
    """For ``(n, 1, H, W)`` binary images, True where the image is exactly one rectangle outline with sides of at
    least 3 pixels (what ``rectangles`` draws): the outline of the bounding box of its pixels, and nothing else."""
    _checks.tensor("is_rectangle", "images", images, ndim=4)
    result = []
    for image in images[:, 0] > 0.5:
        rows, cols = image.any(1).nonzero().flatten(), image.any(0).nonzero().flatten()
        if len(rows) == 0:
            result.append(False)
            continue
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        outline = torch.zeros_like(image)
        outline[top:bottom + 1, [left, right]] = True
        outline[[top, bottom], left:right + 1] = True
        result.append(bool(torch.equal(outline, image)) and bottom - top >= 2 and right - left >= 2)
    return torch.tensor(result)
