import random

import numpy as np
import pytest
import torch

import attnlab as al


def test_get_device_prefers_an_accelerator_and_can_be_forced_to_cpu():
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert al.get_device().type == expected
    assert al.get_device("cpu") == torch.device("cpu")
    assert al.get_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_a_missing_device_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="no cuda device"):
        al.get_device("cuda")


def test_seed_everything_makes_every_generator_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3)

    al.seed_everything(7)
    first = draw()
    al.seed_everything(7)
    second = draw()
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])
    al.seed_everything(8)
    assert draw()[0] != first[0]
