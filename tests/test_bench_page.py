"""The Benchmarks page: its tables come from the committed results through the generator, show every benchmark's
settings and the spread beside each median, and count only like-for-like ratios as targets. Nothing is timed."""

import copy
import json
import re

import pytest
from _book import ROOT

from bench import __main__ as bench
from bench import common, mha

RESULTS = ROOT / "book" / "benchmarks" / "results.json"


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(RESULTS.read_text())


def test_spread_is_the_median_and_the_extremes():
    assert common.spread([3.0, 1.0, 2.0], "seconds") == {"seconds": 2.0, "seconds_min": 1.0, "seconds_max": 3.0}
    assert common.spread([4.0, 1.0, 3.0, 2.0], "x")["x"] == 3.0  # a measured value, not an average of two
    assert common.with_spread({"seconds": 0.0261, "seconds_min": 0.0253, "seconds_max": 0.0279}, "seconds", 1e3) \
        == "26.1 (25.3-27.9)"
    assert common.with_spread({"seconds": 0.0261}, "seconds", 1e3) == "26.1"  # an old result: the median alone


def test_timed_records_every_run():
    calls = []
    measured = common.timed(lambda: calls.append(1), device=common.devices()[0], repeats=5, warmup=2)
    assert len(calls) == 7 and measured["repeats"] == 5
    assert measured["seconds_min"] <= measured["seconds"] <= measured["seconds_max"]


def test_the_page_is_what_the_generator_makes_of_the_committed_results(committed):
    assert (ROOT / "book" / "benchmarks" / "results.md").read_text() == bench.render(committed)


def test_every_section_states_its_settings_and_how_to_read_its_cells(committed):
    page = bench.render(committed)
    sections = page.split("\n## ")[2:]  # after the machine and the targets
    assert len(sections) == len(bench.BENCHMARKS)
    for section in sections:
        assert "Settings:" in section, section[:80]
    assert "B = 16, d_model = 256, 8 heads, float32, forward + backward" in page  # the MHA configuration


def test_the_spread_appears_beside_every_median_once_recorded(committed):
    with_spread = copy.deepcopy(committed)
    rows = with_spread["benchmarks"]["local_attention"]["result"]["rows"]
    for r in rows:
        r |= {"seconds_min": 0.9 * r["seconds"], "seconds_max": 1.2 * r["seconds"], "peak_mib_min": r["peak_mib"],
              "peak_mib_max": 1.1 * r["peak_mib"], "runs": 6, "processes": 3}
    section = bench.render(with_spread).split("## Local 1-D attention")[1].split("\n## ")[0]
    table = [line for line in section.splitlines() if line.startswith("| cpu")]
    assert len(table) == len(rows) and all(len(re.findall(r"\(\S+-\S+\)", line)) == 2 for line in table)
    assert "3 fresh process(es), 6 timed runs" in section and "predates" not in section
    old = bench.render(committed).split("## Local 1-D attention")[1].split("\n## ")[0]
    assert "predates the recording of the spread" in old  # an old result says that it has no spread


def test_only_like_for_like_ratios_are_targets(committed):
    result = committed["benchmarks"]["mha"]["result"]
    names = [t["what"] for t in mha.targets(result)]
    assert names and all("need_weights=False" in n for n in names)
    table = bench.render(committed).split("## Targets")[1].split("\n## ")[0]
    assert "default" not in table
    assert "absolute: seconds on this machine" in table and "ratio, same run" in table
