"""The main claims of chapters 7-9, each with its assert, and the same assert failing on a broken input or model.

Chapter 7: the gradient that reaches the query (autograd against the chain rule by hand; heavy-tailed without the
scale, flat in d with it; applying the scale twice breaks the claim). Chapter 8: cross-attention treats its keys
and values as a set; the order-sensitive controls of the set experiment really are order-sensitive. Chapter 9:
MADE built by hand equals the package's; MADE in any order; the data's exact entropy; the mask explorer.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlab as al
from attnlab import autoregressive as ar

DIMS = [4, 16, 64, 256, 1024]


# ---- chapter 7 ----

def test_query_gradients_equal_the_chain_rule_by_hand():
    """dL/dq = c K^T J v, with J the softmax Jacobian: the oracle for query_key_gradients's autograd."""
    for scale in (None, 1.0):
        d, n, trials = 16, 10, 7
        got = al.saturation.query_key_gradients(d, scale=scale, n_keys=n, trials=trials, chunk=3,
                                                generator=torch.Generator().manual_seed(5))
        g = torch.Generator().manual_seed(5)
        c = 1 / math.sqrt(d) if scale is None else scale
        expected_q, expected_k = [], []
        for start in range(0, trials, 3):
            b = min(3, trials - start)
            q, k, v = torch.randn(b, 1, d, generator=g), torch.randn(b, n, d, generator=g), torch.randn(b, n, 1, generator=g)
            p = torch.softmax(c * q @ k.transpose(1, 2), -1)[:, 0]                   # (b, n)
            jv = (al.saturation.softmax_jacobian(p) @ v)[..., 0]                     # (b, n): dL/ds
            expected_q.append((c * k.transpose(1, 2) @ jv[..., None])[..., 0].norm(dim=-1))
            expected_k.append((c * jv[..., None] * q).flatten(1).norm(dim=-1))   # dL/dk_j = c (Jv)_j q
        torch.testing.assert_close(got["query"], torch.cat(expected_q), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(got["keys"], torch.cat(expected_k), rtol=1e-4, atol=1e-6)


def gradient_statistics(scaled_scale):
    """Chapter 7's table: per d, the unscaled arm (scale 1) and the 'scaled' arm with the given scale(d)."""
    g = torch.Generator().manual_seed(1)
    stats = {}
    for scaled in (False, True):
        for d in DIMS:
            norms = al.saturation.query_key_gradients(d, scale=scaled_scale(d) if scaled else 1.0, trials=1000,
                                                      generator=g)
            q = norms["query"]
            top = q.sort(descending=True).values
            stats[d, scaled] = {"mean": q.mean().item(), "median": q.median().item(),
                                "asleep": (q < 0.01).float().mean().item(),
                                "top10_share": (top[: len(top) // 10].sum() / top.sum()).item(),
                                "key_median": norms["keys"].median().item()}
    return stats


def assert_gradient_claims(stats):
    """The asserts of chapter 7's gradient section."""
    for kind in ("mean", "median"):
        values = [stats[d, True][kind] for d in DIMS]
        assert max(values) / min(values) < 1.2, (kind, values)
    unscaled_median = [stats[d, False]["median"] for d in DIMS]
    assert all(a > b for a, b in zip(unscaled_median[1:], unscaled_median[2:])), unscaled_median
    assert 1 / 60 < stats[1024, False]["median"] / stats[1024, True]["median"] < 1 / 20
    assert 5 < stats[1024, False]["mean"] / stats[1024, True]["mean"] < 15
    assert stats[1024, False]["asleep"] > 0.4 and stats[1024, True]["asleep"] < 0.01
    assert stats[1024, False]["top10_share"] > 0.7 and stats[1024, True]["top10_share"] < 0.25
    assert stats[1024, False]["key_median"] < stats[1024, True]["key_median"] / 10


def test_gradient_claims_hold_with_one_over_sqrt_d():
    assert_gradient_claims(gradient_statistics(lambda d: 1 / math.sqrt(d)))


def test_gradient_claims_fail_when_the_scale_is_applied_twice():
    with pytest.raises(AssertionError):
        assert_gradient_claims(gradient_statistics(lambda d: 1 / d))


def test_query_key_gradients_refuses_bad_input():
    with pytest.raises(ValueError, match="scale"):
        al.saturation.query_key_gradients(8, scale=0.0)
    with pytest.raises(TypeError, match="d must be an int"):
        al.saturation.query_key_gradients(8.0)


def test_the_jacobian_maximum_is_one_half_at_two_equal_keys():
    """Chapter 7, exercise 3: ||J||_F <= 1/2 (Cauchy-Schwarz), reached at p = (1/2, 1/2, 0, ...)."""
    p = torch.distributions.Dirichlet(torch.full((12,), 0.05, dtype=torch.float64)).sample((20000,))
    norms = al.saturation.softmax_jacobian(p).flatten(-2).norm(dim=-1)
    s2 = (p**2).sum(-1)
    assert (norms**2 <= s2 - s2**2 + 1e-12).all() and norms.max() <= 0.5
    two = torch.zeros(12, dtype=torch.float64)
    two[:2] = 0.5
    assert al.saturation.softmax_jacobian(two).norm().item() == pytest.approx(0.5, abs=1e-12)
    three = torch.zeros(12, dtype=torch.float64)
    three[:3] = 1 / 3
    assert al.saturation.softmax_jacobian(three).norm().item() < 0.49  # the broken answer "three keys" is lower


# ---- chapter 8 ----

def test_cross_attention_treats_keys_and_values_as_a_set():
    q, k, v = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64), torch.randn(2, 5, 6, dtype=torch.float64)
    out, _ = al.attention(q, k, v)
    perm = torch.randperm(5)
    torch.testing.assert_close(al.attention(q, k[:, perm], v[:, perm])[0], out, rtol=1e-12, atol=1e-12)
    broken, _ = al.attention(q, k, v[:, perm])  # keys and values separated: the check must fail
    assert not torch.allclose(broken, out)


@pytest.mark.parametrize("model", [lambda: al.SetClassifier(16, positions=True).double(),
                                   lambda: al.self_attention.ConcatenationClassifier(8).double()])
def test_the_controls_are_not_equivariant(model):
    net = model()
    x = torch.randn(4, 8, dtype=torch.float64)
    perm = torch.tensor([3, 1, 7, 0, 2, 6, 4, 5])
    assert (net(x[:, perm]) - net(x)[:, perm]).abs().max() > 1e-4


def test_positions_keep_the_set_model_otherwise_unchanged():
    """With positions=True the encoding is the only difference: zero it and the outputs match the set model."""
    al.seed_everything(0)
    plain = al.SetClassifier(16).double()
    al.seed_everything(0)
    positional = al.SetClassifier(16, positions=True).double()
    x = torch.randn(3, 5, dtype=torch.float64)
    with torch.no_grad():
        h = plain.embed(x.unsqueeze(-1))
        expected = plain.head(torch.cat([h, plain.attention(h + al.sinusoidal_encoding(5, 16, dtype=torch.float64))[0]], -1))
    torch.testing.assert_close(positional(x), expected.squeeze(-1), rtol=1e-12, atol=1e-12)


def test_set_model_options_and_sizes_are_checked():
    with pytest.raises(ValueError, match="positions=True"):
        al.SetClassifier(8, use_attention=False, positions=True)
    with pytest.raises(TypeError, match="positions must be a bool"):
        al.SetClassifier(8, positions=1)
    with pytest.raises(ValueError, match="width"):
        al.self_attention.ConcatenationClassifier(8)(torch.randn(2, 5))


# ---- chapter 9 ----

def made_by_hand(d_in, hidden, seed, x, weights, biases):
    """MADE from torch primitives, as chapter 9 builds it: degrees, masks, masked linear layers."""
    gen = torch.Generator().manual_seed(seed)
    degrees = [torch.arange(1, d_in + 1)]
    for size in hidden:
        degrees.append(torch.randint(int(degrees[-1].min()), d_in, (size,), generator=gen))
    masks = [(later[:, None] >= earlier[None, :]).to(x.dtype) for earlier, later in zip(degrees, degrees[1:])]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).to(x.dtype))
    h = x
    for i, (W, b, M) in enumerate(zip(weights, biases, masks)):
        h = F.linear(h, W * M, b)
        h = torch.relu(h) if i < len(masks) - 1 else h
    return h, masks


