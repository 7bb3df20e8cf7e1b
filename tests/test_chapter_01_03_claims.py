"""The main claims of chapters 1-3 and the package code they rest on (forcing, scheduled sampling, edited
attention), each checked against an oracle and shown to fail on a deliberately broken input or model."""

import math

import pytest
import torch
from torch import nn

import attnlab as al
from attnlab import seq2seq as s2s
from attnlab.data import translation as tr

SRC_V, TGT_V = 11, 9


def batch_of(lengths, tgt_len=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, SRC_V, (len(lengths), max(lengths)), generator=g)
    for b, n in enumerate(lengths):
        src[b, n:] = tr.PAD
    tgt = torch.randint(3, TGT_V, (len(lengths), tgt_len), generator=g)
    tgt[:, 0] = tr.BOS
    return src, torch.tensor(lengths), tgt


def model(attention):
    torch.manual_seed(0)
    m = s2s.Seq2Seq.build(SRC_V, TGT_V, attention=attention, d_embed=5, d_hidden=6).double()
    with torch.no_grad():  # larger weights than the default init, so that free running differs from forcing
        for p in m.parameters():
            p.mul_(3)
    return m.eval()


# ---- chapter 1 ------------------------------------------------------------------------------------------------

def crossings(looks_at):
    return sum(looks_at[i] > looks_at[i2] for i in range(len(looks_at)) for i2 in range(i + 1, len(looks_at)))


def test_ch01_a_layer_over_slots_does_not_follow_a_shuffle_but_attention_does():
    tokens, order = torch.randn(3, 4), torch.tensor([2, 0, 1])
    mixer = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        assert not torch.allclose(mixer(tokens[order].T).T, mixer(tokens.T).T[order], atol=1e-3)
        # oracle for the claim's failure mode: a layer whose W commutes with the shuffle (W = a I) does follow it
        mixer.weight.copy_(2 * torch.eye(3))
        torch.testing.assert_close(mixer(tokens[order].T).T, mixer(tokens.T).T[order])
    out, _ = al.attention(tokens, tokens, tokens)
    out_shuffled, _ = al.attention(tokens[order], tokens[order], tokens[order])
    torch.testing.assert_close(out_shuffled, out[order])
    # broken: attention with a position-dependent (causal) mask no longer follows the tokens
    causal = al.causal_mask(3)
    out_c, _ = al.attention(tokens, tokens, tokens, causal)
    out_cs, _ = al.attention(tokens[order], tokens[order], tokens[order], causal)
    assert not torch.allclose(out_cs, out_c[order])


def test_ch01_crossing_counter():
    assert crossings([0, 2, 1]) == 1 and crossings([0, 1, 2]) == 0 and crossings([2, 1, 0]) == 3


# ---- chapter 2: the hand-built GRU and decoder against torch and the package ----------------------------------

def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh, *, swap_gates=False):
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    if swap_gates:
        r, z = z, r
    return (1 - z) * torch.tanh(i_n + r * h_n) + z * h


def test_ch02_hand_gru_equals_torch_and_a_swapped_gate_order_does_not():
    cell = nn.GRUCell(5, 7).double()
    x, h = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 7, dtype=torch.float64)
    args = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    with torch.no_grad():
        torch.testing.assert_close(gru_cell(x, h, *args), cell(x, h))
        assert not torch.allclose(gru_cell(x, h, *args, swap_gates=True), cell(x, h))


def hand_plain_logits(m, src, tgt_in, *, fresh_summary_each_step=True):
    """The plain decoder written out; with fresh_summary_each_step=False the summary is fed only at step 0."""
    enc, dec = m.encoder, m.decoder
    _, c = enc(src[None], torch.tensor([len(src)]))
    c = c[0]
    s = torch.tanh(dec.init(c))
    w = [dec.rnn.weight_ih_l0, dec.rnn.weight_hh_l0, dec.rnn.bias_ih_l0, dec.rnn.bias_hh_l0]
    out = []
    for i, y in enumerate(tgt_in):
        ctx = c if fresh_summary_each_step or i == 0 else torch.zeros_like(c)
        s = gru_cell(torch.cat([dec.embed.weight[y], ctx]), s, *w)
        out.append(dec.out(torch.cat([s, ctx])))
    return torch.stack(out)


def test_ch02_hand_decoder_equals_the_package_and_a_broken_one_does_not():
    m = model(None)
    src, lengths, tgt = batch_of([5, 3])
    with torch.no_grad():
        logits, _ = m(src, lengths, tgt)
        for b, n in enumerate(lengths.tolist()):
            torch.testing.assert_close(hand_plain_logits(m, src[b, :n], tgt[b]), logits[b])
            assert not torch.allclose(hand_plain_logits(m, src[b, :n], tgt[b], fresh_summary_each_step=False),
                                      logits[b])


