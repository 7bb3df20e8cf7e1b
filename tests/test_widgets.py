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