def test_made_by_hand_equals_the_package():
    made = ar.MADE(10, [20, 15], seed=3).double()
    layers = [m for m in made.net if isinstance(m, ar.MaskedLinear)]
    weights = [torch.randn_like(m.weight) for m in layers]
    biases = [torch.randn_like(m.bias) for m in layers]
    with torch.no_grad():
        for m, W, b in zip(layers, weights, biases):
            m.weight.copy_(W)
            m.bias.copy_(b)
    x = torch.rand(6, 10, dtype=torch.float64)
    expected, masks = made_by_hand(10, [20, 15], 3, x, weights, biases)
    for m, mask in zip(layers, masks):
        assert torch.equal(m.mask, mask)
    torch.testing.assert_close(made(x), expected, rtol=1e-12, atol=1e-12)


def strictly_past_claim(deps):
    """Chapter 9's claim for MADE and PixelCNN: output i depends on inputs before i only."""
    n = deps.shape[0]
    assert not (deps & ~torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-1)).any()


def test_the_strictly_past_claim_fails_for_an_output_mask_with_the_diagonal():
    made = ar.MADE(8, [32, 32]).double().eval()
    strictly_past_claim(ar.dependencies(made, torch.rand(32, 8, dtype=torch.float64)))
    degrees = ar.made_degrees(8, [32, 32], generator=torch.Generator().manual_seed(0))
    made.net[-1].mask.copy_((degrees[0][:, None] >= degrees[-1][None, :]).double())  # >= instead of >: broken
    with pytest.raises(AssertionError):
        strictly_past_claim(ar.dependencies(made, torch.rand(32, 8, dtype=torch.float64)))


