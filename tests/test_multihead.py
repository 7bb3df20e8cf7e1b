"""MultiHeadAttention against torch.nn.MultiheadAttention with copied weights (float64, 1e-10)."""

import pytest
import torch
from torch import nn

import attnlab as al

B, TQ, TK, E, H = 2, 5, 7, 12, 3
TOL = {"rtol": 1e-10, "atol": 1e-10}


def pair(**kwargs):
    theirs = nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64, **kwargs)
    if theirs.in_proj_bias is not None:  # torch initialises biases to zero; make them matter
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    return al.MultiHeadAttention.from_torch(theirs), theirs.eval()


def inputs(kdim=E, vdim=E):
    f = lambda *s: torch.randn(*s, dtype=torch.float64)  # noqa: E731
    return f(B, TQ, E), f(B, TK, kdim), f(B, TK, vdim)


def allowed(*shape):
    mask = torch.rand(*shape) > 0.4
    mask[..., 0] = True
    return mask


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"kdim": 5, "vdim": 9}, {"kdim": 5, "vdim": 9, "bias": False}])
def test_matches_torch_without_mask(kwargs):
    ours, theirs = pair(**kwargs)
    q, k, v = inputs(kwargs.get("kdim", E), kwargs.get("vdim", E))
    out, weights = ours(q, k, v)
    expected, _ = theirs(q, k, v, need_weights=False)
    assert weights is None
    torch.testing.assert_close(out, expected, **TOL)


def test_key_padding_mask():
    ours, theirs = pair()
    q, k, v = inputs()
    keep = al.padding_mask([7, 3], TK)
    expected, _ = theirs(q, k, v, key_padding_mask=~keep, need_weights=False)
    torch.testing.assert_close(ours(q, k, v, keep[:, None, :])[0], expected, **TOL)


def test_causal_mask_for_self_attention():
    ours, theirs = pair()
    x = torch.randn(B, 6, E, dtype=torch.float64)
    mask = al.causal_mask(6)
    expected, _ = theirs(x, x, x, attn_mask=~mask, need_weights=False)
    torch.testing.assert_close(ours(x, x, x, mask)[0], expected, **TOL)


def test_per_batch_and_per_head_masks_follow_torch_batch_major_layout():
    ours, theirs = pair()
    q, k, v = inputs()
    per_batch = allowed(B, TQ, TK)
    expected, _ = theirs(q, k, v, attn_mask=(~per_batch).repeat_interleave(H, dim=0), need_weights=False)
    torch.testing.assert_close(ours(q, k, v, per_batch)[0], expected, **TOL)
    per_head = allowed(B, H, TQ, TK)
    expected, _ = theirs(q, k, v, attn_mask=(~per_head).reshape(B * H, TQ, TK), need_weights=False)
    torch.testing.assert_close(ours(q, k, v, per_head)[0], expected, **TOL)


def test_per_head_weights_match_torch():
    ours, theirs = pair(kdim=5, vdim=9)
    q, k, v = inputs(5, 9)
    mask = allowed(B, 1, TK)
    out, weights = ours(q, k, v, mask, need_weights=True)
    expected, expected_weights = theirs(q, k, v, key_padding_mask=~mask[:, 0], average_attn_weights=False)
    assert weights.shape == (B, H, TQ, TK)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(weights, expected_weights, **TOL)
    torch.testing.assert_close(ours(q, k, v, mask)[0], out, **TOL)  # fast and teaching paths agree


def test_gradients_match_torch():
    ours, theirs = pair()
    q, k, v = (t.requires_grad_() for t in inputs())
    r = torch.randn(B, TQ, E, dtype=torch.float64)
    (ours(q, k, v)[0] * r).sum().backward()
    ours_grads = [q.grad.clone(), ours.q_proj.weight.grad, ours.out_proj.bias.grad]
    q.grad = None
    (theirs(q, k, v, need_weights=False)[0] * r).sum().backward()
    torch.testing.assert_close(ours_grads[0], q.grad, **TOL)
    torch.testing.assert_close(ours_grads[1], theirs.in_proj_weight.grad[:E], **TOL)
    torch.testing.assert_close(ours_grads[2], theirs.out_proj.bias.grad, **TOL)


def test_fully_masked_query_gives_zero_heads_where_torch_gives_nan():
    ours, theirs = pair()
    q, k, v = inputs()
    mask = allowed(B, TQ, TK)
    mask[1, 2] = False
    out, weights = ours(q, k, v, mask, need_weights=True)
    assert torch.isfinite(out).all()
    assert torch.equal(weights[1, :, 2], torch.zeros(H, TK, dtype=torch.float64))
    # the heads are zero, so the output is the output projection's bias alone
    torch.testing.assert_close(out[1, 2], ours.out_proj.bias, **TOL)
    torch.testing.assert_close(ours(q, k, v, mask)[0], out, **TOL)
    reference, _ = theirs(q, k, v, attn_mask=(~mask).repeat_interleave(H, dim=0), need_weights=True)
    assert torch.isnan(reference[1, 2]).all()


def test_round_trip_to_torch_and_back_is_exact():
    ours = al.MultiHeadAttention(E, H, kdim=5, vdim=9, dropout=0.1).double()
    theirs = ours.to_torch()
    assert theirs.batch_first and theirs.dropout == 0.1 and theirs.in_proj_weight is None
    back = al.MultiHeadAttention.from_torch(theirs)
    for (name, a), (_, b) in zip(ours.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name
    q, k, v = inputs(5, 9)
    torch.testing.assert_close(ours.eval()(q, k, v)[0], theirs.eval()(q, k, v, need_weights=False)[0], **TOL)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_from_torch_keeps_dtype(dtype):
    theirs = nn.MultiheadAttention(E, H, batch_first=True, dtype=dtype)
    ours = al.MultiHeadAttention.from_torch(theirs)
    assert all(p.dtype == dtype for p in ours.parameters())
    x = torch.randn(B, TQ, E, dtype=dtype)
    out, _ = ours(x, x, x)
    assert out.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 3e-2
    torch.testing.assert_close(out, theirs(x, x, x, need_weights=False)[0], rtol=tol, atol=tol)


def test_self_attention_layer_is_permutation_equivariant():
    ours, _ = pair()
    x = torch.randn(B, 6, E, dtype=torch.float64)
    perm = torch.randperm(6)
    out, weights = ours(x, x, x, need_weights=True)
    out_p, weights_p = ours(x[:, perm], x[:, perm], x[:, perm], need_weights=True)
    torch.testing.assert_close(out_p, out[:, perm], **TOL)
    torch.testing.assert_close(weights_p, weights[:, :, perm][:, :, :, perm], **TOL)


def test_dropout_is_active_in_training_only():
    ours = al.MultiHeadAttention(E, H, dropout=0.5).double()
    x = torch.randn(B, TQ, E, dtype=torch.float64)
    assert not torch.equal(ours.train()(x, x, x)[0], ours(x, x, x)[0])
    ours.eval()
    torch.testing.assert_close(ours(x, x, x)[0], ours(x, x, x)[0], rtol=0, atol=0)
