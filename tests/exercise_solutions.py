"""Reference solutions of the book's implement-it exercises (``attnlab.exercises``), one per checker.

Each is what a chapter's solution dropdown shows: its signature and docstring are the stub the reader completes,
and its body uses only ``torch``, ``torch.nn.functional as F``, ``torch.nn as nn`` and ``math``, as the chapters
do. ``SOLUTIONS`` maps each checker's name to its solution; ``tests/test_exercises.py`` checks them and typical
wrong solutions against the checkers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


# ---- chapter 1 ----

def my_single_query_attention(query, keys, values):
    """Dot-product attention of one query, without a scale.

    query (d,), keys (n, d), values (n, d_v) -> (out (d_v,), weights (n,))."""
    scores = keys @ query                 # (n,): q . k_j for every key
    weights = torch.softmax(scores, dim=0)
    return weights @ values, weights


def my_kernel_regression(x_query, x_train, y_train, bandwidth):
    """Nadaraya-Watson regression with a Gaussian kernel of width ``bandwidth``.

    x_query (m,), x_train (n,), y_train (n,) -> predictions (m,)."""
    scores = -(x_query[:, None] - x_train[None, :]) ** 2 / (2 * bandwidth**2)  # (m, n)
    return torch.softmax(scores, dim=1) @ y_train


# ---- chapter 2 ----

def my_gru_step(x, h, cell):
    """One step of ``cell`` (an nn.GRUCell) from its weights.

    x (B, d_in), h (B, d_h) -> h_new (B, d_h)."""
    x_r, x_z, x_n = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def my_greedy_decode(next_log_probs, bos, eos, max_len):
    """Greedy decoding: the tokens after ``bos``, up to and including ``eos``, at most ``max_len`` of them.

    next_log_probs(prefixes (N, t) long) -> log-probabilities (N, V)."""
    tokens = [bos]
    for _ in range(max_len):
        log_probs = next_log_probs(torch.tensor([tokens]))
        tokens.append(int(log_probs[0].argmax()))
        if tokens[-1] == eos:
            break
    return tokens[1:]


# ---- chapter 3 ----

def my_additive_score(s_prev, h, W, U, v):
    """Bahdanau's score e_j = v . tanh(W s_prev + U h_j).

    s_prev (B, d_s), h (B, T, d_h), W (d_a, d_s), U (d_a, d_h), v (d_a,) -> e (B, T)."""
    hidden = torch.tanh((s_prev @ W.T)[:, None, :] + h @ U.T)  # (B, T, d_a)
    return hidden @ v


def my_bahdanau_context(s_prev, h, mask, W, U, v):
    """The weights over the real source positions and the context vector.

    s_prev (B, d_s), h (B, T, d_h), mask (B, T) bool (True = real token), W, U, v as for the score
    -> (context (B, d_h), alpha (B, T))."""
    e = torch.tanh((s_prev @ W.T)[:, None, :] + h @ U.T) @ v  # (B, T)
    alpha = torch.softmax(e.masked_fill(~mask, -math.inf), dim=-1)
    context = (alpha[:, :, None] * h).sum(dim=1)
    return context, alpha


# ---- chapter 4 ----

def my_general_score(h_t, h_s, W):
    """Luong's general score h_t^T W h_s for every pair.

    h_t (B, Tq, d_t), h_s (B, Tk, d_s), W (d_t, d_s) -> (B, Tq, Tk)."""
    return h_t @ W @ h_s.transpose(1, 2)


def my_concat_score(h_t, h_s, W, v):
    """Luong's concat score v . tanh(W [h_t; h_s]) for every pair.

    h_t (B, Tq, d_t), h_s (B, Tk, d_s), W (d_a, d_t + d_s), v (d_a,) -> (B, Tq, Tk)."""
    n_q, n_k = h_t.shape[1], h_s.shape[1]
    pairs = torch.cat([h_t[:, :, None, :].expand(-1, -1, n_k, -1),
                       h_s[:, None, :, :].expand(-1, n_q, -1, -1)], dim=-1)  # (B, Tq, Tk, d_t + d_s)
    return torch.tanh(pairs @ W.T) @ v


# ---- chapter 5 ----

def my_grid_attention(h, features, W_h, W_a, v):
    """Soft attention of the decoder state over the cells of a feature grid.

    h (B, d_h), features (B, D, H, W), W_h (d_a, d_h), W_a (d_a, D), v (d_a,)
    -> (z (B, D), alpha (B, H, W))."""
    B, D, H, W = features.shape
    a = features.flatten(2).transpose(1, 2)                    # (B, H W, D), raster order
    e = torch.tanh((h @ W_h.T)[:, None, :] + a @ W_a.T) @ v    # (B, H W)
    alpha = torch.softmax(e, dim=-1)
    z = (alpha[:, :, None] * a).sum(dim=1)
    return z, alpha.view(B, H, W)


def my_doubly_stochastic_penalty(alpha, steps, lam):
    """lam * mean over the batch of sum_i (1 - sum_t alpha[b, t, i])^2, over the real steps only.

    alpha (B, T, L), steps (B, T) bool (True at real words), lam: float -> scalar tensor."""
    total = (alpha * steps[:, :, None]).sum(dim=1)  # (B, L): how much each location was looked at
    return lam * ((1 - total) ** 2).sum(dim=-1).mean()


# ---- chapter 6 ----

def my_length_penalty_rescoring(hypotheses, alpha):
    """Rank finished hypotheses by log P / ((5 + |Y|) / 6) ** alpha, best first.

    hypotheses: list of (tokens, log_prob), tokens without <bos>, with <eos> -> list of (tokens, score)."""
    scored = [(tokens, log_prob / ((5 + len(tokens)) / 6) ** alpha) for tokens, log_prob in hypotheses]
    return sorted(scored, key=lambda item: item[1], reverse=True)


def my_beam_step(scores, log_probs, beam_size):
    """Keep the beam_size best continuations of all live prefixes.

    scores (k,), log_probs (k, V) -> (new_scores, parents, tokens), each (min(beam_size, k V),)."""
    totals = scores[:, None] + log_probs                   # (k, V)
    best, index = totals.flatten().topk(min(beam_size, totals.numel()))
    vocab = log_probs.shape[1]
    return best, index // vocab, index % vocab


# ---- chapter 7 ----

def my_scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k)) v; a query with no allowed key gets a zero output.

    q (..., Tq, d_k), k (..., Tk, d_k), v (..., Tk, d_v), mask bool broadcasting to (..., Tq, Tk), True = may attend
    -> (..., Tq, d_v)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    empty = (scores == -math.inf).all(dim=-1, keepdim=True)  # a query with no allowed key
    weights = torch.softmax(scores.masked_fill(empty, 0.0), dim=-1)  # finite scores there: no NaN
    return weights.masked_fill(empty, 0.0) @ v


def my_softmax_jacobian(p):
    """The Jacobian of the softmax, J[..., i, j] = d p_i / d s_j = p_i (delta_ij - p_j).

    p (..., n) -> (..., n, n)."""
    return torch.diag_embed(p) - p[..., :, None] * p[..., None, :]


# ---- chapter 8 ----

def my_self_attention(x, W_q, W_k, W_v):
    """Single-head self-attention with projections.

    x (B, T, d_model), W_q and W_k (d_model, d_k), W_v (d_model, d_v) -> (out (B, T, d_v), weights (B, T, T))."""
    q, k, v = x @ W_q, x @ W_k, x @ W_v
    weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v, weights


def my_permutation_equivariance_test(layer, x):
    """Whether layer(x[:, perm]) equals layer(x)[:, perm] for a shuffle of the tokens.

    layer: (B, T, d) -> (B, T, d); x (B, T, d) -> bool."""
    perm = torch.roll(torch.arange(x.shape[1], device=x.device), 1)  # moves every token
    with torch.no_grad():
        return torch.allclose(layer(x[:, perm]), layer(x)[:, perm], atol=1e-5)


# ---- chapter 9 ----

def my_masked_softmax(scores, mask):
    """Softmax over the allowed positions of each row; zeros for a row with none.

    scores (..., n), mask bool broadcasting to scores (True = may attend) -> (..., n)."""
    scores = scores.masked_fill(~mask, -math.inf)
    any_allowed = (scores > -math.inf).any(dim=-1, keepdim=True)
    weights = torch.softmax(scores.masked_fill(~any_allowed, 0.0), dim=-1)
    return weights.masked_fill(~any_allowed, 0.0)


def my_causal_mask(n_queries, n_keys):
    """Query i (the last n_queries of n_keys positions) may attend key j iff j <= i + n_keys - n_queries.

    -> (n_queries, n_keys) bool."""
    i = torch.arange(n_queries)[:, None] + (n_keys - n_queries)
    j = torch.arange(n_keys)[None, :]
    return j <= i


def my_made_masks(input_degrees, hidden_degrees):
    """MADE's masks, shaped like nn.Linear weights (out, in), one per layer.

    input_degrees (D,) a permutation of 1..D, hidden_degrees: list of (H_l,) -> list of float masks."""
    degrees = [input_degrees, *hidden_degrees]
    masks = [(after[:, None] >= before[None, :]).float() for before, after in zip(degrees, degrees[1:])]
    masks.append((input_degrees[:, None] > degrees[-1][None, :]).float())  # output i: degrees below its own
    return masks


# ---- chapter 10 ----

def my_split_heads(x, num_heads):
    """(B, T, d_model) -> (B, H, T, d_head); head h takes features [h d_head, (h+1) d_head)."""
    B, T, d_model = x.shape
    return x.view(B, T, num_heads, d_model // num_heads).transpose(1, 2)


class MyMultiHeadAttention(nn.Module):
    """Multi-head attention: project, split into heads, attend, merge, project.

    Layers: q_proj, k_proj, v_proj, out_proj, each nn.Linear(d_model, d_model) (the checker copies weights into
    them by these names). forward(query (B, Tq, d_model), key (B, Tk, d_model), value (B, Tk, d_model), mask=None)
    -> (B, Tq, d_model); mask (B, Tq, Tk) bool, True = may attend."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        self.num_heads, self.d_head = num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def split(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.d_head).transpose(1, 2)  # (B, H, T, d_head)

    def forward(self, query, key, value, mask=None):
        q, k, v = self.split(self.q_proj(query)), self.split(self.k_proj(key)), self.split(self.v_proj(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)           # (B, H, Tq, Tk)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None], -math.inf)           # the same mask for every head
        heads = torch.softmax(scores, dim=-1) @ v                            # (B, H, Tq, d_head)
        return self.out_proj(heads.transpose(1, 2).flatten(2))               # (B, Tq, d_model)


# ---- chapter 11 ----

def my_sinusoidal_encoding(length, d_model):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)).

    -> (length, d_model)."""
    position = torch.arange(length, dtype=torch.float64)[:, None]
    frequency = 10000 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    angle = position * frequency                                  # (length, d_model / 2)
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()
    return pe.float()


def my_shift_rotation(k, d_model):
    """M_k with PE(p + k) = M_k @ PE(p): one 2x2 rotation per (sin, cos) pair.

    -> (d_model, d_model)."""
    M = torch.zeros(d_model, d_model, dtype=torch.float64)
    for i in range(d_model // 2):
        b = k * 10000 ** (-2 * i / d_model)
        # [sin(a + b), cos(a + b)] = [[cos b, sin b], [-sin b, cos b]] @ [sin a, cos a]
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[math.cos(b), math.sin(b)],
                                                            [-math.sin(b), math.cos(b)]])
    return M


# ---- chapter 12 ----

def my_layer_norm(x, weight, bias, eps):
    """Normalise each position over its features, then scale and shift.

    x (..., d), weight (d,), bias (d,) -> (..., d)."""
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def my_encoder_layer(x, attn, ff, norm1, norm2, norm_first):
    """An encoder layer from its parts: post-norm (norm_first False) or pre-norm (True).

    x (B, T, d); attn, ff, norm1, norm2: (B, T, d) -> (B, T, d) -> (B, T, d)."""
    if norm_first:
        x = x + attn(norm1(x))
        return x + ff(norm2(x))
    x = norm1(x + attn(x))
    return norm2(x + ff(x))


# ---- chapter 13 ----

def my_warmup_schedule(step, d_model, warmup):
    """The Transformer's learning rate at step (counted from 1): d_model^-0.5 min(step^-0.5, step warmup^-1.5)."""
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def my_decoder_masks(src_lengths, tgt_len, src_len):
    """The decoder's self-attention and memory masks (True = may attend).

    src_lengths (B,) -> (self_mask (tgt_len, tgt_len), memory_mask (B, 1, src_len))."""
    self_mask = torch.ones(tgt_len, tgt_len, dtype=torch.bool, device=src_lengths.device).tril()
    real = torch.arange(src_len, device=src_lengths.device)[None, :] < src_lengths[:, None]  # (B, S)
    return self_mask, real[:, None, :]  # padding hides keys (columns), for every query


