"""The main checks of chapters 4-6 fail when the claim they test is false (a broken model, input or number)."""

import itertools

import pytest
import torch

import attnlab as al


def test_ch04_concat_equals_additive_only_with_the_right_split():
    q, k = torch.randn(2, 5, 8), torch.randn(2, 7, 6)
    concat, additive = al.scores.Concat(8, 6, 16), al.scores.Additive(8, 6, 16)
    with torch.no_grad():
        additive.U.weight.copy_(concat.W.weight[:, 8:])
        additive.v.weight.copy_(concat.v.weight)
        additive.W.weight.copy_(concat.W.weight[:, :8].flip(0))  # a wrong split: W_1 with its rows permuted
    assert not torch.allclose(concat(q, k), additive(q, k))


def test_ch04_the_order_check_distinguishes_the_orders():
    """The notebook asserts that Bahdanau's step-i weights ignore the word fed at step i and Luong's do not."""
    src, lengths = torch.tensor([[5, 6, 7, 8]]), torch.tensor([4])
    tgt = torch.tensor([[1, 5, 6, 7]])
    changed = tgt.clone()
    changed[0, 2] = 9
    results = {}
    for order in ("bahdanau", "luong"):
        model = al.seq2seq.Seq2Seq.build(40, 40, attention="additive", order=order)
        with torch.no_grad():
            results[order] = torch.allclose(model(src, lengths, tgt)[1][0, 2], model(src, lengths, changed)[1][0, 2])
    assert results == {"bahdanau": True, "luong": False}


def test_ch04_a_hand_decoder_without_input_feeding_does_not_match_the_package():
    torch.manual_seed(0)
    fed = al.luong_decoder.build(20, 15, score="general")
    plain = al.luong_decoder.build(20, 15, score="general", input_feeding=False)
    src, lengths, tgt = torch.randint(3, 20, (2, 6)), torch.tensor([6, 4]), torch.randint(3, 15, (2, 5))
    state = {k: v for k, v in fed.state_dict().items() if k in plain.state_dict()
             and v.shape == plain.state_dict()[k].shape}
    plain.load_state_dict(state, strict=False)
    assert not torch.allclose(fed(src, lengths, tgt)[0], plain(src, lengths, tgt)[0])


def test_ch04_switching_attention_off_gives_uniform_weights_over_real_words_only():
    torch.manual_seed(0)
    model = al.seq2seq.Seq2Seq.build(20, 15, attention="general", order="luong")
    with torch.no_grad():
        model.decoder.score.W.weight.zero_()
    src, lengths, tgt = torch.randint(3, 20, (2, 6)), torch.tensor([6, 4]), torch.randint(3, 15, (2, 5))
    _, w = model(src, lengths, tgt)
    uniform = al.padding_mask(lengths, 6)[:, None] / lengths[:, None, None]
    torch.testing.assert_close(w, uniform.expand_as(w).float())
    assert not torch.allclose(w, torch.full_like(w, 1 / 6))  # uniform over the padding too would be wrong


def test_ch05_a_hand_step_that_ignores_the_decoder_state_fails_the_check():
    torch.manual_seed(0)
    model = al.vision.ShowAttendTell(9)
    images, tgt_in = torch.rand(2, 3, 32, 32), torch.randint(1, 9, (2, 3))
    with torch.no_grad():
        _, alpha = model(images, tgt_in)
        a = model.annotations(images)
        h, _ = model.start(a)
        s = model.score
        right = torch.softmax(s.v(torch.tanh(s.W(h)[:, None] + s.U(a)))[..., 0], -1)
        wrong = torch.softmax(s.v(torch.tanh(s.U(a)))[..., 0], -1)  # forgot W h_{t-1}
    torch.testing.assert_close(right, alpha[:, 0])
    assert not torch.allclose(wrong, alpha[:, 0])


def test_ch06_a_decreasing_penalty_breaks_the_monotone_length_property():
    """Exercise 1's check holds for GNMT's penalty and fails for one that shrinks with the length."""
    def switches(penalty):
        for lenA, lenB, logA, logB in itertools.product((2, 5), (8, 12), (-1.0, -3.0), (-4.0, -9.0)):
            wins = [logB / penalty(lenB, a) > logA / penalty(lenA, a) for a in (0, 0.5, 1, 2, 4, 8)]
            if wins != sorted(wins):
                return False
        return True

    assert switches(al.decoding.length_penalty)
    assert not switches(lambda n, a: ((5 + n) / 6) ** a if a < 1.5 else ((5 + n) / 6) ** -a)


def test_ch06_the_trace_is_the_search():
    torch.manual_seed(0)
    tiny = al.seq2seq.Seq2Seq.build(7, 6, attention="dot", d_embed=4, d_hidden=6)
    src = torch.tensor([3, 4, 5, 6])
    for alpha in (0.0, 0.6):
        trace = []
        best = al.decoding.beam_search(tiny.next_log_probs(src), bos=1, eos=2, beam_size=3, max_len=5, alpha=alpha,
                                       trace=trace)
        assert best == al.decoding.beam_search(tiny.next_log_probs(src), bos=1, eos=2, beam_size=3, max_len=5,
                                               alpha=alpha)
        finished = sorted(((t, s) for step in trace for t, _, s in step["finished"]), key=lambda h: -h[1])[:3]
        assert finished == best
        kept = {()}
        for step in trace:
            nodes = step["live"] + [(t, lp) for t, lp, _ in step["finished"]]
            assert all(tuple(t[:-1]) in kept for t, _ in nodes + step["pruned"])
            assert all(p <= min(s for _, s in nodes) + 1e-12 for _, p in step["pruned"])
            assert len(step["pruned"]) <= 3
            kept = {tuple(t) for t, _ in step["live"]}


def test_ch06_widgets_draw_the_trace_and_the_scores():
    torch.manual_seed(0)
    tiny = al.seq2seq.Seq2Seq.build(7, 6, attention="dot", d_embed=4, d_hidden=6)
    trace = []
    al.decoding.beam_search(tiny.next_log_probs(torch.tensor([3, 4])), bos=1, eos=2, beam_size=2, max_len=3,
                            trace=trace)
    html = al.widgets.beam_stepper({0.0: trace}, list("abcdef"), beam_size=2, static=True)
    assert html.data.count("frames[") >= len(trace)
    weights = {"dot": torch.softmax(torch.randn(3, 4), -1), "general": torch.softmax(torch.randn(3, 4), -1)}
    html = al.widgets.score_explorer(weights, list("wxyz"), list("abc"), static=True)
    assert html.data.count("frames[") >= 6
    with pytest.raises(ValueError, match="score_explorer"):
        al.widgets.score_explorer({"dot": torch.rand(2, 4)}, list("wxyz"), list("abc"))
