"""Property-based tests of the attention contract (Hypothesis): random batch shapes, lengths, widths, dtypes, masks
(fully masked rows and batches included), -inf biases and scales.

For every drawn case: the teaching path, the fast path and torch's ``F.scaled_dot_product_attention`` agree where
torch defines the result (rows with at least one allowed key); a row with no allowed key gives a zero output and
zero, finite gradients on both paths; nothing is NaN; dtype and device are kept. ``MultiHeadAttention`` agrees with
``nn.MultiheadAttention`` through ``from_torch``. The profile (tests/conftest.py) is derandomised for CI.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import attnlab as al

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
# Agreement between two computations in the same dtype, or with a float64 reference (absolute = relative).
TOLERANCE = {torch.float16: 2e-2, torch.bfloat16: 1e-1, torch.float32: 2e-5, torch.float64: 1e-10}


@st.composite
def cases(draw):
    """``(q, k, v, mask or None, bias or None, scale or None)`` on the CPU, leaves requiring gradients."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    n_q, n_k = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    d, d_v = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    dtype = draw(st.sampled_from(DTYPES))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).to(dtype).requires_grad_()

    q, k, v = randn(*lead, n_q, d), randn(*lead, n_k, d), randn(*lead, n_k, d_v)
    mask = bias = None
    kind = draw(st.sampled_from(["none", "full", "keys", "empty_rows", "empty_batch"]))
    if kind != "none":
        shape = (*lead, 1, n_k) if kind == "keys" else (*lead, n_q, n_k)
        mask = torch.rand(*shape, generator=generator) > draw(st.sampled_from([0.2, 0.5, 0.8]))
        if kind == "empty_rows":
            mask[..., draw(st.integers(0, n_q - 1)), :] = False  # one query with no key in every batch
        if kind == "empty_batch" and lead:
            mask[(0,) * len(lead)] = False  # a whole batch entry with no key anywhere
    if draw(st.booleans()):
        bias = torch.randn(*lead, n_q, n_k, generator=generator, dtype=torch.float64)
        bias = bias.masked_fill(torch.rand(*lead, n_q, n_k, generator=generator) < draw(st.sampled_from([0.0, 0.3, 1.0])),
                                float("-inf")).to(dtype).requires_grad_()
    scale = draw(st.sampled_from([None, 1.0, 0.3, 0.05]))
    return q, k, v, mask, bias, scale


def allowed_keys(q, k, mask, bias) -> torch.Tensor:
    """``(..., Tq, Tk)``: which keys each query may attend (the mask, and a bias that is not -inf)."""
    allowed = torch.ones(*q.shape[:-1], k.shape[-2], dtype=torch.bool)
    if mask is not None:
        allowed = allowed & mask
    if bias is not None:
        allowed = allowed & (bias != float("-inf"))
    return allowed


def run(path, q, k, v, mask, bias, scale):
    """Output and gradients of ``(out * r).sum()`` with respect to q, k, v (and the bias)."""
    leaves = [q, k, v] + ([bias] if bias is not None else [])
    if path == "teaching":
        out = al.attention(q, k, v, mask, bias=bias, scale=scale)[0]
    else:
        out = al.scaled_dot_product_attention(q, k, v, mask, bias=bias, scale=scale)
    r = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape).to(out.dtype)
    grads = torch.autograd.grad((out * r).sum(), leaves, allow_unused=True)
    return out, [torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads)]


def close(actual, expected, dtype):
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(actual.double(), expected.double(), rtol=tol, atol=tol)


@given(cases())
def test_teaching_path_fast_path_and_torch_agree_and_stay_finite(case):
    q, k, v, mask, bias, scale = case
    dtype = q.dtype
    allowed = allowed_keys(q, k, mask, bias)
    empty = ~allowed.any(-1)  # (..., Tq): queries with no allowed key
    results = {path: run(path, q, k, v, mask, bias, scale) for path in ("teaching", "fast")}
    for out, grads in results.values():
        assert out.dtype == dtype and out.device == q.device and out.shape == (*q.shape[:-1], v.shape[-1])
        assert torch.isfinite(out).all()
        assert all(torch.isfinite(g).all() for g in grads)
        assert (out[empty] == 0).all()  # zero output where no key is allowed
        assert (grads[0][empty] == 0).all()  # and no gradient reaches those queries
    (out_t, grads_t), (out_f, grads_f) = results["teaching"], results["fast"]
    close(out_f, out_t, dtype)
    if dtype in (torch.float32, torch.float64):  # gradients agree too (low precision: only finite, above)
        for g_t, g_f in zip(grads_t, grads_f):
            close(g_f, g_t, dtype)

    # torch's own kernel, in float64 on the same rounded inputs, where it defines the result
    attn_mask = None if bias is None else bias.detach().double()
    if mask is not None:
        attn_mask = mask if attn_mask is None else attn_mask.masked_fill(~mask, float("-inf"))
    with torch.no_grad():
        reference = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), attn_mask=attn_mask,
                                                   scale=scale)
    defined = ~empty
    close(out_t.detach()[defined], reference[defined], dtype)


