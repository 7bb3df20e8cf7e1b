"""Argument checks shared by every public function.

attnlab checks its inputs before torch sees them, so that a mistake is reported in the reader's terms:
``attention(): key has width 6 but query has width 8 (q: (2, 5, 8), k: (2, 7, 6))`` instead of a matmul error
from deep inside torch. Shapes, sizes and options raise ``ValueError``; wrong types and dtypes raise ``TypeError``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

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


def qkv(fn: str, q: object, k: object, v: object = None, *, same_width: bool = True,
        names: tuple[str, str, str] = ("query", "key", "value")) -> None:
    """The queries ``(..., Tq, d_q)``, keys ``(..., Tk, d_k)`` and (optional) values ``(..., Tk, d_v)`` of one
    attention: floating, one dtype and one device, the same leading (batch, head) dimensions, one value per key, and
    keys as wide as the queries unless ``same_width=False`` (learned scores project them)."""
    named = {names[0]: q, names[1]: k} | ({names[2]: v} if v is not None else {})
    for name, x in named.items():
        floating(fn, name, x, ndim=(2, 8))
    same_dtype_and_device(fn, **named)
    shapes = "(" + ", ".join(f"{name[0]}: {shape(x)}" for name, x in named.items()) + ")"
    if len({x.shape[:-2] for x in named.values()}) > 1:
        raise ValueError(f"{fn}(): {', '.join(named)} must have the same leading dimensions (the batch dimensions) {shapes}")
    if same_width and k.shape[-1] != q.shape[-1]:
        raise ValueError(f"{fn}(): {names[1]} has width {k.shape[-1]} but {names[0]} has width {q.shape[-1]} {shapes}")
    if v is not None and v.shape[-2] != k.shape[-2]:
        raise ValueError(f"{fn}(): {names[2]} has {v.shape[-2]} positions but {names[1]} has {k.shape[-2]} {shapes}")


def same_dtype_and_device(fn: str, **tensors: torch.Tensor) -> None:
    """Check that the named tensors share one dtype and one device (torch would fail or silently upcast)."""
    (first, ref), *rest = tensors.items()
    for name, t in rest:
        if t.dtype != ref.dtype:
            raise TypeError(f"{fn}(): {name} has dtype {t.dtype} but {first} has dtype {ref.dtype}")
        if t.device != ref.device:
            raise ValueError(f"{fn}(): {name} is on {t.device} but {first} is on {ref.device}")


def is_int(x: object) -> bool:
    """An integer that is not a bool: Python's ``int`` and NumPy's integer scalars alike."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_real(x: object) -> bool:
    """A real number that is not a bool: ``int``, ``float`` and NumPy's scalars alike."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def positive_int(fn: str, name: str, x: object, *, minimum: int = 1) -> int:
    """Check that ``x`` is an integer (Python's or NumPy's, not a bool) of at least ``minimum``; return an ``int``."""
    if not is_int(x):
        raise TypeError(f"{fn}(): {name} must be an int, got {type(x).__name__}")
    if x < minimum:
        raise ValueError(f"{fn}(): {name} must be >= {minimum}, got {x}")
    return int(x)


def integer(fn: str, name: str, x: object) -> int:
    """Check that ``x`` is an integer of any sign (Python's or NumPy's, not a bool), e.g. a seed; return an ``int``."""
    if not is_int(x):
        raise TypeError(f"{fn}(): {name} must be an int, got {type(x).__name__}")
    return int(x)


def sizes(fn: str, **values: object) -> list[int]:
    """``positive_int`` for each keyword argument (a size of at least 1); the ints, in order."""
    return [positive_int(fn, name, x) for name, x in values.items()]


def probability(fn: str, name: str, x: object) -> float:
    """Check that ``x`` is a number in [0, 1)."""
    if not is_real(x):
        raise TypeError(f"{fn}(): {name} must be a float, got {type(x).__name__}")
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{fn}(): {name} must be in [0, 1), got {x}")
    return float(x)


def number(fn: str, name: str, x: object, *, low: float | None = None, positive: bool = False) -> float:
    """Check that ``x`` is a finite real number (Python's or NumPy's), ``>= low`` or ``> 0``; return a ``float``."""
    if not is_real(x):
        raise TypeError(f"{fn}(): {name} must be a number, got {type(x).__name__}")
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"{fn}(): {name} must be finite, got {x}")
    if low is not None and x < low:
        raise ValueError(f"{fn}(): {name} must be >= {low}, got {x}")
    if positive and x <= 0:
        raise ValueError(f"{fn}(): {name} must be > 0, got {x}")
    return float(x)


def flag(fn: str, name: str, x: object) -> bool:
    """Check that ``x`` is a bool (an option passed positionally in the wrong place is caught here)."""
    if not isinstance(x, bool):
        raise TypeError(f"{fn}(): {name} must be a bool, got {type(x).__name__} {x!r}")
    return x


def token_ids(fn: str, name: str, ids: object, vocab_size: int, *, ndim: int | tuple[int, int] | None = None
              ) -> torch.Tensor:
    """Check a tensor of token ids: an integer dtype and every id in ``[0, vocab_size)``.

    An out-of-range id would otherwise reach ``nn.Embedding`` and fail with torch's bare "index out of range in
    self" (or, on a GPU, an asynchronous device-side assert); the message here names the id and the vocabulary.
    """
    tensor(fn, name, ids, ndim=ndim)
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise TypeError(f"{fn}(): {name} must hold token ids (an integer dtype such as torch.long), "
                        f"got dtype {ids.dtype}")
    if ids.numel():
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"{fn}(): {name} holds token id {bad}, outside the vocabulary of size {vocab_size} "
                             f"(ids must lie in [0, {vocab_size - 1}])")
    return ids


def lengths(fn: str, name: str, x: object, batch: int, max_len: int, device: torch.device, *, minimum: int = 1
            ) -> torch.Tensor:
    """Check sequence lengths given as a list, a tuple, a NumPy array or a tensor on any device.

    Returns a ``torch.long`` tensor ``(batch,)`` on ``device`` (where the model's masks are built), every length in
    ``[minimum, max_len]``.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise TypeError(f"{fn}(): {name} must be integers, got dtype {x.dtype}")
        values = x.detach().cpu()
    elif isinstance(x, Sequence) or hasattr(x, "__array__"):
        items = list(x.tolist() if hasattr(x, "tolist") else x)
        if not all(is_int(n) for n in items):
            raise TypeError(f"{fn}(): {name} must hold ints, got {items!r}")
        values = torch.tensor([int(n) for n in items], dtype=torch.long)
    else:
        raise TypeError(f"{fn}(): {name} must be a list or tensor of ints, got {type(x).__name__}")
    if values.ndim != 1 or values.shape[0] != batch:
        raise ValueError(f"{fn}(): {name} must have shape ({batch},), one length per sequence, "
                         f"got shape {shape(values)}")
    if values.numel() and (int(values.min()) < minimum or int(values.max()) > max_len):
        raise ValueError(f"{fn}(): {name} must lie in [{minimum}, {max_len}], got {values.tolist()}")
    return values.to(device=device, dtype=torch.long)


def matches_module(fn: str, name: str, x: torch.Tensor, module: torch.nn.Module) -> None:
    """Check that a floating input has the dtype and device of ``module``'s parameters (torch would fail with
    "mat1 and mat2 must have the same dtype" or a device error from deep inside)."""
    param = next(module.parameters(), None)
    if param is None:
        return
    if x.is_floating_point() and x.dtype != param.dtype:
        raise TypeError(f"{fn}(): {name} has dtype {x.dtype} but the model's parameters are {param.dtype}; "
                        f"convert one of them (e.g. model.to({x.dtype}))")
    if x.device != param.device:
        raise ValueError(f"{fn}(): {name} is on {x.device} but the model is on {param.device}; "
                         f"move the input with .to({str(param.device)!r})")


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


def embedding_ids(fn: str, name: str, ids: object, embedding: torch.nn.Embedding, *, ndim: int | tuple[int, int]
                  ) -> torch.Tensor:
    """Token ids for ``embedding``: ``token_ids`` against its vocabulary, on its device; returned as ``torch.long``
    (``nn.Embedding`` reads int32 and int64 ids only)."""
    tensor(fn, name, ids, ndim=ndim)
    if not ids.is_floating_point():  # the device first: ids on another device (or "meta") cannot be read
        matches_module(fn, name, ids, embedding)
    return token_ids(fn, name, ids, embedding.num_embeddings).long()


def features(fn: str, name: str, x: object, module: torch.nn.Module, *, ndim: int | tuple[int, int],
             d: int | None = None) -> torch.Tensor:
    """A floating input of ``module``: ``ndim`` dimensions, the last one of width ``d`` (if given), and the dtype
    and device of the module's parameters."""
    floating(fn, name, x, ndim=ndim)
    if d is not None:
        width(fn, name, x, d)
    matches_module(fn, name, x, module)
    return x


def sequence_length(fn: str, name: str, x: torch.Tensor, *, max_len: int | None = None, empty: bool = False
                    ) -> int:
    """The length ``T`` of a batch of sequences ``x (B, T, ...)``: at least 1 (0 too if ``empty``) and at most
    ``max_len`` (if given)."""
    n = x.shape[1]
    if n == 0 and not empty:
        raise ValueError(f"{fn}(): {name} has no positions (shape {shape(x)}); give at least one")
    if max_len is not None and n > max_len:
        raise ValueError(f"{fn}(): {name} has {n} positions, more than max_len={max_len} (shape {shape(x)})")
    return n


def binary(fn: str, name: str, x: torch.Tensor) -> torch.Tensor:
    """Check that every value of ``x`` is 0 or 1 (binary pixels), rather than let a model round other values."""
    bad = x[(x != 0) & (x != 1)]
    if bad.numel():
        such = ", ".join(f"{v:g}" for v in bad.unique()[:3].tolist())
        raise ValueError(f"{fn}(): {name} must be binary (every value 0 or 1), got values such as {such}")
    return x


def int_pair(fn: str, name: str, x: object, *, minimum: int = 1) -> tuple[int, int]:
    """Check that ``x`` is a pair (a tuple, a list or a NumPy array) of integers of at least ``minimum``; return a
    tuple of ints."""
    if isinstance(x, str) or not (isinstance(x, Sequence) or hasattr(x, "__array__")):
        raise TypeError(f"{fn}(): {name} must be a pair of ints, got {x!r}")
    if len(x) != 2:
        raise ValueError(f"{fn}(): {name} must be a pair of ints, got {len(x)} values {x!r}")
    return tuple(positive_int(fn, f"{name}[{i}]", n, minimum=minimum) for i, n in enumerate(x))


def image_prefix(fn: str, prefix: object, n: int, size: int) -> int:
    """A sampler's ``prefix (n, 1, r, size)``: the first r <= size rows of ``n`` binary images; returns r."""
    tensor(fn, "prefix", prefix, ndim=4)
    if prefix.shape[:2] != (n, 1) or prefix.shape[3] != size or prefix.shape[2] > size:
        raise ValueError(f"{fn}(): prefix must be (n, 1, r, size) = ({n}, 1, r, {size}) with r <= {size}, got "
                         f"{shape(prefix)}")
    binary(fn, "prefix", prefix)
    return prefix.shape[2]