@pytest.mark.parametrize("order", [[4, 0, 3, 1, 2, 5], [5, 4, 3, 2, 1, 0], list(range(6))])
def test_made_in_any_order(order):
    made = ar.MADE(6, [40, 40], order=order).double().eval()
    deps = ar.dependencies(made, torch.rand(64, 6, dtype=torch.float64))
    rank = torch.empty(6, dtype=torch.long)
    rank[torch.tensor(order)] = torch.arange(6)
    allowed = rank[None, :] < rank[:, None]  # output i may see input j iff j comes before i in the order
    assert not (deps & ~allowed).any()
    assert deps[order[-1]].sum() >= 3  # the last variable does see earlier ones
    assert torch.equal(made.order, torch.tensor(order))
    samples = made.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, 6) and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_made_order_is_checked():
    with pytest.raises(ValueError, match="permutation"):
        ar.MADE(4, [8], order=[0, 1, 1, 2])
    with pytest.raises(TypeError, match="order must be a sequence"):
        ar.made_degrees(4, [8], order=3)


def test_made_sampling_follows_its_conditionals():
    """A MADE whose every conditional is p(x_i = 1 | earlier) = 1 (a large output bias) samples only ones."""
    made = ar.MADE(5, [30], order=[2, 0, 4, 1, 3]).double()
    with torch.no_grad():
        for layer in made.net:
            if isinstance(layer, ar.MaskedLinear):
                layer.weight.zero_()
                layer.bias.zero_()
        made.net[-1].bias.copy_(torch.full((5,), 50.0))  # every p(x_i = 1 | ...) = 1
    assert (made.sample(4) == 1).all()


def rectangle_entropy(size):
    rows = {(t, b): 1 / (size - 2) / (size - 2 - t) for t in range(size - 2) for b in range(t + 2, size)}
    return 2 * -sum(p * math.log(p) for p in rows.values()), len(rows) ** 2


def entropy_claim(images, H, count):
    """Chapter 9: the exact entropy against the plug-in entropy of a large sample."""
    distinct, counts = images.flatten(1).unique(dim=0, return_counts=True)
    freq = counts / counts.sum()
    assert len(distinct) == count and abs(-(freq * freq.log()).sum().item() - H) < 0.05


def test_rectangle_entropy_is_exact_and_the_check_catches_another_distribution():
    H, count = rectangle_entropy(8)
    assert H == pytest.approx(2 * (math.log(6) + math.log(720) / 6), abs=1e-12)
    images = al.data.rectangles(20000, 8, generator=torch.Generator().manual_seed(11))
    entropy_claim(images, H, count)
    with pytest.raises(AssertionError):  # a wrong number: every outline equally likely, log 441 = 6.09 nats
        entropy_claim(images, math.log(count), count)
    with pytest.raises(AssertionError):  # a wrong input: images of another size
        entropy_claim(al.data.rectangles(20000, 7, generator=torch.Generator().manual_seed(11)), H, count)


def test_padded_queries_depend_on_their_own_input_through_the_query():
    """Chapter 9's explorer: with a key padding mask the measured map is the mask plus the diagonal."""
    torch.manual_seed(0)
    mixer = al.MultiHeadAttention(8, 2).double().eval()
    lift = torch.randn(8, dtype=torch.float64)
    mask = al.causal_mask(12) & al.padding_mask([7], 12)
    fn = lambda z: mixer(z[..., None] * lift, z[..., None] * lift, z[..., None] * lift, mask)[0].sum(-1)  # noqa: E731
    deps = ar.dependencies(fn, torch.randn(8, 12, dtype=torch.float64))
    assert torch.equal(deps, mask | torch.eye(12, dtype=torch.bool))


def test_mask_explorer_has_a_frame_per_mechanism_and_checks_panels():
    import re

    eye = torch.eye(4, dtype=torch.bool)
    panels = {"a": (al.causal_mask(4), eye, "key", "query"), "b": (ar.conv_mask(3, "A"), eye, "col", "row")}
    twin = al.widgets.mask_explorer(panels, static=True)
    assert len(re.findall(r"frames\[\d+\]", twin.data)) == 2
    with pytest.raises(ValueError, match="panel 'x'"):
        al.widgets.mask_explorer({"x": (eye, eye)})
    with pytest.raises(ValueError, match="at least one"):
        al.widgets.mask_explorer({})
    live = al.widgets.mask_explorer(panels)
    assert [o[0] for o in live.children[0].options] == ["a", "b"]
    assert np.asarray(ar.conv_mask(3, "A")).sum() == 4
