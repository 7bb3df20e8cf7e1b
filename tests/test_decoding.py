"""Greedy and beam search against brute force on tiny models (CONTRIBUTING.md, "Oracles": beam search)."""

import itertools
import math

import pytest
import torch

import attnlab as al
from attnlab import decoding

BOS, EOS, V = 0, 1, 4  # tokens 0..3; BOS is never produced by these models


def random_model(seed):
    """next_log_probs of a fixed random model whose distribution depends on the whole prefix."""
    def next_log_probs(prefixes):
        rows = []
        for prefix in prefixes.tolist():
            g = torch.Generator().manual_seed(hash((seed, tuple(prefix))) % 2**31)
            logits = 2.5 * torch.randn(V, generator=g, dtype=torch.float64)
            logits[BOS] = -math.inf
            rows.append(logits.log_softmax(-1))
        return torch.stack(rows)
    return next_log_probs


def brute_force(next_log_probs, max_len, alpha):
    """Every finished sequence (ends in EOS, or reaches max_len) with its length-penalised score, best first."""
    out = []
    for n in range(1, max_len + 1):
        for tokens in itertools.product(range(1, V), repeat=n):
            if EOS in tokens[:-1] or (n < max_len and tokens[-1] != EOS):
                continue
            prefix = torch.tensor([[BOS, *tokens]])
            logp = sum(next_log_probs(prefix[:, : t + 1])[0, tokens[t]].item() for t in range(n))
            out.append((list(tokens), logp / decoding.length_penalty(n, alpha)))
    return sorted(out, key=lambda h: -h[1])


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
@pytest.mark.parametrize("seed", range(4))
def test_beam_as_large_as_all_sequences_equals_brute_force(seed, alpha):
    f = random_model(seed)
    expected = brute_force(f, 4, alpha)
    got = decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=V**4, max_len=4, alpha=alpha)
    assert [tokens for tokens, _ in got] == [tokens for tokens, _ in expected]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected], abs=1e-9)


def test_the_length_penalty_can_change_the_winner_towards_longer_outputs():
    changed = [(brute_force(random_model(s), 4, 0.0)[0][0], brute_force(random_model(s), 4, 2.0)[0][0])
               for s in range(20)]
    changed = [(short, long) for short, long in changed if short != long]
    assert changed and all(len(long) >= len(short) for short, long in changed)


@pytest.mark.parametrize("seed", range(6))
def test_beam_one_equals_greedy(seed):
    f = random_model(seed)
    greedy = decoding.greedy_decode(f, bos=BOS, eos=EOS, max_len=6)
    (tokens, score), = decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=1, max_len=6)
    assert tokens == greedy
    assert score == pytest.approx(sum(f(torch.tensor([[BOS, *greedy[:t]]]))[0, greedy[t]].item()
                                      for t in range(len(greedy))))


def test_a_wider_beam_finds_a_better_sequence_on_some_model():
    better = 0
    for seed in range(30):
        f = random_model(seed)
        greedy = decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=1, max_len=5)[0][1]
        better += decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=4, max_len=5)[0][1] > greedy + 1e-9
    assert better > 0


def test_outputs_exclude_bos_include_eos_and_respect_max_len():
    always_eos = lambda p: torch.log(torch.tensor([[0.0, 0.9, 0.05, 0.05]])).expand(p.shape[0], -1)  # noqa: E731
    assert decoding.greedy_decode(always_eos, bos=BOS, eos=EOS, max_len=5) == [EOS]
    never_eos = lambda p: torch.log(torch.tensor([[0.0, 0.0, 0.7, 0.3]])).expand(p.shape[0], -1)  # noqa: E731
    assert decoding.greedy_decode(never_eos, bos=BOS, eos=EOS, max_len=3) == [2, 2, 2]
    beams = decoding.beam_search(never_eos, bos=BOS, eos=EOS, beam_size=3, max_len=3)
    assert beams[0][0] == [2, 2, 2] and beams[0][1] == pytest.approx(3 * math.log(0.7))
    ties = [[2, 2, 3], [2, 3, 2], [3, 2, 2]]  # equally likely: any two of them
    assert all(b in ties for b, _ in beams[1:]) and [s for _, s in beams[1:]] == pytest.approx([math.log(0.147)] * 2)


def test_greedy_batch_equals_one_sequence_at_a_time():
    f = random_model(7)
    rows = [[BOS, 2], [BOS, 3], [BOS, 2]]  # three "sources": distinct forced first tokens

    def batched(prefixes):  # row b continues source b
        return f(torch.cat([torch.tensor(rows)[:, :1], torch.tensor(rows)[:, 1:], prefixes[:, 1:]], dim=1))

    got = decoding.greedy_batch(batched, 3, bos=BOS, eos=EOS, max_len=5)
    for b, row in enumerate(rows):
        alone = decoding.greedy_decode(lambda p, r=row: f(torch.cat([torch.tensor([r]).expand(p.shape[0], -1),
                                                                     p[:, 1:]], 1)), bos=BOS, eos=EOS, max_len=5)
        assert got[b] == alone


def test_incremental_reads_each_token_once_when_prefixes_extend():
    calls = []

    def step(tokens, state):
        calls.append(tokens.shape[0])
        state = state + tokens[:, None].double()
        return torch.cat([state, -state], dim=1), state

    f = decoding.incremental(lambda n: torch.zeros(n, 1, dtype=torch.float64), step, batch=1)
    torch.testing.assert_close(f(torch.tensor([[0, 2, 3]])), torch.tensor([[5.0, -5.0]]).log_softmax(-1).double())
    assert len(calls) == 3  # no cache yet: read from the start
    f(torch.tensor([[0, 2, 3, 1], [0, 2, 3, 2]]))
    assert len(calls) == 4  # both extend the cached prefix: one step
    torch.testing.assert_close(f(torch.tensor([[0, 2, 3, 2, 1]])), torch.tensor([[8.0, -8.0]]).log_softmax(-1)
                               .double())
    f(torch.tensor([[0, 1]]))  # not an extension: from the start
    assert len(calls) == 7


def test_beam_search_on_a_trained_style_model_matches_brute_force():
    """The Seq2Seq adapter (with its state cache) under a full beam equals brute force on a tiny vocabulary."""
    torch.manual_seed(0)
    m = al.seq2seq.Seq2Seq.build(6, V, attention="additive", d_embed=4, d_hidden=5).double()
    f = m.next_log_probs(torch.tensor([3, 4, 5]))
    assert decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=V**3, max_len=3)[0][0] == brute_force(f, 3, 0.0)[0][0]


def test_bad_arguments():
    f = random_model(0)
    with pytest.raises(ValueError, match="beam_size must be >= 1, got 0"):
        decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=0, max_len=3)
    with pytest.raises(ValueError, match="alpha must be >= 0.0, got -1"):
        decoding.beam_search(f, bos=BOS, eos=EOS, beam_size=2, max_len=3, alpha=-1)
    with pytest.raises(ValueError, match="max_len must be >= 1, got 0"):
        decoding.greedy_decode(f, bos=BOS, eos=EOS, max_len=0)
    with pytest.raises(ValueError, match=r"next_log_probs must return \(N, V\) = \(1, V\) for 1 prefixes, got \(4,\)"):
        decoding.greedy_decode(lambda p: torch.zeros(4), bos=BOS, eos=EOS, max_len=3)
