"""The Transformer against torch's own layers with copied weights (float64), masks, leakage, parameter count."""

import pytest
import torch
from torch import nn

import attnlab as al
from attnlab import transformer as tf

D, H, FF = 16, 4, 24
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor")


def torch_mask(mask):
    """attnlab's True = may attend -> torch's True = NOT allowed."""
    return ~mask


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch_with_padding(norm_first, activation):
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=activation, batch_first=True,
                                        norm_first=norm_first).double().eval()
    ours = tf.EncoderLayer.from_torch(theirs).eval()
    x = torch.randn(3, 6, D, dtype=torch.float64)
    keep = al.padding_mask([6, 4, 2], 6)
    expected = theirs(x, src_key_padding_mask=torch_mask(keep))
    got, weights = ours(x, keep[:, None, :], need_weights=True)
    for b, n in enumerate([6, 4, 2]):  # torch's output at padded queries is not defined the same way
        torch.testing.assert_close(got[b, :n], expected[b, :n], rtol=1e-10, atol=1e-10)
    assert weights.shape == (3, H, 6, 6) and (weights[1, :, :, 4:] == 0).all()
    fast = ours(x, keep[:, None, :])  # a tensor, as torch's layer returns
    assert isinstance(fast, torch.Tensor) and not isinstance(fast, tuple)
    torch.testing.assert_close(fast, got, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch_with_causal_and_memory_masks(norm_first):
    torch.manual_seed(1)
    theirs = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=norm_first).double().eval()
    ours = tf.DecoderLayer.from_torch(theirs).eval()
    x, memory = torch.randn(2, 5, D, dtype=torch.float64), torch.randn(2, 7, D, dtype=torch.float64)
    causal, keep = al.causal_mask(5), al.padding_mask([7, 3], 7)
    expected = theirs(x, memory, tgt_mask=torch_mask(causal), memory_key_padding_mask=torch_mask(keep))
    out = ours(x, memory, self_mask=causal, memory_mask=keep[:, None, :], need_weights=True)
    assert isinstance(out, tf.DecoderWeights)
    got, w_self, w_cross = out
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
    assert (w_self.triu(1) == 0).all() and (w_cross[1, :, :, 3:] == 0).all()
    fast = ours(x, memory, self_mask=causal, memory_mask=keep[:, None, :])
    assert isinstance(fast, torch.Tensor)
    torch.testing.assert_close(fast, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks_match_nn_transformer_including_final_norms(norm_first):
    torch.manual_seed(2)
    theirs = nn.Transformer(D, H, num_encoder_layers=3, num_decoder_layers=2, dim_feedforward=FF, dropout=0.0,
                            batch_first=True, norm_first=norm_first).double().eval()
    encoder, decoder = tf.Encoder.from_torch(theirs.encoder), tf.Decoder.from_torch(theirs.decoder)
    assert encoder.norm is not None and decoder.norm is not None and len(encoder.layers) == 3
    src, tgt = torch.randn(2, 6, D, dtype=torch.float64), torch.randn(2, 4, D, dtype=torch.float64)
    keep, causal = al.padding_mask([6, 6], 6), al.causal_mask(4)
    expected = theirs(src, tgt, tgt_mask=torch_mask(causal))
    memory = encoder(src, keep[:, None, :])
    got = decoder(tgt, memory, self_mask=causal, memory_mask=keep[:, None, :])
    assert isinstance(memory, torch.Tensor) and isinstance(got, torch.Tensor)
    with_weights = decoder(tgt, memory, self_mask=causal, memory_mask=keep[:, None, :], need_weights=True)
    assert len(with_weights.self_weights) == len(with_weights.cross_weights) == len(decoder.layers)
    torch.testing.assert_close(with_weights.x, got, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


def test_layer_norm_works_per_position():
    layer = tf.EncoderLayer(D, H, FF, dropout=0.0).double()
    x = torch.randn(2, 5, D, dtype=torch.float64)
    torch.testing.assert_close(layer.norm1(x)[:, 2], layer.norm1(x[:, 2:3])[:, 0])
    out = layer.norm1(x)
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 5, dtype=torch.float64), atol=1e-12, rtol=0)


def model(norm_first=False, **kwargs):
    torch.manual_seed(3)
    return tf.Transformer(11, 9, d_model=D, num_heads=H, num_layers=2, d_ff=FF, dropout=0.0, norm_first=norm_first,
                          max_len=32, **kwargs).double().eval()


