"""Item 7 (second half): the Transformer on the toy English-to-French task, training time to 99% held-out exact match.

Chapter 13's model and recipe (width 64, 2 + 2 layers, 4 heads, label smoothing 0.1, warm-up 100 steps, 1,000
steps), evaluated every 100 steps; the Bahdanau model of chapter 3 (600 steps) is the reference measured in the same
run. On the CPU, with torch's default number of threads. Target: 99% within 60 s of training on 2 CPU cores.
"""

from __future__ import annotations

import time

import torch
from matplotlib.figure import Figure

import attnlab as al
from bench.common import markdown_table, target

TITLE = "The Transformer vs the RNN with attention: training time to 99% on the toy translation"


def time_to_target(model: torch.nn.Module, train: al.data.Translation, test: al.data.Translation, *, steps: int,
                   lr: float, schedule, label_smoothing: float, target: float, every: int) -> dict:
    """Train, evaluating exact match every ``every`` steps; the training seconds (evaluation excluded) until the
    first evaluation at or above ``target``, or None."""
    g = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    seconds, reached, exact = 0.0, None, 0.0
    for step in range(steps):
        start = time.perf_counter()
        model.train()
        loss = al.translation_task.loss(model, train.sample(64, generator=g), label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        seconds += time.perf_counter() - start
        if (step + 1) % every == 0 or step == steps - 1:
            model.eval()
            with torch.no_grad():
                exact = al.translation_task.evaluate(model, test)["exact_match"]
            if reached is None and exact >= target:
                reached = seconds
    return {"seconds_to_target": reached, "train_seconds": seconds, "exact_match": exact}


def run(quick: bool = False) -> dict:
    n_train, n_test, steps, rnn_steps, every, goal = (200, 20, 4, 2, 2, 0.0) if quick else (20000, 1000, 1000, 600,
                                                                                          100, 0.99)
    train, test = al.data.translation_task(n_train, n_test, length=(4, 30), seed=0)
    al.seed_everything(0)
    transformer = al.transformer.Transformer(len(train.src_vocab), len(train.tgt_vocab), d_model=64, num_heads=4,
                                             num_layers=2, d_ff=128, dropout=0.0, max_len=64)
    al.seed_everything(0)
    bahdanau = al.seq2seq.Seq2Seq.build(len(train.src_vocab), len(train.tgt_vocab), attention="additive")
    models = {
        "Transformer": time_to_target(transformer, train, test, steps=steps, lr=3e-3, target=goal, every=every,
                                      schedule=al.train.warmup_then_decay(min(100, steps - 1), steps),
                                      label_smoothing=0.1),
        "Bahdanau": time_to_target(bahdanau, train, test, steps=rnn_steps, lr=5e-3, target=goal, every=every,
                                   schedule=lambda s: 1 - s / rnn_steps, label_smoothing=0.0),
    }
    return {"target_exact_match": goal, "threads": torch.get_num_threads(), "models": models}


def report(result: dict) -> str:
    def seconds(x):
        return "not reached" if x is None else f"{x:.1f}"

    return (f"Settings: CPU, {result['threads']} threads; 20,000 training and 1,000 held-out sentence pairs of 4 to 30 "
            f"words; batch 64, gradient clipping at 1. The Transformer: width 64, 2 + 2 layers, 4 heads, "
            f"feed-forward 128, no dropout, Adam at 3e-3 with 100 warm-up steps then linear decay, label smoothing "
            f"0.1, 1,000 steps. The Bahdanau model of chapter 3: Adam at 5e-3 with linear decay, 600 steps. Both "
            f"evaluated every 100 steps; the clock counts training steps only. One run (training to a target is "
            f"measured once: no spread).\n\n" + markdown_table(
        ["model", f"seconds to {result['target_exact_match']:.0%} exact match", "training seconds in all",
         "final exact match"],
        [[name, seconds(r["seconds_to_target"]), r["train_seconds"], r["exact_match"]]
         for name, r in result["models"].items()]))


def targets(result: dict) -> list[dict]:
    reached = result["models"]["Transformer"]["seconds_to_target"]
    return [target("Transformer: training seconds to 99% exact match (CPU)", float("inf") if reached is None
                   else reached, "<= 60", reached is not None and reached <= 60)]


def figure(result: dict) -> Figure:
    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    names = list(result["models"])
    reached = [result["models"][n]["seconds_to_target"] or 0.0 for n in names]
    ax.barh(names, reached, color=["C0", "C1"])
    ax.axvline(60, color="k", ls="--", lw=1, label="target: 60 s")
    ax.set(xlabel=f"training seconds to {result['target_exact_match']:.0%} held-out exact match")
    ax.legend()
    fig.tight_layout()
    return fig
