"""Captioning with attention (Show, Attend and Tell) and its synthetic data."""

import pytest
import torch

import attnlab as al
from attnlab.data import captions as cap
from attnlab.data.translation import BOS, EOS
from attnlab.vision import ShowAttendTell, doubly_stochastic_penalty


def test_data_is_deterministic_and_captions_describe_the_pixels():
    data = al.data.shape_captions(60, seed=2)
    again = al.data.shape_captions(60, seed=2)
    assert data.captions == again.captions and torch.equal(data.images, again.images)
    for b in range(60):
        words = data.captions[b]
        assert 4 <= len(words) <= 8 and len(words) % 2 == 0
        k = len(words) // 2
        assert data.masks[b, :k].flatten(1).any(1).all() and not data.masks[b, k:].any()
        columns = [data.masks[b, i].nonzero()[:, 1].float().mean() for i in range(k)]
        assert columns == sorted(columns)  # named left to right
        for i in range(k):
            colour = torch.tensor(cap.COLOURS[words[2 * i]])
            pixels = data.images[b][:, data.masks[b, i]]
            torch.testing.assert_close(pixels, colour[:, None].expand_as(pixels))
            assert words[2 * i + 1] in cap.SHAPES
    assert data.vocab.decode(data.vocab.encode(data.captions[0])) == data.captions[0]


def test_the_four_shapes_are_different_drawings():
    stencils = [cap._stencil(s, 6) for s in cap.SHAPES]
    assert len({tuple(s.flatten().tolist()) for s in stencils}) == 4


def test_model_shapes_soft_and_hard_attention():
    torch.manual_seed(0)
    data = al.data.shape_captions(3)
    model = ShowAttendTell(len(data.vocab)).double()
    images, tgt_in, _ = data.batch(range(3))
    logits, alpha = model(images.double(), tgt_in)
    assert logits.shape == (3, tgt_in.shape[1], len(data.vocab)) and alpha.shape == (3, tgt_in.shape[1], 16)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(3, tgt_in.shape[1], dtype=torch.float64))
    _, hard = model(images.double(), tgt_in, hard=True, generator=torch.Generator().manual_seed(0))
    assert ((hard == 0) | (hard == 1)).all() and (hard.sum(-1) == 1).all()


def test_soft_attention_step_matches_the_formula():
    """e_ti = v^T tanh(W h_{t-1} + U a_i), z_t = sum_i alpha_ti a_i, h_t = LSTM([E y; z_t], h_{t-1})."""
    torch.manual_seed(1)
    model = ShowAttendTell(7).double()
    images = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    tokens = torch.tensor([[BOS, 4, 5]])
    logits, alpha = model(images, tokens)
    a = model.annotations(images)[0]
    assert a.shape == (16, 66)
    h, c = model.start(a[None])
    for t in range(3):
        e = torch.stack([model.score.v.weight[0] @ torch.tanh(model.score.W.weight @ h[0] + model.score.U.weight @ a_i)
                         for a_i in a])
        weights = torch.softmax(e, 0)
        z = weights @ a
        y = model.embed(tokens[:, t])
        h, c = model.cell(torch.cat([y, z[None]], -1), (h, c))
        torch.testing.assert_close(alpha[0, t], weights)
        torch.testing.assert_close(logits[0, t], model.out(torch.cat([h[0], z, y[0]])))


def test_next_log_probs_equals_teacher_forcing():
    torch.manual_seed(0)
    model = ShowAttendTell(7).double()
    images = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    tokens = torch.tensor([[BOS, 4, 5, 6], [BOS, 3, 3, 4]])
    expected = model(images, tokens)[0].log_softmax(-1)
    f = model.next_log_probs(images)
    for t in range(4):
        torch.testing.assert_close(f(tokens[:, : t + 1]), expected[:, t])
    out = al.decoding.greedy_batch(model.next_log_probs(images), 2, bos=BOS, eos=EOS, max_len=4)
    assert len(out) == 2 and all(1 <= len(o) <= 4 for o in out)


def test_doubly_stochastic_penalty_matches_its_definition():
    alpha = torch.softmax(torch.randn(2, 5, 16, dtype=torch.float64), -1)
    steps = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    expected = sum(sum((1 - sum(alpha[b, t, i] for t in range(5) if steps[b, t])) ** 2 for i in range(16))
                   for b in range(2)) / 2
    torch.testing.assert_close(doubly_stochastic_penalty(alpha, steps), expected)
    uniform_total = torch.full((1, 16, 16), 1 / 16, dtype=torch.float64)  # 16 words, each looks everywhere
    assert doubly_stochastic_penalty(uniform_total).item() == pytest.approx(0.0)


def test_bad_arguments():
    model = ShowAttendTell(7)
    with pytest.raises(ValueError, match=r"images must be \(B, 3, H, W\) with H, W multiples of 8, got \(1, 3, 30, 32\)"):
        model(torch.rand(1, 3, 30, 32), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"objects must be \(lo, hi\) with 1 <= lo <= hi <= 4, got \(2, 5\)"):
        al.data.shape_captions(3, objects=(2, 5))
