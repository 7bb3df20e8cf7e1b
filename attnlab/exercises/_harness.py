"""The harness every checker shares: run the reader's code on cases, compare with an oracle, report, never raise.

A checker builds ``Group``s of ``Case``s (from tiny hand-readable inputs to random ones) and hands them to ``run``.
``run`` calls the reader's function on each case, compares what comes back with the oracle's answer and prints one
line per group that passes. At the first failure it prints the case, what was expected, what came back and a hint:
the hint of the first known mistake whose answer matches what came back (the answer computed with the mistake made
on purpose), or the group's general hint. Exceptions from the reader's code are reported, never raised.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..device import get_device

NOT_ATTEMPTED = "not attempted yet"

#: The language of the reports, "en" or "ko" (``attnlab.exercises.set_language``); the Korean texts are in ``_ko.py``.
LANGUAGE = "en"
#: English texts a Korean report asked for that ``_ko.KO`` lacks (tests/test_exercises.py keeps it empty).
MISSING: set[str] = set()


def say(text: str, **values: Any) -> str:
    """``text`` in the report's language (hints, group names, the harness's own phrases), ``values`` filled in."""
    if LANGUAGE == "ko":
        from ._ko import KO

        if text in KO:
            text = KO[text]
        else:
            MISSING.add(text)
    return text.format(**values) if values else text


@dataclass
class Mistake:
    """A typical mistake: the ``hint`` naming it, and what a solution making it returns (``answer``) or a test on
    what came back (``test``, e.g. "contains NaN")."""

    hint: str
    answer: Any = None
    test: Callable[[Any], bool] | None = None

    def made(self, got: Any, atol: float) -> bool:
        """Whether ``got`` is what this mistake gives."""
        try:
            return bool(self.test(got)) if self.test is not None else differs(self.answer, got, atol) is None
        except Exception:  # noqa: BLE001 -- a diagnosis that cannot be made is simply not this mistake
            return False


@dataclass
class Case:
    """One call of the reader's code: its ``inputs`` (passed positionally, in order, and shown on failure), the
    ``expected`` answer and the answers of typical ``mistakes``."""

    label: str
    inputs: dict[str, Any]
    expected: Any
    mistakes: Sequence[Mistake] = ()
    atol: float = 1e-5


@dataclass
class Group:
    """Cases that test one property; ``hint`` is said when a case fails in a way no known mistake explains.
    ``call(solution, case)`` runs the reader's code on a case (default: ``positional``; a class checker builds the
    reader's module there)."""

    name: str
    cases: list[Case]
    hint: str
    call: Callable[[Callable, Case], Any] | None = field(default=None)


def positional(solution: Callable, case: Case) -> Any:
    """The default call: ``solution(*inputs)`` on copies of the inputs (the reader's code may change them)."""
    return solution(*(x.clone() if isinstance(x, torch.Tensor) else x for x in case.inputs.values()))


def run(name: str, solution: Callable, groups: Sequence[Group]) -> bool:
    """Check ``solution`` on every group; print the report; ``True`` when every case passes."""
    if LANGUAGE != "en":  # look every text up at once, so that a missing translation is found on the first run
        for group in groups:
            say(group.name), say(group.hint), [say(m.hint) for case in group.cases for m in case.mistakes]
    for group in groups:
        if not all(_passes(name, solution, group, case) for case in group.cases):
            return False
        n = len(group.cases)
        print(say("✓ {name} ({n} cases)" if n > 1 else "✓ {name} (1 case)", name=say(group.name), n=n))
    return True


def _passes(name: str, solution: Callable, group: Group, case: Case) -> bool:
    """Run one case; on failure print why (never raise because of the reader's code) and return False."""
    try:
        got = (group.call or positional)(solution, case)
    except NotImplementedError:
        print(say("{name}: not attempted yet (the stub still raises NotImplementedError)", name=name))
        return False
    except Exception as error:  # noqa: BLE001 -- the reader's bug is reported, not raised
        _report(group, case, say("your code raised {kind}: {error}", kind=type(error).__name__, error=error),
                group.hint)
        return False
    try:
        reason = differs(case.expected, got, case.atol)
    except Exception as error:  # noqa: BLE001 -- an answer too strange to compare is a wrong answer
        reason = say("it could not be compared: {kind}: {error}", kind=type(error).__name__, error=error)
    if reason is None:
        return True
    hint = next((m.hint for m in case.mistakes if m.made(got, case.atol)), group.hint)
    _report(group, case, say("expected: {expected}\n  got:      {got}\n  ({reason})", expected=show(case.expected),
                             got=show(got), reason=reason), hint)
    return False


