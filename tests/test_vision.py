"""SAGAN's self-attention block: identity at initialisation, attention rows, pixel permutations."""

import pytest
import torch

import attnlab as al
from attnlab.vision import SelfAttention2d


def test_identity_at_initialisation_and_only_gamma_learns_first():
    block = SelfAttention2d(16).double()
    x = torch.randn(2, 16, 5, 6, dtype=torch.float64, requires_grad=True)
    y = block(x)
    assert torch.equal(y, x)
    (y * torch.randn_like(y)).sum().backward()
    assert block.gamma.grad.abs().item() > 0
    for name, p in block.named_parameters():
        if name != "gamma":
            assert torch.equal(p.grad, torch.zeros_like(p)), name


def test_attention_shape_rows_and_formula():
    block = SelfAttention2d(16, reduction=4).double()
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 16, 3, 4, dtype=torch.float64)
    y, weights = block(x, return_attention=True)
    assert weights.shape == (2, 12, 12)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 12, dtype=torch.float64))
    pixels = x.flatten(2).transpose(1, 2)  # (B, HW, C)
    g = pixels @ block.query.weight[:, :, 0, 0].T + block.query.bias
    f = pixels @ block.key.weight[:, :, 0, 0].T + block.key.bias
    h = pixels @ block.value.weight[:, :, 0, 0].T + block.value.bias
    beta = torch.softmax(g @ f.transpose(1, 2), dim=-1)  # unscaled, as in SAGAN
    torch.testing.assert_close(weights, beta, rtol=1e-12, atol=1e-12)
    expected = 0.7 * (beta @ h) + pixels
    torch.testing.assert_close(y.flatten(2).transpose(1, 2), expected, rtol=1e-12, atol=1e-12)


def test_permuting_pixels_permutes_the_output():
    block = SelfAttention2d(8, reduction=2).double()
    with torch.no_grad():
        block.gamma.fill_(1.3)
    x = torch.randn(1, 8, 4, 5, dtype=torch.float64)
    perm = torch.randperm(20)
    shuffled = x.flatten(2)[:, :, perm].view_as(x)
    y, y_shuffled = block(x), block(shuffled)
    torch.testing.assert_close(y_shuffled.flatten(2), y.flatten(2)[:, :, perm], rtol=1e-12, atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="reduction=8"):
        SelfAttention2d(4)
    with pytest.raises(ValueError, match="16 channels"):
        SelfAttention2d(16)(torch.randn(1, 8, 4, 4))


def test_colour_texture_features_and_the_photo():
    photo = al.data.chelsea()
    assert photo.shape == (3, 296, 448) and 0 <= photo.min() and photo.max() <= 1
    features = al.vision.colour_texture_features(photo[None], 8)
    assert features.shape == (1, 6, 37, 56)
    torch.testing.assert_close(features.norm(dim=1), torch.ones(1, 37, 56))
    # feature 0 is the patch's mean red, standardised and normalised: it still follows the red channel
    mean_red = torch.nn.functional.avg_pool2d(photo[None], 8)[0, 0].flatten()
    assert torch.corrcoef(torch.stack([mean_red, features[0, 0].flatten()]))[0, 1] > 0.5


def test_similarity_attention_prefers_similar_patches():
    """The CNN chapter's claim: with f = g = s I on unit features, attended patches are more alike than average."""
    features = al.vision.colour_texture_features(al.data.chelsea()[None], 16)
    block = SelfAttention2d(6, reduction=1)
    with torch.no_grad():
        for conv in (block.query, block.key):
            conv.weight.copy_(4.5 * torch.eye(6)[:, :, None, None])
            conv.bias.zero_()
        _, weights = block(features, return_attention=True)
    x = features.flatten(2).transpose(1, 2)[0]
    cosine = x @ x.T
    assert ((weights[0] * cosine).sum(-1) > cosine.mean(-1) + 0.3).all()


def test_image_attention_explorer_static_twin_has_a_frame_per_point():
    import re

    weights = torch.softmax(torch.randn(12, 12), -1)
    html = al.widgets.image_attention_explorer(torch.rand(3, 24, 32), weights, (3, 4), {"a": (0, 0), "b": (2, 3)},
                                               static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 2
    with pytest.raises(ValueError, match="weights"):
        al.widgets.image_attention_explorer(torch.rand(3, 24, 32), weights, (3, 5), {"a": (0, 0)})
