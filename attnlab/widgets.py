"""Interactive figures, each with a static twin for the rendered book.

A widget is one drawing function ``draw(fig, **values)`` and the options of its parameters. ``explore`` returns
the live ipywidgets controls (Jupyter, Colab) or, with ``static=True``, its twin for the book, which has no kernel:
a matplotlib animation over the same settings exported with ``to_jshtml()``, whose frame slider works in plain HTML.
Both call the same ``draw``, so they cannot drift. Widgets only draw what attnlab computed; they never compute
attention themselves.

Book: used by the widgets of most chapters, first in chapter 1 (notebooks/01_attention_in_one_picture.ipynb).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .local import local_mask_2d
from .positional import sinusoidal_encoding
from .relative import skew
from .saturation import entropy, random_query_weights, saturation_statistics, softmax_jacobian
from .viz import head_map, heatmap, overlay, to_numpy


def explore(
    draw: Callable[..., None],
    params: dict[str, Sequence[tuple[str, object]]],
    *,
    static: bool = False,
    figsize: tuple[float, float] = (10.0, 4.0),
    interval_ms: int = 1200,
    valid: Callable[..., bool] | None = None,
) -> ipywidgets.Widget | HTML:
    """A figure driven by parameters: ``params`` maps each name to its ``(text, value)`` options and
    ``draw(fig, **values)`` draws one setting.

    Live: a slider per parameter (toggle buttons when it has two options) above an image of the figure, redrawn
    when a control moves. (An image widget rather than ``ipywidgets.interactive``: capturing plots in an Output
    widget can deadlock headless execution, jupyter/nbconvert#2029.) Static: one animation frame per combination,
    the first parameter varying slowest, skipping those for which ``valid(**values)`` is False (the live ``draw``
    must cope with them, e.g. by clamping).
    """
    options = {name: list(choices) for name, choices in params.items()}
    if not options or not all(options.values()):
        raise ValueError(f"explore(): every parameter needs at least one option, got {params!r}")
    if static:
        settings = [dict(zip(options, (value for _, value in combo))) for combo in itertools.product(*options.values())]
        settings = [setting for setting in settings if valid is None or valid(**setting)]
        fig = plt.figure(figsize=figsize, dpi=80)  # the frames are embedded in the page: keep them light
        animation = FuncAnimation(fig, lambda i: draw(fig, **settings[i]), frames=len(settings), interval=interval_ms)
        html = animation.to_jshtml(default_mode="once")
        plt.close(fig)
        return HTML(html)
    controls = {
        name: (ipywidgets.ToggleButtons if len(choices) == 2 else ipywidgets.SelectionSlider)(
            options=choices, description=name)
        for name, choices in options.items()
    }

    def current() -> dict[str, object]:
        return {name: control.value for name, control in controls.items()}

    image = ipywidgets.Image(value=render_png(draw, current(), figsize), format="png")
    for control in controls.values():
        control.observe(lambda _: setattr(image, "value", render_png(draw, current(), figsize)), names="value")
    return ipywidgets.VBox([*controls.values(), image])


def render_png(draw: Callable[..., None], values: dict[str, object], figsize: tuple[float, float]) -> bytes:
    """``draw(fig, **values)`` on a fresh figure outside pyplot (so nothing is shown or kept), as PNG bytes."""
    fig = Figure(figsize=figsize)
    draw(fig, **values)
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

    def draw(fig: Figure, query: int) -> None:
        i = query
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

    return explore(draw, {"query": list(zip(q_labels, range(n_q)))}, static=static, figsize=(13.0, 3.8))


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


def scaling_explorer(
    dims: Sequence[int] = (4, 16, 64, 256, 1024), *, n_keys: int = 64, trials: int = 500, seed: int = 0,
    static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Slide the width d and toggle the 1/sqrt(d) scale: one random query's weights over ``n_keys`` keys (sorted,
    largest first), and the mean entropy and softmax-Jacobian norm over ``trials`` queries against d."""
    generator = torch.Generator().manual_seed(seed)
    settings = [(d, scaled) for d in dims for scaled in (False, True)]
    example = {s: random_query_weights(s[0], scaled=s[1], n_keys=n_keys, generator=generator)[0] for s in settings}
    stats = {s: saturation_statistics(s[0], scaled=s[1], n_keys=n_keys, trials=trials, generator=generator)
             for s in settings}
    styles = {False: ("tab:red", "unscaled"), True: ("tab:blue", r"scaled by $1/\sqrt{d}$")}

    def draw(fig: Figure, scaled: bool, d: int) -> None:
        fig.clear()
        ax_w, ax_e, ax_j = fig.subplots(1, 3)
        w = example[d, scaled]
        jacobian = softmax_jacobian(w).norm().item()
        color, name = styles[scaled]
        ax_w.bar(range(n_keys), to_numpy(w.sort(descending=True).values), color=color)
        ax_w.set(ylim=(0, 1), xlabel="key (sorted by weight)", ylabel="weight",
                 title=f"one query, d = {d}, {name}\nentropy {entropy(w).item():.2f} nats, |J| = {jacobian:.3f}")
        for ax, key, label in ((ax_e, "entropy", "mean entropy (nats)"), (ax_j, "jacobian_norm", "mean |softmax Jacobian|")):
            for flag, (c, n) in styles.items():
                ax.plot(dims, [stats[dd, flag][key] for dd in dims], "o-", color=c, label=n, alpha=0.8)
            ax.plot([d], [stats[d, scaled][key]], "o", ms=14, mfc="none", mec="black", mew=2)
            ax.set(xscale="log", xlabel="d", ylabel=label, ylim=(0, None))
            ax.set_xticks(list(dims), [str(dd) for dd in dims])
            ax.minorticks_off()
        ax_e.axhline(np.log(n_keys), ls="--", color="gray", label=f"uniform: log {n_keys}")
        ax_e.set_ylim(0, 1.1 * np.log(n_keys))
        ax_e.legend(fontsize=8, loc="center right")
        fig.tight_layout()

    return explore(draw, {"scaled": [("unscaled", False), ("scaled", True)], "d": [(str(d), d) for d in dims]},
                   static=static, figsize=(13.0, 3.8))


def permutation_explorer(
    layer: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    x: torch.Tensor,
    token_labels: Sequence[str],
    orders: Sequence[Sequence[int]],
    *,
    static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Reorder a sequence and watch a self-attention layer's output and weights reorder with it.

    ``layer(x (1, T, d)) -> (out (1, T, d_v), weights (1, T, T))``, e.g. ``al.SelfAttention``; ``x (T, d)`` one
    sequence; ``orders`` the permutations to offer. Each row is labelled with its token, so the same token's output
    row can be followed from one order to the next; the title gives ``max |f(s(x)) - s(f(x))|``.
    """
    x = x.detach()
    orders = [list(order) for order in orders]
    with torch.no_grad():
        out, _ = layer(x[None])
        results = {tuple(o): layer(x[o][None]) for o in orders}
    lim_x, lim_out = x.abs().max().item(), out.abs().max().item()  # diverging colours centred on 0

    def draw(fig: Figure, order: tuple[int, ...]) -> None:
        fig.clear()
        o = list(order)
        out_o, weights_o = (t[0] for t in results[order])
        labels = [token_labels[i] for i in o]
        gap = (out_o - out[0][o]).abs().max().item()
        ax_in, ax_w, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.0, 1.2, 1.0]})
        heatmap(x[o], y_labels=labels, ax=ax_in, xlabel="feature", ylabel="token", title="input x, reordered",
                colorbar=False, vmin=-lim_x, vmax=lim_x, cmap="coolwarm")
        heatmap(weights_o, x_labels=labels, y_labels=labels, ax=ax_w, colorbar=False, title="attention weights")
        heatmap(out_o, y_labels=labels, ax=ax_out, xlabel="feature", ylabel="token", colorbar=False,
                vmin=-lim_out, vmax=lim_out, cmap="coolwarm", title=f"output f(x)\nmax |f(s(x)) - s(f(x))| = {gap:.0e}")
        fig.tight_layout()

    options = [(" ".join(token_labels[i] for i in o), tuple(o)) for o in orders]
    return explore(draw, {"order": options}, static=static, figsize=(13.0, 3.8))


def position_explorer(
    d_model: int = 64, *, positions: Sequence[int] = (0, 40), offsets: Sequence[int] = (0, 1, 4, 16, 32),
    static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Pick a position p and an offset k: see PE(p) and PE(p + k) feature by feature, and their dot product
    against k for every p offered (the curves coincide: it depends on k alone)."""
    horizon = max(offsets)
    table = sinusoidal_encoding(max(positions) + horizon + 1, d_model, dtype=torch.float64)
    ks = np.arange(horizon + 1)
    curves = {p: to_numpy(table[p:p + horizon + 1] @ table[p]) for p in positions}

    def draw(fig: Figure, p: int, k: int) -> None:
        fig.clear()
        ax_pe, ax_dot = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1.0]})
        heatmap(table[[p, p + k]], y_labels=[f"PE({p})", f"PE({p + k})"], ax=ax_pe, annotate=False,
                colorbar_label="feature value", vmin=-1.0, vmax=1.0, cmap="coolwarm",
                xlabel="feature (sin at even, cos at odd; frequency falls to the right)",
                ylabel="", title=f"PE({p}) . PE({p + k}) = {float(table[p] @ table[p + k]):.2f}")
        ax_pe.set_xticks(range(0, d_model, 8), [str(f) for f in range(0, d_model, 8)])
        for q, curve in curves.items():
            ax_dot.plot(ks, curve, lw=3 if q == p else 1.2, alpha=1 if q == p else 0.6, label=f"p = {q}")
        ax_dot.plot([k], [curves[p][k]], "o", ms=12, mfc="none", mec="black", mew=2)
        ax_dot.set(xlabel="offset k", ylabel="PE(p) . PE(p + k)", title="depends on k only")
        ax_dot.legend(fontsize=8)
        fig.tight_layout()

    return explore(draw, {"p": [(str(p), p) for p in positions], "k": [(str(k), k) for k in offsets]},
                   static=static, figsize=(12.0, 3.2))