# ---- forcing probability and scheduled sampling ---------------------------------------------------------------

@pytest.mark.parametrize("attention", [None, "additive", "dot"])
def test_forcing_one_is_teacher_forcing_and_zero_is_greedy_decoding(attention):
    m = model(attention)
    src, lengths, tgt = batch_of([5, 3, 4], tgt_len=7)
    with torch.no_grad():
        teacher, w_teacher = m(src, lengths, tgt)
        forced, w_forced = s2s.forward_with_forcing(m, src, lengths, tgt, forcing=1.0)
        free, _ = s2s.forward_with_forcing(m, src, lengths, tgt, forcing=0.0)
    torch.testing.assert_close(forced, teacher)
    if attention is not None:
        torch.testing.assert_close(w_forced, w_teacher)
    # oracle: greedy decoding with attnlab.decoding, which stops a row at its first <eos>
    greedy = al.decoding.greedy_batch(m.next_log_probs(src, lengths), 3, bos=tr.BOS, eos=tr.EOS, max_len=7)
    rows = free.argmax(-1).tolist()
    assert [r[: r.index(tr.EOS) + 1] if tr.EOS in r else r for r in rows] == greedy
    # not vacuous: free running differs from teacher forcing on this model
    assert not torch.allclose(free, teacher)


def test_forcing_in_between_mixes_reference_and_own_words_per_coin():
    m = model(None)
    src, lengths, tgt = batch_of([5, 3, 4, 6], tgt_len=8)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        a, _ = s2s.forward_with_forcing(m, src, lengths, tgt, forcing=0.5, generator=g1)
        b, _ = s2s.forward_with_forcing(m, src, lengths, tgt, forcing=0.5, generator=g2)
        torch.testing.assert_close(a, b)  # reproducible given the generator
        # oracle: replay the coins by hand and run teacher forcing on the mixed inputs, one step at a time
        coins = torch.rand(4, 8, generator=torch.Generator().manual_seed(3)) < 0.5
        mixed = tgt.clone()
        for i in range(1, 8):
            logits, _ = m(src, lengths, mixed[:, :i])
            mixed[:, i] = torch.where(coins[:, i], tgt[:, i], logits[:, -1].argmax(-1))
        teacher, _ = m(src, lengths, mixed)
    torch.testing.assert_close(a, teacher)
    assert 0 < coins[:, 1:].float().mean() < 1


def test_forcing_gradients_reach_the_parameters_but_not_through_the_chosen_word():
    m = model("additive").train()
    src, lengths, tgt = batch_of([5, 3])
    logits, _ = s2s.forward_with_forcing(m, src, lengths, tgt, forcing=0.3, generator=torch.Generator())
    logits.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters() if p.requires_grad)


def test_inverse_sigmoid_schedule():
    f = s2s.inverse_sigmoid(100)
    assert f(0) == pytest.approx(100 / 101)
    assert f(100 * math.log(100)) == pytest.approx(0.5)
    values = [f(s) for s in range(0, 3000, 50)]
    assert all(a > b for a, b in zip(values, values[1:])) and values[-1] < 1e-6 and 0.0 <= f(10**7) < 1e-300


@pytest.mark.parametrize("call, exc, fragments", [
    (lambda m, s, l, t: s2s.forward_with_forcing(m, s, l, t, forcing=1.5), ValueError, ["forcing", "[0, 1]", "1.5"]),
    (lambda m, s, l, t: s2s.forward_with_forcing(m, s, l, t, forcing="1"), TypeError, ["forcing", "str"]),
    (lambda m, s, l, t: s2s.forward_with_forcing(m.encoder, s, l, t, forcing=1.0), TypeError, ["model", "Encoder"]),
    (lambda m, s, l, t: s2s.forward_with_forcing(m, s, l, t[:1], forcing=1.0), ValueError, ["tgt_in", "one row"]),
    (lambda m, s, l, t: s2s.inverse_sigmoid(0.5), ValueError, ["inverse_sigmoid", "k"]),
    (lambda m, s, l, t: s2s.edited_attention(model(None), lambda w, k: w).__enter__(), TypeError,
     ["edited_attention", "AttentionDecoder", "Decoder"]),
    (lambda m, s, l, t: s2s.edited_attention(m, "uniform").__enter__(), TypeError, ["edit", "str"]),
])
def test_bad_input(call, exc, fragments):
    m = model("additive")
    src, lengths, tgt = batch_of([5, 3])
    with pytest.raises(exc) as info:
        call(m, src, lengths, tgt)
    assert type(info.value) is exc
    for fragment in fragments:
        assert fragment in str(info.value)


