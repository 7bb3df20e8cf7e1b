"""Smoke test: every benchmark runs at a tiny size, so that none can rot. (No timing is asserted.)"""

import math

import torch

from bench import mha


def test_mha_benchmark_runs_and_reports_finite_ratios():
    rows = mha.run(batch=2, lengths=(8, 16), d_model=16, heads=2, repeats=1, device=torch.device("cpu"))
    assert [r["T"] for r in rows] == [8, 16]
    for r in rows:
        assert math.isfinite(r["ratio_vs_torch"]) and r["ratio_vs_torch"] > 0
        assert math.isfinite(r["ratio_vs_torch_default"]) and r["ratio_vs_torch_default"] > 0


def test_local_attention_benchmark_runs():
    from bench import local_attention

    rows = local_attention.run(lengths=(64,), block=16, repeats=1)
    assert {r["method"] for r in rows} == set(local_attention.RUNS)
    assert all(r["seconds"] > 0 and math.isfinite(r["peak_mib"]) for r in rows)


def test_relative_logits_benchmark_runs():
    from bench import relative_logits

    rows = relative_logits.run(lengths=(32,), repeats=1)
    assert {r["method"] for r in rows} == set(relative_logits.RUNS)
    assert all(r["seconds"] > 0 and math.isfinite(r["peak_mib"]) for r in rows)


def test_sequence_layers_benchmark_runs():
    from bench import sequence_layers

    rows = sequence_layers.run(lengths=(16,), d=8, repeats=1)
    assert {r["method"] for r in rows} == set(sequence_layers.RUNS)
    assert all(r["seconds"] > 0 and math.isfinite(r["peak_mib"]) for r in rows)


def test_transformer_toy_benchmark_runs():
    from bench import transformer_toy

    results = transformer_toy.run(n_train=200, n_test=20, steps=4, rnn_steps=2, every=2, target=0.0)
    assert set(results) == {"Transformer", "Bahdanau"}
    for r in results.values():
        assert r["seconds_to_target"] is not None and 0 < r["seconds_to_target"] <= r["train_seconds"]
        assert 0.0 <= r["exact_match"] <= 1.0


def test_throughput_benchmark_runs():
    from bench import throughput

    result = throughput.run_throughput(batch=2, lengths=(8,), d_model=16, heads=2, matmul_n=64, repeats=1,
                                       device=torch.device("cpu"))
    assert result["matmul_gflops"] > 0 and result["rows"][0]["gflops"] > 0
    rows = throughput.run_paths(lengths=(16,), repeats=1)
    assert {r["method"] for r in rows} == set(throughput.RUNS)
