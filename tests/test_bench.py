"""Smoke test: `python -m bench --quick` runs every benchmark at a tiny size and writes the JSON, the figures and
the results page's tables, so that none can rot. No timing is asserted (the brief: speed goals live in bench/)."""

import json
import math
import struct

from _book import ROOT

from bench import __main__ as bench


def test_quick_run_writes_json_figures_and_the_results_page(tmp_path):
    results = bench.main(["--quick", "--out", str(tmp_path)])
    assert set(results["benchmarks"]) == set(bench.BENCHMARKS) and results["quick"]
    for entry in results["benchmarks"].values():
        assert {"cpu", "logical_cores", "torch", "gpu", "date"} <= set(entry["machine"])
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["benchmarks"].keys() == results["benchmarks"].keys()
    page = (tmp_path / "results.md").read_text()
    for name, module in bench.BENCHMARKS.items():
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24])[0] > 100  # a real image
        assert f"## {module.TITLE}" in page and f"]({name}.png)" in page
        for t in written["benchmarks"][name]["targets"]:
            assert set(t) == {"what", "measured", "target", "met"} and isinstance(t["met"], bool)
    measured = [r for entry in written["benchmarks"].values() for r in entry["result"].get("rows", [])]
    assert measured and all(math.isfinite(v) and v >= 0 for r in measured for k, v in r.items()
                            if isinstance(v, float))


def test_the_committed_results_are_a_full_run_of_every_benchmark():
    out = ROOT / "book" / "benchmarks"
    results = json.loads((out / "results.json").read_text())
    assert not results["quick"] and set(results["benchmarks"]) == set(bench.BENCHMARKS)
    assert (out / "results.md").read_text().startswith("## The machine")
    assert all((out / f"{name}.png").exists() for name in bench.BENCHMARKS)
    assert "{include} benchmarks/results.md" in (ROOT / "book" / "benchmarks.md").read_text()
