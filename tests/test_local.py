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
@pytest.mark.parametrize("order", ["block", "raster"])
def test_local_2d_equals_dense_attention_under_the_mask(size, query_block, memory, order):
    H, W = size
    q, k, v = (torch.randn(2, H, W, 5, dtype=torch.float64) for _ in range(3))
    mask = local.local_mask_2d(H, W, query_block, memory, order=order)
    flat = lambda x: x.flatten(-3, -2)  # noqa: E731  raster order
    expected, _ = al.attention(flat(q), flat(k), flat(v), mask)
    out = local.local_attention_2d(q, k, v, query_block=query_block, memory=memory, order=order)
    torch.testing.assert_close(flat(out), expected, rtol=1e-10, atol=1e-10)


def generation_order_by_loops(H, W, h_q, w_q):
    """The oracle for the paper's order (Parmar et al., section 3.2): query blocks in raster order, then raster
    order inside each block; returns {(r, c): step}."""
    steps = {}
    for R in range(-(-H // h_q)):
        for C in range(-(-W // w_q)):
            for r in range(R * h_q, min((R + 1) * h_q, H)):
                for c in range(C * w_q, min((C + 1) * w_q, W)):
                    steps[r, c] = len(steps)
    return steps


@pytest.mark.parametrize("order", ["block", "raster"])
def test_local_mask_2d_by_brute_force(order):
    H, W, (h_q, w_q), (h_m, w_m) = 5, 7, (2, 3), (1, 1)
    mask = local.local_mask_2d(H, W, (h_q, w_q), (h_m, w_m), order=order)
    step = generation_order_by_loops(H, W, h_q, w_q) if order == "block" else \
        {(r, c): r * W + c for r in range(H) for c in range(W)}
    for a in range(H * W):
        r, c = divmod(a, W)
        R, C = r // h_q, c // w_q
        for b in range(H * W):
            r2, c2 = divmod(b, W)
            inside = R * h_q - h_m <= r2 < (R + 1) * h_q and C * w_q - w_m <= c2 < (C + 1) * w_q + w_m
            assert mask[a, b].item() == (inside and step[r2, c2] <= step[r, c])


def test_block_raster_order_by_loops():
    for H, W, qb in [(5, 7, (2, 3)), (4, 4, (2, 2)), (3, 5, (3, 5)), (6, 4, (1, 4))]:
        step = generation_order_by_loops(H, W, *qb)
        expected = sorted(step, key=step.get)
        order = local.block_raster_order(H, W, qb)
        assert [divmod(i, W) for i in order.tolist()] == expected


def test_block_order_hides_the_memory_to_the_right_of_the_query_block():
    """In the paper's order the blocks to the right, in the query block's own rows, are not generated yet; in
    global raster order their upper rows are."""
    H, W, qb, mem = 4, 8, (2, 2), (2, 2)
    first_query_of_block_1_1 = 2 * W + 2  # pixel (2, 2)
    right = [r * W + c for r in (2, 3) for c in (4, 5)]  # rows of block (1, 1), columns of the memory to its right
    block = local.local_mask_2d(H, W, qb, mem)[first_query_of_block_1_1, right]
    raster = local.local_mask_2d(H, W, qb, mem, order="raster")[3 * W + 3, right]  # last pixel of the block
    assert not block.any()
    assert raster[:2].all()  # (2, 4), (2, 5) precede (3, 3) in raster order


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


def test_local_self_attention_2d_equals_multihead_attention_under_the_mask():
    layer = local.LocalSelfAttention2d(12, 3, (5, 6), (2, 3), (1, 2)).double()
    dense_layer = local.LocalSelfAttention2d(12, 3, (5, 6), (2, 3), (1, 2), dense=True).double()
    dense_layer.load_state_dict(layer.state_dict())
    reference = al.MultiHeadAttention(12, 3).double()
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 30, 12, dtype=torch.float64)
    torch.testing.assert_close(layer(x, x, x)[0], reference(x, x, x, local.local_mask_2d(5, 6, (2, 3), (1, 2)))[0],
                               rtol=1e-10, atol=1e-10)
    causal = local.local_mask_2d(5, 6, (2, 3), (5, 6))  # every earlier pixel in block-raster order
    torch.testing.assert_close(dense_layer(x, x, x)[0], reference(x, x, x, causal)[0], rtol=1e-10, atol=1e-10)
    order = local.block_raster_order(5, 6, (2, 3))
    assert torch.equal(causal[order][:, order], al.causal_mask(30))  # dense = causal in generation order


@pytest.mark.parametrize("attention", ["local", "dense"])
def test_super_resolution_transformer_is_causal_in_block_raster_order(attention):
    """Brute force: flipping the pixel generated at step s changes only the predictions of later steps."""
    model = local.SuperResolutionTransformer(2, 4, d_model=16, num_heads=2, num_layers=2, query_block=(2, 2),
                                             memory=(1, 1), attention=attention).eval()
    low = torch.rand(3, 1, 2, 2)
    x = torch.randint(0, 2, (3, 1, 4, 4)).float()
    order = local.block_raster_order(4, 4, (2, 2)).tolist()
    with torch.no_grad():
        base = model(low, x).flatten(1)[:, order]  # predictions in generation order
        for s, j in enumerate(order):
            flipped = x.clone().view(3, -1)
            flipped[:, j] = 1 - flipped[:, j]
            changed = (model(low, flipped.view_as(x)).flatten(1)[:, order] != base).any(0)
            assert not changed[: s + 1].any(), s
            assert changed[s + 1:].any() or s == 15
        other = model(torch.rand(3, 1, 2, 2), x).flatten(1)[:, order]
        assert (other != base).any(0).all()  # every pixel depends on the low-resolution image


def test_a_raster_order_decoder_would_fail_the_block_order_causality_check():
    """The causality check is not vacuous: with 2 x 2 blocks of a 4 x 4 image, pixel (1, 1) is step 3 of the
    block order and (0, 3) step 5, but in raster order (0, 3) = 3 comes before (1, 1) = 5, so a raster-order mask
    lets (1, 1) see a pixel generated after it."""
    raster = local.local_mask_2d(4, 4, (2, 2), (4, 4), order="raster")
    order = local.block_raster_order(4, 4, (2, 2))
    assert not torch.equal(raster[order][:, order], al.causal_mask(16))
    assert raster[1 * 4 + 1, 0 * 4 + 3]  # (1, 1) may attend (0, 3), which block order generates after it


def test_super_resolution_transformer_bad_arguments():
    model = local.SuperResolutionTransformer(2, 4, d_model=8, num_heads=2, num_layers=1, query_block=(2, 2),
                                             memory=(1, 1))
    with pytest.raises(ValueError, match="low"):
        model(torch.rand(1, 1, 3, 3), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="binary"):
        model(torch.rand(1, 1, 2, 2), torch.full((1, 1, 4, 4), 0.5))
    with pytest.raises(ValueError, match="attention"):
        local.SuperResolutionTransformer(2, 4, attention="global")
    with pytest.raises(ValueError, match="self-attention only"):
        layer = local.LocalSelfAttention2d(8, 2, (2, 2), (1, 1), (1, 1))
        x = torch.randn(1, 4, 8)
        layer(x, x.clone(), x)


def test_the_chapters_memory_check_measures_the_computation():
    """Chapter 16 records the largest tensor an operation returns: local attention's stays O(T b), while the dense
    computation (what a broken 'local' implementation would do) creates the T x T score matrix."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class LargestTensor(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.bytes = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    self.bytes = max(self.bytes, t.untyped_storage().nbytes())
            return out

    T, b = 1024, 64
    q = torch.randn(1, T, 16)
    mask = local.local_mask_1d(T, b)
    with torch.no_grad(), LargestTensor() as blocked:
        local.local_attention_1d(q, q, q, block_size=b)
    with torch.no_grad(), LargestTensor() as dense:
        al.attention(q, q, q, mask)
    assert blocked.bytes <= T * 2 * b * 4 < T * T * 4 <= dense.bytes
