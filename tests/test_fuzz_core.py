"""Bad and unusual input to the core, the Transformer, training and decoding: each case here was a defect (a silent
wrong result, a NaN, or a crash from deep inside torch) before it got a clear error or the right result."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import attnlab as al
from attnlab import decoding, train
from attnlab import transformer as tf

from _book import ROOT


def small_transformer(**kwargs):
    return tf.Transformer(11, 9, d_model=16, num_heads=4, num_layers=1, d_ff=32, dropout=0.0, max_len=16, **kwargs)


def state(model: nn.Module) -> dict:
    return {name: t.clone() for name, t in model.state_dict().items()}


# ---- reproducible construction ----

@pytest.mark.parametrize("share", [False, True])
def test_a_seed_gives_one_transformer(share):
    models = []
    for _ in range(2):
        al.seed_everything(0)
        models.append(state(tf.Transformer(12, 12, d_model=16, num_heads=4, num_layers=1, d_ff=32,
                                           share_embeddings=share)))
    assert models[0].keys() == models[1].keys()
    assert all(torch.equal(models[0][name], models[1][name]) for name in models[0])


def test_a_seed_gives_one_transformer_across_processes():
    """A set of modules iterates in an order that changes between processes (hash randomisation)."""
    code = ("import attnlab as al, torch\nal.seed_everything(0)\nm = al.transformer.Transformer(12, 13, d_model=16, "
            "num_heads=4, num_layers=1, d_ff=32)\nprint(m.src_embed.weight.sum().item(), m.tgt_embed.weight.sum().item())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout for seed in (1, 2, 3, 4)}
    assert len(runs) == 1, runs


def test_seed_everything_accepts_numpy_integers():
    al.seed_everything(np.int64(3))
    a = torch.rand(3)
    al.seed_everything(3)
    assert torch.equal(a, torch.rand(3))


# ---- schedules and the fit loop ----

def test_warmup_then_decay_never_goes_negative():
    schedule = train.warmup_then_decay(10, 100)
    values = [schedule(step) for step in range(300)]
    assert min(values) == 0.0 and values[99] > 0 and all(v == 0.0 for v in values[100:])
    assert max(values) == pytest.approx(1.0)


def test_fit_past_its_schedule_stops_moving_the_weights():
    model = nn.Linear(2, 1)
    steps = []

    def loss_fn(m, step):
        steps.append(step)
        return m(torch.ones(4, 2)).pow(2).mean()

    train.fit(model, loss_fn, steps=5, schedule=train.warmup_then_decay(2, 4), progress=False)
    before = state(model)
    train.fit(model, loss_fn, steps=3, schedule=lambda step: train.warmup_then_decay(2, 4)(step + 10), progress=False)
    assert all(torch.equal(before[name], t) for name, t in model.state_dict().items())


def test_fit_stops_on_a_nan_loss_with_a_clear_message():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"fit\(\): the loss is nan at step 2"):
        train.fit(model, lambda m, step: m(torch.ones(1, 2)).sum() * (float("nan") if step == 2 else 1.0),
                  steps=5, progress=False)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(lr=-1e-3), ValueError, "lr must be > 0"),
    (dict(lr="0.1"), TypeError, "lr must be a number"),
    (dict(clip=0.0), ValueError, "clip must be > 0"),
    (dict(steps=0), ValueError, "steps must be >= 1"),
])
def test_fit_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        train.fit(nn.Linear(2, 1), lambda m, step: m(torch.ones(1, 2)).sum(), **{"steps": 2, **kwargs}, progress=False)


def test_fit_accepts_numpy_steps_and_rejects_a_non_scalar_loss():
    history = train.fit(nn.Linear(2, 1), lambda m, step: m(torch.ones(1, 2)).sum(), steps=np.int64(3), progress=False)
    assert len(history.loss) == 3
    with pytest.raises(ValueError, match="loss_fn must return a scalar tensor"):
        train.fit(nn.Linear(2, 1), lambda m, step: m(torch.ones(3, 2)), steps=1, progress=False)


def test_token_accuracy_of_an_all_ignored_target_is_an_error_not_nan():
    with pytest.raises(ValueError, match="no target token to score"):
        train.token_accuracy(torch.randn(2, 3, 5), torch.full((2, 3), al.data.sequences.IGNORE))


# ---- the Transformer's inputs ----

def test_out_of_range_token_ids_name_the_id_and_the_vocabulary():
    model = small_transformer()
    src, lengths, tgt = torch.tensor([[3, 4, 11]]), torch.tensor([3]), torch.tensor([[1, 2]])
    with pytest.raises(ValueError, match="src holds token id 11, outside the vocabulary of size 11"):
        model(src, lengths, tgt)
    with pytest.raises(ValueError, match="tgt_in holds token id -1, outside the vocabulary of size 9"):
        model(torch.tensor([[3, 4, 5]]), lengths, torch.tensor([[1, -1]]))
    with pytest.raises(TypeError, match="src must hold token ids"):
        model(src.float(), lengths, tgt)


@pytest.mark.parametrize("lengths", [[3, 2], (3, 2), np.array([3, 2]), torch.tensor([3, 2]),
                                     torch.tensor([3, 2], dtype=torch.int32), [np.int64(3), np.int64(2)]])
def test_source_lengths_as_a_list_an_array_or_any_integer_tensor(lengths):
    model = small_transformer().eval()
    src, tgt = torch.tensor([[3, 4, 5], [6, 7, 0]]), torch.tensor([[1, 4], [1, 5]])
    expected, _ = model(src, torch.tensor([3, 2]), tgt)
    torch.testing.assert_close(model(src, lengths, tgt)[0], expected, rtol=0, atol=0)


@pytest.mark.parametrize("lengths, error, message", [
    ([3, 4], ValueError, r"src_lengths must lie in \[1, 3\], got \[3, 4\]"),
    ([3, 0], ValueError, r"src_lengths must lie in \[1, 3\], got \[3, 0\]"),
    ([3], ValueError, r"src_lengths must have shape \(2,\)"),
    ([3.0, 2.0], TypeError, "src_lengths must hold ints"),
    (torch.tensor([3.0, 2.0]), TypeError, "src_lengths must be integers"),
])
def test_bad_source_lengths(lengths, error, message):
    with pytest.raises(error, match=message):
        small_transformer()(torch.tensor([[3, 4, 5], [6, 7, 0]]), lengths, torch.tensor([[1, 4], [1, 5]]))


def test_an_empty_target_is_an_error():
    with pytest.raises(ValueError, match="tgt_in is empty"):
        small_transformer()(torch.tensor([[3, 4]]), [2], torch.zeros(1, 0, dtype=torch.long))


def test_transformer_next_log_probs_with_list_lengths_decodes():
    model = small_transformer().eval()
    src = torch.tensor([[3, 4, 5], [6, 7, 0]])
    out = decoding.greedy_batch(model.next_log_probs(src, [3, 2]), 2, bos=1, eos=2, max_len=4)
    assert len(out) == 2 and all(len(row) <= 4 for row in out)


# ---- layers: options, dtypes, widths ----

def test_layer_options_after_the_sizes_are_keyword_only_and_validated():
    with pytest.raises(TypeError):
        tf.EncoderLayer(32, 4, 64, 0.1, "gelu")  # once silently norm_first="gelu"
    with pytest.raises(TypeError, match="norm_first must be a bool, got str 'gelu'"):
        tf.EncoderLayer(32, 4, 64, norm_first="gelu")
    with pytest.raises(TypeError, match="final_norm must be a bool"):
        tf.Encoder(1, 32, 4, 64, final_norm=1)
    with pytest.raises(ValueError, match="layer_norm_eps must be > 0"):
        tf.DecoderLayer(32, 4, 64, layer_norm_eps=0.0)
    layer = tf.EncoderLayer(np.int64(32), np.int64(4), np.int64(64))
    assert layer.self_attn.num_heads == 4


def test_layer_inputs_of_another_dtype_or_width():
    layer = tf.EncoderLayer(16, 4, 32)
    with pytest.raises(TypeError, match="x has dtype torch.float64 but the model's parameters are torch.float32"):
        layer(torch.randn(2, 3, 16, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x must have width 16, got shape \(2, 3, 8\)"):
        layer(torch.randn(2, 3, 8))
    decoder_layer = tf.DecoderLayer(16, 4, 32)
    with pytest.raises(ValueError, match="memory must have width 16"):
        decoder_layer(torch.randn(2, 3, 16), torch.randn(2, 5, 12))


def test_multi_head_attention_input_dtype_and_options():
    mha = al.MultiHeadAttention(np.int64(8), np.int64(2))
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    with pytest.raises(TypeError, match="query has dtype torch.float64 but the model's parameters are torch.float32"):
        mha(x, x, x)
    with pytest.raises(TypeError, match="need_weights must be a bool"):
        mha(x.float(), x.float(), x.float(), need_weights="yes")


# ---- from_torch refuses what it cannot copy exactly ----

@pytest.mark.parametrize("make, message", [
    (lambda: nn.TransformerEncoderLayer(16, 4, 32, activation=nn.GELU(approximate="tanh"), batch_first=True),
     "unsupported activation"),
    (lambda: nn.TransformerEncoderLayer(16, 4, 32, activation=torch.tanh, batch_first=True), "unsupported activation"),
    (lambda: nn.TransformerEncoderLayer(16, 4, 32, bias=False, batch_first=True), "bias=False"),
    (lambda: nn.TransformerDecoderLayer(16, 4, 32, bias=False, batch_first=True), "bias=False"),
])
def test_from_torch_refuses_layers_it_cannot_copy_exactly(make, message):
    layer = make()
    ours = tf.EncoderLayer if isinstance(layer, nn.TransformerEncoderLayer) else tf.DecoderLayer
    with pytest.raises(ValueError, match=message):
        ours.from_torch(layer)


def test_from_torch_refuses_norms_with_different_eps():
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    layer.norm2.eps = 1e-6
    with pytest.raises(ValueError, match="different eps"):
        tf.EncoderLayer.from_torch(layer)


def test_from_torch_keeps_exact_gelu_and_eps():
    layer = nn.TransformerEncoderLayer(16, 4, 32, activation="gelu", layer_norm_eps=1e-6, batch_first=True,
                                       dropout=0.0, dtype=torch.float64).eval()
    ours = tf.EncoderLayer.from_torch(layer).eval()
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    torch.testing.assert_close(ours(x), layer(x), rtol=1e-10, atol=1e-10)
    stack = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16, eps=1e-6, dtype=torch.float64),
                                  enable_nested_tensor=False)
    assert tf.Encoder.from_torch(stack).layers[1].norm1.eps == 1e-6


# ---- decoding ----

def nan_model(prefixes):
    return torch.full((prefixes.shape[0], 5), float("nan"))


@pytest.mark.parametrize("decode", [
    lambda f: decoding.greedy_decode(f, bos=1, eos=2, max_len=5),
    lambda f: decoding.greedy_batch(f, 2, bos=1, eos=2, max_len=5),
    lambda f: decoding.beam_search(f, bos=1, eos=2, beam_size=2, max_len=5),
])
def test_decoding_rejects_nan_log_probabilities(decode):
    with pytest.raises(ValueError, match="next_log_probs returned NaN"):
        decode(nan_model)


def test_beam_search_with_every_token_impossible_is_an_error_not_an_empty_list():
    with pytest.raises(ValueError, match="every token probability 0"):
        decoding.beam_search(lambda p: torch.full((p.shape[0], 5), float("-inf")), bos=1, eos=2, beam_size=2, max_len=3)


def test_decoding_checks_eos_against_the_vocabulary_and_accepts_numpy_integers():
    uniform = lambda p: torch.full((p.shape[0], 5), -np.log(5.0))  # noqa: E731
    with pytest.raises(ValueError, match="eos=7 is not in the model's vocabulary of size 5"):
        decoding.greedy_decode(uniform, bos=1, eos=7, max_len=3)
    with pytest.raises(TypeError, match="floating log-probabilities"):
        decoding.greedy_decode(lambda p: torch.zeros(p.shape[0], 5, dtype=torch.long), bos=1, eos=2, max_len=3)
    best = decoding.beam_search(uniform, bos=np.int64(1), eos=np.int64(2), beam_size=np.int64(2), max_len=np.int64(3),
                                alpha=np.float64(0.6))
    assert len(best) == 2


# ---- masks and softmax ----

def test_padding_mask_from_numpy_and_onto_a_device():
    expected = al.padding_mask(torch.tensor([2, 0, 3]), 3)
    assert torch.equal(al.padding_mask(np.array([2, 0, 3]), 3), expected)
    assert torch.equal(al.padding_mask([np.int32(2), np.int64(0), 3], np.int64(3)), expected)
    assert al.padding_mask([1], 2, device="cpu").device.type == "cpu"
    with pytest.raises(TypeError, match="lengths must hold ints"):
        al.padding_mask([1.5], 2)


def test_causal_mask_accepts_numpy_sizes():
    assert torch.equal(al.causal_mask(np.int64(3), np.int32(4)), al.causal_mask(3, 4))


def test_masked_softmax_treats_minus_inf_scores_as_masked():
    scores = torch.tensor([[0.0, float("-inf")], [float("-inf"), float("-inf")]], requires_grad=True)
    weights = al.masked_softmax(scores, dim=np.int64(-1))
    assert torch.equal(weights.detach(), torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    (grad,) = torch.autograd.grad((weights * torch.randn(2, 2)).sum(), scores)
    assert torch.isfinite(grad).all()
    nan = al.masked_softmax(torch.tensor([[float("nan"), 0.0]]))
    assert torch.isnan(nan).all()  # a NaN score is a real error: it is not hidden as a masked position


def test_attention_accepts_a_numpy_scale():
    q = torch.randn(2, 3, 4)
    torch.testing.assert_close(al.attention(q, q, q, scale=np.float32(0.5))[0], al.attention(q, q, q, scale=0.5)[0])
