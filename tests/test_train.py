"""The fit loop: history, metrics, schedule, clipping; the metrics against hand counts."""

import pytest
import torch
from torch import nn

import attnlab as al
from attnlab.train import exact_match, fit, token_accuracy


def regression():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    return model, lambda m, step: ((m(x) - y) ** 2).mean()


def test_history_records_every_loss_and_metrics_on_schedule():
    model, loss_fn = regression()
    seen_modes = []

    def evaluate(m):
        seen_modes.append(m.training)
        return {"weight_norm": m.weight.norm().item()}

    history = fit(model, loss_fn, steps=25, lr=0.3, clip=None, evaluate=evaluate, eval_every=10, progress=False)
    assert len(history.loss) == 25 and history.loss[-1] < 0.05 * history.loss[0]
    assert [step for step, _ in history.metrics["weight_norm"]] == [10, 20, 25]
    assert history.last("weight_norm") == pytest.approx(model.weight.norm().item())
    assert seen_modes == [False] * 3 and not model.training


def test_schedule_scales_the_learning_rate():
    model, loss_fn = regression()
    before = model.weight.detach().clone()
    fit(model, loss_fn, steps=3, lr=0.1, schedule=lambda step: 0.0, progress=False)
    torch.testing.assert_close(model.weight, before)  # lr * 0 = no update


def test_metrics_against_hand_counts():
    logits = torch.tensor([[[2.0, 1.0], [0.0, 3.0], [5.0, 0.0]]])
    assert token_accuracy(logits, torch.tensor([[0, 0, al.data.IGNORE]])) == pytest.approx(0.5)
    assert exact_match([[1, 2], [3], [4, 5]], [[1, 2], [3, 0], [4, 5]]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="two equally long, non-empty lists, got 1 and 2"):
        exact_match([[1]], [[1], [2]])
    with pytest.raises(ValueError, match="eval_every must be >= 1, got 0"):
        fit(nn.Linear(1, 1), lambda m, s: m.weight.sum(), steps=1, eval_every=0)


def test_warmup_then_decay():
    from attnlab.train import warmup_then_decay

    f = warmup_then_decay(10, 110)
    assert [f(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert [f(s) for s in (10, 60, 109)] == pytest.approx([1.0, 0.5, 0.01])
    with pytest.raises(ValueError, match="warmup=20 must be smaller than steps=20"):
        warmup_then_decay(20, 20)
