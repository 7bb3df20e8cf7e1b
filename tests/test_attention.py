"""The teaching path and the fast path against torch's SDPA, brute force, gradients and symmetry."""

import math

import pytest
import torch
import torch.nn.functional as F

import attnlab as al


def qkv(*lead, n_q=5, n_k=7, d=8, d_v=6, dtype=torch.float64, requires_grad=False):
    make = lambda *s: torch.randn(*lead, *s, dtype=dtype, requires_grad=requires_grad)  # noqa: E731
    return make(n_q, d), make(n_k, d), make(n_k, d_v)


def random_mask(*shape, keep_first=True):
    mask = torch.rand(*shape) > 0.5
    if keep_first:
        mask[..., 0] = True  # every query keeps a key, so that torch's reference is defined everywhere
    return mask


def test_attention_matches_brute_force_on_a_tiny_case():
    q, k, v = qkv(n_q=2, n_k=3, d=2, d_v=2)
    out, weights = al.attention(q, k, v)
    for i in range(2):
        scores = [sum(q[i, c].item() * k[j, c].item() for c in range(2)) / math.sqrt(2) for j in range(3)]
        exps = [math.exp(s) for s in scores]
        for j in range(3):
            assert weights[i, j].item() == pytest.approx(exps[j] / sum(exps), abs=1e-14)
        for c in range(2):
            assert out[i, c].item() == pytest.approx(sum(weights[i, j].item() * v[j, c].item() for j in range(3)))


@pytest.mark.parametrize("lead", [(), (3,), (2, 4)])
@pytest.mark.parametrize("masked", [False, True])
def test_both_paths_match_torch_sdpa(lead, masked):
    q, k, v = qkv(*lead)
    mask = random_mask(*lead, 5, 7) if masked else None
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(al.attention(q, k, v, mask)[0], expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(al.scaled_dot_product_attention(q, k, v, mask), expected, rtol=1e-10, atol=1e-10)


def test_mask_broadcasts_like_sdpa():
    q, k, v = qkv(2, 3)  # (B=2, H=3, ...)
    key_mask = random_mask(2, 1, 1, 7)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)
    torch.testing.assert_close(al.attention(q, k, v, key_mask)[0], expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("scale", [1.0, 0.25, 0.0])
def test_explicit_scale(scale):
    q, k, v = qkv(2)
    expected = F.scaled_dot_product_attention(q, k, v, scale=scale)
    torch.testing.assert_close(al.attention(q, k, v, scale=scale)[0], expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(al.scaled_dot_product_attention(q, k, v, scale=scale), expected, rtol=1e-10, atol=1e-10)


def test_scale_one_is_plain_dot_product_attention():
    q, k, v = qkv(2)
    _, weights = al.attention(q, k, v, scale=1.0)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(-2, -1), -1), rtol=0, atol=1e-14)


