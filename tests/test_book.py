"""The rendered book: a strict full build, then checks of the HTML it produced."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from _book import NOTEBOOKS, ROOT, config, toc_files


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--all", "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "build succeeded" in result.stdout
    return out / "_build" / "html"


def pages(html: Path) -> list[Path]:
    return [html / f"{name}.html" for name in toc_files()]


def test_every_toc_entry_has_a_page_and_the_index_redirects(html):
    for page in pages(html):
        assert page.exists(), page
    assert "book/intro.html" in (html / "index.html").read_text()


def test_images_and_internal_links_resolve(html):
    for page in pages(html):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r'(?:src|href)="([^"#?]+)[^"]*"', text):
            if re.match(r"[a-z]+:", target) or target.startswith("//"):
                continue  # external
            assert (page.parent / target).resolve().exists(), f"{page.name}: broken {target}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_page_has_colab_button_figures_static_widgets_and_no_setup_cell(html, notebook):
    text = (html / "notebooks" / f"{notebook.stem}.html").read_text(encoding="utf-8")
    repo = config()["repository"]["url"].removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook.name}" in text
    assert "google.colab" not in text  # the setup cell is removed from the book
    assert len(re.findall(r'<img[^>]+src="\.\./_images/', text)) >= 1
    if "static=True" in notebook.read_text(encoding="utf-8"):
        assert 'type="range"' in text and "frames[0]" in text  # the static twin's frame slider
    assert "application/vnd.jupyter.widget-view+json" not in text


def test_api_reference_documents_every_public_module_from_its_docstrings(html):
    import importlib
    import inspect

    import attnlab

    text = (html / "book" / "api.html").read_text(encoding="utf-8")
    modules = [name for name in attnlab.__all__ if inspect.ismodule(getattr(attnlab, name))
               and name != "data"]  # attnlab.data: its modules have their own sections
    for name in modules:
        module = importlib.import_module(f"attnlab.{name}")
        public = [n for n, obj in vars(module).items() if not n.startswith("_") and getattr(obj, "__module__", None)
                  == module.__name__ and (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__doc__]
        assert public, name
        for member in public:
            assert f'id="attnlab.{name}.{member}"' in text, f"attnlab.{name}.{member} is missing from the API page"
    assert text.count('href="../notebooks/') >= len(modules)  # each module links to the chapters that teach it
