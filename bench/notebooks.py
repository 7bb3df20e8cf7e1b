"""Item 7 (first half): the execution time of every chapter, each top to bottom in a fresh kernel, one at a time.

This is what a reader waits for with "Run all" (torch's default number of threads, no other work running), and what
`make notebooks` repeats. Targets: <= 90 s per notebook, <= 10 minutes in all.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from matplotlib.figure import Figure
from nbclient import NotebookClient
from tqdm.auto import tqdm

from bench.common import markdown_table, target

TITLE = "Execution time of every chapter"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(path: Path) -> float:
    """Seconds to execute the notebook at ``path`` in a new kernel (its outputs are discarded)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def run(quick: bool = False) -> dict:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))[:1 if quick else None]
    return {"rows": [{"notebook": p.stem, "seconds": execute(p)} for p in tqdm(paths, desc="notebooks")]}


def report(result: dict) -> str:
    rows = result["rows"]
    total = sum(r["seconds"] for r in rows)
    return ("Settings: each chapter executed once, top to bottom, in a fresh kernel, with torch's default number of "
            "threads and nothing else running (one run per chapter: no spread).\n\n"
            + markdown_table(["chapter", "seconds"], [[r["notebook"], r["seconds"]] for r in rows] + [["all", total]]))


def targets(result: dict) -> list[dict]:
    rows = result["rows"]
    slowest = max(rows, key=lambda r: r["seconds"])
    total = sum(r["seconds"] for r in rows)
    return [target(f"slowest chapter ({slowest['notebook']}), seconds", slowest["seconds"], "<= 90",
                    slowest["seconds"] <= 90),
            target(f"all {len(rows)} chapters, seconds", total, "<= 600", total <= 600)]


def figure(result: dict) -> Figure:
    rows = result["rows"]
    fig = Figure(figsize=(7, 0.3 * len(rows) + 1.2))
    ax = fig.subplots()
    ax.barh([r["notebook"] for r in rows][::-1], [r["seconds"] for r in rows][::-1])
    ax.axvline(90, color="k", ls="--", lw=1, label="target: 90 s per chapter")
    ax.set(xlabel="seconds, top to bottom in a fresh kernel")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
