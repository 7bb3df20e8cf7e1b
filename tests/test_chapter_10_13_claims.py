"""The main claims of chapters 10-13, each with its assert, and the same assert failing on a broken input or model.

Chapter 10: heads keep the parameters and matrix-multiply FLOPs but multiply the attention-weight entries.
Chapter 11: only sin/cos pairs have an exact linear shift; after W_Q W_K^T the position term depends on both
positions (and not for A = I or rotation-shaped A). Chapter 12: BatchNorm's output for a sentence depends on its
batch, its padding and the mode, LayerNorm's does not; the residual-stream and gradient diagnostics against a manual
backward pass, and the post-norm / pre-norm pattern, which fails for the swapped placement. Chapter 13: the
sqrt(d_model) scaling puts words and positions on one scale (and fails without it); label smoothing's target.
"""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import attnlab as al

tf = al.transformer


# ---- chapter 10 ----

def head_costs(E=32, B=2, T=16, heads=(1, 2, 4, 8)):
    costs = {}
    for n in heads:
        layer = al.MultiHeadAttention(E, n)
        x = torch.randn(B, T, E)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            _, w = layer(x, x, x, need_weights=True)
        costs[n] = (sum(p.numel() for p in layer.parameters()), counter.get_total_flops(), w.numel())
    return costs


def test_heads_keep_parameters_and_flops_but_multiply_weight_entries():
    costs = head_costs()
    assert len({(p, f) for p, f, _ in costs.values()}) == 1
    assert all(entries == n * 2 * 16 * 16 for n, (_, _, entries) in costs.items())


def test_the_weight_entry_claim_fails_if_heads_were_averaged():
    """Averaging the heads (torch's default output) would hide the H-fold tensor: the claim's assert catches it."""
    layer = al.MultiHeadAttention(32, 8).to_torch()
    x = torch.randn(2, 16, 32)
    _, averaged = layer(x, x, x)  # (B, T, T)
    assert averaged.numel() != 8 * 2 * 16 * 16


# ---- chapter 11 ----

def best_shift_error(table, k):
    inputs = torch.cat([table[:-k], torch.ones(len(table) - k, 1, dtype=table.dtype)], dim=-1)
    M = torch.linalg.lstsq(inputs, table[k:], driver="gelsd").solution
    return ((inputs @ M - table[k:]).norm() / table[k:].norm()).item()


def test_only_sin_cos_pairs_have_an_exact_affine_shift():
    pairs = al.sinusoidal_encoding(200, 64, dtype=torch.float64)
    sines = pairs[:, 0::2]
    claim = lambda table: min(best_shift_error(table, k) for k in (1, 7, 50)) > 0.15  # noqa: E731
    assert claim(sines)                                                    # no affine map shifts the sines alone
    assert not claim(pairs)                                                # broken input: the pairs, it fails
    assert max(best_shift_error(pairs, k) for k in (1, 7, 50)) < 1e-9


