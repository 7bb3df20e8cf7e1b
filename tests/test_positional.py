"""The sinusoidal encoding's closed-form properties (Vaswani et al. 2017, section 3.5)."""

import math

import pytest
import torch

import attnlab as al


def test_matches_the_formula_entry_by_entry():
    pe = al.sinusoidal_encoding(20, 8, dtype=torch.float64)
    for pos in range(20):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-14)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-14)


def test_position_zero_bounds_and_norm():
    pe = al.sinusoidal_encoding(500, 64, dtype=torch.float64)
    assert torch.equal(pe[0], torch.tensor([0.0, 1.0] * 32, dtype=torch.float64))
    assert pe.abs().max() <= 1.0
    torch.testing.assert_close((pe**2).sum(-1), torch.full((500,), 32.0, dtype=torch.float64))


def test_shift_is_a_rotation_independent_of_position():
    d, k = 16, 7
    pe = al.sinusoidal_encoding(100, d, dtype=torch.float64)
    w = 10000 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    M = torch.zeros(d, d, dtype=torch.float64)
    for i, angle in enumerate(w * k):  # each (sin, cos) pair turns by w_i k
        c, s = torch.cos(angle), torch.sin(angle)
        M[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.stack([torch.stack([c, s]), torch.stack([-s, c])])
    torch.testing.assert_close(pe[:-k] @ M.T, pe[k:], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(al.positional.shift_rotation(k, d), M, rtol=0, atol=1e-15)
    assert torch.allclose(M @ M.T, torch.eye(d, dtype=torch.float64))  # a rotation: lengths are kept


def test_dot_product_depends_only_on_offset_and_is_symmetric():
    d = 32
    pe = al.sinusoidal_encoding(200, d, dtype=torch.float64)
    w = 10000 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    for k in (1, 5, 40):
        expected = torch.cos(w * k).sum()
        forward = (pe[:-k] * pe[k:]).sum(-1)
        torch.testing.assert_close(forward, expected.expand_as(forward), rtol=1e-10, atol=1e-10)
    assert (pe[50] @ pe[53]).item() == pytest.approx((pe[50] @ pe[47]).item(), abs=1e-10)


def test_positions_are_unique_and_dtype_device_follow_arguments():
    pe = al.sinusoidal_encoding(1000, 32)
    assert pe.dtype == torch.float32 and pe.shape == (1000, 32)
    distances = torch.cdist(pe, pe) + torch.eye(1000) * 10
    assert distances.min() > 1e-3
    assert al.sinusoidal_encoding(4, 8, dtype=torch.bfloat16).dtype == torch.bfloat16


def test_the_naive_encodings():
    ints = al.positional.integer_encoding(1000, 4)
    assert ints[999].tolist() == [999.0] * 4
    short, long = al.positional.normalised_encoding(10, 4), al.positional.normalised_encoding(100, 4)
    assert short.max() == long.max() == 1.0
    assert (short[4] - short[3])[0].item() == pytest.approx(1 / 9) and (long[4] - long[3])[0].item() == pytest.approx(1 / 99)
