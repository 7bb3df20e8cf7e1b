"""Chapter 15's photo and its attention explorer (SAGAN's block itself: tests/test_sagan.py)."""

import re

import pytest
import torch

import attnlab as al


def test_the_photo_is_shipped_and_cropped_to_multiples_of_8():
    photo = al.data.chelsea()
    assert photo.shape == (3, 296, 448) and 0 <= photo.min() and photo.max() <= 1
    assert photo.dtype == torch.float32


def test_image_attention_explorer_static_twin_has_a_frame_per_point():
    weights = torch.softmax(torch.randn(12, 12), -1)
    html = al.widgets.image_attention_explorer(torch.rand(3, 24, 32), weights, (3, 4), {"a": (0, 0), "b": (2, 3)},
                                               static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 2
    with pytest.raises(ValueError, match="weights"):
        al.widgets.image_attention_explorer(torch.rand(3, 24, 32), weights, (3, 5), {"a": (0, 0)})
