"""The three sequence layers: causal, shape-preserving, with the path lengths the complexity table states."""

import pytest
import torch

import attnlab as al
from attnlab import sequence_layers as sl


@pytest.mark.parametrize("kind", sl.KINDS)
def test_causal_and_shape_preserving(kind):
    torch.manual_seed(0)
    layer = sl.layer(kind, 8)
    x = torch.randn(2, 9, 8, requires_grad=True)
    y = layer(x)
    assert y.shape == x.shape
    for t in range(9):
        (grad,) = torch.autograd.grad(y[:, t].sum(), x, retain_graph=True)
        assert (grad[:, t + 1:] == 0).all()


@pytest.mark.parametrize("num_layers, kernel", [(1, 3), (3, 3), (2, 9)])
def test_convolution_receptive_field_is_exact(num_layers, kernel):
    torch.manual_seed(0)
    stack = torch.nn.Sequential(*(sl.ConvolutionLayer(4, kernel) for _ in range(num_layers)))
    x = torch.randn(1, 40, 4, requires_grad=True)
    stack(x)[0, -1].sum().backward()
    reached = (x.grad[0].abs().sum(-1) > 0).nonzero()[:, 0]
    assert len(reached) == sl.receptive_field(num_layers, kernel) and reached.max() == 39


def test_convolution_matches_a_shifted_conv1d():
    layer = sl.ConvolutionLayer(3, 4).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    padded = torch.cat([torch.zeros(2, 3, 3, dtype=torch.float64), x], dim=1)
    expected = torch.stack([torch.einsum("bkc,ock->bo", padded[:, t:t + 4], layer.conv.weight) + layer.conv.bias
                            for t in range(7)], dim=1)
    torch.testing.assert_close(layer(x), expected)


def test_self_attention_layer_paths_agree():
    layer = sl.SelfAttentionLayer(8, num_heads=2).double()
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x), layer(x, need_weights=True))


def test_classifier_and_errors():
    model = sl.SequenceClassifier("self-attention", 2, vocab=5, n_classes=3, d=8)
    assert model(torch.randint(0, 5, (4, 10))).shape == (4, 3)
    with pytest.raises(ValueError, match="kind must be one of 'recurrent', 'convolution', 'self-attention', got 'lstm'"):
        sl.layer("lstm", 8)
    assert al.sequence_layers is sl


def _first_token_accuracy(kind, num_layers, kernel_size=9, steps=400, T=32, V=8):
    """Chapter 14's long-range task, shortened: train to predict the first of T tokens at the last position."""
    import torch.nn.functional as F

    al.seed_everything(0)
    g = torch.Generator().manual_seed(0)
    model = sl.SequenceClassifier(kind, num_layers, V, V, d=32, kernel_size=kernel_size)

    def loss_fn(m, step):
        x = torch.randint(0, V, (64, T), generator=g)
        return F.cross_entropy(m(x), x[:, 0])

    al.train.fit(model, loss_fn, steps=steps, lr=3e-3, progress=False)
    x = torch.randint(0, V, (1000, T), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return (model(x).argmax(-1) == x[:, 0]).float().mean().item()


def test_the_long_range_claim_holds_for_attention_and_fails_beyond_a_convolutions_reach():
    """Chapter 14 asserts accuracy > 0.95 for the models that reach the first token. The same assert fails for a
    convolution stack whose receptive field (9 of 32 positions) misses it: it stays at chance (1/8)."""
    assert _first_token_accuracy("self-attention", 1) > 0.95
    blind = _first_token_accuracy("convolution", 1)
    assert sl.receptive_field(1, 9) < 32 and not blind > 0.95 and blind < 0.2
