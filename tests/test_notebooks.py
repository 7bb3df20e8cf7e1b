"""The chapters' structure (CONTRIBUTING.md, "Notebooks"): executed, in order, listed, with the shared setup cell."""

import re

import pytest

from _book import NOTEBOOKS, code_cells, config, load, source, tags, toc_files

IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_chapters_numbered_in_reading_order_and_listed_in_the_toc():
    assert NOTEBOOKS, "no notebooks found"
    numbers = [int(re.fullmatch(r"(\d\d)_[a-z0-9_]+", p.stem).group(1)) for p in NOTEBOOKS]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))  # unique; gaps keep places for chapters to come
    listed = [f for f in toc_files() if f.startswith("notebooks/")]
    assert listed == [f"notebooks/{p.stem}" for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_cell_was_executed_in_order_with_outputs_committed(path):
    cells = code_cells(load(path))
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), "re-execute top to bottom (make notebooks) and commit"
    assert any(cell["outputs"] for cell in cells), "outputs were not committed"
    errors = [o for cell in cells for o in cell["outputs"] if o["output_type"] == "error"]
    assert not errors


def test_setup_cell_is_identical_everywhere_and_installs_from_the_configured_repository():
    first_cells = [code_cells(load(p))[0] for p in NOTEBOOKS]
    setup = source(first_cells[0])
    for path, cell in zip(NOTEBOOKS, first_cells):
        assert source(cell) == setup, f"{path.name}: setup cell differs from {NOTEBOOKS[0].name}'s"
        assert "remove-cell" in tags(cell), f"{path.name}: setup cell must be tagged remove-cell"
    for line in ('"google.colab" in sys.modules', "import attnlab as al", "device = al.get_device()",
                 "al.seed_everything(0)"):
        assert line in setup
    urls = re.findall(r"git\+(https://[^\s\"']+)", setup)
    assert urls == [config()["repository"]["url"]]
    for path in NOTEBOOKS:  # a chapter that installs more (an extra) installs from the same repository
        for cell in code_cells(load(path)):
            assert set(re.findall(r"git\+(https://[^\s\"']+)", source(cell))) <= set(urls), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_live_widget_has_a_static_twin_and_is_hidden_from_the_book(path):
    cells = code_cells(load(path))
    live = [c for c in cells if "al.widgets." in source(c) and "static=True" not in source(c)]
    static = [c for c in cells if "al.widgets." in source(c) and "static=True" in source(c)]
    assert len(live) == len(static)
    for cell in live:
        assert {"remove-output", "nbval-ignore-output"} <= set(tags(cell)), source(cell)
    for cell in static:
        assert "remove-output" not in tags(cell) and "remove-cell" not in tags(cell), source(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_title_is_plain_text(path):
    """The title is the navigation entry and the browser tab's title, where LaTeX is shown raw: no math in it."""
    first = next(c for c in load(path)["cells"] if c["cell_type"] == "markdown")
    title = "".join(first["source"]).splitlines()[0]
    assert title.startswith("# ") and "$" not in title and "\\" not in title, title


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_has_the_required_sections(path):
    markdown = "\n".join("".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    for heading in ("What you will learn", "## Summary", "## Exercises", "용어", "## References", "{cite"):
        assert heading in markdown, f"{path.name}: missing {heading!r}"
    assert ":class: dropdown" in markdown  # exercise solutions are hidden
    assert path.stat().st_size < 3_000_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_live_widget_state_is_committed(path):
    """Live widgets are hidden in the book; their saved state (images included) would only bloat every page and
    pull a widget manager from a CDN. `make notebooks` does not store it."""
    assert "widgets" not in load(path)["metadata"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_control_characters_in_the_text(path):
    """A LaTeX command written into a notebook through a non-raw Python string loses its backslash: ``\\beta`` becomes a
    backspace and ``eta``, and the formula renders wrong without any warning. No cell may hold a control character."""
    for index, cell in enumerate(load(path)["cells"]):
        found = re.findall(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", source(cell))
        assert not found, f"cell {index}: control characters {found} (a lost backslash?)"
