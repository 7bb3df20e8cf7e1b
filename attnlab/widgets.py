"""Interactive figures, each with a static twin for the rendered book.

A widget is one drawing function ``draw(fig, value)`` and the values a slider runs over. ``slider`` returns the
live ipywidgets control (Jupyter, Colab) or, with ``static=True``, its twin for the book, which has no kernel: a
matplotlib animation over the same values exported with ``to_jshtml()``, whose frame slider works in plain HTML.
Both call the same ``draw``, so they cannot drift. Widgets only draw what attnlab computed; they never compute
attention themselves.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .viz import heatmap, to_numpy


def slider(
    draw: Callable[[Figure, object], None],
    options: Sequence[tuple[str, object]],
    *,
    label: str,
    static: bool = False,
    figsize: tuple[float, float] = (10.0, 4.0),
    interval_ms: int = 1200,
) -> ipywidgets.Widget | HTML:
    """A figure driven by one parameter: ``options`` are ``(text, value)`` pairs, ``draw(fig, value)`` draws.

    Live: a ``SelectionSlider`` above an image of the figure, redrawn when the slider moves. (An image widget
    rather than ``ipywidgets.interactive``: capturing plots in an Output widget can deadlock headless execution,
    jupyter/nbconvert#2029.) Static: one animation frame per option.
    """
    options = list(options)
    if not options:
        raise ValueError("slider(): options must not be empty")
    if static:
        fig = plt.figure(figsize=figsize)
        animation = FuncAnimation(fig, lambda i: draw(fig, options[i][1]), frames=len(options), interval=interval_ms)
        html = animation.to_jshtml(default_mode="once")
        plt.close(fig)
        return HTML(html)
    control = ipywidgets.SelectionSlider(options=options, description=label, continuous_update=False)
    image = ipywidgets.Image(value=render_png(draw, control.value, figsize), format="png")
    control.observe(lambda change: setattr(image, "value", render_png(draw, change["new"], figsize)), names="value")
    return ipywidgets.VBox([control, image])


def render_png(draw: Callable[[Figure, object], None], value: object, figsize: tuple[float, float]) -> bytes:
    """``draw(fig, value)`` on a fresh figure outside pyplot (so nothing is shown or kept), as PNG bytes."""
    fig = Figure(figsize=figsize)
    draw(fig, value)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def attention_explorer(
    weights: torch.Tensor,
    values: torch.Tensor,
    *,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Pick a query; see its row of weights and the weighted sum of the values forming.

    ``weights (Tq, Tk)`` are what ``al.attention`` returned for one batch item, ``values (Tk, d_v)`` the values it
    averaged. Panels: all weights with the chosen row outlined; that row as bars; the output
    ``sum_j w_j v_j`` -- drawn head to tail in the plane when ``d_v = 2``, as stacked contributions per feature
    otherwise.
    """
    w, v = to_numpy(weights), to_numpy(values)
    if w.ndim != 2 or v.ndim != 2 or v.shape[0] != w.shape[1]:
        raise ValueError(
            f"attention_explorer(): expected weights (Tq, Tk) and values (Tk, d_v), got {w.shape} and {v.shape}"
        )
    n_q, n_k = w.shape
    q_labels = list(query_labels) if query_labels is not None else [f"q{i}" for i in range(n_q)]
    k_labels = list(key_labels) if key_labels is not None else [f"k{j}" for j in range(n_k)]
    colors = plt.cm.tab10(np.arange(n_k) % 10)

    def draw(fig: Figure, i: int) -> None:
        fig.clear()
        ax_map, ax_bar, ax_sum = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.0, 1.0, 1.2]})
        heatmap(w, x_labels=k_labels, y_labels=q_labels, ax=ax_map, colorbar=False, title="all weights")
        ax_map.add_patch(Rectangle((-0.5, i - 0.5), n_k, 1, fill=False, edgecolor="red", linewidth=2.5))
        ax_bar.bar(range(n_k), w[i], color=colors)
        for j, weight in enumerate(w[i]):
            ax_bar.text(j, weight + 0.02, f"{weight:.2f}", ha="center", fontsize=9)
        ax_bar.set(ylim=(0, 1.1), xlabel="key", ylabel="weight", title=f"weights of query {q_labels[i]!r}")
        ax_bar.set_xticks(range(n_k), k_labels)
        (_weighted_sum_plane if v.shape[1] == 2 else _weighted_sum_bars)(ax_sum, w[i], v, k_labels, colors)
        fig.tight_layout()

    return slider(draw, list(zip(q_labels, range(n_q))), label="query", static=static, figsize=(13.0, 3.8))


def _weighted_sum_plane(ax: Axes, w: np.ndarray, v: np.ndarray, labels: list[str], colors: np.ndarray) -> None:
    """2-D values as points; the contributions w_j v_j as arrows laid head to tail from the origin."""
    ax.scatter(v[:, 0], v[:, 1], s=120, c=colors, alpha=0.35, zorder=2)
    for j, label in enumerate(labels):
        ax.annotate(label, v[j], textcoords="offset points", xytext=(6, 6))
    tip = np.zeros(2)
    for j in range(len(labels)):
        step = w[j] * v[j]
        ax.annotate("", tip + step, tip, arrowprops={"arrowstyle": "->", "color": colors[j], "lw": 2})
        tip = tip + step
    ax.scatter(*tip, marker="*", s=250, color="red", zorder=3, label="output")
    ax.scatter(0, 0, marker="+", s=80, color="black")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="lower right")
    ax.set(title=r"output $=\sum_j w_j v_j$", xlabel="value feature 0", ylabel="value feature 1")


def _weighted_sum_bars(ax: Axes, w: np.ndarray, v: np.ndarray, labels: list[str], colors: np.ndarray) -> None:
    """Per output feature, the contributions w_j v_j stacked (up if positive, down if negative) and their sum."""
    contributions = w[:, None] * v  # (Tk, d_v)
    features = np.arange(v.shape[1])
    up, down = np.zeros(v.shape[1]), np.zeros(v.shape[1])
    for j, label in enumerate(labels):
        c = contributions[j]
        ax.bar(features, c, bottom=np.where(c >= 0, up, down), color=colors[j], label=label)
        up, down = up + np.maximum(c, 0), down + np.minimum(c, 0)
    ax.scatter(features, contributions.sum(0), marker="*", s=120, color="red", zorder=3, label="output")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.legend(fontsize=8, ncol=2)
    ax.set(title=r"output $=\sum_j w_j v_j$", xlabel="value feature", ylabel="contribution")
