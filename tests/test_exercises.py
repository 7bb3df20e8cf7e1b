"""attnlab.exercises: every reference solution passes its checker, typical wrong solutions fail with the hint that
names their mistake, a stub is reported as not attempted and any other error is reported, never raised; and the
chapters' exercise cells (once inserted) match the registry and their solutions pass."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import attnlab as al
from _book import NOTEBOOKS, source, tags
from attnlab.exercises import EXERCISES
from attnlab.exercises._harness import NOT_ATTEMPTED
from exercise_solutions import SOLUTIONS

CHECKERS = {exercise.checker: getattr(al.exercises, exercise.checker) for exercise in EXERCISES}
CLASSES = {name for name, solution in SOLUTIONS.items() if isinstance(solution, type)}


def attend(q, k, v, mask=None, *, scale=None, dim=-1, fill=-math.inf):
    """Scaled dot-product attention with a plain softmax; the keywords make the mistakes."""
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        scores = scores.masked_fill(~mask, fill)
    return torch.softmax(scores, dim) @ v


S = SOLUTIONS


class MhaWrongSplit(S["check_multi_head_attention"]):
    def split(self, x):
        return x.reshape(x.shape[0], self.num_heads, x.shape[1], self.d_head)


class MhaWrongScale(S["check_multi_head_attention"]):
    def forward(self, query, key, value, mask=None):
        q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(key)), self.split(self.v_proj(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head * self.num_heads)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None], -math.inf)
        return self.out_proj((torch.softmax(scores, -1) @ v).transpose(1, 2).flatten(2))


class MhaInvertedMask(S["check_multi_head_attention"]):
    def forward(self, query, key, value, mask=None):
        return super().forward(query, key, value, None if mask is None else ~mask)


class MhaNoOutProj(S["check_multi_head_attention"]):
    def forward(self, query, key, value, mask=None):
        self.out_proj = nn.Identity()
        return super().forward(query, key, value, mask)


class SaganGammaOne(S["check_sagan_block"]):
    def __init__(self, channels):
        super().__init__(channels)
        self.gamma = nn.Parameter(torch.ones(1))


class SaganWrongAxis(S["check_sagan_block"]):
    def forward(self, x):
        B, C, H, W = x.shape
        pixels = lambda t: t.flatten(2).transpose(1, 2)  # noqa: E731
        weights = torch.softmax(pixels(self.query(x)) @ pixels(self.key(x)).transpose(1, 2), dim=1)
        m = (weights @ pixels(self.value(x))).transpose(1, 2).reshape(B, -1, H, W)
        return self.gamma * self.out(m) + x


class SaganNoResidual(S["check_sagan_block"]):
    def forward(self, x):
        return super().forward(x) - x


class SaganScaled(S["check_sagan_block"]):
    def forward(self, x):
        B, C, H, W = x.shape
        pixels = lambda t: t.flatten(2).transpose(1, 2)  # noqa: E731
        scores = pixels(self.query(x)) @ pixels(self.key(x)).transpose(1, 2) / math.sqrt(C // 8)
        m = (torch.softmax(scores, -1) @ pixels(self.value(x))).transpose(1, 2).reshape(B, -1, H, W)
        return self.gamma * self.out(m) + x


def greedy(next_log_probs, bos, eos, max_len, *, keep_bos=False, keep_eos=True, stop=True):
    tokens = [bos]
    for _ in range(max_len):
        tokens.append(int(next_log_probs(torch.tensor([tokens]))[0].argmax()))
        if stop and tokens[-1] == eos:
            break
    out = tokens if keep_bos else tokens[1:]
    return out[:-1] if not keep_eos and out[-1] == eos else out


def gru(x, h, cell, *, order=(0, 1, 2), keep_new=False, bias_outside=False):
    gi = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, -1)
    w, b = cell.weight_hh.chunk(3), cell.bias_hh.chunk(3)
    r_, z_, n_ = order
    r = torch.sigmoid(gi[r_] + h @ w[r_].T + b[r_])
    z = torch.sigmoid(gi[z_] + h @ w[z_].T + b[z_])
    n = torch.tanh(gi[n_] + (r * (h @ w[n_].T) + b[n_] if bias_outside else r * (h @ w[n_].T + b[n_])))
    return z * n + (1 - z) * h if keep_new else (1 - z) * n + z * h


def layer_norm(x, weight, bias, eps, *, dim=-1, unbiased=False, inside=True):
    c = x - x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=unbiased)
    return (c / ((var + eps).sqrt() if inside else var.sqrt() + eps)) * weight + bias


def encoder_layer(x, attn, ff, norm1, norm2, norm_first, *, variant=None):
    if variant == "flip":
        norm_first = not norm_first
    if variant == "swap":
        norm1, norm2 = norm2, norm1
    if variant == "residual":
        if norm_first:
            x = norm1(x)
            x = x + attn(x)
            y = norm2(x)
            return y + ff(y)
        x = norm1(attn(x)) + x
        return norm2(ff(x)) + x
    return S["check_encoder_layer"](x, attn, ff, norm1, norm2, norm_first)


def sinusoid(length, d_model, *, layout="interleave", exponent=2):
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angle = torch.arange(length, dtype=torch.float64)[:, None] * 10000 ** (-(exponent * i) / d_model)
    if layout == "blocks":
        return torch.cat([angle.sin(), angle.cos()], -1)
    first, second = (angle.cos(), angle.sin()) if layout == "swapped" else (angle.sin(), angle.cos())
    return torch.stack([first, second], -1).flatten(1)


def rotation(k, d_model, *, transpose=False, plain_angle=False, exponent=2):
    M = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i in range(d_model // 2):
        b = k if plain_angle else k * 10000 ** (-exponent * i / d_model)
        block = torch.tensor([[math.cos(b), math.sin(b)], [-math.sin(b), math.cos(b)]])
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = block.T if transpose else block
    return M


def local_1d(length, b, *, causal=True, previous=True, sliding=False):
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    near = (i - j < 2 * b) if sliding else (j // b >= i // b - int(previous)) & (j // b <= i // b)
    return near & (j <= i) if causal else near


def local_2d(height, width, query_block, memory, *, causal=True, both=True, per_pixel=False):
    (h_q, w_q), (h_m, w_m) = (((1, 1) if per_pixel else query_block), memory)
    index = torch.arange(height * width)
    r, c = index // width, index % width
    R, C = (r // h_q)[:, None], (c // w_q)[:, None]
    rows = (r[None] >= R * h_q - h_m) & (r[None] < (R + 1) * h_q)
    cols = (c[None] >= C * w_q - w_m) & (c[None] < (C + 1) * w_q + (w_m if both else 0))
    return rows & cols & (index[None] <= index[:, None]) if causal else rows & cols


def alibi(num_heads, length, *, sign=-1.0, future=-math.inf, reverse=False):
    slopes = 2.0 ** (-8.0 * torch.arange(1, num_heads + 1) / num_heads)
    slopes = slopes.flip(0) if reverse else slopes
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    return (sign * slopes[:, None, None] * (i - j)).masked_fill(j > i, future)


def importance_keeping_one(score, layers, heads):
    """Each head alone on, instead of each head alone off."""
    full = score(torch.ones(layers, heads))
    only = torch.eye(layers * heads).view(-1, layers, heads)
    return torch.tensor([score(mask) - full for mask in only]).view(layers, heads)


def importance_cumulative(score, layers, heads):
    """Heads switched off one after the other, never back on."""
    mask = torch.ones(layers * heads)
    full = score(mask.view(layers, heads))
    out = []
    for i in range(layers * heads):
        mask[i] = 0.0
        out.append(score(mask.view(layers, heads)) - full)
    return torch.tensor(out).view(layers, heads)


def beam_step(scores, log_probs, beam_size, *, add=True, swap=False, per_prefix=False):
    totals = (scores[:, None] if add else 0) + log_probs
    vocab = log_probs.shape[1]
    if per_prefix:
        best, token = totals.max(-1)
        order = best.argsort(descending=True)[:beam_size]
        return best[order], order, token[order]
    best, index = totals.flatten().topk(min(beam_size, totals.numel()))
    return (best, index % vocab, index // vocab) if swap else (best, index // vocab, index % vocab)


def rescoring(hypotheses, alpha, *, extra=0, multiply=False, ascending=False):
    scored = []
    for tokens, log_p in hypotheses:
        penalty = ((5 + len(tokens) + extra) / 6) ** alpha
        scored.append((tokens, log_p * penalty if multiply else log_p / penalty))
    return sorted(scored, key=lambda item: item[1], reverse=not ascending)


def skew(rel, *, pad="left", drop="first"):
    *lead, n, _ = rel.shape
    padded = F.pad(rel, (1, 0) if pad == "left" else (0, 1)).reshape(*lead, n + 1, n)
    return padded[..., 1:, :] if drop == "first" else padded[..., :-1, :]


def conv(x, weight, bias, left, right, flip=False):
    return F.conv1d(F.pad(x.transpose(1, 2), (left, right)), weight.flip(-1) if flip else weight, bias).transpose(1, 2)


def made(input_degrees, hidden_degrees, *, strict_hidden=False, strict_output=True, natural_output=False):
    degrees = [input_degrees, *hidden_degrees]
    masks = [(a[:, None] > b[None] if strict_hidden else a[:, None] >= b[None]).float()
             for b, a in zip(degrees, degrees[1:])]
    out_degrees = torch.arange(1, len(input_degrees) + 1) if natural_output else input_degrees
    last = out_degrees[:, None] > degrees[-1][None] if strict_output else out_degrees[:, None] >= degrees[-1][None]
    return masks + [last.float()]


def masked_softmax(scores, mask, *, fill=-math.inf, dim=-1):
    return torch.softmax(scores.masked_fill(~mask, fill), dim)


def grid(h, features, W_h, W_a, v, *, cells="raster", dim=-1):
    B, D, H, W = features.shape
    a = {"raster": features.flatten(2).transpose(1, 2), "reshape": features.reshape(B, H * W, D),
         "columns": features.transpose(2, 3).flatten(2).transpose(1, 2)}[cells]
    alpha = torch.softmax(torch.tanh((h @ W_h.T)[:, None] + a @ W_a.T) @ v, dim)
    return (alpha[:, :, None] * a).sum(1), alpha.reshape(B, H, W)


def penalty(alpha, steps, lam, *, over="time", use_steps=True, square=True, reduce="mean"):
    kept = alpha * steps[..., None] if use_steps else alpha
    total = kept.sum(1 if over == "time" else 2)
    per = ((1 - total) ** 2 if square else (1 - total)).sum(-1)
    return lam * (per.mean() if reduce == "mean" else per.sum())


def decoder_masks(src_lengths, tgt_len, src_len, *, causal=lambda m: m, memory=lambda m: m):
    self_mask, memory_mask = S["check_decoder_masks"](src_lengths, tgt_len, src_len)
    return causal(self_mask), memory(memory_mask)


def sdpa_wrong(**knobs):
    return lambda q, k, v, mask=None: attend(q, k, v, mask, **knobs)


WRONG = {
    "check_single_query_attention": [
        (lambda q, k, v: ((k @ q) @ v, k @ q), "softmax of the scores"),
        (lambda q, k, v: (lambda w: (w @ v, w))(torch.softmax(k @ q / math.sqrt(q.shape[0]), 0)), "1/sqrt(d) scale"),
        (lambda q, k, v: (lambda w: (w @ k, w))(torch.softmax(k @ q, 0)), "not of the keys"),
    ],
    "check_kernel_regression": [
        (lambda xq, xt, yt, h: (torch.softmax(-(xq[:, None] - xt) ** 2 / (2 * h * h), 0) * yt).sum(1),
         "not over the queries"),
        (lambda xq, xt, yt, h: torch.softmax(-(xq[:, None] - xt).abs() / (2 * h * h), 1) @ yt, "squared distance"),
        (lambda xq, xt, yt, h: torch.softmax(-(xq[:, None] - xt) ** 2 / (h * h), 1) @ yt, "2 h^2"),
        (lambda xq, xt, yt, h: torch.softmax((xq[:, None] - xt) ** 2 / (2 * h * h), 1) @ yt, "minus the squared"),
    ],
    "check_gru_step": [
        (lambda x, h, cell: gru(x, h, cell, keep_new=True), "(1 - z) * n + z * h"),
        (lambda x, h, cell: gru(x, h, cell, order=(1, 0, 2)), "reset, update, new"),
        (lambda x, h, cell: gru(x, h, cell, bias_outside=True), "its bias included"),
    ],
    "check_greedy_decode": [
        (lambda f, bos, eos, n: greedy(f, bos, eos, n, keep_bos=True), "without <bos> itself"),
        (lambda f, bos, eos, n: greedy(f, bos, eos, n, keep_eos=False), "keep the <eos> token"),
        (lambda f, bos, eos, n: greedy(f, bos, eos, n, stop=False), "stop as soon as"),
    ],
    "check_additive_score": [
        (lambda s, h, W, U, v: ((s @ W.T)[:, None] + h @ U.T) @ v, "tanh is missing"),
        (lambda s, h, W, U, v: torch.softmax(S["check_additive_score"](s, h, W, U, v), -1), "before the softmax"),
        (lambda s, h, W, U, v: S["check_additive_score"](s, h, U, W, v), "W projects the decoder state"),
    ],
    "check_bahdanau_context": [
        (lambda s, h, m, W, U, v: S["check_bahdanau_context"](s, h, torch.ones_like(m), W, U, v), "mask them before"),
        (lambda s, h, m, W, U, v: (lambda a: ((a[..., None] * h).sum(1), a))(
            torch.softmax((torch.tanh((s @ W.T)[:, None] + h @ U.T) @ v).masked_fill(~m, 0.0), -1)), "use -inf"),
        (lambda s, h, m, W, U, v: (lambda a: ((a[..., None] * h).sum(1), a))(
            torch.softmax((torch.tanh((s @ W.T)[:, None] + h @ U.T) @ v).masked_fill(~m, -math.inf), 0)),
         "not over the batch"),
    ],
    "check_general_score": [
        (lambda ht, hs, W: ht @ W.T @ hs.transpose(1, 2), "not h_t W^T h_s"),
        (lambda ht, hs, W: ht @ hs.transpose(1, 2), "W is left out"),
        (lambda ht, hs, W: ht @ W @ hs.transpose(1, 2) / math.sqrt(ht.shape[-1]), "no 1/sqrt(d) scale"),
    ],
    "check_concat_score": [
        (lambda ht, hs, W, v: S["check_concat_score"](hs, ht, W, v).transpose(1, 2), "the query first"),
        (lambda ht, hs, W, v: torch.cat([ht[:, :, None].expand(-1, -1, hs.shape[1], -1),
                                         hs[:, None].expand(-1, ht.shape[1], -1, -1)], -1) @ W.T @ v, "tanh"),
        (lambda ht, hs, W, v: torch.softmax(S["check_concat_score"](ht, hs, W, v), -1), "before the softmax"),
    ],
    "check_grid_attention": [
        (lambda *a: grid(*a, cells="reshape"), "move the channel axis last"),
        (lambda *a: grid(*a, cells="columns"), "raster order"),
        (lambda *a: grid(*a, dim=0), "not over the batch"),
    ],
    "check_doubly_stochastic_penalty": [
        (lambda a, s, lam: penalty(a, s, lam, over="locations"), "sum over the time steps"),
        (lambda a, s, lam: penalty(a, s, lam, use_steps=False), "padded steps"),
        (lambda a, s, lam: penalty(a, s, lam, square=False), "square each"),
        (lambda a, s, lam: penalty(a, s, lam, reduce="sum"), "average over the batch"),
    ],
    "check_length_penalty_rescoring": [
        (lambda hyp, alpha: rescoring(hyp, alpha, extra=1), "wrong length"),
        (lambda hyp, alpha: rescoring(hyp, alpha, extra=-1), "wrong length"),
        (lambda hyp, alpha: rescoring(hyp, alpha, multiply=True), "do not multiply"),
        (lambda hyp, alpha: rescoring(hyp, alpha, ascending=True), "best first"),
    ],
    "check_beam_step": [
        (lambda s, lp, k: beam_step(s, lp, k, add=False), "add each prefix's score"),
        (lambda s, lp, k: beam_step(s, lp, k, swap=True), "prefix i // V and token i % V"),
        (lambda s, lp, k: beam_step(s, lp, k, per_prefix=True), "candidates of all prefixes together"),
    ],
    "check_scaled_dot_product_attention": [
        (sdpa_wrong(scale=1.0), "the scale is missing"),
        (lambda q, k, v, mask=None: attend(q, k, v, mask, scale=1 / q.shape[-1]), "applied twice"),
        (sdpa_wrong(dim=-2), "wrong axis"),
        (lambda q, k, v, mask=None: S["check_scaled_dot_product_attention"](q, k, v, None if mask is None else ~mask),
         "inverted"),
        (sdpa_wrong(), "gives NaN"),
        (sdpa_wrong(fill=-1e9), "large negative number"),
    ],
    "check_softmax_jacobian": [
        (lambda p: torch.diag_embed(p * (1 - p)), "off-diagonal entries"),
        (lambda p: torch.diag_embed(p), "only diag(p)"),
        (lambda p: p[..., :, None] * p[..., None, :] - torch.diag_embed(p), "sign is flipped"),
    ],
    "check_self_attention": [
        (lambda x, Wq, Wk, Wv: (lambda w: (w @ (x @ Wv), w))(
            torch.softmax((x @ Wq) @ (x @ Wk).transpose(1, 2) / math.sqrt(Wq.shape[1]), 1)), "wrong axis"),
        (lambda x, Wq, Wk, Wv: (lambda w: (w @ (x @ Wv), w))(
            torch.softmax((x @ Wk) @ (x @ Wq).transpose(1, 2) / math.sqrt(Wq.shape[1]), -1)), "not K Q^T"),
        (lambda x, Wq, Wk, Wv: (lambda w: (w @ (x @ Wv), w))(
            torch.softmax((x @ Wq) @ (x @ Wk).transpose(1, 2) / math.sqrt(x.shape[-1]), -1)), "width of the queries"),
        (lambda x, Wq, Wk, Wv: (lambda w: (w @ x, w))(
            torch.softmax((x @ Wq) @ (x @ Wk).transpose(1, 2) / math.sqrt(Wq.shape[1]), -1)), "not x itself"),
    ],
    "check_permutation_equivariance_test": [
        (lambda layer, x: torch.allclose(layer(x[:, torch.roll(torch.arange(x.shape[1]), 1)]), layer(x), atol=1e-5),
         "not with layer(x)"),
        (lambda layer, x: torch.allclose(layer(x[[1, 0]]), layer(x)[[1, 0]], atol=1e-5), "shuffle the tokens"),
        (lambda layer, x: torch.allclose(layer(x[:, torch.arange(x.shape[1])]), layer(x), atol=1e-5),
         "really moves them"),
    ],
    "check_masked_softmax": [
        (lambda s, m: S["check_masked_softmax"](s, ~m), "inverted"),
        (lambda s, m: masked_softmax(s, m, dim=-2), "wrong axis"),
        (lambda s, m: masked_softmax(s, m), "gives NaN"),
        (lambda s, m: masked_softmax(s, m, fill=-1e9), "uniform weights"),
    ],
    "check_causal_mask": [
        (lambda nq, nk: torch.ones(nq, nk, dtype=torch.bool).tril(nk - nq - 1), "off by one"),
        (lambda nq, nk: ~S["check_causal_mask"](nq, nk), "inverted"),
        (lambda nq, nk: torch.ones(nq, nk, dtype=torch.bool).tril(), "the queries are the last positions"),
    ],
    "check_made_masks": [
        (lambda d, h: made(d, h, strict_output=False), "strictly below"),
        (lambda d, h: made(d, h, strict_hidden=True), "equal degree"),
        (lambda d, h: made(d, h, natural_output=True), "ordering's degrees"),
    ],
    "check_split_heads": [
        (lambda x, H: x.reshape(x.shape[0], H, x.shape[1], x.shape[2] // H), "wrong order"),
        (lambda x, H: x.view(x.shape[0], x.shape[1], x.shape[2] // H, H).permute(0, 3, 1, 2), "contiguous features"),
        (lambda x, H: x.view(x.shape[0], x.shape[1], H, x.shape[2] // H), "heads come before time"),
    ],
    "check_multi_head_attention": [
        (MhaWrongSplit, "wrong order"),
        (MhaWrongScale, "1/sqrt(d_head)"),
        (MhaInvertedMask, "inverted"),
        (MhaNoOutProj, "out_proj is missing"),
    ],
    "check_sinusoidal_encoding": [
        (lambda n, d: sinusoid(n, d, layout="blocks"), "interleave"),
        (lambda n, d: sinusoid(n, d, layout="swapped"), "not the other way round"),
        (lambda n, d: sinusoid(n, d, exponent=1), "the exponent is 2i/d"),
    ],
    "check_shift_rotation": [
        (lambda k, d: rotation(k, d, transpose=True), "rotates the other way"),
        (lambda k, d: rotation(k, d, plain_angle=True), "its own angle"),
        (lambda k, d: rotation(k, d, exponent=1), "the frequencies are"),
    ],
    "check_layer_norm": [
        (lambda x, w, b, eps: layer_norm(x, w, b, eps, dim=-2), "over its features"),
        (lambda x, w, b, eps: layer_norm(x, w, b, eps, unbiased=True), "biased variance"),
        (lambda x, w, b, eps: layer_norm(x, w, b, eps, inside=False), "inside the square root"),
    ],
    "check_encoder_layer": [
        (lambda *a: encoder_layer(*a, variant="residual"), "normalises the sum"),
        (lambda *a: encoder_layer(*a, variant="flip"), "norm_first=True is pre-norm"),
        (lambda *a: encoder_layer(*a, variant="swap"), "norm1 goes with the attention"),
    ],
    "check_warmup_schedule": [
        (lambda s, d, w: d ** -0.5 * min(s ** -0.5, s * w ** -0.5), "warmup^-1.5"),
        (lambda s, d, w: d ** -0.5 * max(s ** -0.5, s * w ** -1.5), "take the min"),
        (lambda s, d, w: min(s ** -0.5, s * w ** -1.5), "d_model^-0.5"),
    ],
    "check_decoder_masks": [
        (lambda *a: decoder_masks(*a, causal=lambda m: m.tril(-1)), "off by one"),
        (lambda *a: decoder_masks(*a, causal=lambda m: ~m), "causal mask is inverted"),
        (lambda *a: decoder_masks(*a, memory=lambda m: ~m), "memory mask is inverted"),
        (lambda *a: decoder_masks(*a, memory=lambda m: m.transpose(1, 2)), "not to the queries"),
    ],
    "check_causal_conv1d": [
        (lambda x, w, b: conv(x, w, b, (w.shape[-1] - 1) // 2, w.shape[-1] // 2), "pad only on the left"),
        (lambda x, w, b: conv(x, w, b, 0, w.shape[-1] - 1), "not on the right"),
        (lambda x, w, b: conv(x, w, b, w.shape[-1] - 1, 0, flip=True), "do not flip"),
    ],
    "check_layers_needed": [
        (lambda n, k: math.ceil((n - 1) / k), "not k"),
        (lambda n, k: (n - 1) // (k - 1), "round up"),
        (lambda n, k: math.ceil(n / (k - 1)), "already sees itself"),
    ],
    "check_sagan_block": [
        (SaganGammaOne, "gamma starts at 0"),
        (SaganWrongAxis, "wrong axis"),
        (SaganNoResidual, "the residual is missing"),
        (SaganScaled, "without 1/sqrt(d)"),
    ],
    "check_pixel_attention_map": [
        (lambda q, k, r, c: S["check_pixel_attention_map"](k, q, r, c), "the query comes from"),
        (lambda q, k, r, c: torch.softmax(q.flatten(2).transpose(1, 2) @ k.flatten(2), -1)[
            :, c * q.shape[2] + r].view(q.shape[0], q.shape[2], q.shape[3]), "r * W + c"),
        (lambda q, k, r, c: S["check_pixel_attention_map"](q, k, r, c).transpose(1, 2), "rows first"),
    ],
    "check_local_mask_1d": [
        (lambda n, b: local_1d(n, b, causal=False), "earlier keys"),
        (lambda n, b: local_1d(n, b, previous=False), "the block before its own"),
        (lambda n, b: local_1d(n, b, sliding=True), "blocks are fixed"),
    ],
    "check_local_mask_2d": [
        (lambda *a: local_2d(*a, causal=False), "raster order"),
        (lambda *a: local_2d(*a, both=False), "both sides"),
        (lambda *a: local_2d(*a, per_pixel=True), "belongs to the query block"),
    ],
    "check_skew": [
        (lambda rel: skew(rel, pad="right"), "on the left"),
        (lambda rel: skew(rel, drop="last"), "drop the first row"),
        (lambda rel: rel.clone(), "unchanged"),
    ],
    "check_alibi_bias": [
        (lambda h, n: alibi(h, n, sign=1.0), "penalises distance"),
        (lambda h, n: alibi(h, n, future=0.0), "must be -inf"),
        (lambda h, n: alibi(h, n, reverse=True), "largest slope"),
    ],
    "check_mean_pool": [
        (lambda hidden, m: hidden.mean(1), "padded positions"),
        (lambda hidden, m: (hidden * m[..., None]).sum(1) / hidden.shape[1], "not by T"),
        (lambda hidden, m: (hidden * m[..., None]).sum(1) / m.sum(1, keepdim=True), "gives NaN"),
    ],
    "check_head_importance": [
        (importance_keeping_one, "one head at a time"),
        (lambda f, L, H: -S["check_head_importance"](f, L, H), "minus the loss with every head on"),
        (importance_cumulative, "switch the previous head back on"),
    ],
}


def test_the_registry_has_at_least_two_exercises_per_chapter():
    chapters = [exercise.chapter for exercise in EXERCISES]
    assert len(EXERCISES) >= 36 and all(chapters.count(n) >= 2 for n in range(1, 19))
    assert chapters == sorted(chapters) and len(set(CHECKERS)) == len(EXERCISES)
    for name, checker in CHECKERS.items():
        assert name.startswith("check_") and callable(checker) and checker.__doc__, name


def test_every_checker_has_a_reference_solution_and_three_wrong_ones():
    assert set(SOLUTIONS) == set(CHECKERS) == set(WRONG)
    assert all(len(wrong) >= 3 for wrong in WRONG.values())


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_the_reference_solution_passes_and_the_readers_random_state_is_kept(name, capsys):
    state = torch.random.get_rng_state()
    assert CHECKERS[name](SOLUTIONS[name]) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "✗" not in out, out
    assert torch.equal(torch.random.get_rng_state(), state)  # a check cell does not change the chapter's next draws


@pytest.mark.parametrize("name, index", [(name, i) for name, wrong in sorted(WRONG.items()) for i in range(len(wrong))])
def test_a_typical_wrong_solution_fails_with_its_hint(name, index, capsys):
    wrong, hint = WRONG[name][index]
    assert CHECKERS[name](wrong) is False
    out = capsys.readouterr().out
    hint_line = next(line for line in out.splitlines() if line.strip().startswith("hint:"))
    assert "expected:" in out and hint in hint_line, out


def stub(name):
    """What a reader's untouched stub does: a function, or a module class whose constructor raises."""
    if name in CLASSES:
        class Stub(nn.Module):
            def __init__(self, *args):
                super().__init__()
                raise NotImplementedError
        return Stub

    def untouched(*args, **kwargs):
        raise NotImplementedError
    return untouched


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_a_stub_is_reported_as_not_attempted(name, capsys):
    assert CHECKERS[name](stub(name)) is False
    assert capsys.readouterr().out == f"{name}: {NOT_ATTEMPTED} (the stub still raises NotImplementedError)\n"


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_an_error_in_the_readers_code_is_reported_not_raised(name, capsys):
    if name in CLASSES:
        class Broken(SOLUTIONS[name]):
            def forward(self, *args):
                raise ValueError("shapes do not match")
        broken = Broken
    else:
        def broken(*args, **kwargs):
            raise ValueError("shapes do not match")
    assert CHECKERS[name](broken) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and "your code raised ValueError: shapes do not match" in out and "hint:" in out


