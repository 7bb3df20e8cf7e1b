"""Photos shipped inside installed packages (nothing is downloaded).

Book: used by chapter 15 (notebooks/15_self_attention_in_a_cnn.ipynb).
"""

from __future__ import annotations

import torch


def chelsea() -> torch.Tensor:
    """scikit-image's photo of Chelsea the cat as ``(3, 296, 448)`` floats in [0, 1], cropped from 300 x 451 so that
    both sides are multiples of 8 (feature grids of 8-pixel cells cover it exactly)."""
    try:
        from skimage import data
    except ImportError as error:  # scikit-image is in requirements.txt and preinstalled on Colab
        raise ImportError("chelsea() needs scikit-image: pip install scikit-image") from error
    return torch.tensor(data.chelsea()[:296, :448], dtype=torch.float32).permute(2, 0, 1) / 255