def image_attention_explorer(
    image: torch.Tensor, weights: torch.Tensor, grid: tuple[int, int], points: dict[str, tuple[int, int]], *,
    static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Pick a query position on a photo; see where it attends.

    ``image (3, H_img, W_img)``; ``weights (HW, HW)`` over a feature grid ``grid = (H, W)`` covering the photo
    (row i: where grid cell i looks, raster order); ``points`` names query cells ``(row, col)``.
    """
    height, width = grid
    if weights.shape != (height * width, height * width):
        raise ValueError(f"image_attention_explorer(): weights must be (HW, HW) = {(height * width,) * 2}, "
                         f"got {tuple(weights.shape)}")
    photo = to_numpy(image.permute(1, 2, 0)).clip(0, 1)
    h_img, w_img = photo.shape[:2]

    def draw(fig: Figure, query: tuple[int, int]) -> None:
        fig.clear()
        ax_photo, ax_map = fig.subplots(1, 2)
        r, c = query
        row = to_numpy(weights[r * width + c]).reshape(height, width)
        star = ((c + 0.5) * w_img / width - 0.5, (r + 0.5) * h_img / height - 0.5)  # pixel centres lie on integers
        ax_photo.imshow(photo)
        ax_photo.imshow(row, cmap="magma", alpha=0.6, extent=(-0.5, w_img - 0.5, h_img - 0.5, -0.5))
        shown = ax_map.imshow(row, cmap="magma", vmin=0)
        fig.colorbar(shown, ax=ax_map, label="attention weight", fraction=0.046, pad=0.03)
        ax_photo.plot(*star, "c*", ms=16, mec="black")
        ax_map.plot(c, r, "c*", ms=16, mec="black")
        ax_photo.set(title="attention of the query (star) over the photo", xlabel="x (pixels)", ylabel="y (pixels)")
        ax_map.set(title=f"its row of the (HW) x (HW) matrix, as a {height} x {width} map", xlabel="grid column",
                   ylabel="grid row")
        fig.tight_layout()

    return explore(draw, {"query": [(name, tuple(p)) for name, p in points.items()]}, static=static,
                   figsize=(10.0, 3.4))


def local_blocks_explorer(
    height: int, width: int, query_block: tuple[int, int], memory: tuple[int, int], *, static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Choose a query block of a ``height x width`` image: see the pixels its queries may attend (the union over the
    block, from ``local_mask_2d``) and the rest of its memory rectangle, hidden because it is generated later in the
    paper's block-raster order (query blocks in raster order, raster order inside a block)."""
    mask = local_mask_2d(height, width, query_block, memory)
    h_q, w_q = query_block
    h_m, w_m = memory
    blocks = [(R, C) for R in range(-(-height // h_q)) for C in range(-(-width // w_q))]
    colours = np.array([[1.0, 1.0, 1.0], [0.55, 0.75, 0.95], [0.85, 0.85, 0.85], [0.85, 0.2, 0.2]])

    def draw(fig: Figure, block: tuple[int, int]) -> None:
        fig.clear()
        ax = fig.subplots()
        R, C = block
        grid = np.zeros((height, width), dtype=int)
        rows = slice(max(R * h_q - h_m, 0), (R + 1) * h_q)
        cols = slice(max(C * w_q - w_m, 0), (C + 1) * w_q + w_m)
        grid[rows, cols] = 2                                                  # memory rectangle, masked part
        queries = [r * width + c for r in range(R * h_q, min((R + 1) * h_q, height))
                   for c in range(C * w_q, min((C + 1) * w_q, width))]
        grid[to_numpy(mask[queries].any(0)).reshape(height, width) > 0] = 1  # may be attended
        grid[R * h_q:(R + 1) * h_q, C * w_q:(C + 1) * w_q] = 3               # the query block
        ax.imshow(colours[grid], interpolation="nearest")
        ax.set_xticks(np.arange(-0.5, width, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, height, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.6)
        ax.tick_params(which="both", length=0)
        ax.set(xticks=range(width), yticks=range(height), xlabel="pixel column", ylabel="pixel row",
               title=f"query block {block}: {len(queries)} queries, "
               f"{int(to_numpy(mask[queries].any(0)).sum())} pixels attended")
        ax.legend(handles=[Patch(color=colours[k], label=name) for k, name in
                           ((3, "query block"), (1, "memory: may attend"),
                            (2, "memory: not generated yet (block-raster order)"))],
                  loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, frameon=False)
        fig.tight_layout()

    return explore(draw, {"block": [(str(b), b) for b in blocks]}, static=static, figsize=(7.5, 3.6))


def skew_explorer(lengths: Sequence[int] = (3, 4, 5, 6), *, static: bool = False) -> ipywidgets.Widget | HTML:
    """The Music Transformer's skew, step by step, for several L. Entry (i, r) of the input is labelled with the
    relative distance it scores, r - (L - 1); after the skew, entry (i, j) holds distance j - i on and below the
    diagonal (above it: left-overs that the causal mask removes)."""

    def draw(fig: Figure, L: int) -> None:
        fig.clear()
        axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [L, L + 1, L, L]})
        rel = (torch.arange(L) - (L - 1)).expand(L, L).float()  # column r scores distance r - (L - 1)
        padded = torch.nn.functional.pad(rel, (1, 0), value=float("nan"))
        reshaped = padded.reshape(L + 1, L)
        out = skew(rel)
        steps = [(rel, "1. Q E_r^T: column r = distance r-(L-1)", "column r"),
                 (padded, "2. pad a column on the left", "column"),
                 (reshaped, "3. reshape to (L+1, L)", "column"),
                 (out, "4. drop row 0: (i, j) = distance j-i\n(grey: left-overs the causal mask removes)", "key j")]
        for ax, (matrix, title, xlabel) in zip(axes, steps):
            heatmap(matrix, ax=ax, colorbar=ax is axes[-1], colorbar_label="relative distance", annotate=True,
                    fmt=".0f", vmin=-(L - 1), vmax=0, cmap="viridis", xlabel=xlabel, ylabel="row", title=title)
            ax.title.set_fontsize(9)
        above = np.where(np.triu(np.ones((L, L)), 1) > 0, 1.0, np.nan)  # the left-overs, greyed out
        axes[-1].imshow(above, cmap=ListedColormap(["0.8"]), alpha=0.9, aspect="auto")
        fig.tight_layout()

    return explore(draw, {"L": [(str(L), L) for L in lengths]}, static=static, figsize=(14.0, 3.6))


def alignment_explorer(
    examples: Sequence[tuple[Sequence[str], Sequence[str], torch.Tensor, torch.Tensor]], *, features: int = 12,
    static: bool = False,
) -> ipywidgets.Widget | HTML:
    """Pick a sentence and a target word; see its alignment weights and its context vector forming.

    ``examples`` holds ``(source words, target words, weights (T, S), annotations (S, d))`` per sentence, as a
    trained ``AttentionDecoder`` gave them. Panels: the alignment matrix with the chosen row outlined; that row's
    weights over the source words; the weighted annotations ``alpha_ij h_j`` (first ``features`` features) and
    their sum, the context vector ``c_i``.
    """
    data = []
    for src, tgt, w, h in examples:
        w, h = to_numpy(w), to_numpy(h)[:, :features]
        if w.shape != (len(tgt), len(src)) or h.shape[0] != len(src):
            raise ValueError(f"alignment_explorer(): expected weights ({len(tgt)}, {len(src)}) and annotations "
                             f"({len(src)}, d) for {' '.join(src)!r}, got {w.shape} and {h.shape}")
        data.append((list(src), list(tgt), w, h))
    limit = max(float(np.abs(h).max()) for *_, h in data)

    def draw(fig: Figure, sentence: int, word: int) -> None:
        src, tgt, w, h = data[sentence]
        i = min(word, len(tgt) - 1)  # the live slider may point past a short sentence
        fig.clear()
        grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1.0, 1.0], height_ratios=[len(src), 1.6])
        ax_map, ax_bar = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 1])
        ax_parts, ax_sum = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])
        heatmap(w, x_labels=src, y_labels=tgt, ax=ax_map, colorbar=False, annotate=False, xlabel="source",
                ylabel="target", title="alignment")
        ax_map.tick_params(axis="x", labelrotation=90)
        ax_map.add_patch(Rectangle((-0.5, i - 0.5), len(src), 1, fill=False, edgecolor="red", linewidth=2.5))
        ax_bar.barh(range(len(src)), w[i], color="tab:red")
        ax_bar.set(yticks=range(len(src)), yticklabels=src, xlim=(0, 1), xlabel="weight", ylim=(len(src) - 0.5, -0.5),
                   title=f"alpha for {tgt[i]!r}")
        parts = w[i][:, None] * h
        ax_parts.imshow(parts, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax_parts.set(yticks=range(len(src)), yticklabels=src, xticks=[], title="alpha_ij h_j")
        ax_sum.imshow(parts.sum(0, keepdims=True), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax_sum.set(yticks=[0], yticklabels=["c_i"], xlabel=f"first {h.shape[1]} features", xticks=[])
        fig.tight_layout()

    longest = max(len(tgt) for _, tgt, *_ in data)
    return explore(
        draw, {"sentence": [(" ".join(src[:4]) + " ...", k) for k, (src, *_) in enumerate(data)],
               "word": [(str(i), i) for i in range(longest)]},
        static=static, figsize=(13.0, 5.0), valid=lambda sentence, word: word < len(data[sentence][1]),
    )


def caption_scrubber(image: torch.Tensor, words: Sequence[str], weights: torch.Tensor, grid: tuple[int, int], *,
                     static: bool = False) -> ipywidgets.Widget | HTML:
    """Scrub through a caption word by word and see where the model looked for each word.

    ``image (3, H, W)``; ``weights (T, h w)``: the attention of each of the T words over the ``grid = (h, w)``
    cells (raster order), e.g. ``ShowAttendTell``'s alpha for one image.
    """
    h, w = grid
    alpha = to_numpy(weights)
    if alpha.shape != (len(words), h * w):
        raise ValueError(f"caption_scrubber(): weights must be (T, h w) = ({len(words)}, {h * w}), got {alpha.shape}")

    def draw(fig: Figure, word: int) -> None:
        fig.clear()
        ax_image, ax_map = fig.subplots(1, 2)
        caption = " ".join(f"[{x}]" if t == word else x for t, x in enumerate(words))
        overlay(ax_image, image, alpha[word].reshape(h, w), title=caption)
        heatmap(alpha[word].reshape(h, w), ax=ax_map, xlabel="grid column", ylabel="grid row", fmt=".2f",
                title=f"alpha for {words[word]!r}")
        fig.tight_layout()

    return explore(draw, {"word": [(f"{t}: {x}", t) for t, x in enumerate(words)]}, static=static,
                   figsize=(10.0, 4.0))


def transformer_attention_explorer(
    weights: dict[str, list[torch.Tensor]], source: Sequence[str], target: Sequence[str], *, static: bool = False,
) -> ipywidgets.Widget | HTML:
    """The attention maps of every layer and head of an encoder-decoder Transformer, for one sentence pair.

    ``weights`` is what ``Transformer(..., need_weights=True)`` returned for a batch whose first item is the pair:
    ``{"encoder": [(B, H, S, S)] * L, "self": [(B, H, T, T)] * L, "cross": [(B, H, T, S)] * L}``; ``source`` and
    ``target`` label the S source and T target (decoder input) positions. Live: pick the block, the layer and the
    head. Static twin: one frame per block, showing all layers x heads as a grid.
    """
    blocks = {"encoder self-attention": ("encoder", source, source),
              "decoder self-attention (masked)": ("self", target, target),
              "cross-attention": ("cross", target, source)}
    maps = {name: [to_numpy(w[0]) for w in weights[key]] for name, (key, *_) in blocks.items()}
    n_layers, n_heads = len(maps["cross-attention"]), maps["cross-attention"][0].shape[0]
    for name, (_, rows, cols) in blocks.items():
        if any(m.shape != (n_heads, len(rows), len(cols)) for m in maps[name]):
            raise ValueError(f"transformer_attention_explorer(): {name} maps must be (H, {len(rows)}, {len(cols)}) "
                             f"for the given words, got {[m.shape for m in maps[name]]}")

    def draw_one(fig: Figure, block: str, layer: int, head: int) -> None:
        fig.clear()
        _, rows, cols = blocks[block]
        head_map(fig.add_subplot(), maps[block][layer][head], rows=rows, cols=cols,
                 title=f"layer {layer + 1}, head {head + 1}")
        fig.suptitle(block)
        fig.tight_layout()

    def draw_grid(fig: Figure, block: str) -> None:  # the static twin: every layer and head, words on the axes
        fig.clear()
        fig.set_layout_engine("constrained")
        _, rows, cols = blocks[block]
        axes = fig.subplots(n_layers, n_heads, squeeze=False)
        for layer in range(n_layers):
            for head in range(n_heads):
                ax = head_map(axes[layer, head], maps[block][layer][head], rows=rows, cols=cols,
                              title=f"layer {layer + 1}, head {head + 1}")
                ax.tick_params(labelsize=6)
                ax.set_xlabel("key" if layer == n_layers - 1 else "", fontsize=8)
                ax.set_ylabel("query" if head == 0 else "", fontsize=8)
        fig.colorbar(axes[0, 0].images[0], ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
        fig.suptitle(f"{block}: rows = layers, columns = heads")

    block_options = [(name, name) for name in blocks]
    if static:
        return explore(draw_grid, {"block": block_options}, static=True,
                       figsize=(3.0 * n_heads + 1.0, 3.0 * n_layers + 0.8))
    return explore(draw_one, {"block": block_options, "layer": [(str(i + 1), i) for i in range(n_layers)],
                              "head": [(str(h + 1), h) for h in range(n_heads)]}, figsize=(7.0, 6.0))


def encoder_attention_explorer(weights: Sequence[torch.Tensor], tokens: Sequence[str], *, static: bool = False
                               ) -> ipywidgets.Widget | HTML:
    """Every layer's and head's self-attention map of an encoder (e.g. ``attnlab.pretrained``'s MiniLM) for one
    sentence: ``weights`` is the per-layer list the model returns with ``need_weights=True``, ``[(B, H, T, T)] * L``
    (the first item of the batch is drawn; pass its real tokens only, e.g. ``w[:1, :, :n, :n]``), ``tokens`` the T
    word pieces. Live: pick the layer and the head. Static twin: one frame per layer with all its heads.
    """
    maps = [to_numpy(w[0]) for w in weights]
    if not maps or any(m.ndim != 3 or m.shape != maps[0].shape or m.shape[1:] != (len(tokens), len(tokens))
                       for m in maps):
        raise ValueError(f"encoder_attention_explorer(): weights must be a list of (B, H, T, T) with T = "
                         f"len(tokens) = {len(tokens)}, got {[tuple(w.shape) for w in weights]}")
    n_layers, n_heads = len(maps), maps[0].shape[0]
    columns = min(n_heads, 6)
    grid_rows = -(-n_heads // columns)

    def draw_one(fig: Figure, layer: int, head: int) -> None:
        fig.clear()
        head_map(fig.add_subplot(), maps[layer][head], rows=tokens, cols=tokens,
                 title=f"layer {layer + 1}, head {head + 1}")
        fig.tight_layout()

    def draw_layer(fig: Figure, layer: int) -> None:
        fig.clear()
        axes = fig.subplots(grid_rows, columns, squeeze=False).ravel()
        for head, ax in enumerate(axes[:n_heads]):
            head_map(ax, maps[layer][head], rows=tokens, cols=tokens, title=f"head {head + 1}")
            ax.set(xlabel="", ylabel="")
            ax.tick_params(labelsize=6)
        for ax in axes[n_heads:]:
            ax.set_axis_off()
        fig.suptitle(f"layer {layer + 1} of {n_layers}: each panel is one head (rows = queries, columns = keys)")
        fig.tight_layout()

    layers = [(str(i + 1), i) for i in range(n_layers)]
    if static:
        return explore(draw_layer, {"layer": layers}, static=True, figsize=(2.6 * columns, 2.8 * grid_rows + 0.5))
    return explore(draw_one, {"layer": layers, "head": [(str(h + 1), h) for h in range(n_heads)]},
                   figsize=(7.0, 6.0))


def norm_placement_explorer(stats: dict[int, dict[str, tuple[Sequence[float], Sequence[float]]]], *,
                            static: bool = False) -> ipywidgets.Widget | HTML:
    """Post-norm vs pre-norm as the stack gets deeper: the size of the residual stream and of each layer's gradient.

    ``stats[depth][name] = (stream, gradients)`` for ``name`` in ``"post-norm"``, ``"pre-norm"``, as
    ``attnlab.transformer.residual_stream_and_gradients`` returns them (``depth + 1`` stream values, ``depth``
    gradient norms). Live: a slider over the depths. Static twin: one frame per depth.
    """
    depths = sorted(stats)
    if not depths or any(set(stats[d]) != {"post-norm", "pre-norm"} or len(stats[d]["post-norm"][0]) != d + 1
                         or len(stats[d]["post-norm"][1]) != d for d in depths):
        raise ValueError("norm_placement_explorer(): stats must map each depth to {'post-norm': (stream, gradients), "
                         "'pre-norm': (stream, gradients)} with depth + 1 stream values and depth gradient norms")
    top = max(max(g) for d in depths for _, g in stats[d].values())
    bottom = min(min(g) for d in depths for _, g in stats[d].values())
    stream_top = max(max(s) for d in depths for s, _ in stats[d].values())

    def draw(fig: Figure, depth: int) -> None:
        fig.clear()
        ax_stream, ax_grad = fig.subplots(1, 2)
        for name, style in (("post-norm", "o-"), ("pre-norm", "s-")):
            stream, gradients = stats[depth][name]
            ax_stream.plot(range(depth + 1), stream, style, ms=3, label=name)
            ax_grad.plot(range(1, depth + 1), gradients, style, ms=3, label=name)
        ax_stream.set(xlabel="after layer (0 = the input)", ylabel="RMS of the residual stream",
                      title="the residual stream", ylim=(0, 1.05 * stream_top))
        ax_grad.set(xlabel="layer (1 = next to the input)", ylabel="gradient norm of the layer (log scale)",
                    title="gradients at initialisation", yscale="log", ylim=(0.7 * bottom, 1.4 * top))
        for ax in (ax_stream, ax_grad):
            ax.legend(fontsize=8)
        fig.suptitle(f"{depth}-layer encoder stack, post-norm vs pre-norm")
        fig.tight_layout()

    return explore(draw, {"depth": [(str(d), d) for d in depths]}, static=static, figsize=(11.0, 3.6))


def mask_explorer(panels: dict[str, tuple[torch.Tensor, torch.Tensor, str, str]], *, static: bool = False
                  ) -> ipywidgets.Widget | HTML:
    """Pick a masking mechanism; see its mask and, next to it, which inputs each output depends on.

    ``panels`` maps a name to ``(mask, dependencies, mask_xlabel, mask_ylabel)``: the mask as the mechanism applies
    it (an attention mask ``(Tq, Tk)``, the input-to-output connectivity of MADE's masks, a convolution kernel's
    mask) and the boolean ``(outputs, inputs)`` matrix that ``attnlab.autoregressive.dependencies`` measured with
    autograd. The second title says whether any output sees its own input or a later one (in raster order).
    Static twin: one frame per mechanism.
    """
    if not panels:
        raise ValueError("mask_explorer(): panels must name at least one mechanism, got {}")
    for name, panel in panels.items():
        if len(panel) != 4 or to_numpy(panel[0]).ndim != 2 or to_numpy(panel[1]).ndim != 2:
            raise ValueError(f"mask_explorer(): panel {name!r} must be (mask 2-D, dependencies 2-D, xlabel, ylabel)")

    def draw(fig: Figure, mechanism: str) -> None:
        fig.clear()
        name = mechanism
        mask, deps, xlabel, ylabel = panels[name]
        deps = to_numpy(deps).astype(bool)
        ax_m, ax_d = fig.subplots(1, 2)
        heatmap(to_numpy(mask).astype(float), ax=ax_m, xlabel=xlabel, ylabel=ylabel, annotate=False,
                title=f"{name}\nthe mask", colorbar_label="1 = connection allowed")
        seen = "yes" if np.diag(deps).any() else "no"
        later = "yes" if np.triu(deps, 1).any() else "no"
        heatmap(deps.astype(float), ax=ax_d, xlabel="input position j", ylabel="output position i", annotate=False,
                title=f"dependencies measured by autograd: {int(deps.sum())} pairs\n"
                      f"output i sees input i: {seen}; sees a later input: {later}",
                colorbar_label=r"1 = $\partial$ out$_i$ / $\partial$ in$_j \neq 0$")
        fig.tight_layout()

    return explore(draw, {"mechanism": [(name, name) for name in panels]}, static=static, figsize=(11.0, 4.6))


def score_explorer(weights: dict[str, torch.Tensor], source: Sequence[str], target: Sequence[str], *,
                   static: bool = False) -> ipywidgets.Widget | HTML:
    """Pick an alignment score and a decoder step; see the weights that score's trained decoder gave that step.

    ``weights`` maps a score's name to the ``(T, S)`` attention weights its decoder computed for the same sentence
    pair (``target`` rows, ``source`` columns). Panels: the whole alignment with the chosen step outlined (colour
    bar: the weight), and that step's row as bars, with its entropy and largest weight in the title. Static twin:
    one frame per (score, step).
    """
    maps = {name: to_numpy(w) for name, w in weights.items()}
    if not maps:
        raise ValueError("score_explorer(): weights must hold at least one score's (T, S) weights, got {}")
    for name, w in maps.items():
        if w.shape != (len(target), len(source)):
            raise ValueError(f"score_explorer(): weights[{name!r}] must be (T, S) = ({len(target)}, {len(source)}), "
                             f"got {w.shape}")
    src, tgt = list(source), list(target)

    def draw(fig: Figure, score: str, step: int) -> None:
        w = maps[score]
        row = w[step]
        fig.clear()
        ax_map, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1.0]})
        heatmap(w, x_labels=src, y_labels=tgt, ax=ax_map, annotate=False, xlabel="source word",
                ylabel="target word (decoder step)", title=f"{score}: every step")
        ax_map.tick_params(axis="x", labelrotation=90)
        ax_map.add_patch(Rectangle((-0.5, step - 0.5), len(src), 1, fill=False, edgecolor="red", linewidth=2.5))
        entropy_nats = float(-(row[row > 0] * np.log(row[row > 0])).sum())
        ax_bar.bar(range(len(src)), row, color="tab:red")
        ax_bar.set_xticks(range(len(src)), src, rotation=90)
        ax_bar.set(ylim=(0, 1.05), xlabel="source word", ylabel="weight",
                   title=f"step {step}: {tgt[step]!r}\nlargest {row.max():.2f}, entropy {entropy_nats:.2f} nats")
        fig.tight_layout()

    steps = [(f"{t}: {x}", t) for t, x in enumerate(tgt)]
    return explore(draw, {"score": [(name, name) for name in maps], "step": steps}, static=static, figsize=(12.0, 4.6))


def beam_stepper(traces: dict[float, list[dict[str, list]]], words: Sequence[str], *, beam_size: int,
                 static: bool = False) -> ipywidgets.Widget | HTML:
    """Step through a beam search: the search tree up to the chosen step, and the finished hypotheses ranked under
    each length penalty.

    ``traces`` maps a length-penalty ``alpha`` to the ``trace`` that ``attnlab.decoding.beam_search(...,
    alpha=alpha, trace=[])`` filled for one source sentence (the trees are the same for every alpha: pruning uses the
    plain sums; only the scores of the finished hypotheses differ); ``words`` are the target vocabulary's tokens.
    Left: one column per step, the prefixes kept (blue), finished with ``<eos>`` (green) and the best pruned ones
    (grey, x), each linked to its parent and labelled with its last word and summed log-probability. Right: for each
    alpha, the finished hypotheses so far ranked by ``log P / ((5 + |Y|) / 6) ** alpha``. Static twin: one frame per
    step.
    """
    if not traces:
        raise ValueError("beam_stepper(): traces must hold at least one alpha's trace, got {}")
    beam_size = int(beam_size)
    tree = next(iter(traces.values()))
    colours = {"live": "#cfe2f3", "finished": "#c9e7c3", "pruned": "#eeeeee"}

    def draw(fig: Figure, step: int) -> None:
        n = min(step, len(tree))
        fig.clear()
        ax_tree, ax_rank = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1.0]})
        where: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, 0.0)}
        ax_tree.text(0, 0, "<bos>", ha="center", va="center", fontsize=8,
                     bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.4"))
        for t in range(n):
            nodes = ([(tuple(tokens), score, "live") for tokens, score in tree[t]["live"]]
                     + [(tuple(tokens), logp, "finished") for tokens, logp, _ in tree[t]["finished"]]
                     + [(tuple(tokens), score, "pruned") for tokens, score in tree[t]["pruned"]])
            nodes.sort(key=lambda node: -node[1])
            for rank, (tokens, score, kind) in enumerate(nodes):
                x, y, grey = t + 1.0, -rank * 1.0, kind == "pruned"
                parent = where.get(tokens[:-1])
                if parent is not None:
                    ax_tree.plot([parent[0] + 0.25, x - 0.3], [parent[1], y], color="0.6" if grey else "0.3", lw=0.8,
                                 ls=":" if grey else "-")
                ax_tree.text(x, y, f"{words[tokens[-1]]}\n{score:.2f}" + (" x" if grey else ""), ha="center",
                             va="center", fontsize=7, color="0.5" if grey else "k",
                             bbox=dict(boxstyle="round,pad=0.2", fc=colours[kind], ec="0.5"))
                if kind == "live":
                    where[tokens] = (x, y)
        ax_tree.set(xlim=(-0.6, len(tree) + 0.6), ylim=(-2 * beam_size + 0.4, 0.8), xlabel="step (words generated)",
                    title=f"beam of {beam_size} after step {n}: kept (blue), finished (green), pruned (grey, x)")
        ax_tree.set_yticks([])
        ax_tree.set_xticks(range(len(tree) + 1))
        ax_rank.axis("off")
        lines = ["finished so far, ranked by", "log P / ((5 + |Y|)/6)^alpha", ""]
        for alpha, trace in traces.items():
            done = sorted(((tokens, logp, score) for t in range(n) for tokens, logp, score in trace[t]["finished"]),
                          key=lambda hypothesis: -hypothesis[2])
            lines.append(f"alpha = {alpha:g}:")
            for i, (tokens, logp, score) in enumerate(done[:3]):
                lines.append(f"{'*' if i == 0 else ' '} {score:6.2f} (log P {logp:.2f}, {len(tokens)} words)")
                lines.append(f"    {' '.join(words[w] for w in tokens)[:44]}")
            lines += ["  (none yet)"] if not done else []
            lines.append("")
        ax_rank.text(0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=7.5,
                     transform=ax_rank.transAxes)
        fig.tight_layout()

    return explore(draw, {"step": [(str(t), t) for t in range(1, len(tree) + 1)]}, static=static,
                   figsize=(12.0, 4.6))
