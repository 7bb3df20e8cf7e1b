"""What the benchmarks share: the devices, the machine, timing, fresh-process sweeps, ratio tables and plots.

Every benchmark module defines ``TITLE``, ``run(quick=False) -> result`` (JSON-able; ``quick`` runs tiny sizes so
that the smoke test can run everything), ``report(result) -> markdown``, ``targets(result) -> [target rows]`` and
``figure(result) -> matplotlib Figure``. ``python -m bench`` runs them all (see ``bench/__main__.py``).
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Callable, Sequence

import matplotlib
import torch
from matplotlib.figure import Figure

from attnlab.measure import measure


def devices() -> list[torch.device]:
    """The CPU, and the GPU when one is present: the benchmarks measure both. ``ATTNLAB_BENCH_DEVICES=cuda`` (what
    ``make test-gpu`` sets) keeps only the devices named, comma-separated; naming one that is absent is an error."""
    present = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    named = os.environ.get("ATTNLAB_BENCH_DEVICES")
    if not named:
        return present
    wanted = [name.strip() for name in named.split(",") if name.strip()]
    missing = [name for name in wanted if name not in {d.type for d in present}]
    if missing:
        raise RuntimeError(f"ATTNLAB_BENCH_DEVICES={named}: no {', '.join(missing)} device here "
                           f"(present: {', '.join(d.type for d in present)})")
    return [d for d in present if d.type in wanted]


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as f:
            memory_gib = round(int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) / 2**20, 1)
    except (OSError, StopIteration):
        memory_gib = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": memory_gib,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "os": platform.platform(),
    }


def timed(fn: Callable[[], object], *, device: torch.device, repeats: int = 10, warmup: int = 3) -> dict[str, float]:
    """Wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs, synchronising CUDA: the median
    (``seconds``), the fastest and the slowest run (``seconds_min``, ``seconds_max``) and ``repeats``."""
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
    return spread(times, "seconds") | {"repeats": repeats}


def median_seconds(fn: Callable[[], object], *, device: torch.device, repeats: int = 10, warmup: int = 3) -> float:
    """The median of :func:`timed`."""
    return timed(fn, device=device, repeats=repeats, warmup=warmup)["seconds"]


def spread(values: Sequence[float], field: str) -> dict[str, float]:
    """``{field: median, field_min: min, field_max: max}`` of ``values`` (the median of an even count is the upper
    middle value, a measured one)."""
    ordered = sorted(values)
    return {field: ordered[len(ordered) // 2], f"{field}_min": ordered[0], f"{field}_max": ordered[-1]}


def with_spread(row: dict, field: str, scale: float = 1.0) -> str:
    """A table cell: the median of ``row[field]`` with its min-max range when the row recorded one, e.g.
    ``26.1 (25.3-27.9)``; rows from runs that predate spreads show the median alone."""
    cell = f"{scale * row[field]:,.3g}"
    if f"{field}_min" in row:
        cell += f" ({scale * row[field + '_min']:,.3g}-{scale * row[field + '_max']:,.3g})"
    return cell


def has_spread(rows: Sequence[dict], field: str = "seconds") -> bool:
    return bool(rows) and all(f"{field}_min" in r for r in rows)


def spread_note(rows: Sequence[dict], what: str, field: str = "seconds") -> str:
    """How to read the cells: the median and its range, or a note that this run recorded no range."""
    if has_spread(rows, field):
        return f"Each cell: the median ({what}) and, in parentheses, the fastest and slowest (or smallest and largest)."
    return ("This run predates the recording of the spread: each cell is one summary (the median of the runs, or, "
            "for points measured in a fresh process, the mean of that process's runs); rerun `make bench` for ranges.")


def sweep(setup_for: Callable[[int], str], runs: dict[str, str], sizes: Sequence[int], *, key: str, repeats: int,
          reference: str, processes: int = 1) -> list[dict]:
    """Every method of ``runs`` (source defining ``run()``) at every size on every device, each in ``processes``
    fresh processes (``attnlab.measure``) of ``repeats`` runs after one warm-up run: rows ``{"device", key,
    "method", "seconds", "seconds_min", "seconds_max", "peak_mib", "peak_mib_min", "peak_mib_max", "runs",
    "processes", "time_ratio", "memory_ratio"}``. Time is the median over every run of every process, memory the
    median over the processes (one peak each); the ratios divide medians by the ``reference`` method's on the same
    device at the same size."""
    rows = []
    for device in devices():
        for size in sizes:
            point = []
            for name, code in runs.items():
                measured = [measure(setup_for(size) + code, repeats=repeats, device=device.type)
                            for _ in range(processes)]
                times = [t for m in measured for t in m.get("times", [m["seconds"]])]
                point.append({"device": device.type, key: size, "method": name, **spread(times, "seconds"),
                              **spread([m["peak_mib"] for m in measured], "peak_mib"), "runs": len(times),
                              "processes": processes})
            ref = next(r for r in point if r["method"] == reference)
            for r in point:
                r["time_ratio"] = r["seconds"] / ref["seconds"]
                r["memory_ratio"] = r["peak_mib"] / max(ref["peak_mib"], 1e-3)
            rows += point
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(x: object) -> str:
        return f"{x:,.3g}" if isinstance(x, float) else str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows])


def sweep_table(rows: list[dict], *, key: str, reference: str) -> str:
    """Time and peak memory per device, size and method (medians with their ranges), with ratios of the medians
    against ``reference``."""
    return markdown_table(
        ["device", key, "method", "ms", "peak MiB", f"time / {reference}", f"memory / {reference}"],
        [[r["device"], r[key], r["method"], with_spread(r, "seconds", 1e3), with_spread(r, "peak_mib"),
          r["time_ratio"], r["memory_ratio"]] for r in rows])


def sweep_settings(rows: list[dict]) -> str:
    """How many processes and runs each point of a sweep took (empty for runs that did not record it)."""
    if not rows or "runs" not in rows[0]:
        return ""
    return (f"Each point: {rows[0]['processes']} fresh process(es), {rows[0]['runs']} timed runs in all after one "
            f"warm-up run per process. ")


def sweep_figure(rows: list[dict], *, key: str, title: str) -> Figure:
    """Time and peak memory against size, log-log, one line per method and device."""
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    lines = sorted({(r["device"], r["method"]) for r in rows})
    for (device, method), color in zip(lines, matplotlib.colormaps["tab10"].colors):
        points = [r for r in rows if (r["device"], r["method"]) == (device, method)]
        label = method if len({d for d, _ in lines}) == 1 else f"{method} ({device})"
        for ax, field, scale in ((axes[0], "seconds", 1e3), (axes[1], "peak_mib", 1.0)):
            ax.plot([r[key] for r in points], [max(scale * r[field], 1e-3) for r in points], "o-", color=color,
                    label=label)
    for ax, ylabel in zip(axes, ("time (ms)", "peak memory added (MiB)")):
        ax.set(xscale="log", yscale="log", xlabel=key, ylabel=ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def target(what: str, measured: float, goal: str, met: bool) -> dict[str, object]:
    """One row of the targets table."""
    return {"what": what, "measured": measured, "target": goal, "met": bool(met)}