def _report(group: Group, case: Case, what: str, hint: str) -> None:
    print(f"✗ {say(group.name)}: {case.label}")
    for key, value in case.inputs.items():
        print(f"  {key} = {show(value)}")
    print(f"  {what}")
    print(say("  hint: {hint}", hint=say(hint)))


def differs(expected: Any, got: Any, atol: float) -> str | None:
    """Why ``got`` is not ``expected`` (tensors within ``atol``, numbers, bools, sequences), or None if it is."""
    if isinstance(expected, torch.Tensor):
        return _tensor_differs(expected, got, atol)
    if isinstance(expected, bool):
        return None if isinstance(got, bool) and got == expected else say("expected the bool {value}", value=expected)
    if isinstance(expected, (int, float)):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Real):
            return say("expected a number, got {kind}", kind=type(got).__name__)
        return None if math.isclose(got, expected, rel_tol=1e-5, abs_tol=atol) else say("a different number")
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return say("expected a {kind} of {n} items", kind=type(expected).__name__, n=len(expected))
        for i, (e, g) in enumerate(zip(expected, got)):
            reason = differs(e, g, atol)
            if reason is not None:
                return say("item {i}: {reason}", i=i, reason=reason)
        return None
    return None if got == expected else say("a different value")


def _tensor_differs(expected: torch.Tensor, got: Any, atol: float) -> str | None:
    if not isinstance(got, torch.Tensor):
        return say("expected a tensor, got {kind}", kind=type(got).__name__)
    if got.shape != expected.shape:
        return say("expected shape {expected}, got shape {got}", expected=tuple(expected.shape), got=tuple(got.shape))
    if expected.dtype == torch.bool:
        if got.dtype != torch.bool:
            return say("expected a bool tensor (True = may attend), got dtype {dtype}", dtype=got.dtype)
        return None if torch.equal(got.cpu(), expected.cpu()) else say("different entries")
    got, expected = got.detach().cpu().double(), expected.detach().cpu().double()
    if torch.isnan(got).any() and not torch.isnan(expected).any():
        return say("your result contains NaN")
    if torch.allclose(got, expected, rtol=1e-4, atol=atol, equal_nan=True):
        return None
    return say("largest difference {value:.3g}", value=(got - expected).abs().nan_to_num(math.inf).max().item())


def show(x: Any) -> str:
    """A short, readable form of a value for the report: small tensors in full, large ones by shape."""
    if isinstance(x, torch.Tensor):
        head = say("tensor of shape {shape}, {dtype}", shape=tuple(x.shape), dtype=str(x.dtype).removeprefix("torch."))
        if x.numel() > 36:
            return head
        values = x.detach().cpu()
        values = values.int() if values.dtype == torch.bool else values.double().round(decimals=4)
        return f"{head}: {values.tolist()}"
    if isinstance(x, nn.Module):
        return say("a {kind} module", kind=type(x).__name__)
    if isinstance(x, (list, tuple)) and any(isinstance(item, torch.Tensor) for item in x):
        return "(" + ", ".join(show(item) for item in x) + ")"
    text = repr(x)
    return text if len(text) <= 200 else text[:197] + "..."


def require_callable(name: str, solution: object) -> None:
    """The checker's own argument: a function (or class) to check."""
    if not callable(solution):
        raise TypeError(f"{name}(): pass your function itself (e.g. {name}(my_fn)), got {type(solution).__name__}")


def require_class(name: str, solution: object) -> None:
    """The checker's own argument: an ``nn.Module`` subclass to check."""
    if not (isinstance(solution, type) and issubclass(solution, nn.Module)):
        raise TypeError(f"{name}(): pass your nn.Module class itself (not an instance), got {solution!r}")


@contextlib.contextmanager
def seeded(seed: int):
    """Build the oracle's modules from a fixed seed without touching the reader's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def generator(seed: int = 0) -> torch.Generator:
    """A CPU generator of its own, so that drawing the cases leaves the reader's random state alone."""
    return torch.Generator().manual_seed(seed)


def randn(g: torch.Generator, *shape: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Reproducible normal samples, drawn on the CPU and moved to ``device``."""
    return torch.randn(*shape, generator=g, dtype=torch.float32).to(device)


def has_nan(x: Any) -> bool:
    """Whether ``x`` is a tensor holding NaN (the typical fully-masked-row mistake)."""
    return isinstance(x, torch.Tensor) and bool(torch.isnan(x).any())


def device_of(device: torch.device | str | None) -> torch.device:
    """Where the cases live: ``device``, or the reader's device (``attnlab.get_device()``)."""
    return get_device() if device is None else torch.device(device)


class Described:
    """A callable input (a toy model, a sub-layer) that the report names in words instead of by address."""

    def __init__(self, fn: Callable, text: str) -> None:
        self.fn, self.text = fn, text

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return self.text