@st.composite
def mha_cases(draw):
    batch, n_q, n_k = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    heads, d_head = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    kdim, vdim = draw(st.sampled_from([None, 3])), draw(st.sampled_from([None, 5]))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    key_mask = torch.rand(batch, n_k, generator=generator) > draw(st.sampled_from([0.0, 0.5, 1.0]))
    return batch, n_q, n_k, heads, d_head, dtype, kdim, vdim, key_mask, generator


@given(mha_cases())
def test_multi_head_attention_matches_torch_through_from_torch(case):
    batch, n_q, n_k, heads, d_head, dtype, kdim, vdim, key_mask, generator = case
    d_model = heads * d_head
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    theirs = nn.MultiheadAttention(d_model, heads, kdim=kdim, vdim=vdim, batch_first=True, dtype=dtype).eval()
    ours = al.MultiHeadAttention.from_torch(theirs).eval()
    query = torch.randn(batch, n_q, d_model, dtype=dtype, generator=generator)
    key = torch.randn(batch, n_k, kdim or d_model, dtype=dtype, generator=generator)
    value = torch.randn(batch, n_k, vdim or d_model, dtype=dtype, generator=generator)
    mask = key_mask[:, None, :]  # (B, 1, Tk), True = may attend
    expected, expected_weights = theirs(query, key, value, key_padding_mask=~key_mask, average_attn_weights=False)
    defined = key_mask.any(-1)  # torch gives NaN for a batch entry whose keys are all masked
    for need_weights in (False, True):
        out, weights = ours(query, key, value, mask, need_weights=need_weights)
        assert out.dtype == dtype and torch.isfinite(out).all()
        close(out[defined], expected[defined], dtype)
        assert (out[~defined] == ours.out_proj.bias.detach()).all()  # zero heads, then the output projection
        if need_weights:
            close(weights[defined], expected_weights[defined], dtype)
            assert (weights[~defined] == 0).all()


# ---- fully masked rows are finite by construction, whatever the kernel does with them ----

def nan_kernel(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """A stand-in for a fused kernel that returns NaN for a query with no allowed key (as older torch releases and
    some GPU kernels do): plain softmax over -inf scores."""
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        attn_mask = al.causal_mask(q.shape[-2], k.shape[-2])
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    return torch.softmax(scores, -1) @ v


def test_the_stand_in_kernel_does_return_nan_on_a_fully_masked_row():
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False
    out = nan_kernel(q, k, v, attn_mask=mask)
    assert torch.isnan(out[1]).all() and torch.isfinite(out[[0, 2]]).all()


@pytest.mark.parametrize("how", ["mask", "bias", "causal", "mask_and_bias"])
def test_fast_path_is_finite_in_both_passes_even_with_a_kernel_that_returns_nan(monkeypatch, how):
    monkeypatch.setattr(F, "scaled_dot_product_attention", nan_kernel)
    q = torch.randn(2, 4, 6, 8, dtype=torch.float64, requires_grad=True)
    n_k = 3 if how == "causal" else 6  # causal with more queries than keys: the first queries see no key
    k = torch.randn(2, 4, n_k, 8, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 4, n_k, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(2, 1, 6, n_k) > 0.3
    mask[:, :, 2] = False
    bias = torch.randn(2, 4, 6, n_k, dtype=torch.float64)
    bias[:, :, 4] = float("-inf")
    bias.requires_grad_()
    kwargs = {"mask": dict(mask=mask), "bias": dict(bias=bias), "causal": dict(is_causal=True),
              "mask_and_bias": dict(mask=mask, bias=bias)}[how]
    out = al.scaled_dot_product_attention(q, k, v, **kwargs)
    leaves = [q, k, v] + ([bias] if "bias" in kwargs else [])
    grads = torch.autograd.grad((out * torch.randn_like(out)).sum(), leaves)
    assert torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads)
    expected = al.attention(q, k, v, kwargs.get("mask", al.causal_mask(6, n_k) if how == "causal" else None),
                            bias=kwargs.get("bias"))[0]
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
