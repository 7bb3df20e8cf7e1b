"""RNN encoder-decoders against hand-written formulas, masks and padding, and the Seq2Seq decoding adapter."""

import pytest
import torch
import torch.nn.functional as F

import attnlab as al
from attnlab import seq2seq as s2s
from attnlab import translation_task as task
from attnlab.data import translation as tr

SRC_V, TGT_V = 11, 9


def batch_of(lengths, tgt_len=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    S = max(lengths)
    src = torch.randint(3, SRC_V, (len(lengths), S), generator=g)
    for b, n in enumerate(lengths):
        src[b, n:] = tr.PAD
    tgt = torch.randint(3, TGT_V, (len(lengths), tgt_len), generator=g)
    tgt[:, 0] = tr.BOS
    return src, torch.tensor(lengths), tgt


def model(attention, *, order=None, bidirectional=True):
    torch.manual_seed(0)
    return s2s.Seq2Seq.build(SRC_V, TGT_V, attention=attention, order=order, d_embed=5, d_hidden=6,
                             bidirectional=bidirectional).double()


ALL = [(None, None), ("additive", "bahdanau"), *((s, "luong") for s in s2s.SCORES), ("general", "bahdanau")]


def test_encoder_states_equal_a_gru_run_on_each_unpadded_sentence():
    enc = s2s.Encoder(SRC_V, 5, 6, bidirectional=True).double()
    src, lengths, _ = batch_of([4, 7, 2])
    annotations, summary = enc(src, lengths)
    assert annotations.shape == (3, 7, 12) and summary.shape == (3, 12)
    for b, n in enumerate(lengths.tolist()):
        alone, last = enc.rnn(enc.embed(src[b:b + 1, :n]))
        torch.testing.assert_close(annotations[b, :n], alone[0])
        assert (annotations[b, n:] == 0).all()
        # summary: last forward state and the backward state at the first word
        torch.testing.assert_close(summary[b], torch.cat([alone[0, -1, :6], alone[0, 0, 6:]]))
        torch.testing.assert_close(summary[b], torch.cat(list(last[:, 0])))


def test_bahdanau_decoder_matches_the_formula():
    """e_ij = v^T tanh(W s_{i-1} + U h_j); c_i = sum alpha_ij h_j; s_i = GRU([E y_{i-1}; c_i], s_{i-1})."""
    m = model("additive")
    src, lengths, tgt = batch_of([5, 3])
    logits, weights = m(src, lengths, tgt)
    h, summary = m.encoder(src, lengths)
    dec = m.decoder
    W, U, v = dec.score.W.weight, dec.score.U.weight, dec.score.v.weight[0]
    for b, n in enumerate(lengths.tolist()):
        s = torch.tanh(dec.init(summary[b]))
        for i in range(tgt.shape[1]):
            e = torch.stack([v @ torch.tanh(W @ s + U @ h[b, j]) for j in range(n)])
            alpha = torch.softmax(e, 0)
            c = (alpha[:, None] * h[b, :n]).sum(0)
            s = dec.cell(torch.cat([dec.embed(tgt[b, i]), c])[None], s[None])[0]
            torch.testing.assert_close(weights[b, i, :n], alpha)
            torch.testing.assert_close(logits[b, i], dec.out(torch.cat([s, c])))


def test_luong_decoder_matches_the_formula():
    """h_t = GRU(E y_{t-1}, h_{t-1}); a_t = softmax(h_t^T W h_s); h~_t = tanh(W_c [c_t; h_t]); W_s h~_t."""
    m = model("general")
    src, lengths, tgt = batch_of([5, 3])
    logits, weights = m(src, lengths, tgt)
    hs, summary = m.encoder(src, lengths)
    dec = m.decoder
    for b, n in enumerate(lengths.tolist()):
        h = torch.tanh(dec.init(summary[b]))
        for t in range(tgt.shape[1]):
            h = dec.rnn(dec.embed(tgt[b, t])[None, None], h[None, None])[1][0, 0]
            alpha = torch.softmax(torch.stack([h @ dec.score.W.weight @ hs[b, j] for j in range(n)]), 0)
            c = (alpha[:, None] * hs[b, :n]).sum(0)
            torch.testing.assert_close(weights[b, t, :n], alpha)
            torch.testing.assert_close(logits[b, t], dec.out(torch.tanh(dec.combine(torch.cat([c, h])))))


def test_plain_decoder_sees_only_the_summary():
    m = model(None)
    src, lengths, tgt = batch_of([6, 6])
    logits, weights = m(src, lengths, tgt)
    assert weights is None and logits.shape == (2, 6, TGT_V)
    annotations, summary = m.encoder(src, lengths)
    mask = al.padding_mask(lengths, 6)
    scrambled = m.decoder(tgt, s2s.Source(torch.randn_like(annotations), summary, mask))[0]
    torch.testing.assert_close(scrambled, logits)  # annotations do not matter, only the summary
    other = m.decoder(tgt, s2s.Source(annotations, torch.randn_like(summary), mask))[0]
    assert not torch.allclose(other, logits)


@pytest.mark.parametrize("attention, order", ALL)
def test_padding_gets_zero_weight_and_changes_nothing(attention, order):
    m = model(attention, order=order)
    src, lengths, tgt = batch_of([7, 3, 5])
    logits, weights = m(src, lengths, tgt)
    assert logits.shape == (3, 6, TGT_V)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_weights = m(src[b:b + 1, :n], lengths[b:b + 1], tgt[b:b + 1])
        torch.testing.assert_close(logits[b:b + 1], alone)
        if weights is not None:
            assert (weights[b, :, n:] == 0).all()  # exactly zero, not just small
            torch.testing.assert_close(weights[b:b + 1, :, :n], alone_weights)
            torch.testing.assert_close(weights[b].sum(-1), torch.ones(6, dtype=torch.float64))


@pytest.mark.parametrize("attention, order", ALL)
def test_step_by_step_equals_teacher_forcing(attention, order):
    m = model(attention, order=order)
    src, lengths, tgt = batch_of([5, 2, 4])
    expected = m(src, lengths, tgt)[0].log_softmax(-1)
    cached = m.next_log_probs(src, lengths)
    for t in range(tgt.shape[1]):
        torch.testing.assert_close(cached(tgt[:, : t + 1]), expected[:, t])  # one step from the cache
        torch.testing.assert_close(m.next_log_probs(src, lengths)(tgt[:, : t + 1]), expected[:, t])  # from scratch
    one = m.next_log_probs(src[1, :2])  # a single sentence, several prefixes
    torch.testing.assert_close(one(tgt[:, :3]), m(src[1:2, :2].expand(3, -1), lengths[1:2].expand(3), tgt[:, :3])[0]
                               .log_softmax(-1)[:, -1])


def test_additive_with_zero_v_gives_uniform_weights_over_the_real_source_words():
    m = model("additive")
    with torch.no_grad():
        m.decoder.score.v.weight.zero_()
    src, lengths, tgt = batch_of([5, 2])
    _, weights = m(src, lengths, tgt)
    torch.testing.assert_close(weights[0], torch.full((6, 5), 0.2, dtype=torch.float64))
    torch.testing.assert_close(weights[1, :, :2], torch.full((6, 2), 0.5, dtype=torch.float64))


def test_luong_order_can_use_the_encoder_width_without_extra_projection():
    m = s2s.Seq2Seq.build(SRC_V, TGT_V, attention="dot", d_hidden=6, bidirectional=False)
    assert m.decoder.order == "luong" and m.encoder.d_out == 6


def test_loss_ignores_padding_and_translate_strips_eos():
    data = al.data.Translation(al.data.sentence_pairs(4, length=(4, 9)), "french")
    m = s2s.Seq2Seq.build(len(data.src_vocab), len(data.tgt_vocab), attention="dot", d_hidden=8)
    batch = data.batch(range(4))
    logits, _ = m(batch.src, batch.src_lengths, batch.tgt_in)
    keep = batch.tgt_out != al.data.IGNORE
    torch.testing.assert_close(task.loss(m, batch), F.cross_entropy(logits[keep], batch.tgt_out[keep]))
    out = task.translate(m, batch.src, batch.src_lengths, max_len=5)
    assert len(out) == 4 and all(len(o) <= 5 and tr.EOS not in o for o in out)
    metrics = task.evaluate(m, data)
    assert set(metrics) == {"token_accuracy", "exact_match"} and 0 <= metrics["token_accuracy"] <= 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="score must be one of 'additive', 'dot', 'scaled_dot', 'general', 'concat', "
                                         "got 'cosine'"):
        s2s.AttentionDecoder(9, 4, 8, 8, score="cosine")
    with pytest.raises(ValueError, match="order must be one of 'bahdanau', 'luong', got 'vaswani'"):
        s2s.AttentionDecoder(9, 4, 8, 8, order="vaswani")
    with pytest.raises(ValueError, match=r"'dot' score needs equal query and key widths, got d_query = 8 \(decoder "
                                         r"hidden size\) and d_key = 12"):
        s2s.AttentionDecoder(9, 4, 8, 12, score="dot")
    with pytest.raises(ValueError, match="decoder expects encoder outputs of width 8, the encoder gives 12"):
        s2s.Seq2Seq(s2s.Encoder(9, 4, 6, bidirectional=True), s2s.Decoder(9, 4, 8, 8))
    m = model("additive")
    src, lengths, tgt = batch_of([3, 2])
    with pytest.raises(TypeError, match=r"tgt_in must hold token ids \(an integer dtype such as torch.long\), got "
                                        r"dtype torch.float32"):
        m(src, lengths, tgt.float())
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 3\], got \[3, 5\]"):
        m(src, torch.tensor([3, 5]), tgt)
    with pytest.raises(ValueError, match="a batch of sources"):
        m.next_log_probs(src)
    with pytest.raises(ValueError, match="got 3 prefixes for a batch of 2 sources"):
        m.next_log_probs(src, lengths)(torch.ones(3, 1, dtype=torch.long))
