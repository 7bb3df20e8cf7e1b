"""The figures and widgets: what they draw is what attnlab computed; live and static twins agree."""

import re

import ipywidgets
import matplotlib
import numpy as np
import pytest
import torch
from IPython.display import HTML

import attnlab as al

matplotlib.use("Agg")


@pytest.fixture
def example():
    q, k, v = torch.randn(3, 2), torch.randn(4, 2), torch.randn(4, 2)
    out, weights = al.attention(q, k, v)
    return out, weights, v


def test_heatmap_labels_and_annotations():
    weights = torch.tensor([[0.9, 0.1], [0.3, 0.7]])
    ax = al.viz.heatmap(weights, x_labels=["I", "you"], y_labels=["je", "te"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["I", "you"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["je", "te"]
    assert sorted(t.get_text() for t in ax.texts) == ["0.10", "0.30", "0.70", "0.90"]
    np.testing.assert_allclose(ax.images[0].get_array(), weights.numpy())


def test_static_twin_has_one_frame_per_query(example):
    _, weights, v = example
    html = al.widgets.attention_explorer(weights, v, static=True)
    assert isinstance(html, HTML)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 3 and 'type="range"' in html.data


def test_live_widget_offers_every_query_and_redraws_when_moved(example):
    _, weights, v = example
    widget = al.widgets.attention_explorer(weights, v, query_labels=["a", "b", "c"])
    control, image = widget.children
    assert control.options == (("a", 0), ("b", 1), ("c", 2))
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG")
    control.value = 2
    assert bytes(image.value) != first
    control.value = 0
    assert bytes(image.value) == first  # the same query draws the same picture


@pytest.mark.parametrize("d_v", [2, 3])
def test_drawn_output_is_the_attention_output(example, d_v):
    """The star marking the output sits where al.attention put the output, for every query."""
    q, k, v = torch.randn(3, 2), torch.randn(4, 2), torch.randn(4, d_v)
    out, weights = al.attention(q, k, v)
    captured = {}

    def capture(draw, params, **kwargs):
        captured.update(draw=draw, options=params["query"])

    original = al.widgets.explore
    al.widgets.explore = capture
    try:
        al.widgets.attention_explorer(weights, v)
    finally:
        al.widgets.explore = original
    import matplotlib.pyplot as plt

    fig = plt.figure()
    for _, i in captured["options"]:
        captured["draw"](fig, query=i)
        star = [c for c in fig.axes[2].collections if c.get_label() == "output"][0]
        offsets = np.asarray(star.get_offsets())
        drawn = offsets[0] if d_v == 2 else offsets[:, 1]
        np.testing.assert_allclose(drawn, out[i].numpy(), rtol=1e-5, atol=1e-6)
    plt.close(fig)


def capture_draw(make_widget):
    """Run a widget constructor with ``explore`` replaced, returning its draw function and parameter options."""
    captured = {}

    def capture(draw, params, **kwargs):
        captured.update(draw=draw, params=params, valid=kwargs.get("valid"))

    original = al.widgets.explore
    al.widgets.explore = capture
    try:
        make_widget()
    finally:
        al.widgets.explore = original
    return captured


def alignment_examples():
    torch.manual_seed(0)
    out = []
    for n_src, n_tgt in ((4, 3), (6, 5)):
        weights = torch.softmax(torch.randn(n_tgt, n_src), -1)
        out.append(([f"s{j}" for j in range(n_src)], [f"t{i}" for i in range(n_tgt)], weights, torch.randn(n_src, 20)))
    return out


def test_alignment_explorer_draws_the_context_vector_attnlab_would_compute():
    import matplotlib.pyplot as plt

    examples = alignment_examples()
    captured = capture_draw(lambda: al.widgets.alignment_explorer(examples, features=12))
    fig = plt.figure()
    for sentence, (src, tgt, w, h) in enumerate(examples):
        for i in range(len(tgt)):
            captured["draw"](fig, sentence=sentence, word=i)
            expected = (w[i] @ h)[:12]
            np.testing.assert_allclose(fig.axes[3].images[0].get_array()[0], expected.numpy(), rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(fig.axes[2].images[0].get_array(), (w[i][:, None] * h[:, :12]).numpy(),
                                       rtol=1e-6, atol=1e-7)
    captured["draw"](fig, sentence=0, word=4)  # past the end of a 3-word target: the live slider clamps
    plt.close(fig)
    assert [captured["valid"](sentence=s, word=i) for s in (0, 1) for i in range(5)] == [True] * 3 + [False] * 2 + [True] * 5


def test_alignment_explorer_twin_has_one_frame_per_target_word_and_checks_shapes():
    examples = alignment_examples()
    html = al.widgets.alignment_explorer(examples, static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 3 + 5
    src, tgt, w, h = examples[0]
    with pytest.raises(ValueError, match=r"expected weights \(3, 4\) and annotations \(4, d\)"):
        al.widgets.alignment_explorer([(src, tgt, w.T, h)])


def test_caption_scrubber_draws_each_words_map():
    import matplotlib.pyplot as plt

    words = ["red", "circle", "blue", "square"]
    alpha = torch.softmax(torch.randn(4, 16), -1)
    image = torch.rand(3, 32, 32)
    captured = capture_draw(lambda: al.widgets.caption_scrubber(image, words, alpha, (4, 4)))
    fig = plt.figure()
    for t in range(4):
        captured["draw"](fig, word=t)
        np.testing.assert_allclose(fig.axes[1].images[0].get_array(), alpha[t].reshape(4, 4).numpy(), rtol=1e-6)
        assert f"[{words[t]}]" in fig.axes[0].get_title()
    plt.close(fig)
    html = al.widgets.caption_scrubber(image, words, alpha, (4, 4), static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 4
    with pytest.raises(ValueError, match=r"weights must be \(T, h w\) = \(4, 16\), got \(4, 9\)"):
        al.widgets.caption_scrubber(image, words, alpha[:, :9], (4, 4))


def transformer_weights():
    torch.manual_seed(0)
    m = al.transformer.Transformer(11, 9, d_model=16, num_heads=4, num_layers=2, d_ff=32, dropout=0.0, max_len=16)
    _, weights = m(torch.randint(3, 11, (1, 5)), torch.tensor([5]), torch.randint(3, 9, (1, 4)), need_weights=True)
    return weights


def test_transformer_explorer_draws_the_requested_head():
    import matplotlib.pyplot as plt

    weights = transformer_weights()
    src, tgt = [f"s{j}" for j in range(5)], [f"t{i}" for i in range(4)]
    captured = capture_draw(lambda: al.widgets.transformer_attention_explorer(weights, src, tgt))
    assert [v for _, v in captured["params"]["layer"]] == [0, 1] and len(captured["params"]["head"]) == 4
    fig = plt.figure()
    for block, key in (("encoder self-attention", "encoder"), ("cross-attention", "cross")):
        captured["draw"](fig, block=block, layer=1, head=2)
        np.testing.assert_allclose(fig.axes[0].images[0].get_array(), weights[key][1][0, 2].detach().numpy(),
                                   rtol=1e-6)
    plt.close(fig)
    html = al.widgets.transformer_attention_explorer(weights, src, tgt, static=True)
    assert len(re.findall(r"frames\[\d+\]", html.data)) == 3
    with pytest.raises(ValueError, match=r"encoder self-attention maps must be \(H, 4, 4\)"):
        al.widgets.transformer_attention_explorer(weights, src[:4], tgt)
