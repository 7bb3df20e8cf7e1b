"""Figures: attention heatmaps and the pieces the widgets are drawn from.

Book: used by the figures of most chapters, first in chapter 1 (notebooks/01_attention_in_one_picture.ipynb).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def to_numpy(x: torch.Tensor | np.ndarray | Sequence) -> np.ndarray:
    """A detached float64 NumPy copy of a tensor (any device or dtype, bfloat16 included) or array-like."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def heatmap(
    weights: torch.Tensor | np.ndarray,
    *,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    xlabel: str = "key",
    ylabel: str = "query",
    title: str | None = None,
    annotate: bool | None = None,
    fmt: str = ".2f",
    colorbar: bool = True,
    colorbar_label: str | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    cmap: str = "viridis",
) -> Axes:
    """Draw a ``(Tq, Tk)`` matrix of attention weights: one row per query, one column per key.

    ``annotate`` writes each weight in its cell (default: when the matrix has at most 100 cells). The colour
    scale runs from ``vmin`` to ``vmax`` (0 to 1 by default, so that figures of different weights compare; pass
    ``None`` for the data's range, e.g. for features with a diverging ``cmap``).
    """
    w = to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"heatmap(): weights must be 2-D (Tq, Tk), got shape {w.shape}")
    for name, labels, size in (("x_labels", x_labels, w.shape[1]), ("y_labels", y_labels, w.shape[0])):
        if labels is not None and len(labels) != size:
            raise ValueError(f"heatmap(): {name} has {len(labels)} entries but weights have {size} (shape {w.shape})")
    if ax is None:  # big enough to read at book width, growing with the matrix
        ax = plt.figure(figsize=(max(5.0, 1.8 + 0.7 * w.shape[1]), max(3.5, 1.2 + 0.55 * w.shape[0]))).gca()
    image = ax.imshow(w, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(w.shape[1]), x_labels if x_labels is not None else range(w.shape[1]))
    ax.set_yticks(range(w.shape[0]), y_labels if y_labels is not None else range(w.shape[0]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if annotate is None:
        annotate = w.size <= 100
    if annotate:
        for (i, j), value in np.ndenumerate(w):
            r, g, b, _ = image.cmap(image.norm(value))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # black text on light cells, white on dark ones
            ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=9, color="white" if dark else "black")
    if colorbar:
        label = colorbar_label or ("weight" if vmin == 0.0 else "value")
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)
    return ax


def head_map(ax: Axes, weights: torch.Tensor | np.ndarray, *, rows: Sequence[str] | None = None,
             cols: Sequence[str] | None = None, title: str = "") -> Axes:
    """One head's ``(Tq, Tk)`` weights as a small panel: query words ``rows`` and key words ``cols`` on the axes
    when given, otherwise no ticks at all (for dense grids of heads)."""
    labels = rows is not None and cols is not None
    heatmap(weights, x_labels=list(cols) if labels else None, y_labels=list(rows) if labels else None, ax=ax,
            colorbar=False, annotate=False, xlabel="key" if labels else "", ylabel="query" if labels else "",
            title=title)
    ax.tick_params(axis="x", labelrotation=90)
    if not labels:
        ax.set(xticks=[], yticks=[])
    return ax


def head_grid(weights: Sequence[torch.Tensor | np.ndarray], *, fig: Figure | None = None, title: str | None = None
              ) -> Figure:
    """Every head of every layer: ``weights`` holds one ``(H, Tq, Tk)`` array per layer; rows are layers,
    columns heads."""
    maps = [to_numpy(w) for w in weights]
    if not maps or any(m.ndim != 3 or m.shape[0] != maps[0].shape[0] for m in maps):
        raise ValueError(f"head_grid(): weights must be a list of (H, Tq, Tk) arrays with the same H, got "
                         f"{[m.shape for m in maps]}")
    n_layers, n_heads = len(maps), maps[0].shape[0]
    if fig is None:
        fig = plt.figure(figsize=(1.25 * n_heads, 1.25 * n_layers + 0.6))
    fig.clear()
    axes = fig.subplots(n_layers, n_heads, squeeze=False)
    for layer in range(n_layers):
        for head in range(n_heads):
            head_map(axes[layer, head], maps[layer][head], title=f"{layer + 1}.{head + 1}")
    fig.suptitle(title or "rows = layers, columns = heads (panel layer.head)")
    fig.tight_layout()
    return fig


def image_grid(images: torch.Tensor | np.ndarray, *, ncols: int = 8, title: str | None = None,
               scale: float = 1.0) -> plt.Figure:
    """Show ``(n, 1, H, W)`` or ``(n, H, W)`` images in a grid of ``ncols`` columns (grey scale, 0 = white)."""
    x = to_numpy(images)
    x = x[:, 0] if x.ndim == 4 else x
    if x.ndim != 3:
        raise ValueError(f"image_grid(): images must be (n, 1, H, W) or (n, H, W), got shape {images.shape}")
    nrows = -(-len(x) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows + (0.4 if title else 0)), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < len(x):
            ax.imshow(x[k], cmap="Greys", vmin=0, vmax=1)
            plt.setp(ax.spines.values(), color="0.7")  # a light frame shows where each image ends
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def overlay(ax: Axes, image: torch.Tensor | np.ndarray, weights: torch.Tensor | np.ndarray, *,
            title: str | None = None, alpha: float = 0.6, vmax: float | None = None) -> Axes:
    """An image ``(3, H, W)`` with a map of weights ``(h, w)`` over it, stretched to the image (one colour per
    grid cell). The colours run from 0 to ``vmax`` (default: the map's own maximum; pass one value to compare maps,
    e.g. 1 for attention weights, and draw a colour bar from ``ax.images[-1]``)."""
    picture = to_numpy(image)
    picture = picture.transpose(1, 2, 0) if picture.ndim == 3 and picture.shape[0] == 3 else picture
    w = to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"overlay(): weights must be a 2-D map (h, w), got shape {w.shape}")
    ax.imshow(picture.clip(0, 1))
    # the picture's pixels are centred on integers, so its edges lie at -0.5 and size - 0.5: the map must match
    height, width = picture.shape[:2]
    ax.imshow(w, cmap="magma", alpha=alpha, extent=(-0.5, width - 0.5, height - 0.5, -0.5), vmin=0,
              vmax=max(float(w.max()), 1e-12) if vmax is None else vmax)
    ax.set(xticks=[], yticks=[])
    if title:
        ax.set_title(title)
    return ax
