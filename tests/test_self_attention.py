"""SelfAttention against its six steps by hand, equivariance, and the set task the chapter measures."""

import itertools

import pytest
import torch
import torch.nn.functional as F

import attnlab as al


def test_six_steps_by_hand():
    layer = al.SelfAttention(4, d_k=3, d_v=5).double()
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    Q, K, V = x @ layer.W_q.weight.T, x @ layer.W_k.weight.T, x @ layer.W_v.weight.T
    E = Q @ K.transpose(1, 2) / 3**0.5
    A = torch.exp(E) / torch.exp(E).sum(-1, keepdim=True)
    out, weights = layer(x)
    torch.testing.assert_close(weights, A, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out, A @ V, rtol=1e-12, atol=1e-12)


def test_equivariant_for_every_permutation_and_broken_by_positions():
    layer = al.SelfAttention(4).double()
    x = torch.randn(1, 4, 4, dtype=torch.float64)
    pe = al.sinusoidal_encoding(4, 4, dtype=torch.float64)
    out, weights = layer(x)
    broken = []
    for perm in itertools.permutations(range(4)):
        p = list(perm)
        out_p, weights_p = layer(x[:, p])
        torch.testing.assert_close(out_p, out[:, p], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(weights_p, weights[:, p][:, :, p], rtol=1e-12, atol=1e-12)
        if p != [0, 1, 2, 3]:
            broken.append((layer(x[:, p] + pe)[0] - layer(x + pe)[0][:, p]).abs().max().item())
    assert min(broken) > 1e-3


def test_causal_mask_applies():
    layer = al.SelfAttention(4)
    _, weights = layer(torch.randn(2, 5, 4), al.causal_mask(5))
    assert (weights.triu(diagonal=1) == 0).all()


def test_above_average_sets_are_deterministic_and_labelled_correctly():
    x1, y1 = al.data.above_average_sets(50, 7, generator=torch.Generator().manual_seed(3))
    x2, y2 = al.data.above_average_sets(50, 7, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    for row, labels in zip(x1.tolist(), y1.tolist()):
        mean = sum(row) / len(row)
        assert labels == [float(v > mean) for v in row]
    assert 0.35 < y1.mean().item() < 0.65


def test_set_classifier_is_equivariant_for_any_size():
    model = al.SetClassifier(16).double()
    for n in (2, 9, 40):
        x = torch.randn(3, n, dtype=torch.float64)
        perm = torch.randperm(n)
        torch.testing.assert_close(model(x[:, perm]), model(x)[:, perm], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("use_attention, low, high", [(True, 0.95, 1.0), (False, 0.0, 0.6)])
def test_set_task_needs_attention_and_generalises_to_other_sizes(use_attention, low, high):
    """The claim of the self-attention chapter: trained on sets of 8, accurate on sets of 4 to 128."""
    al.seed_everything(0)
    g = torch.Generator().manual_seed(1)
    model = al.SetClassifier(32, use_attention=use_attention)

    def loss_fn(model, step):
        x, y = al.data.above_average_sets(256, 8, generator=g)
        return F.binary_cross_entropy_with_logits(model(x), y)

    history = al.train.fit(model, loss_fn, steps=1500, lr=3e-3, progress=False)
    assert len(history.loss) == 1500 and not model.training
    with torch.no_grad():
        for n in (4, 8, 32, 128):
            x, y = al.data.above_average_sets(2000, n, generator=torch.Generator().manual_seed(99))
            accuracy = ((model(x) > 0).float() == y).float().mean().item()
            assert low <= accuracy <= high, (n, accuracy)


def test_fit_reduces_the_loss():
    al.seed_everything(0)
    model = torch.nn.Linear(3, 1)
    target = torch.tensor([[1.0, -2.0, 0.5]])

    def loss_fn(model, step):
        x = torch.randn(64, 3)
        return ((model(x) - x @ target.T) ** 2).mean()

    history = al.train.fit(model, loss_fn, steps=300, lr=0.05, progress=False)
    assert history.loss[-1] < 1e-2 * history.loss[0]
    with pytest.raises(ValueError, match="steps"):
        al.train.fit(model, loss_fn, steps=0)


@pytest.mark.parametrize("clip", [1.0, None])
def test_fit_clips_the_gradient_norm(clip):
    model = torch.nn.Linear(3, 1)
    al.train.fit(model, lambda m, step: 1e4 * m(torch.ones(8, 3)).sum(), steps=1, clip=clip, progress=False)
    norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()  # the last step's gradient
    assert norm <= 1.0 + 1e-6 if clip else norm > 1e3
