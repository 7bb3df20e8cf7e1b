"""Block-local attention equals dense attention under its mask, for awkward sizes too."""

import pytest
import torch

import attnlab as al
from _images import fit_on_rectangles
from attnlab import local


@pytest.mark.parametrize("length, block", [(1, 1), (7, 3), (16, 4), (17, 4), (5, 8), (30, 7)])
def test_local_1d_equals_dense_attention_under_the_mask(length, block):
    q, k, v = (torch.randn(2, 3, length, 6, dtype=torch.float64) for _ in range(3))
    expected, _ = al.attention(q, k, v, local.local_mask_1d(length, block))
    torch.testing.assert_close(local.local_attention_1d(q, k, v, block_size=block), expected, rtol=1e-10, atol=1e-10)


def test_local_mask_1d_by_brute_force():
    mask = local.local_mask_1d(10, 3)
    for i in range(10):
        for j in range(10):
            assert mask[i, j].item() == (j <= i and j // 3 in (i // 3, i // 3 - 1))


@pytest.mark.parametrize("size, query_block, memory",
                         [((6, 6), (2, 2), (1, 1)), ((5, 7), (2, 3), (2, 1)), ((4, 4), (1, 4), (2, 0)),
                          ((3, 5), (3, 5), (0, 0)), ((7, 3), (2, 2), (3, 2))])
def test_local_2d_equals_dense_attention_under_the_mask(size, query_block, memory):
    H, W = size
    q, k, v = (torch.randn(2, H, W, 5, dtype=torch.float64) for _ in range(3))
    mask = local.local_mask_2d(H, W, query_block, memory)
    flat = lambda x: x.flatten(-3, -2)  # noqa: E731  raster order
    expected, _ = al.attention(flat(q), flat(k), flat(v), mask)
    out = local.local_attention_2d(q, k, v, query_block=query_block, memory=memory)
    torch.testing.assert_close(flat(out), expected, rtol=1e-10, atol=1e-10)


def test_local_mask_2d_by_brute_force():
    H, W, (h_q, w_q), (h_m, w_m) = 5, 6, (2, 3), (1, 1)
    mask = local.local_mask_2d(H, W, (h_q, w_q), (h_m, w_m))
    for a in range(H * W):
        r, c = divmod(a, W)
        R, C = r // h_q, c // w_q
        for b in range(H * W):
            r2, c2 = divmod(b, W)
            inside = R * h_q - h_m <= r2 < (R + 1) * h_q and C * w_q - w_m <= c2 < (C + 1) * w_q + w_m
            assert mask[a, b].item() == (inside and b <= a)


def test_dtype_is_kept():
    q = torch.randn(1, 9, 4, dtype=torch.bfloat16)
    assert local.local_attention_1d(q, q, q, block_size=4).dtype == torch.bfloat16
    x = torch.randn(1, 20, 20, 4, dtype=torch.bfloat16)
    out = local.local_attention_2d(x, x, x, query_block=(4, 4), memory=(2, 2))
    reference = local.local_attention_2d(*(x.double() for _ in range(3)), query_block=(4, 4), memory=(2, 2))
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.double(), reference, rtol=3e-2, atol=3e-2)


def test_bad_arguments():
    x = torch.randn(1, 8, 4)
    with pytest.raises(ValueError, match="block_size"):
        local.local_attention_1d(x, x, x, block_size=0)
    with pytest.raises(ValueError, match="memory"):
        local.local_mask_2d(4, 4, (2, 2), (-1, 0))
    with pytest.raises(ValueError, match=r"query_block \(4, 4\) is larger than the image \(3, 8\)"):
        local.local_attention_2d(*(torch.randn(1, 3, 8, 4) for _ in range(3)), query_block=(4, 4), memory=(1, 1))
    with pytest.raises(ValueError, match="query_block"):
        local.local_mask_2d(4, 4, (2, 5), (0, 0))
    with pytest.raises(ValueError, match="equal shapes"):
        local.local_attention_1d(x, x[:, :5], x, block_size=2)


def test_local_self_attention_layer_equals_multihead_attention_under_the_mask():
    layer = local.LocalSelfAttention(12, 3, block_size=4).double()
    x = torch.randn(2, 11, 12, dtype=torch.float64)
    dense = al.MultiHeadAttention(12, 3).double()
    dense.load_state_dict(layer.state_dict())  # the same projections, attending densely under the local mask
    expected, _ = dense(x, x, x, local.local_mask_1d(11, 4))
    out, weights = layer(x)
    assert weights is None
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


def test_local_image_transformer_is_causal_in_raster_order():
    """Brute force: flipping pixel j changes only the predictions for pixels after j."""
    model = local.LocalImageTransformer(4, d_model=16, num_heads=2, num_layers=2, block_size=4).eval()
    x = torch.randint(0, 2, (3, 1, 4, 4)).float()
    with torch.no_grad():
        base = model(x).flatten(1)
        for j in range(16):
            flipped = x.clone().view(3, -1)
            flipped[:, j] = 1 - flipped[:, j]
            changed = (model(flipped.view_as(x)).flatten(1) != base).any(0)
            assert not changed[: j + 1].any(), j
            assert changed[j + 1:].any() or j == 15


def test_local_image_transformer_learns_and_samples():
    model = local.LocalImageTransformer(8, d_model=16, num_heads=2, num_layers=2, block_size=16)
    test, nll, independent = fit_on_rectangles(model, steps=200, batch=32, n_test=300)
    assert nll < 0.7 * independent
    prefix = test[:3, :, :2]
    samples = model.sample(3, prefix=prefix, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples[:, :, :2], prefix)


def test_blocks_explorer_has_a_frame_per_block():
    import re

    html = al.widgets.local_blocks_explorer(6, 8, (3, 4), (2, 2), static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 4
