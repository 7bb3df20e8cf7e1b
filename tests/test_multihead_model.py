"""Multi-head cost and the trained tagger whose heads specialise (the multi-head chapter's claims)."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import attnlab as al


@pytest.mark.parametrize("heads", [1, 2, 4, 8])
def test_cost_does_not_depend_on_the_number_of_heads(heads):
    B, T, E = 2, 16, 32
    mha = al.MultiHeadAttention(E, heads)
    x = torch.randn(B, T, E)
    with FlopCounterMode(display=False) as counter:
        mha(x, x, x, need_weights=True)  # the teaching path: every matmul is visible to the counter
    assert counter.get_total_flops() == 8 * B * T * E * E + 4 * B * T * T * E
    assert sum(p.numel() for p in mha.parameters()) == 4 * E * E + 4 * E


def test_neighbour_difference_labels():
    x, y = al.data.neighbour_difference(20, 7, 5, generator=torch.Generator().manual_seed(0))
    assert (y[:, 0] == al.data.IGNORE).all() and (y[:, -1] == al.data.IGNORE).all()
    for row, labels in zip(x.tolist(), y.tolist()):
        assert labels[1:-1] == [(row[i - 1] - row[i + 1]) % 5 for i in range(1, 6)]


def train_tagger(heads, steps=3000):
    al.seed_everything(0)
    g = torch.Generator().manual_seed(1)
    model = al.AttentionTagger(10, 12, d_model=32, num_heads=heads)

    def loss_fn(model, step):
        x, y = al.data.neighbour_difference(128, 12, 10, generator=g)
        return F.cross_entropy(model(x)[0].flatten(0, 1), y.flatten())

    al.train.fit(model, loss_fn, steps=steps, lr=3e-3, progress=False)
    x, y = al.data.neighbour_difference(1000, 12, 10, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        logits, weights = model(x, need_weights=True)
    accuracy = (logits.argmax(-1) == y)[:, 1:-1].float().mean().item()
    return accuracy, weights.mean(0), model  # weights: (H, T, T) averaged over the test sequences


def test_one_head_splits_between_both_neighbours():
    accuracy, mean, _ = train_tagger(1)
    assert accuracy > 0.99
    assert min(torch.diagonal(mean[0], -1).mean(), torch.diagonal(mean[0], 1).mean()) > 0.35


def test_two_heads_take_opposite_neighbours_at_every_position():
    accuracy, mean, model = train_tagger(2)
    assert accuracy > 0.99
    for i in range(1, 11):
        on_left, on_right = mean[:, i, i - 1], mean[:, i, i + 1]
        assert (on_left[0] > 0.95 and on_right[1] > 0.95) or (on_right[0] > 0.95 and on_left[1] > 0.95), i
    # The positional-encoding chapter's claim: the learned position table has no order (unlike the sinusoids).
    unit = F.normalize(model.position.weight.detach(), dim=-1)
    assert torch.diagonal(unit @ unit.T, 1).mean() < 0.5
    sinusoids = F.normalize(al.sinusoidal_encoding(12, 32), dim=-1)
    assert torch.diagonal(sinusoids @ sinusoids.T, 1).mean() > 0.9


def test_tagger_rejects_bad_tokens():
    model = al.AttentionTagger(10, 12)
    with pytest.raises(TypeError, match="torch.long"):
        model(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="more than max_len=12"):
        model(torch.zeros(2, 13, dtype=torch.long))