# ---- chapter 14 ----

def my_causal_conv1d(x, weight, bias):
    """A causal convolution over time: output t sees inputs t - k + 1 .. t.

    x (B, T, d_in), weight (d_out, d_in, k), bias (d_out,) -> (B, T, d_out)."""
    k = weight.shape[-1]
    padded = F.pad(x.transpose(1, 2), (k - 1, 0))  # (B, d_in, k - 1 + T): zeros before the sequence
    return F.conv1d(padded, weight, bias).transpose(1, 2)


def my_layers_needed(length, kernel_size):
    """The fewest stacked causal convolutions whose last output sees all ``length`` inputs."""
    return math.ceil((length - 1) / (kernel_size - 1))


# ---- chapter 15 ----

class MySelfAttention2d(nn.Module):
    """SAGAN's block: y = gamma * out(m) + x, m the attention of every pixel over all pixels.

    Layers: query, key, value, bias-free nn.Conv2d(channels, channels // 8, 1); out, nn.Conv2d(channels // 8,
    channels, 1, bias=False); gamma, nn.Parameter of shape (1,) starting at 0.
    forward(x (B, C, H, W)) -> (B, C, H, W)."""

    def __init__(self, channels):
        super().__init__()
        inner = channels // 8
        self.query = nn.Conv2d(channels, inner, 1, bias=False)
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, inner, 1, bias=False)
        self.out = nn.Conv2d(inner, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        B, C, H, W = x.shape
        pixels = lambda t: t.flatten(2).transpose(1, 2)  # (B, c, H, W) -> (B, H W, c)
        weights = torch.softmax(pixels(self.query(x)) @ pixels(self.key(x)).transpose(1, 2), dim=-1)
        m = (weights @ pixels(self.value(x))).transpose(1, 2).reshape(B, -1, H, W)
        return self.gamma * self.out(m) + x


def my_pixel_attention_map(queries, keys, row, col):
    """Where the pixel at (row, col) looks: softmax over all pixels of its query against their keys.

    queries, keys (B, c, H, W) -> (B, H, W)."""
    B, c, H, W = keys.shape
    q = queries[:, :, row, col]                              # (B, c)
    scores = (q[:, :, None] * keys.flatten(2)).sum(dim=1)    # (B, H W)
    return torch.softmax(scores, dim=-1).view(B, H, W)


# ---- chapter 16 ----

def my_local_mask_1d(length, block_size):
    """Query i sees key j iff j <= i and j's block is i's block or the one before.

    -> (length, length) bool."""
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    return (j <= i) & (j // block_size >= i // block_size - 1)


def my_local_mask_2d(height, width, query_block, memory):
    """2-D local attention in raster order, query blocks (h_q, w_q) with memory (h_m, w_m).

    -> (H W, H W) bool."""
    (h_q, w_q), (h_m, w_m) = query_block, memory
    index = torch.arange(height * width)
    r, c = index // width, index % width
    R, C = (r // h_q)[:, None], (c // w_q)[:, None]            # each query's block
    rows = (r[None, :] >= R * h_q - h_m) & (r[None, :] < (R + 1) * h_q)
    cols = (c[None, :] >= C * w_q - w_m) & (c[None, :] < (C + 1) * w_q + w_m)
    return rows & cols & (index[None, :] <= index[:, None])


# ---- chapter 17 ----

def my_skew(rel_logits):
    """Logits by relative distance -> by key position: out[..., i, j] = rel_logits[..., i, j - i + L - 1], j <= i.

    rel_logits (..., L, L) -> (..., L, L)."""
    *lead, L, _ = rel_logits.shape
    padded = F.pad(rel_logits, (1, 0))                  # (..., L, L + 1): a zero column on the left
    return padded.reshape(*lead, L + 1, L)[..., 1:, :]  # reshape, drop the first row


def my_alibi_bias(num_heads, length):
    """ALiBi: bias[h, i, j] = -m_h (i - j) for j <= i, -inf after; m_h = 2^(-8 (h + 1) / H).

    -> (num_heads, length, length)."""
    slopes = 2.0 ** (-8.0 * torch.arange(1, num_heads + 1) / num_heads)
    i, j = torch.arange(length)[:, None], torch.arange(length)[None, :]
    bias = -slopes[:, None, None] * (i - j)
    return bias.masked_fill(j > i, -math.inf)


# ---- chapter 18 ----

def my_mean_pool(hidden, attention_mask):
    """The mean hidden state over the real tokens (attention_mask 1); zeros without any.

    hidden (B, T, d), attention_mask (B, T) -> (B, d)."""
    weights = attention_mask[:, :, None].to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-9)


def my_head_importance(score, num_layers, num_heads):
    """How much the loss grows when one head is switched off, every other head on.

    score(head_mask (L, H)) -> float -> importance (L, H)."""
    everyone = torch.ones(num_layers, num_heads)
    full = score(everyone)
    importance = torch.zeros(num_layers, num_heads)
    for layer in range(num_layers):
        for head in range(num_heads):
            mask = everyone.clone()
            mask[layer, head] = 0.0
            importance[layer, head] = score(mask) - full
    return importance


SOLUTIONS = {f"check_{name.removeprefix('my_')}": obj for name, obj in list(globals().items())
             if name.startswith("my_")}
SOLUTIONS["check_multi_head_attention"] = MyMultiHeadAttention
SOLUTIONS["check_sagan_block"] = MySelfAttention2d