def test_a_checker_refuses_something_that_is_not_code():
    with pytest.raises(TypeError, match="pass your function itself"):
        al.exercises.check_masked_softmax(torch.ones(3))
    with pytest.raises(TypeError, match="nn.Module class itself"):
        al.exercises.check_multi_head_attention(S["check_multi_head_attention"](8, 2))


def test_the_report_shows_the_case_expected_got_and_hint(capsys):
    assert al.exercises.check_causal_mask(lambda nq, nk: ~S["check_causal_mask"](nq, nk)) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✗ square masks: 3 queries, 3 keys"
    assert out[1:3] == ["  n_queries = 3", "  n_keys = 3"]
    assert out[3] == "  expected: tensor of shape (3, 3), bool: [[1, 0, 0], [1, 1, 0], [1, 1, 1]]"
    assert out[4] == "  got:      tensor of shape (3, 3), bool: [[0, 1, 1], [0, 0, 1], [0, 0, 0]]"
    assert out[-1].startswith("  hint: the mask is inverted")


# ---- the Korean reports (set_language("ko"), for the book's Korean edition) ----

@pytest.fixture
def korean():
    from attnlab.exercises import _harness
    _harness.MISSING.clear()
    al.exercises.set_language("ko")
    yield _harness
    al.exercises.set_language("en")


