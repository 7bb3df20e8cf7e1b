"""Bad and unusual input to the models (seq2seq, vision, autoregressive, local, relative, sequence layers, tagger,
pretrained) and their data: each case here was a defect (a silent wrong result, a NaN, or a crash from deep inside
torch) before it got a clear error or the right result."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import attnlab as al
from attnlab import autoregressive as ar
from attnlab import local, positional, pretrained, relative, saturation, scores, vision
from attnlab import seq2seq as s2s
from attnlab import translation_task as task
from attnlab import sequence_layers as sl
from attnlab.data import translation as tr
from attnlab.wordpiece import WordPieceTokenizer

from _book import ROOT

SRC = torch.tensor([[3, 4, 5], [6, 7, 0]])
TGT = torch.tensor([[1, 4], [1, 5]])
F64 = torch.float64


def seq2seq(attention="additive"):
    return s2s.Seq2Seq.build(11, 9, attention=attention, d_embed=4, d_hidden=6)


def caption_model():
    return vision.ShowAttendTell(10, d_feature=8, d_embed=4, d_hidden=8, d_attention=4)


def bert():
    return pretrained.BertEncoder(20, 8, 2, 1, 16, 6).eval()


def lit():
    return local.LocalImageTransformer(4, 16, 2, 1, 4)


def causal_lm(positions="relative"):
    return relative.CausalLM(10, positions=positions, max_len=6, d_model=8, num_heads=2)


def classifier(kind="convolution"):
    return sl.SequenceClassifier(kind, 1, 10, 3, d=8, max_len=12)


def state(model: torch.nn.Module) -> dict:
    return {name: t.clone() for name, t in model.state_dict().items()}


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def images(*shape, dtype=torch.float32):
    return torch.randint(0, 2, shape).to(dtype)


# ---- reproducible construction: one seed, one model (numpy sizes included) ----

MODELS = {
    "Seq2Seq bottleneck": lambda i: s2s.Seq2Seq.build(i(11), i(9), attention=None, d_embed=i(4), d_hidden=i(6)),
    "Seq2Seq additive": lambda i: s2s.Seq2Seq.build(i(11), i(9), d_embed=i(4), d_hidden=i(6)),
    "Seq2Seq general": lambda i: s2s.Seq2Seq.build(i(11), i(9), attention="general", d_embed=i(4), d_hidden=i(6)),
    "Encoder": lambda i: s2s.Encoder(i(11), i(4), i(6), bidirectional=True),
    "Decoder": lambda i: s2s.Decoder(i(9), i(4), i(6), i(12)),
    "MADE": lambda i: ar.MADE(i(6), [i(8), i(8)], seed=i(1)),
    "MADE from an array": lambda i: ar.MADE(i(6), np.array([8, 8])),
    "SequenceClassifier recurrent": lambda i: sl.SequenceClassifier("recurrent", i(2), i(10), i(3), d=i(8)),
}


@pytest.mark.parametrize("name", MODELS)
def test_numpy_sizes_build_the_same_model_as_python_ints(name):
    torch.manual_seed(0)
    expected = state(MODELS[name](int))
    torch.manual_seed(0)
    assert same_state(state(MODELS[name](np.int64)), expected)


ALL_MODELS = {
    **{name: lambda build=build: build(int) for name, build in MODELS.items()},
    "AttentionDecoder luong": lambda: s2s.AttentionDecoder(9, 4, 6, 12, score="concat", order="luong"),
    "ShowAttendTell": caption_model,
    "SelfAttention2d": lambda: vision.SelfAttention2d(16, 4),
    "PixelCNN": lambda: ar.PixelCNN(8, 2),
    "MaskedConv2d": lambda: ar.MaskedConv2d(2, 4, 3, "A"),
    "LocalSelfAttention": lambda: local.LocalSelfAttention(8, 2, 4),
    "LocalImageTransformer": lit,
    "RelativeMultiHeadAttention": lambda: relative.RelativeMultiHeadAttention(8, 2, 10),
    "CausalLM relative": causal_lm,
    "CausalLM sinusoidal": lambda: causal_lm("sinusoidal"),
    "SequenceClassifier self-attention": lambda: classifier("self-attention"),
    "SequenceClassifier convolution": classifier,
    "AttentionTagger": lambda: al.AttentionTagger(10, 8),
    "BertEncoder": bert,
    "SelfAttention": lambda: al.SelfAttention(8, 4, 6),
    "SetClassifier": lambda: al.SetClassifier(8),
    "General": lambda: scores.General(4, 5),
    "Additive": lambda: scores.Additive(4, 5, 6),
    "Concat": lambda: scores.Concat(4, 5, 6),
}


@pytest.mark.parametrize("name", ALL_MODELS)
def test_a_seed_gives_one_model(name):
    models = []
    for _ in range(2):
        al.seed_everything(0)
        models.append(state(ALL_MODELS[name]()))
    assert same_state(*models)


def test_a_seed_gives_one_model_across_processes():
    code = ("import attnlab as al, torch\nal.seed_everything(0)\nm = al.seq2seq.Seq2Seq.build(11, 9, d_embed=4, "
            "d_hidden=6)\nprint([round(p.sum().item(), 6) for p in m.parameters()])")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout for seed in (1, 2)}
    assert len(runs) == 1, runs


@pytest.mark.parametrize("call", [
    lambda: positional.sinusoidal_encoding(np.int64(4), np.int64(8), base=np.float32(100.0)),
    lambda: al.data.shape_captions(np.int64(2), size=np.int64(16), objects=(np.int64(1), np.int64(2)),
                                   seed=np.int64(1)).images,
    lambda: al.data.sentence_pairs(np.int64(3), length=(np.int64(4), np.int64(6)), seed=np.int64(1)),
    lambda: local.local_attention_2d(*(torch.ones(1, 4, 4, 2) for _ in range(3)), query_block=np.array([2, 2]),
                                     memory=np.array([1, 1])),
])
def test_numpy_numbers_are_accepted(call):
    call()


# ---- token ids: a ValueError naming the id and the vocabulary, not torch's "index out of range in self" ----

TOKEN_CASES = {
    "Seq2Seq src": (lambda: seq2seq()(torch.tensor([[3, 4, 11], [6, 7, 0]]), [3, 2], TGT),
                    "src holds token id 11, outside the vocabulary of size 11"),
    "Seq2Seq tgt_in": (lambda: seq2seq(None)(SRC, [3, 2], torch.tensor([[1, 9], [1, 5]])),
                       "tgt_in holds token id 9, outside the vocabulary of size 9"),
    "Seq2Seq negative tgt_in": (lambda: seq2seq("dot")(SRC, [3, 2], torch.tensor([[1, -1], [1, 5]])),
                                "tgt_in holds token id -1"),
    "Encoder": (lambda: s2s.Encoder(11, 4, 6)(torch.tensor([[12, 3]]), torch.tensor([2])),
                "src holds token id 12, outside the vocabulary of size 11"),
    "next_log_probs source": (lambda: seq2seq().next_log_probs(torch.tensor([3, 40])),
                              "src holds token id 40, outside the vocabulary of size 11"),
    "next_log_probs prefixes": (lambda: seq2seq().next_log_probs(SRC, [3, 2])(torch.tensor([[1], [9]])),
                                "y_prev holds token id 9, outside the vocabulary of size 9"),
    "ShowAttendTell tgt_in": (lambda: caption_model()(torch.rand(1, 3, 16, 16), torch.tensor([[1, 10]])),
                              "tgt_in holds token id 10, outside the vocabulary of size 10"),
    "ShowAttendTell prefixes": (lambda: caption_model().next_log_probs(torch.rand(1, 3, 8, 8))(torch.tensor([[12]])),
                                "y_prev holds token id 12, outside the vocabulary of size 10"),
    "CausalLM": (lambda: causal_lm()(torch.tensor([[1, 10]])), "tokens holds token id 10, outside the vocabulary of "
                                                               "size 10"),
    "SequenceClassifier": (lambda: classifier()(torch.tensor([[-2, 1]])), "tokens holds token id -2, outside the "
                                                                          "vocabulary of size 10"),
    "AttentionTagger": (lambda: al.AttentionTagger(10, 8)(torch.tensor([[1, 10]])),
                        "tokens holds token id 10, outside the vocabulary of size 10"),
    "BertEncoder input_ids": (lambda: bert()(torch.tensor([[1, 20]])),
                              "input_ids holds token id 20, outside the vocabulary of size 20"),
    "BertEncoder token_type_ids": (lambda: bert()(torch.tensor([[1, 2]]), token_type_ids=torch.tensor([[0, 2]])),
                                   "token_type_ids holds token id 2, outside the vocabulary of size 2"),
    "convert_ids_to_tokens": (lambda: WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
                              .convert_ids_to_tokens([-1]), "ids holds token id -1, outside the vocabulary of size 4"),
    "Vocab.decode": (lambda: tr.target_vocab("french").decode([3, -1]), "token id -1"),
    "loss targets": (lambda: task.loss(seq2seq(), tr.Batch(SRC, torch.tensor([3, 2]), TGT, torch.tensor([[4, 9]] * 2))),
                     "batch.tgt_out holds token id 9, outside the vocabulary of size 9"),
}


@pytest.mark.parametrize("case", TOKEN_CASES)
def test_token_ids_outside_the_vocabulary(case):
    call, message = TOKEN_CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    assert type(info.value) is ValueError and message in str(info.value)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_token_ids_of_any_integer_dtype(dtype):
    model = seq2seq().eval()
    expected, _ = model(SRC, [3, 2], TGT)
    torch.testing.assert_close(model(SRC.to(dtype), [3, 2], TGT.to(dtype))[0], expected, rtol=0, atol=0)
    tagger = al.AttentionTagger(10, 8)
    torch.testing.assert_close(tagger(SRC.to(dtype))[0], tagger(SRC)[0], rtol=0, atol=0)


# ---- lengths: a list, a tuple, an array or any integer tensor ----

@pytest.mark.parametrize("lengths", [[3, 2], (3, 2), np.array([3, 2]), [np.int64(3), np.int32(2)]])
@pytest.mark.parametrize("attention", [None, "additive"])
def test_seq2seq_lengths_as_a_list_an_array_or_any_integer_tensor(lengths, attention):
    model = seq2seq(attention).eval()
    expected, _ = model(SRC, torch.tensor([3, 2]), TGT)
    torch.testing.assert_close(model(SRC, lengths, TGT)[0], expected, rtol=0, atol=0)
    torch.testing.assert_close(model.encoder(SRC, lengths)[0], model.encoder(SRC, torch.tensor([3, 2]))[0])
    torch.testing.assert_close(model.next_log_probs(SRC, lengths)(TGT), expected.log_softmax(-1)[:, -1])
    assert len(task.translate(model, SRC, lengths, max_len=3)) == 2


def test_source_batch_returns_long_lengths_on_the_source_device():
    src, lengths = al.decoding.source_batch(SRC, np.array([3, 2], dtype=np.int32))
    assert lengths.dtype == torch.long and lengths.device == src.device and lengths.tolist() == [3, 2]
    assert al.decoding.source_batch(SRC[0], None)[1].dtype == torch.long


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_lengths_on_the_cpu_for_a_model_on_the_gpu():
    model = seq2seq().cuda().eval()
    logits, weights = model(SRC.cuda(), torch.tensor([3, 2]), TGT.cuda())
    assert logits.device.type == "cuda" and (weights[1, :, 2] == 0).all()
    assert len(task.translate(model, SRC.cuda(), [3, 2], max_len=3)) == 2


@pytest.mark.parametrize("lengths, error, message", [
    ([3, 4], ValueError, r"src_lengths must lie in \[1, 3\], got \[3, 4\]"),
    ([3.0, 2.0], TypeError, "src_lengths must hold ints"),
    (torch.tensor([3.0, 2.0]), TypeError, "src_lengths must be integers"),
    ([3], ValueError, r"src_lengths must have shape \(2,\)"),
])
def test_bad_seq2seq_lengths(lengths, error, message):
    with pytest.raises(error, match=message):
        seq2seq()(SRC, lengths, TGT)


# ---- pixel values and images ----

IMAGE_CASES = {
    "LocalImageTransformer non-binary": (lambda: lit()(torch.full((1, 1, 4, 4), 0.7)),
                                         ["images must be binary", "0.7"]),
    "LocalImageTransformer grey levels": (lambda: lit()(torch.full((1, 1, 4, 4), 255.0)), ["binary", "255"]),
    "LocalImageTransformer size": (lambda: lit()(images(1, 1, 3, 3)), ["(B, 1, 4, 4)", "(1, 1, 3, 3)"]),
    "LocalImageTransformer channels": (lambda: lit()(images(1, 3, 4, 4)), ["(B, 1, 4, 4)", "(1, 3, 4, 4)"]),
    "LocalImageTransformer prefix": (lambda: lit().sample(2, prefix=torch.full((2, 1, 1, 4), 0.5)),
                                     ["prefix must be binary", "0.5"]),
    "PixelCNN prefix values": (lambda: ar.PixelCNN(8, 1).sample(1, 4, prefix=torch.full((1, 1, 2, 4), 0.5)),
                               ["prefix must be binary"]),
    "PixelCNN prefix width": (lambda: ar.PixelCNN(8, 1).sample(1, 4, prefix=images(1, 1, 2, 5)),
                              ["prefix must be (n, 1, r, size) = (1, 1, r, 4)", "(1, 1, 2, 5)"]),
    "PixelCNN channels": (lambda: ar.PixelCNN(8, 1)(torch.rand(1, 3, 4, 4)), ["x must be (B, 1, H, W)"]),
    "MaskedConv2d channels": (lambda: ar.MaskedConv2d(2, 3, 3)(torch.rand(1, 1, 4, 4)), ["x must be (B, 2, H, W)"]),
    "negative_log_likelihood non-binary": (
        lambda: ar.negative_log_likelihood(torch.zeros(1, 4), torch.full((1, 4), 0.3)), ["images must be binary"]),
    "negative_log_likelihood shapes": (lambda: ar.negative_log_likelihood(torch.zeros(2, 4), images(2, 5)),
                                       ["logits must have the shape of images (2, 5)"]),
    "ShowAttendTell 0-255": (lambda: caption_model()(torch.full((1, 3, 8, 8), 200.0), torch.tensor([[1]])),
                             ["images must hold colours in [0, 1]", "200"]),
}


@pytest.mark.parametrize("case", IMAGE_CASES)
def test_images_of_the_wrong_values_or_shape(case):
    call, fragments = IMAGE_CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    assert type(info.value) is ValueError and all(f in str(info.value) for f in fragments), str(info.value)


def test_samplers_follow_the_model_dtype():
    for sample in (lambda: ar.PixelCNN(4, 1).double().sample(1, 3), lambda: local.LocalImageTransformer(2, 8, 2, 1, 2)
                   .double().sample(1, prefix=torch.ones(1, 1, 1, 2))):
        out = sample()
        assert out.dtype == F64 and set(out.unique().tolist()) <= {0.0, 1.0}


# ---- input dtype and device against the model's parameters ----

DTYPE_CASES = {
    "SelfAttention2d": (lambda: vision.SelfAttention2d(8), lambda: torch.randn(1, 8, 2, 2, dtype=F64), "x"),
    "ShowAttendTell": (caption_model, lambda: (torch.rand(1, 3, 8, 8, dtype=F64), torch.tensor([[1]])), "images"),
    "MADE": (lambda: ar.MADE(4, [8]), lambda: torch.rand(2, 4, dtype=F64), "x"),
    "MaskedLinear": (lambda: ar.MaskedLinear(torch.ones(3, 4)), lambda: torch.rand(2, 4, dtype=F64), "x"),
    "MaskedConv2d": (lambda: ar.MaskedConv2d(1, 2, 3), lambda: torch.rand(1, 1, 4, 4, dtype=F64), "x"),
    "PixelCNN": (lambda: ar.PixelCNN(4, 1), lambda: torch.rand(1, 1, 4, 4, dtype=F64), "x"),
    "LocalSelfAttention": (lambda: local.LocalSelfAttention(8, 2, 4), lambda: torch.randn(1, 3, 8, dtype=F64), "x"),
    "LocalImageTransformer": (lit, lambda: images(1, 1, 4, 4, dtype=F64), "images"),
    "RelativeMultiHeadAttention": (lambda: relative.RelativeMultiHeadAttention(8, 2, 4),
                                   lambda: torch.randn(1, 3, 8, dtype=F64), "x"),
    "RecurrentLayer": (lambda: sl.RecurrentLayer(4), lambda: torch.randn(1, 3, 4, dtype=F64), "x"),
    "ConvolutionLayer": (lambda: sl.ConvolutionLayer(4), lambda: torch.randn(1, 3, 4, dtype=F64), "x"),
    "SelfAttention": (lambda: al.SelfAttention(4), lambda: torch.randn(1, 3, 4, dtype=F64), "x"),
    "SetClassifier": (lambda: al.SetClassifier(4), lambda: torch.randn(2, 3, dtype=F64), "x"),
    "General": (lambda: scores.General(4), lambda: (torch.randn(1, 2, 4, dtype=F64), torch.randn(1, 3, 4, dtype=F64)),
                "q"),
    "Additive": (lambda: scores.Additive(4, 4, 4),
                 lambda: (torch.randn(1, 2, 4, dtype=F64), torch.randn(1, 3, 4, dtype=F64)), "q"),
    "Concat": (lambda: scores.Concat(4, 4, 4),
               lambda: (torch.randn(1, 2, 4, dtype=F64), torch.randn(1, 3, 4, dtype=F64)), "q"),
    "AttentionDecoder.read": (lambda: s2s.AttentionDecoder(9, 4, 6, 12).read,
                              lambda: (torch.randn(1, 3, 12, dtype=F64), torch.randn(1, 12, dtype=F64),
                                       torch.ones(1, 3, dtype=torch.bool)), "annotations"),
}


@pytest.mark.parametrize("case", DTYPE_CASES)
def test_float64_input_into_a_float32_model(case):
    build, inputs, name = DTYPE_CASES[case]
    args = inputs()
    with pytest.raises(TypeError) as info:
        build()(*(args if isinstance(args, tuple) else (args,)))
    message = str(info.value)
    assert type(info.value) is TypeError
    assert f"{name} has dtype torch.float64 but the model's parameters are torch.float32" in message, message


@pytest.mark.parametrize("call, name", [
    (lambda: ar.PixelCNN(4, 1)(torch.zeros(1, 1, 4, 4, device="meta")), "x"),
    (lambda: vision.SelfAttention2d(8)(torch.zeros(1, 8, 2, 2, device="meta")), "x"),
    (lambda: seq2seq()(SRC.to("meta"), [3, 2], TGT), "src"),
    (lambda: causal_lm()(torch.zeros(1, 2, dtype=torch.long, device="meta")), "tokens"),
    (lambda: al.SetClassifier(4)(torch.zeros(2, 3, device="meta")), "x"),
])
def test_input_on_another_device(call, name):
    with pytest.raises(ValueError, match=f"{name} is on meta but the model is on cpu"):
        call()


# ---- no NaN from empty input ----

def test_a_loss_over_no_target_token_is_zero_not_nan():
    model = seq2seq()
    loss = task.loss(model, tr.Batch(SRC, torch.tensor([3, 2]), TGT, torch.full((2, 2), al.data.IGNORE)))
    assert loss.item() == 0.0
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


EMPTY_CASES = {
    "doubly_stochastic_penalty no caption": (lambda: vision.doubly_stochastic_penalty(torch.rand(0, 3, 4)),
                                             "alpha holds no caption"),
    "independent_pixels_nll no image": (lambda: ar.independent_pixels_nll(torch.zeros(0, 1, 2, 2)),
                                        "images holds no image"),
    "negative_log_likelihood no image": (lambda: ar.negative_log_likelihood(torch.zeros(0, 4), torch.zeros(0, 4)),
                                         "images holds no image"),
    "Seq2Seq empty target": (lambda: seq2seq()(SRC, [3, 2], torch.zeros(2, 0, dtype=torch.long)),
                             "tgt_in has no positions"),
    "Seq2Seq empty source": (lambda: seq2seq()(SRC[:, :0], [1, 1], TGT), "src has no positions"),
    "Seq2Seq no sentence": (lambda: seq2seq()(SRC[:0], [], TGT[:0]), "src has no sentences"),
    "next_log_probs empty sentence": (lambda: seq2seq().next_log_probs(torch.zeros(0, dtype=torch.long)),
                                      "next_log_probs(): src has no positions"),
    "ShowAttendTell empty caption": (
        lambda: caption_model()(torch.rand(1, 3, 8, 8), torch.zeros(1, 0, dtype=torch.long)),
        "tgt_in has no positions"),
    "ShowAttendTell empty image": (lambda: caption_model()(torch.rand(1, 3, 0, 8), torch.tensor([[1]])),
                                   "images must be (B, 3, H, W)"),
    "SelfAttention2d no pixel": (lambda: vision.SelfAttention2d(8)(torch.rand(1, 8, 0, 3)), "at least one pixel"),
    "CausalLM no token": (lambda: causal_lm()(torch.zeros(1, 0, dtype=torch.long)),
                          "CausalLM.forward(): tokens has no positions"),
    "RelativeMultiHeadAttention no position": (
        lambda: relative.RelativeMultiHeadAttention(8, 2, 4)(torch.rand(1, 0, 8)),
        "RelativeMultiHeadAttention.forward(): x has no positions"),
    "SequenceClassifier no token": (lambda: classifier("recurrent")(torch.zeros(1, 0, dtype=torch.long)),
                                    "tokens has no positions"),
    "RecurrentLayer no position": (lambda: sl.RecurrentLayer(4)(torch.rand(1, 0, 4)), "x has no positions"),
    "ConvolutionLayer no position": (lambda: sl.ConvolutionLayer(4)(torch.rand(1, 0, 4)), "x has no positions"),
    "SelfAttentionLayer no position": (lambda: sl.SelfAttentionLayer(4)(torch.rand(1, 0, 4)),
                                       "SelfAttentionLayer.forward(): x has no positions"),
    "LocalSelfAttention no position": (lambda: local.LocalSelfAttention(8, 2, 4)(torch.rand(1, 0, 8)),
                                       "x has no positions"),
    "local_attention_1d no position": (
        lambda: local.local_attention_1d(*(torch.rand(1, 0, 4) for _ in range(3)), block_size=2),
        "the same positions (at least one)"),
    "evaluate no pair": (lambda: task.evaluate(seq2seq(), al.data.Translation([], "french")),
                         "data holds no sentence pairs"),
    "exact_match_by_length no pair": (lambda: task.exact_match_by_length(seq2seq(), al.data.Translation([], "french")),
                                      "data holds no sentence pairs"),
    "Translation.batch no index": (lambda: al.data.Translation(al.data.sentence_pairs(2), "french").batch([]),
                                   "indices is empty"),
    "teacher_forcing no target": (lambda: tr.teacher_forcing([]), "targets is empty"),
    "periodic_motifs no period": (lambda: al.data.periodic_motifs(2, 6, 3, periods=()), "periods is empty"),
}


@pytest.mark.parametrize("case", EMPTY_CASES)
def test_empty_input_gets_a_clear_error_not_nan(case):
    call, fragment = EMPTY_CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    assert type(info.value) is ValueError and fragment in str(info.value), str(info.value)


# ---- copies that cannot be exact are refused ----

def test_relative_attention_is_not_copied_to_or_from_torch():
    with pytest.raises(ValueError, match="cannot hold the learned relative positions"):
        relative.RelativeMultiHeadAttention(8, 2, 6).to_torch()
    with pytest.raises(ValueError, match="has no relative positions"):
        relative.RelativeMultiHeadAttention.from_torch(torch.nn.MultiheadAttention(8, 2))


def test_load_bert_state_refuses_weights_it_would_round():
    model = pretrained.BertEncoder(10, 8, 2, 1, 16, 6)
    state = _bert_state(model)
    with pytest.raises(TypeError, match=r"torch.float64, which word_embeddings.weight \(torch.float32\) cannot hold"):
        model.load_bert_state({name: t.double() for name, t in state.items()})
    model.double().load_bert_state(state)  # float32 into float64 is exact
    assert torch.equal(model.word_embeddings.weight, state["embeddings.word_embeddings.weight"].double())


def _bert_state(model):
    """A Hugging Face style state dict for ``model`` (its own weights)."""
    ours = dict(model.named_parameters())
    parts = {"attention.self.query": "self_attn.q_proj", "attention.self.key": "self_attn.k_proj",
             "attention.self.value": "self_attn.v_proj", "attention.output.dense": "self_attn.out_proj",
             "attention.output.LayerNorm": "norm1", "intermediate.dense": "ff.linear1",
             "output.dense": "ff.linear2", "output.LayerNorm": "norm2"}
    state = {"embeddings.word_embeddings.weight": ours["word_embeddings.weight"],
             "embeddings.position_embeddings.weight": ours["position_embeddings.weight"],
             "embeddings.token_type_embeddings.weight": ours["token_type_embeddings.weight"],
             "embeddings.LayerNorm.weight": ours["embedding_norm.weight"],
             "embeddings.LayerNorm.bias": ours["embedding_norm.bias"]}
    for i in range(len(model.encoder.layers)):
        for theirs, mine in parts.items():
            for kind in ("weight", "bias"):
                state[f"encoder.layer.{i}.{theirs}.{kind}"] = ours[f"encoder.layers.{i}.{mine}.{kind}"]
    return {k: v.detach().clone() for k, v in state.items()}


# ---- options, sizes and shapes ----

BAD_CASES = [
    # bool options given something else (once silently truthy)
    (lambda: s2s.Encoder(11, 4, 6, bidirectional="no"), TypeError, "bidirectional must be a bool, got str 'no'"),
    (lambda: al.SelfAttention(4, bias=1), TypeError, "bias must be a bool, got int 1"),
    (lambda: al.SetClassifier(4, use_attention="no"), TypeError, "use_attention must be a bool"),
    (lambda: vision.SelfAttention2d(8)(torch.rand(1, 8, 2, 2), "no"), TypeError, "return_attention must be a bool"),
    (lambda: caption_model()(torch.rand(1, 3, 8, 8), torch.tensor([[1]]), hard="no"), TypeError,
     "hard must be a bool"),
    (lambda: relative.RelativeMultiHeadAttention(8, 2, 4)(torch.rand(1, 3, 8), need_weights="no"), TypeError,
     "need_weights must be a bool"),
    (lambda: sl.SelfAttentionLayer(4)(torch.rand(1, 3, 4), need_weights=0), TypeError, "need_weights must be a bool"),
    (lambda: al.AttentionTagger(10, 8)(torch.ones(1, 3, dtype=torch.long), need_weights="no"), TypeError,
     "need_weights must be a bool"),
    (lambda: bert()(torch.ones(1, 3, dtype=torch.long), need_weights=1), TypeError, "need_weights must be a bool"),
    (lambda: saturation.saturation_statistics(4, scaled="no", trials=4), TypeError, "scaled must be a bool"),
    (lambda: saturation.random_query_weights(4, scaled=None), TypeError, "scaled must be a bool"),
    (lambda: al.data.sentence_pairs(2, alignments="no"), TypeError, "alignments must be a bool"),
    # string options
    (lambda: relative.CausalLM(10, positions=1, max_len=6), TypeError, "positions must be a str, got int"),
    (lambda: ar.MaskedConv2d(1, 1, 3, 1), TypeError, "mask_type must be a str, got int"),
    (lambda: s2s.Seq2Seq.build(11, 9, attention="cosine"), ValueError, "Seq2Seq.build(): attention must be one of"),
    (lambda: s2s.Seq2Seq.build(11, 9, order="vaswani"), ValueError, "Seq2Seq.build(): order must be one of"),
    (lambda: al.data.Translation([], "german"), ValueError, "Translation(): target must be one of"),
    # sizes and numbers
    (lambda: s2s.AttentionDecoder(9, 4, 8, 8, d_attention=0), ValueError, "d_attention must be >= 1, got 0"),
    (lambda: s2s.Decoder(9, 0, 8, 8), ValueError, "Decoder(): d_embed must be >= 1, got 0"),
    (lambda: vision.ShowAttendTell(10, d_hidden=2.5), TypeError, "d_hidden must be an int, got float"),
    (lambda: causal_lm("sinusoidal").__class__(10, positions="sinusoidal", max_len=6, d_model=9, num_heads=3),
     ValueError, "CausalLM(): sinusoidal positions need an even d_model, got 9"),
    (lambda: sl.SequenceClassifier("recurrent", 1, 10, 3, d=7), ValueError, "SequenceClassifier(): d must be even"),
    (lambda: sl.SequenceClassifier("lstm", 1, 10, 3), ValueError, "SequenceClassifier(): kind must be one of"),
    (lambda: ar.MADE(4, 8), TypeError, "hidden_sizes must be a list of ints, got int"),
    (lambda: ar.MADE(4, [8], seed="a"), TypeError, "seed must be an int, got str"),
    (lambda: ar.made_degrees(1, [4]), ValueError, "made_degrees(): d_in must be >= 2, got 1"),
    (lambda: ar.PixelCNN(8, -1), ValueError, "n_layers must be >= 0, got -1"),
    (lambda: ar.dependencies(3, torch.rand(2, 3)), TypeError, "fn must be callable"),
    (lambda: pretrained.BertEncoder(20, 8, 2, 1, 16, 6, layer_norm_eps=float("nan")), ValueError,
     "layer_norm_eps must be finite, got nan"),
    (lambda: positional.sinusoidal_encoding(4, 4, base=float("nan")), ValueError, "base must be finite, got nan"),
    (lambda: positional.sinusoidal_encoding(4, 4, base="e"), TypeError, "base must be a number, got str"),
    (lambda: positional.shift_rotation(1, 4, base=float("inf")), ValueError, "shift_rotation(): base must be finite"),
    (lambda: positional.shift_rotation(float("nan"), 4), ValueError, "k must be finite, got nan"),
    (lambda: saturation.saturation_statistics(4, scaled=True, trials=4, chunk=0), ValueError,
     "chunk must be >= 1, got 0"),
    (lambda: al.data.periodic_motifs(2, 6, 3, periods=(2, 0)), ValueError, "periods[1] must be >= 1, got 0"),
    (lambda: al.data.shape_captions(2, objects=2), TypeError, "objects must be a pair of ints, got 2"),
    (lambda: al.data.sentence_pairs(2, length=5), TypeError, "length must be a pair of ints, got 5"),
    (lambda: local.local_attention_2d(*(torch.ones(1, 4, 4, 2) for _ in range(3)), query_block=2, memory=(1, 1)),
     TypeError, "query_block must be a pair of ints, got 2"),
    (lambda: WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], max_word_chars=0), ValueError,
     "max_word_chars must be >= 1, got 0"),
    # shapes
    (lambda: seq2seq()(SRC, [3, 2], TGT[:1]), ValueError, "tgt_in must have one row per source sentence, got 1 rows"),
    (lambda: caption_model()(torch.rand(2, 3, 8, 8), torch.tensor([[1]])), ValueError,
     "tgt_in must have one row per image, got 1 rows for 2 images"),
    (lambda: task.loss(seq2seq(), tr.Batch(SRC, torch.tensor([3, 2]), TGT, TGT[:, :1])), ValueError,
     "batch.tgt_out must have the shape of batch.tgt_in (2, 2), got (2, 1)"),
    (lambda: relative.relative_logits(torch.randn(2, 4, 3), torch.randn(5, 3)), ValueError,
     "E_r must be (..., L, D) = (..., 4, 3)"),
    (lambda: scores.Additive(4, 4, 4)(torch.randn(1, 2, 4), torch.randn(1, 3, 4), u_k=torch.randn(1, 3, 5)),
     ValueError, "u_k must be self.U(k) of shape (1, 3, 4), got (1, 3, 5)"),
    (lambda: pretrained.mean_pool(torch.randn(2, 3, 4), torch.ones(2, 4)), ValueError,
     "attention_mask must be (B, T) = (2, 3), got (2, 4)"),
    (lambda: bert()(torch.ones(1, 3, dtype=torch.long), torch.full((1, 3), 0.5)), ValueError,
     "attention_mask must be binary"),
    (lambda: bert()(torch.ones(1, 3, dtype=torch.long), token_type_ids=torch.zeros(1, 2, dtype=torch.long)),
     ValueError, "token_type_ids must have the shape of input_ids (1, 3), got (1, 2)"),
    (lambda: classifier()(torch.zeros(1, 13, dtype=torch.long)), ValueError, "tokens has 13 positions, more than "
                                                                             "max_len=12"),
    (lambda: vision.doubly_stochastic_penalty(torch.rand(2, 3, 4), torch.ones(2, 3)), TypeError,
     "steps must be a bool tensor"),
    (lambda: vision.doubly_stochastic_penalty(torch.rand(2, 3, 4), torch.ones(2, 2, dtype=torch.bool)), ValueError,
     "steps must have shape (B, T) = (2, 3), got (2, 2)"),
    (lambda: tr.target_vocab("french").decode([3, 999]), ValueError, "token id 999, outside the vocabulary"),
    (lambda: WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"]).convert_ids_to_tokens(torch.tensor([4])),
     ValueError, "ids holds token id 4, outside the vocabulary of size 4"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_CASES, ids=[f"case{i}" for i in range(len(BAD_CASES))])
def test_bad_options_sizes_and_shapes(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error and fragment in str(info.value), str(info.value)
