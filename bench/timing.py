"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time

from attnlab.measure import measure
from collections.abc import Callable

import torch


def median_seconds(fn: Callable[[], object], *, device: torch.device, repeats: int = 10, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs, synchronising CUDA."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def sweep(setup_for: Callable[[int], str], runs: dict[str, str], sizes, *, key: str, repeats: int) -> list[dict]:
    """Measure every method of ``runs`` (source defining ``run()``) at every size, each in a fresh process
    (``attnlab.measure``): rows ``{key: size, "method", "seconds", "peak_mib"}``."""
    rows = []
    for size in sizes:
        for name, code in runs.items():
            rows.append({key: size, "method": name, **measure(setup_for(size) + code, repeats=repeats)})
    return rows


def print_ratios(rows: list[dict], *, key: str, reference: str) -> None:
    """A table of time and peak memory with ratios against the ``reference`` method at the same size."""
    print(f"{key:>6} {'method':>22} {'ms':>9} {'peak MiB':>9} {'time ratio':>11} {'memory ratio':>13}")
    for r in rows:
        ref = next(x for x in rows if x[key] == r[key] and x["method"] == reference)
        print(f"{r[key]:6d} {r['method']:>22} {1e3 * r['seconds']:9.1f} {r['peak_mib']:9.1f} "
              f"{r['seconds'] / ref['seconds']:11.1f} {r['peak_mib'] / max(ref['peak_mib'], 1e-3):13.1f}")