def test_every_text_of_every_checker_has_its_korean(korean, capsys):
    """Each checker, run once in Korean, looks up every group name, group hint and mistake hint it has; and every
    phrase of the harness (each ``say("...")`` of _harness.py) is in the Korean table."""
    import ast
    import inspect

    from attnlab.exercises._ko import KO
    for name in sorted(CHECKERS):
        CHECKERS[name](SOLUTIONS[name])
    phrases = {node.args[0].value for node in ast.walk(ast.parse(inspect.getsource(korean)))
               if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say"
               and node.args and isinstance(node.args[0], ast.Constant)}
    assert len(phrases) >= 15
    assert sorted(korean.MISSING | (phrases - set(KO))) == []
    for english, text in KO.items():  # the same placeholders, and Korean in every translation
        assert re.findall(r"\{\w+", english) == re.findall(r"\{\w+", text), english
        assert re.search("[\uac00-\ud7a3]", text), english


def test_a_korean_report_gives_the_hint_in_korean(korean, capsys):
    from attnlab.exercises._ko import KO
    inverted = lambda nq, nk: ~S["check_causal_mask"](nq, nk)  # noqa: E731
    al.exercises.set_language("en")
    assert al.exercises.check_causal_mask(inverted) is False
    english_hint = capsys.readouterr().out.splitlines()[-1].removeprefix("  hint: ")
    al.exercises.set_language("ko")
    assert al.exercises.check_causal_mask(inverted) is False
    out = capsys.readouterr().out.splitlines()
    hint = KO[english_hint]
    assert out[0] == f"✗ {KO['square masks']}: 3 queries, 3 keys"
    assert out[3].startswith("  기대한 값: 모양 (3, 3), bool 텐서")
    assert out[-1] == f"  힌트: {hint}"
    assert CHECKERS["check_causal_mask"](stub("check_causal_mask")) is False
    assert "아직 시도하지 않았습니다" in capsys.readouterr().out
    with pytest.raises(ValueError, match="language must be one of"):
        al.exercises.set_language("fr")


