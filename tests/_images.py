"""Shared by the tests of autoregressive image models: a short fit on rectangle outlines, then held-out scores."""

import torch
import torch.nn.functional as F

import attnlab as al


def fit_on_rectangles(model: torch.nn.Module, *, steps: int, batch: int, n_test: int):
    """Train ``model`` (images -> logits) for ``steps`` and return ``(test images, its NLL, the independent-pixel
    baseline NLL)``, both in nats per image."""
    al.seed_everything(0)
    g = torch.Generator().manual_seed(1)
    al.train.fit(model, lambda m, s: F.binary_cross_entropy_with_logits(m(x := al.data.rectangles(batch, 8, generator=g)), x),
                 steps=steps, lr=3e-3, progress=False)
    test = al.data.rectangles(n_test, 8, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        nll = al.autoregressive.negative_log_likelihood(model(test), test)
    return test, nll, al.autoregressive.independent_pixels_nll(test)
