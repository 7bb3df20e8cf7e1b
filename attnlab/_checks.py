"""Argument checks shared by every public function.

attnlab checks its inputs before torch sees them, so that a mistake is reported in the reader's terms:
``attention(): key has width 6 but query has width 8 (q: (2, 5, 8), k: (2, 7, 6))`` instead of a matmul error
from deep inside torch. Shapes, sizes and options raise ``ValueError``; wrong types and dtypes raise ``TypeError``.
"""

from __future__ import annotations

import torch


def shape(t: torch.Tensor) -> tuple[int, ...]:
    """A tensor's shape as a plain tuple, for messages: ``(2, 5, 8)`` rather than ``torch.Size([2, 5, 8])``."""
    return tuple(t.shape)


def tensor(fn: str, name: str, x: object, *, ndim: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Check that ``x`` is a tensor, with ``ndim`` dimensions (an int, or an inclusive ``(min, max)`` range)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}(): {name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None:
        low, high = (ndim, ndim) if isinstance(ndim, int) else ndim
        if not low <= x.ndim <= high:
            expected = f"{low}" if low == high else f"{low} to {high}"
            raise ValueError(f"{fn}(): {name} must have {expected} dimensions, got shape {shape(x)}")
    return x


def floating(fn: str, name: str, x: object, *, ndim: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Check that ``x`` is a floating-point tensor (float16, bfloat16, float32, float64)."""
    tensor(fn, name, x, ndim=ndim)
    if not x.is_floating_point():
        raise TypeError(f"{fn}(): {name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def same_dtype_and_device(fn: str, **tensors: torch.Tensor) -> None:
    """Check that the named tensors share one dtype and one device (torch would fail or silently upcast)."""
    (first, ref), *rest = tensors.items()
    for name, t in rest:
        if t.dtype != ref.dtype:
            raise TypeError(f"{fn}(): {name} has dtype {t.dtype} but {first} has dtype {ref.dtype}")
        if t.device != ref.device:
            raise ValueError(f"{fn}(): {name} is on {t.device} but {first} is on {ref.device}")


def positive_int(fn: str, name: str, x: object, *, minimum: int = 1) -> int:
    """Check that ``x`` is a Python int (not a bool) of at least ``minimum``."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{fn}(): {name} must be an int, got {type(x).__name__}")
    if x < minimum:
        raise ValueError(f"{fn}(): {name} must be >= {minimum}, got {x}")
    return x


def probability(fn: str, name: str, x: object) -> float:
    """Check that ``x`` is a number in [0, 1)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{fn}(): {name} must be a float, got {type(x).__name__}")
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{fn}(): {name} must be in [0, 1), got {x}")
    return float(x)


def broadcasts_to(source: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether ``source`` broadcasts to ``target`` without enlarging it."""
    try:
        return torch.broadcast_shapes(source, target) == torch.Size(target)
    except RuntimeError:
        return False


def bool_mask(fn: str, mask: object, target: tuple[int, ...], what: str, device: torch.device) -> torch.Tensor:
    """Check a boolean mask (True = may attend) on ``device`` that broadcasts to ``target`` without enlarging it.

    ``what`` describes the target in the message, e.g. ``"(B, Tq, Tk) = (2, 5, 7)"``.
    """
    tensor(fn, "mask", mask)
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{fn}(): mask must be a bool tensor (True = may attend), got dtype {mask.dtype}; "
            "pass additive biases through a separate argument"
        )
    if not broadcasts_to(mask.shape, target):
        raise ValueError(f"{fn}(): mask of shape {shape(mask)} does not broadcast to {what}")
    if mask.device != device:
        raise ValueError(f"{fn}(): mask is on {mask.device} but the scores are on {device}")
    return mask


def choice(fn: str, name: str, x: object, options: tuple[str, ...]) -> str:
    """Check that ``x`` is one of the strings in ``options``."""
    if not isinstance(x, str):
        raise TypeError(f"{fn}(): {name} must be a str, got {type(x).__name__}")
    if x not in options:
        raise ValueError(f"{fn}(): {name} must be one of {', '.join(map(repr, options))}, got {x!r}")
    return x


def width(fn: str, name: str, x: torch.Tensor, expected: int) -> None:
    """Check that the last dimension of ``x`` is ``expected``."""
    if x.shape[-1] != expected:
        raise ValueError(f"{fn}(): {name} must have width {expected}, got shape {shape(x)}")
