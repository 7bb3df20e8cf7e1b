"""Training hard attention: sample one location per word and learn where to look with REINFORCE.

A hard-attention captioner (Xu et al. 2015, section 4.1) reads one grid cell per word, ``s_t ~ alpha_t``,
``z_t = a_{s_t}``. Sampling has no gradient, so the paper maximises a lower bound on ``log p(y | a)`` whose gradient
is estimated from samples (eq. 12):

    d L_s / d W  ~  d log p(y | s, a) / d W                                   the words, given the sampled cells
                  + lambda_r (log p(y | s, a) - b) d log p(s | a) / d W        REINFORCE for the locations
                  + lambda_e d H[s] / d W                                      an entropy bonus

with ``b`` a moving average of ``log p(y | s, a)`` over mini-batches (the baseline that reduces the variance), and,
with probability ``p_expected`` per word, the expected context ``sum_i alpha_ti a_i`` (soft attention) used instead
of a sample, as the paper does with probability 0.5. ``sampled_forward`` runs a ``attnlab.vision.ShowAttendTell``
this way; ``reinforce_loss`` turns it into the loss whose gradient is the estimate above.

Book: chapter 5 (notebooks/05_image_captioning.ipynb).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import _checks
from .vision import ShowAttendTell


def sampled_forward(model: ShowAttendTell, images: torch.Tensor, tgt_in: torch.Tensor, *,
                    generator: torch.Generator | None = None, p_expected: float = 0.0
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Teacher-forced captions with sampled attention.

    Returns ``logits (B, T, V)``, ``log_p (B, T)`` = ``log alpha_t[s_t]`` of each sampled cell (0 where the expected
    context was used instead; differentiable), ``entropy (B, T)`` of each ``alpha_t``, and the weights actually read
    ``(B, T, L)`` (one-hot rows where sampled). With ``p_expected = 0`` and the same ``generator`` state it reads the
    same cells as ``model(images, tgt_in, hard=True, generator=generator)``.
    """
    fn = "sampled_forward"
    if not isinstance(model, ShowAttendTell):
        raise TypeError(f"{fn}(): model must be a ShowAttendTell, got {type(model).__name__}")
    p_expected = _checks.probability(fn, "p_expected", p_expected)
    tgt_in = _checks.embedding_ids(fn, "tgt_in", tgt_in, model.embed, ndim=2)
    a = model.annotations(images)
    if tgt_in.shape[0] != a.shape[0]:
        raise ValueError(f"{fn}(): tgt_in must have one row per image, got {tgt_in.shape[0]} rows for {a.shape[0]}")
    u_a, (h, c) = model.score.U(a), model.start(a)
    logits, log_p, entropy, read = [], [], [], []
    for t in range(tgt_in.shape[1]):
        alpha = torch.softmax(model.score(h[:, None], a, u_k=u_a)[:, 0], dim=-1)
        where = torch.multinomial(alpha.detach(), 1, generator=generator)[:, 0]
        weights = F.one_hot(where, alpha.shape[1]).to(a.dtype)
        chosen = alpha.gather(1, where[:, None])[:, 0].clamp_min(1e-12).log()
        if p_expected > 0:
            expected = torch.rand(a.shape[0], generator=generator, device=a.device) < p_expected
            weights = torch.where(expected[:, None], alpha, weights)
            chosen = chosen.masked_fill(expected, 0.0)
        z = (weights[:, :, None] * a).sum(1)
        e = model.embed(tgt_in[:, t])
        h, c = model.cell(torch.cat([e, z], dim=-1), (h, c))
        logits.append(model.out(torch.cat([h, z, e], dim=-1)))
        log_p.append(chosen)
        entropy.append(-(alpha * alpha.clamp_min(1e-12).log()).sum(-1))
        read.append(weights)
    return torch.stack(logits, 1), torch.stack(log_p, 1), torch.stack(entropy, 1), torch.stack(read, 1)


def reinforce_loss(model: ShowAttendTell, images: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor,
                   baseline: float, *, generator: torch.Generator | None = None, reinforce_weight: float = 1.0,
                   entropy_weight: float = 0.01, p_expected: float = 0.5, ignore_index: int = -100
                   ) -> tuple[torch.Tensor, float]:
    """Xu et al.'s hard-attention loss for one batch, and the batch's mean reward ``log p(y | s, a)`` (per caption)
    for the caller's moving-average baseline (``b <- 0.9 b + 0.1 reward``).

    ``loss = mean_b [ -log p(y|s,a) - lambda_r (log p(y|s,a) - b) sum_t log p(s_t) - lambda_e sum_t H_t ]`` (the
    reward is detached), divided by the mean number of words per caption so that its size matches a per-word
    cross-entropy. ``tgt_out (B, T)`` holds the next words, ``ignore_index`` at padding.
    """
    fn = "reinforce_loss"
    baseline = _checks.number(fn, "baseline", baseline)
    reinforce_weight = _checks.number(fn, "reinforce_weight", reinforce_weight, low=0.0)
    entropy_weight = _checks.number(fn, "entropy_weight", entropy_weight, low=0.0)
    logits, log_p, entropy, _ = sampled_forward(model, images, tgt_in, generator=generator, p_expected=p_expected)
    _checks.tensor(fn, "tgt_out", tgt_out, ndim=2)
    if tgt_out.shape != tgt_in.shape:
        raise ValueError(f"{fn}(): tgt_out must have tgt_in's shape {_checks.shape(tgt_in)}, got "
                         f"{_checks.shape(tgt_out)}")
    real = (tgt_out != ignore_index).to(logits.dtype)
    nll = F.cross_entropy(logits.transpose(1, 2), tgt_out, ignore_index=ignore_index, reduction="none").sum(1)
    reward = -nll.detach()
    locations = ((reward - baseline)[:, None] * log_p * real).sum(1)
    loss = nll - reinforce_weight * locations - entropy_weight * (entropy * real).sum(1)
    return loss.mean() / real.sum(1).mean(), reward.mean().item()
