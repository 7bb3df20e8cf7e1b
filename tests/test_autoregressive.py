"""Masked dense and convolutional layers: exact masks, and Jacobians zero at and after each position."""

import pytest
import torch

import attnlab as al
from _images import fit_on_rectangles
from attnlab import autoregressive as ar

STRICTLY_PAST = lambda n: torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-1)  # noqa: E731


def test_conv_mask_patterns_are_exact():
    assert torch.equal(ar.conv_mask(3, "A"), torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(ar.conv_mask(3, "B"), torch.tensor([[1.0, 1, 1], [1, 1, 0], [0, 0, 0]]))
    five_a = torch.tensor([[1.0] * 5, [1.0] * 5, [1, 1, 0, 0, 0], [0] * 5, [0] * 5])
    assert torch.equal(ar.conv_mask(5, "A"), five_a)
    five_b = five_a.clone()
    five_b[2, 2] = 1
    assert torch.equal(ar.conv_mask(5, "B"), five_b)


@pytest.mark.parametrize("mask_type, diagonal", [("A", -1), ("B", 0)])
def test_masked_conv_sees_only_the_past_in_raster_order(mask_type, diagonal):
    conv = ar.MaskedConv2d(1, 1, 5, mask_type).double()
    deps = ar.dependencies(conv, torch.randn(4, 1, 6, 6, dtype=torch.float64))
    allowed = torch.tril(torch.ones(36, 36, dtype=torch.bool), diagonal=diagonal)
    assert not (deps & ~allowed).any()
    assert deps[14, 7] and deps[14, 13]  # pixel (2, 2) sees (1, 1) above-left and (2, 1) to its left
    assert deps[14, 14] == (mask_type == "B")


def test_masked_weights_get_no_gradient():
    conv = ar.MaskedConv2d(2, 3, 3, "A")
    conv(torch.randn(2, 2, 5, 5)).sum().backward()
    assert (conv.weight.grad[:, :, 1, 1:] == 0).all() and (conv.weight.grad[:, :, 2] == 0).all()


def test_made_masks_follow_the_degree_rule():
    g = torch.Generator().manual_seed(0)
    degrees = ar.made_degrees(6, [10, 7], generator=torch.Generator().manual_seed(0))
    masks = ar.made_masks(6, [10, 7], generator=g)
    for k, mask in enumerate(masks[:-1]):
        for out in range(mask.shape[0]):
            for inp in range(mask.shape[1]):
                assert mask[out, inp] == float(degrees[k + 1][out] >= degrees[k][inp])
    for out in range(6):
        for inp in range(7):
            assert masks[-1][out, inp] == float(out + 1 > degrees[-1][inp])
    for later, earlier in zip(degrees[1:], degrees):
        assert later.min() >= earlier.min() and later.max() <= 5


@pytest.mark.parametrize("model", [lambda: ar.MADE(12, [32, 32]), lambda: ar.PixelCNN(8, 2)])
def test_jacobian_is_zero_at_and_after_each_position_and_across_the_batch(model):
    net = model().double().eval()
    x = torch.rand(6, 12, dtype=torch.float64) if isinstance(net, ar.MADE) else torch.rand(6, 1, 5, 5, dtype=torch.float64)
    deps = ar.dependencies(net, x)
    n = deps.shape[0]
    assert not (deps & ~STRICTLY_PAST(n)).any()
    assert deps[n - 1].sum() >= 3  # the last position does see the past
    x = x.clone().requires_grad_(True)
    net(x)[0].sum().backward()
    assert (x.grad[1:] == 0).all()  # example 0's outputs never see example 1..5


def test_causal_attention_is_prefix_consistent():
    mha = al.MultiHeadAttention(8, 2).double().eval()
    x = torch.randn(1, 9, 8, dtype=torch.float64)
    full, _ = mha(x, x, x, al.causal_mask(9))
    for t in range(1, 9):
        prefix, _ = mha(x[:, :t], x[:, :t], x[:, :t], al.causal_mask(t))
        torch.testing.assert_close(prefix, full[:, :t], rtol=1e-12, atol=1e-12)


def test_rectangles_are_valid_and_deterministic():
    a = al.data.rectangles(50, 8, generator=torch.Generator().manual_seed(2))
    b = al.data.rectangles(50, 8, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and al.data.is_rectangle(a).all()
    broken = a.clone()
    broken[:, :, -1] = 1 - broken[:, :, -1]  # flip the bottom row
    assert not al.data.is_rectangle(broken).any()


def test_sampling_keeps_the_prefix_and_training_beats_independent_pixels():
    model = ar.PixelCNN(16, 2)
    test, nll, independent = fit_on_rectangles(model, steps=300, batch=64, n_test=500)
    assert nll < 0.5 * independent
    prefix = test[:4, :, :3]
    samples = model.sample(4, 8, prefix=prefix, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples[:, :, :3], prefix) and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_bad_arguments():
    with pytest.raises(ValueError, match="mask_type"):
        ar.MaskedConv2d(1, 1, 3, "C")
    with pytest.raises(ValueError, match="odd"):
        ar.conv_mask(4, "A")
    with pytest.raises(ValueError, match="d_in"):
        ar.MADE(1, [4])
    with pytest.raises(ValueError, match="hidden_sizes"):
        ar.MADE(4, [])
    with pytest.raises(ValueError, match="features"):
        ar.MADE(4, [8])(torch.randn(2, 5))