# ---- the chapters' exercise cells (checked where they have been inserted) ----

SOLUTION = re.compile(r":::\{admonition\} Solution\n:class: dropdown\n```python\n(.*?)```\n:::", re.DOTALL)
CHECK_CALL = re.compile(r"al\.exercises\.(check_\w+)\((\w+)\)")
WITH_EXERCISES = [path for path in NOTEBOOKS
                  if any("exercise" in tags(cell) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])]


def exercise_cells(path):
    cells = [cell for cell in json.loads(path.read_text(encoding="utf-8"))["cells"] if "exercise" in tags(cell)]
    solutions = [m.group(1) for cell in cells if cell["cell_type"] == "markdown"
                 for m in SOLUTION.finditer(source(cell))]
    calls = [m.groups() for cell in cells if cell["cell_type"] == "code" for m in CHECK_CALL.finditer(source(cell))]
    stubs = [source(cell) for cell in cells if "exercise-stub" in tags(cell)]
    return solutions, calls, stubs


def chapter_namespace():
    return {"al": al, "torch": torch, "math": math, "nn": nn, "F": F}


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda path: path.stem)
def test_every_registered_exercise_of_the_chapter_is_in_it(path):
    chapter = int(path.stem[:2])
    _, calls, stubs = exercise_cells(path)
    assert [checker for checker, _ in calls] == [e.checker for e in EXERCISES if e.chapter == chapter]
    assert len(stubs) == len(calls)


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda path: path.stem)
def test_pasting_the_dropdown_solutions_makes_every_check_pass(path, capsys):
    """A reader who pastes a reference solution into a stub sees every check pass; the stubs say not attempted."""
    solutions, calls, stubs = exercise_cells(path)
    assert len(solutions) == len(calls)
    stubbed, solved = chapter_namespace(), chapter_namespace()
    for code in stubs:
        exec(code, stubbed)  # noqa: S102 -- the chapter's own cells
    for code in solutions:
        exec(code, solved)  # noqa: S102
    for checker, name in calls:
        assert getattr(al.exercises, checker)(stubbed[name]) is False
        assert NOT_ATTEMPTED in capsys.readouterr().out
        assert getattr(al.exercises, checker)(solved[name]) is True, capsys.readouterr().out