@pytest.mark.parametrize("n_q, n_k", [(6, 6), (3, 6), (6, 4)])
def test_is_causal_equals_causal_mask_even_when_lengths_differ(n_q, n_k):
    q, k, v = qkv(2, n_q=n_q, n_k=n_k)
    mask = al.causal_mask(n_q, n_k)
    expected = al.attention(q, k, v, mask)[0]
    torch.testing.assert_close(al.scaled_dot_product_attention(q, k, v, is_causal=True), expected, rtol=1e-10, atol=1e-10)
    extra = random_mask(2, n_q, n_k, keep_first=False)
    both = al.attention(q, k, v, mask & extra)[0]
    torch.testing.assert_close(al.scaled_dot_product_attention(q, k, v, extra, is_causal=True), both, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("path", ["teaching", "fast"])
def test_fully_masked_query_gets_zero_output_and_zero_weights(path):
    q, k, v = qkv(2)
    mask = random_mask(2, 5, 7)
    mask[1, 3] = False
    if path == "teaching":
        out, weights = al.attention(q, k, v, mask)
        assert torch.equal(weights[1, 3], torch.zeros(7, dtype=torch.float64))
    else:
        out = al.scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(out).all()
    assert torch.equal(out[1, 3], torch.zeros(6, dtype=torch.float64))
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    keep = mask.any(-1)
    torch.testing.assert_close(out[keep], reference[keep], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("path", ["teaching", "fast"])
def test_causality_shown_by_gradients(path):
    """d out_i / d x_j is zero exactly for the future keys j > i, and nonzero for the past."""
    n = 5
    x = torch.randn(1, n, 4, dtype=torch.float64, requires_grad=True)

    def run(x):
        if path == "teaching":
            return al.attention(x, x, x, al.causal_mask(n))[0]
        return al.scaled_dot_product_attention(x, x, x, is_causal=True)

    jacobian = torch.autograd.functional.jacobian(run, x)  # (1, n, 4, 1, n, 4)
    dependence = jacobian[0, :, :, 0].abs().sum(dim=(1, 3))  # (n, n): output position i, input position j
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    assert (dependence[future] == 0).all()
    assert (dependence[~future] > 1e-8).all()


@pytest.mark.parametrize("path", ["teaching", "fast"])
def test_self_attention_is_permutation_equivariant(path):
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    perm = torch.randperm(6)
    fn = (lambda x: al.attention(x, x, x)[0]) if path == "teaching" else (lambda x: al.scaled_dot_product_attention(x, x, x))
    torch.testing.assert_close(fn(x[:, perm]), fn(x)[:, perm], rtol=1e-12, atol=1e-12)
    _, weights = al.attention(x, x, x)
    _, permuted = al.attention(x[:, perm], x[:, perm], x[:, perm])
    torch.testing.assert_close(permuted, weights[:, perm][:, :, perm], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_dtype_is_kept_and_results_agree_across_dtypes(dtype):
    q, k, v = qkv(2, 3)
    mask = random_mask(2, 1, 5, 7)
    reference = al.attention(q, k, v, mask)[0]
    low = [t.to(dtype) for t in (q, k, v)]
    out, weights = al.attention(*low, mask)
    fast = al.scaled_dot_product_attention(*low, mask)
    assert out.dtype == weights.dtype == fast.dtype == dtype
    tol = {torch.float32: 1e-5, torch.float64: 1e-12, torch.bfloat16: 3e-2}[dtype]
    torch.testing.assert_close(out.double(), reference, rtol=tol, atol=tol)
    torch.testing.assert_close(fast.double(), reference, rtol=tol, atol=tol)


def test_dropout_drops_weights_and_keeps_expectation():
    q, k, v = qkv(n_q=1, n_k=3, d=4, d_v=1)
    runs = torch.stack([al.attention(q, k, v, dropout_p=0.5)[0] for _ in range(4000)])
    exact, weights = al.attention(q, k, v)
    assert (runs != exact).any()
    torch.testing.assert_close(runs.mean(0), exact, rtol=0.1, atol=0.1)
    torch.testing.assert_close(al.attention(q, k, v, dropout_p=0.5)[1], weights)  # weights are pre-dropout


@pytest.mark.parametrize("causal", [False, True])
def test_bias_is_added_to_the_scaled_scores_like_a_float_mask(causal):
    q, k, v = qkv(2, 3, n_q=6, n_k=6)
    bias = torch.randn(3, 6, 6, dtype=torch.float64)
    mask = random_mask(2, 1, 6, 6)
    both = mask & al.causal_mask(6) if causal else mask
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.masked_fill(~both, float("-inf")))
    out, weights = al.attention(q, k, v, both, bias=bias)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    fast = al.scaled_dot_product_attention(q, k, v, mask, bias=bias, is_causal=causal)
    torch.testing.assert_close(fast, expected, rtol=1e-10, atol=1e-10)
    scores = q @ k.transpose(-2, -1) / math.sqrt(8) + bias
    torch.testing.assert_close(weights, al.masked_softmax(scores, both), rtol=1e-12, atol=1e-12)


def test_bias_with_a_fully_masked_row_gives_zeros():
    q, k, v = qkv(n_q=3, n_k=4)
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1] = False
    out = al.scaled_dot_product_attention(q, k, v, mask, bias=torch.randn(3, 4, dtype=torch.float64))
    assert torch.equal(out[1], torch.zeros(6, dtype=torch.float64)) and torch.isfinite(out).all()


def test_float16_teaching_path_scales_before_the_product_so_it_does_not_overflow():
    """q . k = 102,400 overflows float16 (max 65,504); q . k / sqrt(64) = 12,800 does not."""
    q = torch.full((1, 2, 64), 40.0, dtype=torch.float16)
    k = torch.full((1, 3, 64), 40.0, dtype=torch.float16)
    k[0, 1] = -40.0
    v = torch.randn(1, 3, 4).to(torch.float16)
    assert torch.isinf(q @ k.transpose(-2, -1)).any()  # the product the old teaching path computed first
    out, weights = al.attention(q, k, v)
    reference = F.scaled_dot_product_attention(q.double(), k.double(), v.double())
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    torch.testing.assert_close(out.double(), reference, rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(al.scaled_dot_product_attention(q, k, v).double(), reference, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("path", ["teaching", "fast"])
def test_a_minus_inf_bias_on_every_key_is_a_fully_masked_row(path):
    q, k, v = qkv(2, requires_grad=True)
    bias = torch.randn(2, 5, 7, dtype=torch.float64)
    bias[:, 3] = float("-inf")
    bias.requires_grad_()
    out = al.attention(q, k, v, bias=bias)[0] if path == "teaching" else al.scaled_dot_product_attention(q, k, v, bias=bias)
    assert (out[:, 3] == 0).all() and torch.isfinite(out).all()
    grads = torch.autograd.grad((out * torch.randn_like(out)).sum(), [q, k, v, bias])
    assert all(torch.isfinite(g).all() for g in grads) and (grads[0][:, 3] == 0).all()
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    torch.testing.assert_close(out[:, [0, 1, 2, 4]], expected[:, [0, 1, 2, 4]], rtol=1e-10, atol=1e-10)
