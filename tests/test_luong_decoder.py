"""Luong's decoder (input feeding, global / local attention) against AttentionDecoder and a GRU written by hand."""

import pytest
import torch

import attnlab as al
from attnlab import luong_decoder as ld


def batch():
    g = torch.Generator().manual_seed(1)
    src = torch.randint(3, 20, (3, 7), generator=g)
    return src, torch.tensor([7, 5, 3]), torch.randint(3, 15, (3, 6), generator=g)


@pytest.mark.parametrize("score", ["dot", "general", "additive", "concat", "scaled_dot"])
def test_without_input_feeding_global_luong_is_attention_decoder_luong(score):
    torch.manual_seed(0)
    ours = ld.build(20, 15, score=score, input_feeding=False)
    theirs = al.seq2seq.Seq2Seq.build(20, 15, attention=score, order="luong")
    ours.load_state_dict(theirs.state_dict())
    src, lengths, tgt = batch()
    for a, b in zip(ours(src, lengths, tgt), theirs(src, lengths, tgt)):
        torch.testing.assert_close(a, b)


def gru_cell_by_hand(x, h, cell):
    """torch.nn.GRUCell's equations (r, z, n gates in that order in weight_ih / weight_hh)."""
    gi, gh = x @ cell.weight_ih.T + cell.bias_ih, h @ cell.weight_hh.T + cell.bias_hh
    (ir, iz, inn), (hr, hz, hn) = gi.chunk(3, -1), gh.chunk(3, -1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(inn + r * hn)
    return (1 - z) * n + z * h


def test_input_feeding_matches_luongs_equations_by_hand():
    torch.manual_seed(0)
    model = ld.build(20, 15, score="general").double()
    src, lengths, tgt = batch()
    logits, weights = model(src, lengths, tgt)
    d = model.decoder
    with torch.no_grad():
        source = model.encode(src, lengths)
        annotations, mask = source.annotations, source.mask
        h = torch.tanh(d.init(source.summary))
        h_tilde = torch.zeros_like(h)
        for t in range(tgt.shape[1]):
            h = gru_cell_by_hand(torch.cat([d.embed(tgt[:, t]), h_tilde], -1), h, d.cell)  # input feeding
            e = torch.einsum("bd,bsd->bs", h, annotations @ d.score.W.weight.T)            # h_t^T W h_s
            a = torch.softmax(e.masked_fill(~mask, float("-inf")), -1)
            c = torch.einsum("bs,bsd->bd", a, annotations)
            h_tilde = torch.tanh(torch.cat([c, h], -1) @ d.combine.weight.T + d.combine.bias)
            torch.testing.assert_close(weights[:, t], a)
            torch.testing.assert_close(logits[:, t], h_tilde @ d.out.weight.T + d.out.bias)


def test_input_feeding_makes_a_difference():
    """The same weights with and without feeding h~_{t-1} give different outputs from step 1 on (a broken decoder
    that ignored h~ would pass the test above only by accident: this is the contrast)."""
    torch.manual_seed(0)
    fed = ld.build(20, 15, score="general")
    src, lengths, tgt = batch()
    logits, _ = fed(src, lengths, tgt)
    with torch.no_grad():
        fed.decoder.cell.weight_ih[:, 32:] = 0  # the columns that read h~_{t-1}
    cut, _ = fed(src, lengths, tgt)
    torch.testing.assert_close(logits[:, 0], cut[:, 0])  # h~_0 = 0: the first step cannot differ
    assert not torch.allclose(logits[:, 1:], cut[:, 1:])


@pytest.mark.parametrize("attention", ["global", "local-m", "local-p"])
@pytest.mark.parametrize("input_feeding", [True, False])
@pytest.mark.parametrize("score", ["general", "location", "additive"])
def test_step_by_step_equals_forward_and_decoding_runs(attention, input_feeding, score):
    torch.manual_seed(0)
    model = ld.build(20, 15, score=score, attention=attention, input_feeding=input_feeding, max_source_len=12)
    src, lengths, tgt = batch()
    logits, weights = model(src, lengths, tgt)
    source = model.encode(src, lengths)
    state = model.decoder.start(source)
    for t in range(tgt.shape[1]):
        step_logits, state, alpha = model.decoder.step(tgt[:, t], state, source)
        torch.testing.assert_close(step_logits, logits[:, t])
        torch.testing.assert_close(alpha, weights[:, t])
    assert (weights[:, :, 5:][1] == 0).all() and (weights[2, :, 3:] == 0).all()  # padding gets nothing
    best = al.decoding.beam_search(model.next_log_probs(src[0]), bos=1, eos=2, beam_size=3, max_len=5)
    assert len(best) >= 1


def test_local_m_looks_only_at_the_window_around_t():
    torch.manual_seed(0)
    model = ld.build(20, 15, attention="local-m", window=1)
    src, lengths, tgt = batch()
    _, w = model(src, lengths, tgt)
    t, s = torch.arange(6)[:, None], torch.arange(7)[None, :]
    assert (w[:, (s - t).abs() > 1] == 0).all()
    torch.testing.assert_close(w[0].sum(-1), torch.ones(6))  # sentence 0 has 7 words: every window is non-empty


def test_local_p_weights_lie_in_the_window_around_the_predicted_position():
    torch.manual_seed(0)
    model = ld.build(20, 15, attention="local-p", window=2)
    src, lengths, tgt = batch()
    source = model.encode(src, lengths)
    _, w = model(src, lengths, tgt)
    h = model.decoder  # recompute p_t from the states the decoder saw, step by step
    state, inside = h.start(source), []
    for t in range(tgt.shape[1]):
        _, state, _ = h.step(tgt[:, t], state, source)
        p = h.position(state[0][:, None], lengths)[:, 0]
        inside.append((torch.arange(7)[None] - p[:, None]).abs() <= 2)
    inside = torch.stack(inside, 1)
    assert (w[~inside] == 0).all() and (w.sum(-1) <= 1 + 1e-6).all()


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: ld.LuongDecoder(10, 4, 8, 8, attention="local"), ValueError, "attention must be one of"),
    (lambda: ld.LuongDecoder(10, 4, 8, 8, score="location"), ValueError, "max_source_len"),
    (lambda: ld.LuongDecoder(10, 4, 8, 8, input_feeding=1), TypeError, "input_feeding must be a bool"),
    (lambda: ld.LuongDecoder(10, 4, 8, 8, window=0), ValueError, "window must be >= 1"),
    (lambda: ld.LuongDecoder(10, 4, 8, 8, score="cosine"), ValueError, "score must be one of"),
])
def test_bad_options_are_named(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()
