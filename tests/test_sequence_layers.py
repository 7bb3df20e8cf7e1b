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