# ---- chapter 3: the Bahdanau step by hand, attention as a set, edited attention -------------------------------

def hand_bahdanau_step(dec, y_prev, s_prev, h, *, use_new_state=False):
    W, U, v = dec.score.W.weight, dec.score.U.weight, dec.score.v.weight[0]
    cell = [dec.cell.weight_ih, dec.cell.weight_hh, dec.cell.bias_ih, dec.cell.bias_hh]
    query = s_prev
    if use_new_state:  # broken: Luong's order (score with the new state) in a Bahdanau decoder
        query = gru_cell(torch.cat([dec.embed.weight[y_prev], torch.zeros(h.shape[-1], dtype=h.dtype)]), s_prev, *cell)
    alpha = torch.softmax(torch.tanh(W @ query + h @ U.T) @ v, dim=0)
    c = alpha @ h
    s = gru_cell(torch.cat([dec.embed.weight[y_prev], c]), s_prev, *cell)
    return dec.out(torch.cat([s, c])), s, alpha, c


@pytest.mark.parametrize("broken", [False, True])
def test_ch03_hand_bahdanau_step_equals_the_package_step(broken):
    m = model("additive")
    src, lengths, tgt = batch_of([5])
    with torch.no_grad():
        source = m.encode(src, lengths)
        s = m.decoder.start(source)[0]
        for t in range(tgt.shape[1]):
            logits, s_new, alpha, c = hand_bahdanau_step(m.decoder, tgt[0, t], s, source.annotations[0],
                                                         use_new_state=broken)
            ref_logits, ref_s, ref_alpha = m.decoder.step(tgt[:, t], s[None], source)
            ref_c, _ = m.decoder.attend(s[None, None], source)
            same = all(torch.allclose(a, b) for a, b in ((logits, ref_logits[0]), (s_new, ref_s[0]),
                                                         (alpha, ref_alpha[0]), (c, ref_c[0, 0])))
            if broken:
                assert not same
                return
            assert same
            s = s_new


def test_ch03_attention_reads_the_annotations_as_a_set_and_the_encoder_reads_in_order():
    m = model("additive")
    src, lengths, _ = batch_of([6])
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        source = m.encode(src, lengths)
        query = torch.randn(1, 1, m.decoder.init.out_features, dtype=torch.float64)
        c, w = m.decoder.attend(query, source)
        shuffled = s2s.Source(source.annotations[:, perm], source.summary, source.mask[:, perm], source.u_k[:, perm])
        c2, w2 = m.decoder.attend(query, shuffled)
        torch.testing.assert_close(c2, c)
        torch.testing.assert_close(w2, w[..., perm])
        # a position-aware score would break it: add a bias that depends on the slot
        scores = m.decoder.score(query, shuffled.annotations, u_k=shuffled.u_k) + torch.arange(6.0, dtype=torch.float64)
        assert not torch.allclose(torch.softmax(scores, -1) @ shuffled.annotations, c)
        # the RNN encoder is not order-free: the same words in another order give another summary
        assert not torch.allclose(m.encode(src[:, perm], lengths).summary, source.summary)


def test_edited_attention_identity_uniform_and_restore():
    m = model("additive")
    src, lengths, tgt = batch_of([5, 3])
    with torch.no_grad():
        base, w = m(src, lengths, tgt)
        with s2s.edited_attention(m, lambda weights, mask: weights):
            same, w_same = m(src, lengths, tgt)
        torch.testing.assert_close(same, base)

        def uniform(weights, mask):
            u = mask[:, None, :].to(weights.dtype).expand_as(weights)
            return u / u.sum(-1, keepdim=True)

        with s2s.edited_attention(m, uniform):
            flat, w_flat = m(src, lengths, tgt)
        # oracle: v = 0 makes every score 0, hence uniform weights over the real words
        blind = model("additive")
        blind.decoder.score.v.weight.zero_()
        torch.testing.assert_close(flat, blind(src, lengths, tgt)[0])
        assert not torch.allclose(flat, base)
        assert (w_flat[1, :, 3:] == 0).all()
    assert m.decoder.edit is None
    with pytest.raises(RuntimeError), s2s.edited_attention(m, uniform):
        raise RuntimeError("boom")
    assert m.decoder.edit is None
    with torch.no_grad():
        torch.testing.assert_close(m(src, lengths, tgt)[0], base)
