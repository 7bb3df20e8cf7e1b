"""The skewing trick against the naive gather, and relative attention against plain causal attention."""

import pytest
import torch

import attnlab as al
from attnlab import relative


@pytest.mark.parametrize("L", range(1, 18))
def test_skew_equals_the_naive_gather_for_every_length(L):
    q = torch.randn(2, 3, L, 5, dtype=torch.float64)
    E_r = torch.randn(L, 5, dtype=torch.float64)
    skewed = relative.skew(q @ E_r.T)
    naive = relative.relative_logits_naive(q, E_r)
    lower = torch.tril(torch.ones(L, L, dtype=torch.bool))
    torch.testing.assert_close(skewed[..., lower], naive[..., lower], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(relative.relative_logits(q, E_r), skewed, rtol=1e-12, atol=1e-12)


def test_skew_moves_each_distance_to_its_diagonal():
    L = 4
    by_distance = torch.arange(L, dtype=torch.float64).expand(L, L)  # column r holds distance r - (L - 1)
    out = relative.skew(by_distance)
    for i in range(L):
        for j in range(i + 1):
            assert out[i, j] == j - i + L - 1


def test_naive_gather_by_brute_force():
    q, E_r = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    naive = relative.relative_logits_naive(q, E_r)
    for i in range(3):
        for j in range(3):
            expected = (q[i] @ E_r[j - i + 2]).item() if j <= i else 0.0
            assert naive[i, j].item() == pytest.approx(expected, abs=1e-12)


def test_with_zero_relative_embeddings_it_is_plain_causal_attention():
    rel = relative.RelativeMultiHeadAttention(16, 4, max_len=12).double()
    with torch.no_grad():
        rel.E_r.zero_()
    plain = al.MultiHeadAttention(16, 4).double()
    plain.load_state_dict({k: v for k, v in rel.state_dict().items() if k != "E_r"})
    x = torch.randn(2, 9, 16, dtype=torch.float64)
    expected, expected_w = plain(x, x, x, al.causal_mask(9), need_weights=True)
    for need_weights in (False, True):
        out, w = rel(x, need_weights=need_weights)
        torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(w, expected_w, rtol=1e-10, atol=1e-10)


def test_relative_attention_matches_its_formula_and_is_causal():
    rel = relative.RelativeMultiHeadAttention(8, 2, max_len=10).double().eval()
    x = torch.randn(1, 6, 8, dtype=torch.float64)
    out, w = rel(x, need_weights=True)
    q, k = rel.split_heads(rel.q_proj(x)), rel.split_heads(rel.k_proj(x))
    s_rel = torch.stack(
        [relative.relative_logits_naive(q[:, h], rel.E_r[h, -6:]) for h in range(2)], dim=1)
    scores = (q @ k.transpose(-2, -1) + s_rel) / 2.0
    torch.testing.assert_close(w, al.masked_softmax(scores, al.causal_mask(6)), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(rel(x)[0], out, rtol=1e-10, atol=1e-10)
    assert (w.triu(diagonal=1) == 0).all()


def test_translation_invariance_of_the_relative_term():
    """Shifting a sequence leaves the relative logits of the same pairs unchanged (only distances matter)."""
    E_r = torch.randn(8, 4, dtype=torch.float64)
    q = torch.randn(8, 4, dtype=torch.float64)
    full = relative.skew(q @ E_r.T)
    tail = relative.skew(q[3:] @ E_r[3:].T)  # the last 5 queries, distances -(4)..0
    lower = torch.tril(torch.ones(5, 5, dtype=torch.bool))
    torch.testing.assert_close(tail[lower], full[3:, 3:][lower], rtol=1e-12, atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        relative.skew(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="max_len=4"):
        relative.RelativeMultiHeadAttention(8, 2, max_len=4)(torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match="E_r"):
        relative.relative_logits_naive(torch.randn(3, 4), torch.randn(2, 4))


def test_periodic_motifs_repeat_with_their_period():
    x = al.data.periodic_motifs(50, 20, 7, periods=(2, 3, 4, 5), generator=torch.Generator().manual_seed(0))
    y = al.data.periodic_motifs(50, 20, 7, periods=(2, 3, 4, 5), generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, y) and x.max() < 7
    for row in x.tolist():
        assert any(all(row[t] == row[t - p] for t in range(p, 20)) for p in (2, 3, 4, 5))


@pytest.mark.parametrize("positions", ["absolute", "relative"])
def test_causal_lm_is_causal(positions):
    model = relative.CausalLM(10, positions=positions, max_len=16, d_model=16, num_heads=2).eval()
    x = torch.randint(0, 10, (2, 12))
    with torch.no_grad():
        base = model(x)
        changed = x.clone()
        changed[:, 7] = (changed[:, 7] + 1) % 10
        after = model(changed)
    torch.testing.assert_close(after[:, :7], base[:, :7])
    assert not torch.allclose(after[:, 7:], base[:, 7:])


def test_relative_positions_generalise_to_twice_the_training_length():
    """The relative-attention chapter's claim: trained on length 32, still >= 98% at 64."""
    import torch.nn.functional as F

    al.seed_everything(0)
    g = torch.Generator().manual_seed(1)
    model = relative.CausalLM(12, positions="relative", max_len=64, d_model=48, num_heads=4)

    def loss_fn(model, step):
        x = al.data.periodic_motifs(64, 32, 12, generator=g)
        return F.cross_entropy(model(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())

    al.train.fit(model, loss_fn, steps=800, lr=3e-3, progress=False)
    x = al.data.periodic_motifs(300, 64, 12, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        accuracy = (model(x[:, :-1]).argmax(-1) == x[:, 1:])[:, 10:].float().mean().item()
    assert accuracy >= 0.98


def test_skew_explorer_static_twin():
    import re

    html = al.widgets.skew_explorer((3, 5), static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 2


def test_measured_memory_of_skew_and_gather():
    """The relative chapter's claim, measured in fresh processes: at L = 2048 the gather adds > 60x the skew."""
    setup = "q, E_r = torch.randn(1, 2048, 64), torch.randn(2048, 64)\n"
    skewed = al.measure.measure(setup + "run = lambda: relative.relative_logits(q, E_r)", repeats=1)
    naive = al.measure.measure(setup + "run = lambda: relative.relative_logits_naive(q, E_r)", repeats=1)
    assert naive["peak_mib"] > 900 and naive["peak_mib"] > 60 * skewed["peak_mib"] > 0
