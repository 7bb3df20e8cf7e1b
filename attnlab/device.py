"""Where tensors live and how runs are made repeatable.

Book: used by every chapter (no chapter of its own).
"""

from __future__ import annotations

import numbers
import random

import numpy as np
import torch

_KINDS = ("cuda", "mps", "cpu")


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    return True


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The best device here: CUDA, then Apple's MPS, then the CPU.

    ``prefer="cpu"`` (or ``"cuda"``, ``"mps"``) asks for one kind; asking for one that is not present is a
    ``ValueError`` rather than a silent fallback, so that a notebook never claims a GPU it does not have.
    """
    if prefer is None:
        return torch.device(next(kind for kind in _KINDS if _available(kind)))
    if not isinstance(prefer, (str, torch.device)):
        raise TypeError(f"get_device(): prefer must be a str or torch.device, got {type(prefer).__name__}")
    kind = prefer.type if isinstance(prefer, torch.device) else prefer.split(":")[0]
    if kind not in _KINDS:
        raise ValueError(f"get_device(): prefer must be one of {_KINDS}, got {str(prefer)!r}")
    device = torch.device(prefer)
    if not _available(device.type):
        raise ValueError(f"get_device(): prefer={str(prefer)!r} but no {device.type} device is available here")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (torch's seed also covers every CUDA device)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed_everything(): seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed_everything(): seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
