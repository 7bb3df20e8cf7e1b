"""The skewing trick against the naive gather, and relative attention against plain causal attention."""

import math

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


@pytest.mark.parametrize("positions", relative.POSITIONS)
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


def test_distance_index_by_brute_force():
    index = relative.distance_index(7, 4)
    for i in range(7):
        for j in range(i + 1):
            assert index[i, j].item() == max(j - i, -3) + 3  # row of distance clip(j - i, 3)


def test_clipped_relative_attention_equals_the_clipped_gather():
    """With clip = k, distances beyond k use the row of distance k (Shaw et al.'s clip(j - i, k))."""
    rel = relative.RelativeMultiHeadAttention(8, 2, max_len=20, clip=3).double().eval()
    assert rel.E_r.shape == (2, 4, 4)
    x = torch.randn(1, 9, 8, dtype=torch.float64)
    _, w = rel(x, need_weights=True)
    q, k = rel.split_heads(rel.q_proj(x)), rel.split_heads(rel.k_proj(x))
    s_rel = torch.zeros(1, 2, 9, 9, dtype=torch.float64)
    for h in range(2):
        for i in range(9):
            for j in range(i + 1):
                s_rel[0, h, i, j] = q[0, h, i] @ rel.E_r[h, max(j - i, -3) + 3]
    expected = al.masked_softmax((q @ k.transpose(-2, -1) + s_rel) / 2.0, al.causal_mask(9))
    torch.testing.assert_close(w, expected, rtol=1e-12, atol=1e-12)


def test_without_clipping_longer_distances_get_no_gradient_from_short_sequences():
    """The chapter's warning: trained on length L, rows for distances >= L never move from their initial values;
    clipped at L - 1, every row is trained."""
    for clip in (None, 7):
        model = relative.CausalLM(10, positions="relative", max_len=32, d_model=16, num_heads=2, clip=clip)
        model(torch.randint(0, 10, (4, 8))).square().mean().backward()
        grad = model.blocks[0].attn.E_r.grad      # (H, rows, d_head); row r is distance r - (rows - 1)
        trained = grad.abs().sum(-1).gt(0).all(0)  # (rows,)
        if clip is None:
            assert len(trained) == 32 and trained[-8:].all() and not trained[:-8].any()  # distances 8..31: none
        else:
            assert len(trained) == 8 and trained.all()


def shaw_brute_force(layer, x):
    """Shaw et al. (2018), eq. (3)-(5), one pair at a time: a_ij = w[clip(j - i, k)]."""
    B, T, _ = x.shape
    H, d = layer.num_heads, layer.d_head
    q, k, v = (layer.split_heads(p(x)) for p in (layer.q_proj, layer.k_proj, layer.v_proj))
    z = torch.zeros(B, H, T, d, dtype=x.dtype)
    for b in range(B):
        for h in range(H):
            for i in range(T):
                e = torch.tensor([q[b, h, i] @ (k[b, h, j] + layer.w_K[max(j - i, -layer.clip) + layer.clip])
                                  / math.sqrt(d) for j in range(i + 1)], dtype=x.dtype)
                alpha = torch.softmax(e, 0)
                z[b, h, i] = sum(alpha[j] * (v[b, h, j] + layer.w_V[max(j - i, -layer.clip) + layer.clip])
                                 for j in range(i + 1))
    return layer.out_proj(layer.merge_heads(z))


@pytest.mark.parametrize("clip", [0, 2, 20])
def test_shaw_attention_equals_its_equations_by_brute_force(clip):
    layer = relative.ShawRelativeSelfAttention(8, 2, clip).double().eval()
    x = torch.randn(2, 7, 8, dtype=torch.float64)
    with torch.no_grad():
        out, w = layer(x, need_weights=True)
        torch.testing.assert_close(out, shaw_brute_force(layer, x), rtol=1e-10, atol=1e-10)
    assert layer(x)[1] is None and (w.triu(diagonal=1) == 0).all()


def test_shaw_without_relative_terms_is_plain_causal_attention():
    layer = relative.ShawRelativeSelfAttention(8, 2, 3).double()
    with torch.no_grad():
        layer.w_K.zero_()
        layer.w_V.zero_()
    plain = al.MultiHeadAttention(8, 2).double()
    plain.load_state_dict({k: v for k, v in layer.state_dict().items() if not k.startswith("w_")})
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x)[0], plain(x, x, x, al.causal_mask(6))[0], rtol=1e-10, atol=1e-10)


def test_causal_lm_arguments():
    with pytest.raises(ValueError, match="positions"):
        relative.CausalLM(10, positions="absolute", max_len=8)
    with pytest.raises(ValueError, match="clip"):
        relative.CausalLM(10, positions="rotary", max_len=8, clip=3)
    learned = relative.CausalLM(10, positions="learned", max_len=8, d_model=16)
    assert learned.position.weight.shape == (8, 16)
