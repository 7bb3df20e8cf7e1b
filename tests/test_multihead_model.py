"""Multi-head cost, the neighbour-difference labels and the tagger's input checks (the multi-head chapter trains
the tagger itself and asserts what its heads learn)."""

import pytest
import torch
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


def test_tagger_rejects_bad_tokens():
    model = al.AttentionTagger(10, 12)
    with pytest.raises(TypeError, match="torch.long"):
        model(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="more than max_len=12"):
        model(torch.zeros(2, 13, dtype=torch.long))
