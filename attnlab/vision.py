"""Attention over images: captioning with attention (Show, Attend and Tell).

``ShowAttendTell`` (Xu et al. 2015): a caption decoder that attends over a CNN's grid of annotation vectors, one
distribution per word; ``doubly_stochastic_penalty`` is the paper's regulariser. SAGAN's self-attention block
inside a CNN lives in ``attnlab.sagan``; ``SelfAttention2d`` is re-exported here for older code.

Book: chapter 5 (notebooks/05_image_captioning.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .decoding import incremental
from .sagan import SelfAttention2d  # noqa: F401  (re-exported: al.vision.SelfAttention2d)
from .scores import Additive


class ShowAttendTell(nn.Module):
    """Image captioning with attention (Xu et al. 2015): a small CNN turns the image into a grid of annotation
    vectors a_i, and an LSTM writes the caption, attending over the grid with its previous state at every word:

        e_ti = v^T tanh(W h_{t-1} + U a_i),  alpha_t = softmax(e_t),  z_t = sum_i alpha_ti a_i   (soft, eq. 4-5, 13)
        h_t = LSTM([E y_{t-1}; z_t], h_{t-1}),  logits_t = L_o [h_t; z_t; E y_{t-1}]             (eq. 1, 7)

    Hard attention (section 4.1) instead *samples* one location s_t ~ alpha_t and reads z_t = a_{s_t}.
    ``forward(images (B, 3, H, W), tgt_in (B, T), *, hard=False, generator=None) -> (logits (B, T, V), alpha
    (B, T, L))`` with L = (H/8)(W/8) grid cells in raster order (one-hot rows when ``hard``). Images hold colours
    in [0, 1]; token ids are checked against the vocabulary.
    """

    def __init__(self, vocab_size: int, *, d_feature: int = 64, d_embed: int = 32, d_hidden: int = 128,
                 d_attention: int = 64) -> None:
        super().__init__()
        vocab_size, d_feature, d_embed, d_hidden, d_attention = _checks.sizes(
            "ShowAttendTell", vocab_size=vocab_size, d_feature=d_feature, d_embed=d_embed, d_hidden=d_hidden,
            d_attention=d_attention)
        self.cnn = nn.Sequential(  # (B, 5, H, W) -> (B, d_feature, H/8, W/8)
            nn.Conv2d(5, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, d_feature, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(d_feature, d_feature, 3, stride=2, padding=1), nn.ReLU(),
        )
        d_annotation = d_feature + 2  # CNN features and the cell's (x, y)
        self.score = Additive(d_hidden, d_annotation, d_attention)
        self.init_h, self.init_c = nn.Linear(d_annotation, d_hidden), nn.Linear(d_annotation, d_hidden)  # from mean a_i
        self.embed = nn.Embedding(vocab_size, d_embed)
        self.cell = nn.LSTMCell(d_embed + d_annotation, d_hidden)
        self.out = nn.Linear(d_hidden + d_annotation + d_embed, vocab_size)

    def annotations(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, L, d_feature)``: the CNN's grid, cells in raster order."""
        fn = "ShowAttendTell"
        _checks.features(fn, "images", images, self, ndim=4)
        B, C, H, W = images.shape
        if C != 3 or H % 8 or W % 8 or not H * W:
            raise ValueError(f"{fn}(): images must be (B, 3, H, W) with H, W multiples of 8, "
                             f"got {_checks.shape(images)}")
        if images.numel() and (images.min() < 0 or images.max() > 1):
            raise ValueError(f"{fn}(): images must hold colours in [0, 1], got values in "
                             f"[{images.min().item():g}, {images.max().item():g}]")
        y, x = torch.meshgrid(torch.linspace(-1, 1, H, device=images.device, dtype=images.dtype),
                              torch.linspace(-1, 1, W, device=images.device, dtype=images.dtype), indexing="ij")
        where = torch.stack([x, y]).expand(B, 2, H, W)  # CoordConv (Liu et al. 2018): the CNN knows where it is
        features = self.cnn(torch.cat([images, where], dim=1))
        grid = F.avg_pool2d(where, H // features.shape[2])
        return torch.cat([features, grid], dim=1).flatten(2).transpose(1, 2)

    def start(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = a.mean(1)
        return torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))

    def step(self, y_prev: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], a: torch.Tensor,
             u_a: torch.Tensor, *, hard: bool = False, generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """One word: ``y_prev (B,)``, ``state (h, c)``, annotations ``a (B, L, d)`` and their projection
        ``u_a = score.U(a)`` -> ``(logits (B, V), state, alpha (B, L))``."""
        y_prev = _checks.embedding_ids("ShowAttendTell.step", "y_prev", y_prev, self.embed, ndim=1)
        return self._step(y_prev, state, a, u_a, hard=_checks.flag("ShowAttendTell.step", "hard", hard),
                          generator=generator)

    def _step(self, y_prev: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], a: torch.Tensor,
              u_a: torch.Tensor, *, hard: bool, generator: torch.Generator | None
              ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        h, c = state
        alpha = torch.softmax(self.score(h[:, None], a, u_k=u_a)[:, 0], dim=-1)
        if hard:
            where = torch.multinomial(alpha, 1, generator=generator)[:, 0]
            alpha = F.one_hot(where, alpha.shape[1]).to(a.dtype)
        z = (alpha[:, :, None] * a).sum(1)
        e = self.embed(y_prev)
        h, c = self.cell(torch.cat([e, z], dim=-1), (h, c))
        return self.out(torch.cat([h, z, e], dim=-1)), (h, c), alpha

    def forward(self, images: torch.Tensor, tgt_in: torch.Tensor, *, hard: bool = False,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        fn = "ShowAttendTell.forward"
        tgt_in = _checks.embedding_ids(fn, "tgt_in", tgt_in, self.embed, ndim=2)
        _checks.sequence_length(fn, "tgt_in", tgt_in)
        _checks.flag(fn, "hard", hard)
        a = self.annotations(images)
        if tgt_in.shape[0] != a.shape[0]:
            raise ValueError(f"{fn}(): tgt_in must have one row per image, got {tgt_in.shape[0]} rows for "
                             f"{a.shape[0]} images")
        u_a, state = self.score.U(a), self.start(a)
        logits, alphas = [], []
        for t in range(tgt_in.shape[1]):
            step_logits, state, alpha = self._step(tgt_in[:, t], state, a, u_a, hard=hard, generator=generator)
            logits.append(step_logits)
            alphas.append(alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)

    def next_log_probs(self, images: torch.Tensor, *, hard: bool = False, generator: torch.Generator | None = None
                       ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``attnlab.decoding``'s ``prefixes (N, t) -> (N, V)`` for ``images (B, 3, H, W)`` (B = 1 or N)."""
        _checks.flag("ShowAttendTell.next_log_probs", "hard", hard)
        with torch.no_grad():
            a = self.annotations(images)
            u_a = self.score.U(a)
        rows = lambda t, n: t if n == t.shape[0] else t.expand(n, *t.shape[1:])  # noqa: E731

        def step(tokens: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
            n = tokens.shape[0]
            logits, state, _ = self.step(tokens.to(a.device), state, rows(a, n), rows(u_a, n), hard=hard,
                                         generator=generator)
            return logits, state

        return incremental(lambda n: self.start(rows(a, n)), step, images.shape[0])


def doubly_stochastic_penalty(alpha: torch.Tensor, steps: torch.Tensor | None = None) -> torch.Tensor:
    """Xu et al. 2015, eq. 14: ``sum_i (1 - sum_t alpha_ti)^2`` for ``alpha (B, T, L)``, averaged over the batch.

    It pushes the whole caption to look at every location about once. ``steps`` (bool ``(B, T)``, True at real
    words) leaves padded steps out of the sum. ``alpha`` must hold at least one caption.
    """
    fn = "doubly_stochastic_penalty"
    _checks.floating(fn, "alpha", alpha, ndim=3)
    if not alpha.shape[0]:
        raise ValueError(f"{fn}(): alpha holds no caption (shape {_checks.shape(alpha)})")
    if steps is not None:
        _checks.tensor(fn, "steps", steps, ndim=2)
        if steps.dtype != torch.bool:
            raise TypeError(f"{fn}(): steps must be a bool tensor (True at real words), got dtype {steps.dtype}")
        if steps.shape != alpha.shape[:2]:
            raise ValueError(f"{fn}(): steps must have shape (B, T) = {_checks.shape(alpha)[:2]}, got "
                             f"{_checks.shape(steps)}")
        alpha = alpha * steps.to(alpha.device)[..., None]
    return ((1 - alpha.sum(1)) ** 2).sum(-1).mean()