@pytest.mark.parametrize("norm_first", [False, True])
def test_no_future_leakage_through_the_whole_model(norm_first):
    m = model(norm_first)
    src, lengths = torch.randint(3, 11, (2, 6)), torch.tensor([6, 4])
    tgt = torch.randint(3, 9, (2, 5))
    emb = m.tgt_embed(tgt).detach().requires_grad_(True)
    memory, memory_mask, _ = m.encode(src, lengths)
    x = m.decoder(emb * D**0.5 + m.positions[:5], memory, self_mask=al.causal_mask(5), memory_mask=memory_mask)
    r = torch.randn_like(x)
    for t in range(5):
        (grad,) = torch.autograd.grad((x[:, t] * r[:, t]).sum(), emb, retain_graph=True)
        assert (grad[:, t + 1:] == 0).all() and grad[:, t].abs().sum() > 0


def test_decoder_prefix_consistency_and_padding_invariance():
    m = model()
    src, lengths = torch.randint(3, 11, (2, 7)), torch.tensor([7, 3])
    tgt = torch.randint(3, 9, (2, 6))
    logits, _ = m(src, lengths, tgt)
    shorter, _ = m(src, lengths, tgt[:, :4])
    torch.testing.assert_close(shorter, logits[:, :4])  # appending target words never changes earlier outputs
    alone, _ = m(src[1:, :3], lengths[1:], tgt[1:])
    torch.testing.assert_close(alone, logits[1:])  # padding the source changes nothing
    f = m.next_log_probs(src, lengths)
    torch.testing.assert_close(f(tgt[:, :3]), logits[:, 2].log_softmax(-1))


def test_weights_on_request_for_every_layer_and_head():
    m = model()
    src, lengths, tgt = torch.randint(3, 11, (2, 5)), torch.tensor([5, 2]), torch.randint(3, 9, (2, 4))
    logits, weights = m(src, lengths, tgt, need_weights=True)
    fast, none = m(src, lengths, tgt)
    assert none is None
    torch.testing.assert_close(fast, logits)
    assert [w.shape for w in weights["encoder"]] == [(2, H, 5, 5)] * 2
    assert [w.shape for w in weights["self"]] == [(2, H, 4, 4)] * 2
    assert [w.shape for w in weights["cross"]] == [(2, H, 4, 5)] * 2
    assert all((w[1, :, :, 2:] == 0).all() for w in weights["cross"])


@pytest.mark.parametrize("share, norm_first", [(False, False), (True, True)])
def test_parameter_count_formula(share, norm_first):
    vocab = 9 if share else 11
    m = tf.Transformer(vocab, 9, d_model=D, num_heads=H, num_layers=3, d_ff=FF, norm_first=norm_first,
                       share_embeddings=share)
    expected = tf.parameter_count(src_vocab=vocab, tgt_vocab=9, d_model=D, d_ff=FF, num_layers=3,
                                  share_embeddings=share, final_norms=norm_first)
    assert sum(p.numel() for p in m.parameters()) == expected


def test_feed_forward_is_the_formula():
    ff = tf.FeedForward(D, FF, dropout=0.0).double()
    x = torch.randn(3, D, dtype=torch.float64)
    W1, b1, W2, b2 = ff.linear1.weight, ff.linear1.bias, ff.linear2.weight, ff.linear2.bias
    torch.testing.assert_close(ff(x), torch.clamp(x @ W1.T + b1, min=0) @ W2.T + b2)


def test_bad_configurations():
    with pytest.raises(ValueError, match="num_heads=3 must divide d_model=16"):
        tf.EncoderLayer(16, 3, 32)
    with pytest.raises(ValueError, match="activation must be one of 'relu', 'gelu', got 'swish'"):
        tf.FeedForward(16, 32, activation="swish")
    with pytest.raises(ValueError, match="num_heads=5 must divide d_model=16"):
        tf.Transformer(10, 10, d_model=16, num_heads=5)
    with pytest.raises(ValueError, match="share_embeddings needs equal vocabularies, got src_vocab=10 and tgt_vocab=12"):
        tf.Transformer(10, 12, d_model=16, num_heads=4, share_embeddings=True)
    with pytest.raises(ValueError, match="src is a sequence of length 40, which exceeds max_len=32"):
        model()(torch.randint(3, 11, (1, 40)), torch.tensor([40]), torch.randint(3, 9, (1, 3)))
    with pytest.raises(TypeError, match="expected nn.TransformerEncoderLayer, got Linear"):
        tf.EncoderLayer.from_torch(nn.Linear(2, 2))
