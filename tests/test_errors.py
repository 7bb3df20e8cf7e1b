"""Bad input gets a ValueError/TypeError from attnlab itself, naming the argument, expected and actual."""

import numpy as np
import pytest
import torch

import attnlab as al
from attnlab import scores

x = torch.randn(2, 5, 8)
k6 = torch.randn(2, 7, 6)
v = torch.randn(2, 7, 8)
mha = al.MultiHeadAttention(8, 2)

CASES = [
    # (call, exception, fragments that must appear in the message)
    (lambda: al.attention(x, k6, k6), ValueError, ["key has width 6 but query has width 8", "(2, 5, 8)", "(2, 7, 6)"]),
    (lambda: al.attention(x.numpy(), v, v), TypeError, ["query", "torch.Tensor", "ndarray"]),
    (lambda: al.attention(x.long(), v.long(), v.long()), TypeError, ["query", "floating", "torch.int64"]),
    (lambda: al.attention(x, v.double(), v), TypeError, ["key", "torch.float64", "torch.float32"]),
    (lambda: al.attention(x, v, v[:, :4]), ValueError, ["value has 4 positions but key has 7"]),
    (lambda: al.attention(x, v, v, torch.ones(5, 7)), TypeError, ["mask", "bool", "torch.float32"]),
    (lambda: al.attention(x, v, v, torch.ones(5, 6, dtype=torch.bool)), ValueError, ["mask", "(5, 6)", "(2, 5, 7)"]),
    (lambda: al.attention(x, v, v, torch.ones(3, 5, 7, dtype=torch.bool)), ValueError, ["mask", "(3, 5, 7)"]),
    (lambda: al.attention(x, v[:1], v[:1]), ValueError, ["batch dimensions", "(1, 7, 8)"]),
    (lambda: al.attention(x[0, 0], v, v), ValueError, ["query", "2 to 8 dimensions", "(8,)"]),
    (lambda: al.attention(x, v, v, scale="big"), TypeError, ["scale", "str"]),
    (lambda: al.attention(x, v, v, dropout_p=1.5), ValueError, ["dropout_p", "[0, 1)", "1.5"]),
    (lambda: al.attention(x, v, v, bias=torch.zeros(5, 6)), ValueError, ["bias", "(5, 6)", "(2, 5, 7)"]),
    (lambda: al.attention(x, v, v, bias=torch.zeros(5, 7, dtype=torch.float64)), TypeError, ["bias", "torch.float64"]),
    (lambda: al.scaled_dot_product_attention(x, v, v, bias=torch.zeros(3, 5, 7)), ValueError, ["bias", "(3, 5, 7)"]),
    (lambda: al.scaled_dot_product_attention(x, k6, k6), ValueError, ["scaled_dot_product_attention", "width 6"]),
    (lambda: al.scaled_dot_product_attention(x, v, v, is_causal=1), TypeError, ["is_causal", "bool", "int"]),
    (lambda: al.masked_softmax(torch.zeros(3, 4), torch.zeros(3, 4)), TypeError, ["mask", "bool"]),
    (lambda: al.masked_softmax(torch.zeros(3, 4), dim=2), ValueError, ["dim 2", "(3, 4)"]),
    (lambda: al.causal_mask(0), ValueError, ["n_queries", ">= 1", "0"]),
    (lambda: al.causal_mask(3.0), TypeError, ["n_queries", "int", "float"]),
    (lambda: al.padding_mask(torch.tensor([2.0]), 4), TypeError, ["lengths", "integer", "torch.float32"]),
    (lambda: al.padding_mask([2, 9], 4), ValueError, ["lengths", "max_len=4", "[2, 9]"]),
    (lambda: al.MultiHeadAttention(10, 3), ValueError, ["d_model=10", "num_heads=3"]),
    (lambda: al.MultiHeadAttention(8, 2, dropout=-0.1), ValueError, ["dropout", "-0.1"]),
    (lambda: mha(x, x, torch.randn(2, 5, 6)), ValueError, ["value", "width 8", "(2, 5, 6)"]),
    (lambda: mha(x, v[:1], v[:1]), ValueError, ["query", "(2, 5, 8)", "(1, 7, 8)"]),
    (lambda: mha(x, v, v, torch.ones(2, 3, 5, 7, dtype=torch.bool)), ValueError, ["mask", "(2, 3, 5, 7)", "(2, 2, 5, 7)"]),
    (lambda: mha(x, v, v, torch.ones(2, 5, 7, dtype=torch.int64)), TypeError, ["mask", "bool", "torch.int64"]),
    (lambda: al.MultiHeadAttention.from_torch(torch.nn.Linear(2, 2)), TypeError, ["nn.MultiheadAttention", "Linear"]),
    (lambda: al.MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(8, 2, add_bias_kv=True)), ValueError,
     ["add_bias_kv"]),
    (lambda: scores.dot(x, k6), ValueError, ["dot()", "width 6", "width 8"]),
    (lambda: scores.General(8, 6)(x, v), ValueError, ["General", "k", "width 6", "(2, 7, 8)"]),
    (lambda: scores.Additive(8, 8, 4)(x, v[:1]), ValueError, ["Additive", "leading", "(1, 7, 8)"]),
    (lambda: al.sinusoidal_encoding(10, 7), ValueError, ["d_model", "even", "7"]),
    (lambda: al.sinusoidal_encoding(10, 8, dtype=torch.int32), TypeError, ["dtype", "torch.int32"]),
    (lambda: al.get_device("tpu"), ValueError, ["prefer", "tpu"]),
    (lambda: al.seed_everything("0"), TypeError, ["seed", "int", "str"]),
    (lambda: al.attention(x.to("meta"), v.to("meta"), v.to("meta"), torch.ones(5, 7, dtype=torch.bool)), ValueError,
     ["mask is on cpu", "meta"]),
    (lambda: al.masked_softmax(torch.zeros(3, 4, device="meta"), torch.ones(4, dtype=torch.bool)), ValueError,
     ["mask is on cpu", "meta"]),
    (lambda: al.viz.heatmap(np.zeros((2, 3)), x_labels=["a", "b"]), ValueError, ["x_labels", "2", "3"]),
    (lambda: al.rotary.rotate(torch.randn(4, 7)), ValueError, ["rotate()", "even", "(4, 7)"]),
    (lambda: al.rotary.rotate(torch.randn(4, 8), torch.arange(5)), ValueError, ["rotate()", "positions", "(5,)"]),
    (lambda: al.alibi.alibi_slopes(0), ValueError, ["alibi_slopes()", "num_heads"]),
    (lambda: al.relative.CausalLM(10, positions="absolute", max_len=8), ValueError, ["CausalLM", "positions"]),
    (lambda: al.relative.RelativeMultiHeadAttention(8, 2, max_len=8, clip=-1), ValueError, ["clip", "-1"]),
    (lambda: al.local.local_mask_2d(4, 4, (2, 2), (1, 1), order="spiral"), ValueError, ["local_mask_2d", "order",
                                                                                         "spiral"]),
    (lambda: al.local.SuperResolutionTransformer(2, 4, attention="global"), ValueError, ["attention", "global"]),
    (lambda: al.local_alignment.local_weights(torch.randn(2, 3, 5), torch.zeros(2, 4), 2), ValueError,
     ["local_weights()", "positions", "(2, 3)", "(2, 4)"]),
    (lambda: al.luong_decoder.LuongDecoder(10, 4, 8, 8, attention="local"), ValueError, ["LuongDecoder", "attention",
                                                                                        "local"]),
    (lambda: scores.Location(8, 4)(x, v), ValueError, ["Location()", "7 positions", "max_len=4"]),
    (lambda: al.decoding.beam_search(lambda p: torch.zeros(len(p), 3), bos=0, eos=1, beam_size=2, max_len=2,
                                     trace={}), TypeError, ["beam_search()", "trace", "list", "dict"]),
    (lambda: al.hard_attention.sampled_forward(torch.nn.Linear(2, 2), None, None), TypeError,
     ["sampled_forward()", "ShowAttendTell", "Linear"]),
]


def test_the_table_is_large():
    assert len(CASES) >= 15


@pytest.mark.parametrize("call, error, fragments", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_input_gets_a_clear_error(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error  # not a subclass raised by torch deep inside
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
