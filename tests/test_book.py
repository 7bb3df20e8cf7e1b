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
    assert "application/vnd.jupyter.widget-state+json" not in text  # no saved state of hidden live widgets


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


# ---- The built book in a real browser: Debian's chromium driven by playwright (`make test` installs both) ----

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser(html):
    """A local HTTP server for the built book and a headless chromium page: ``(page, base_url, errors)``, where
    ``errors`` collects the JavaScript exceptions of the current page and every request for one of the book's own
    files that failed (requests to outside CDNs may fail offline and are allowed)."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"the browser test needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    errors: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page()
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}")
                if request.url.startswith(base) else None)
        page.on("response", lambda response: errors.append(f"HTTP {response.status}: {response.url}")
                if response.url.startswith(base) and response.status >= 400 else None)
        yield page, base, errors
        chromium.close()
    server.shutdown()


def test_every_page_loads_in_a_browser_without_errors_or_broken_images(browser):
    page, base, errors = browser
    for name in toc_files():
        errors.clear()
        page.goto(f"{base}{name}.html", wait_until="load")
        broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0)"
                                                  ".map(i => i.src.slice(0, 80))")
        assert not broken, f"{name}: broken images {broken}"
        assert not errors, f"{name}: {errors}"


def test_search_finds_pages(browser):
    page, base, _ = browser
    page.goto(f"{base}search.html?q=attention", wait_until="load")
    # Sphinx adds the results one by one on a timer and then writes "Search finished, found N page(s) ...".
    page.wait_for_function("() => (document.querySelector('#search-results .search-summary') || {}).innerText"
                           "?.includes('Search finished')", timeout=30000)
    assert page.locator("#search-results li").count() >= 10


def test_every_static_widget_twin_responds_to_its_slider(browser):
    page, base, _ = browser
    twins = 0
    for notebook in NOTEBOOKS:
        page.goto(f"{base}notebooks/{notebook.stem}.html", wait_until="load")
        sliders = page.locator("input.anim-slider")
        for i in range(sliders.count()):
            slider = sliders.nth(i)
            image = page.locator(f"#_anim_img{slider.get_attribute('id').removeprefix('_anim_slider')}")
            before = image.get_attribute("src")
            slider.evaluate("s => { s.value = s.max; s.dispatchEvent(new Event('input')); }")
            assert image.get_attribute("src") != before, f"{notebook.stem}: twin {i} did not change frame"
            twins += 1
    assert twins >= sum("static=True" in n.read_text(encoding="utf-8") for n in NOTEBOOKS)


def test_every_page_is_reachable_from_the_navigation(browser):
    page, base, _ = browser
    page.goto(f"{base}book/intro.html", wait_until="load")
    links = page.eval_on_selector_all("nav.bd-links a", "links => links.map(a => a.href)")
    for name in toc_files()[1:]:
        assert f"{base}{name}.html" in links, f"{name} is not in the navigation"