def diagonal_spread(A, table):
    S = table @ A @ table.T
    n = len(S)
    spread = torch.stack([torch.diagonal(S, k).std() for k in range(-(n // 2), n // 2)]).mean()
    return (spread / S.std()).item()


def test_projections_break_the_offset_property_unless_they_commute_with_the_rotations():
    table = al.sinusoidal_encoding(100, 64, dtype=torch.float64)
    torch.manual_seed(0)
    layer = al.MultiHeadAttention(64, 4).double()
    A = (layer.q_proj.weight[:16].T @ layer.k_proj.weight[:16]).detach()
    assert diagonal_spread(A, table) > 0.3                                            # the claim
    assert diagonal_spread(torch.eye(64, dtype=torch.float64), table) < 1e-9         # fails on A = I
    rotation = al.positional.shift_rotation(5, 64)
    assert diagonal_spread(3 * rotation, table) < 1e-9                                # and on a scaled rotation


def test_position_explorer_draws_the_encodings_with_a_colour_bar():
    import matplotlib.pyplot as plt

    captured = {}
    original = al.widgets.explore

    def capture(draw, params, **kwargs):
        captured.update(draw=draw, params=params)
        return original(draw, params, **kwargs)

    al.widgets.explore = capture
    try:
        html = al.widgets.position_explorer(16, positions=(0, 10, 40), offsets=(0, 3), static=True)
    finally:
        al.widgets.explore = original
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 3 * 2
    fig = plt.figure()
    captured["draw"](fig, p=10, k=3)
    strip = next(ax for ax in fig.axes if ax.images)
    expected = al.sinusoidal_encoding(14, 16, dtype=torch.float64)[[10, 13]].numpy()
    torch.testing.assert_close(torch.tensor(strip.images[0].get_array().data), torch.tensor(expected))
    assert [t.get_text() for t in strip.get_yticklabels()] == ["PE(10)", "PE(13)"]
    assert any(ax.get_ylabel() == "feature value" for ax in fig.axes)            # the colour bar
    plt.close(fig)


# ---- chapter 12 ----

def normalisation_changes(module, normalise):
    torch.manual_seed(1)
    sentence = torch.randn(1, 5, 16)
    mates_a, mates_b = torch.randn(3, 5, 16), 2 * torch.randn(3, 5, 16) + 1
    padded = torch.cat([sentence, torch.zeros(1, 4, 16)], dim=1)
    with torch.no_grad():
        module.train()
        alone = normalise(sentence)[0]
        found = [(normalise(torch.cat([sentence, mates_a]))[0] - normalise(torch.cat([sentence, mates_b]))[0]),
                 normalise(padded)[0, :5] - alone]
        module.eval()
        found.append(normalise(sentence)[0] - alone)
    return [f.abs().max().item() for f in found]


def test_batchnorm_depends_on_batch_padding_and_mode_and_layernorm_does_not():
    batch_norm = nn.BatchNorm1d(16)
    bn = lambda h: batch_norm(h.transpose(1, 2)).transpose(1, 2)  # noqa: E731
    layer_norm = nn.LayerNorm(16)
    assert min(normalisation_changes(batch_norm, bn)) > 0.1
    assert max(normalisation_changes(layer_norm, layer_norm)) < 1e-6


def manual_diagnostics(stack, x, probe):
    stream, h = [x.pow(2).mean().sqrt().item()], x
    for layer in stack.layers:
        h = layer(h)
        stream.append(h.pow(2).mean().sqrt().item())
    out = stack.norm(h) if stack.norm is not None else h
    stack.zero_grad()
    (out * probe).sum().backward()
    grads = [math.sqrt(sum(p.grad.pow(2).sum().item() for p in layer.parameters())) for layer in stack.layers]
    return stream, grads


@pytest.mark.parametrize("norm_first", [False, True])
def test_residual_stream_and_gradients_against_a_manual_backward(norm_first):
    torch.manual_seed(0)
    stack = tf.Encoder(5, 16, 2, 32, dropout=0.0, norm_first=norm_first)
    x, probe = torch.randn(3, 7, 16), torch.randn(3, 7, 16)
    stream, grads = tf.residual_stream_and_gradients(stack, x, probe)
    expected_stream, expected_grads = manual_diagnostics(stack, x, probe)
    assert stream == pytest.approx(expected_stream, rel=1e-6)
    assert grads == pytest.approx(expected_grads, rel=1e-5)
    assert len(stream) == 6 and len(grads) == 5


def top_vs_bottom_third(values):
    third = len(values) // 3
    return (sum(values[-third:]) / third) / (sum(values[:third]) / third)


def placement_claims(stats):
    """Chapter 12's assert on the explorer's statistics of a 12-layer stack."""
    post_stream, post_grad = stats["post-norm"]
    pre_stream, pre_grad = stats["pre-norm"]
    return (all(abs(s - 1) < 1e-3 for s in post_stream[1:])
            and top_vs_bottom_third(post_grad) > 1.1 and top_vs_bottom_third(pre_grad) < 0.9)


def test_norm_placement_claims_hold_and_fail_when_the_placements_are_swapped():
    stats = {}
    for norm_first in (False, True):
        torch.manual_seed(0)
        stack = tf.Encoder(12, 64, 4, 128, dropout=0.0, norm_first=norm_first)
        x, probe = torch.randn(16, 20, 64), torch.randn(16, 20, 64)
        stats["pre-norm" if norm_first else "post-norm"] = tf.residual_stream_and_gradients(stack, x, probe)
    assert placement_claims(stats)
    assert not placement_claims({"post-norm": stats["pre-norm"], "pre-norm": stats["post-norm"]})


def test_residual_stream_and_gradients_refuses_bad_input():
    stack = tf.Encoder(2, 16, 2, 32)
    with pytest.raises(TypeError, match="stack must be an attnlab.transformer.Encoder"):
        tf.residual_stream_and_gradients(nn.Linear(2, 2), torch.randn(1, 2, 16), torch.randn(1, 2, 16))
    with pytest.raises(ValueError, match="probe must have the output's shape"):
        tf.residual_stream_and_gradients(stack, torch.randn(1, 2, 16), torch.randn(1, 3, 16))


def test_norm_placement_explorer_twin_has_a_frame_per_depth_and_checks_its_input():
    stats = {d: {"post-norm": ([1.0] * (d + 1), [1.0 + i for i in range(d)]),
                 "pre-norm": ([1.0 + i for i in range(d + 1)], [2.0 - i / d for i in range(d)])} for d in (2, 4)}
    html = al.widgets.norm_placement_explorer(stats, static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 2
    with pytest.raises(ValueError, match="depth \\+ 1 stream values"):
        al.widgets.norm_placement_explorer({3: stats[2]})


def test_transformer_explorer_twin_labels_every_panel_and_has_a_colour_bar():
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    m = tf.Transformer(11, 9, d_model=16, num_heads=2, num_layers=2, d_ff=32, dropout=0.0, max_len=16)
    _, weights = m(torch.randint(3, 11, (1, 5)), torch.tensor([5]), torch.randint(3, 9, (1, 4)), need_weights=True)
    src, tgt = [f"s{j}" for j in range(5)], [f"t{i}" for i in range(4)]
    captured = {}
    original = al.widgets.explore

    def capture(draw, params, **kwargs):
        captured.update(draw=draw, params=params, kwargs=kwargs)
        return original(draw, params, **kwargs)

    al.widgets.explore = capture
    try:
        al.widgets.transformer_attention_explorer(weights, src, tgt, static=True)
    finally:
        al.widgets.explore = original
    fig = plt.figure(figsize=captured["kwargs"]["figsize"])
    captured["draw"](fig, block="cross-attention")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4                                                        # 2 layers x 2 heads
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == src
        assert [t.get_text() for t in ax.get_yticklabels()] == tgt
    colour_bars = [ax for ax in fig.axes if not ax.images]
    assert len(colour_bars) == 1 and colour_bars[0].get_ylabel() == "attention weight"
    plt.close(fig)


# ---- chapter 13 ----

def scale_ratios(model):
    rows = model.src_embed.weight[3:]
    position = model.positions[:30].norm(dim=-1).mean().item()
    return ((rows * math.sqrt(model.d_model)).norm(dim=-1).mean().item() / position,
            rows.norm(dim=-1).mean().item() / position)


def test_sqrt_d_scaling_puts_words_and_positions_on_one_scale():
    torch.manual_seed(0)
    model = tf.Transformer(40, 40, d_model=64, num_heads=4, num_layers=1, d_ff=64, dropout=0.0, max_len=64)
    scaled, unscaled = scale_ratios(model)
    assert 0.5 < scaled < 2 and unscaled < 0.25                       # the claim
    torch.manual_seed(0)                                                # broken: an N(0, 1) initialisation
    broken = tf.Transformer(40, 40, d_model=64, num_heads=4, num_layers=1, d_ff=64, dropout=0.0, max_len=64)
    nn.init.normal_(broken.src_embed.weight)
    assert not 0.5 < scale_ratios(broken)[0] < 2


def test_the_embedding_is_scaled_inside_the_model():
    torch.manual_seed(0)
    model = tf.Transformer(40, 40, d_model=16, num_heads=2, num_layers=1, d_ff=32, dropout=0.0, max_len=8)
    ids = torch.randint(3, 40, (2, 5))
    expected = model.src_embed.weight[ids] * 4.0 + al.sinusoidal_encoding(5, 16)
    torch.testing.assert_close(model.embed(model.src_embed, ids, "src"), expected)


def test_label_smoothing_target_is_one_minus_eps_plus_eps_over_v():
    logits, reference, V = torch.randn(6, 20), torch.randint(0, 20, (6,)), 20
    target = torch.full((6, V), 0.1 / V)
    target[torch.arange(6), reference] += 0.9
    torch.testing.assert_close(F.cross_entropy(logits, reference, label_smoothing=0.1),
                               -(target * logits.log_softmax(-1)).sum(-1).mean())
    wrong = torch.full((6, V), 0.1 / (V - 1))                          # 0.9 on the reference, 0.1 over the others
    wrong[torch.arange(6), reference] = 0.9
    assert not torch.allclose(F.cross_entropy(logits, reference, label_smoothing=0.1),
                              -(wrong * logits.log_softmax(-1)).sum(-1).mean())
