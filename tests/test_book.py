"""The rendered book: a strict full build, then checks of the HTML it produced."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from _book import NOTEBOOKS, ROOT, config, extension, toc_files


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """Both editions, as `make book` builds them: English in html/, Korean (language ko, the catalogues of
    locale/ko/LC_MESSAGES) in html/ko/; each a strict build (-W -n)."""
    import shutil

    from tools import i18n

    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    korean = i18n.write_config(out / "ko-config")
    for path_output, extra in ((out, []), (out / "ko", ["--config", str(korean)])):
        result = subprocess.run(
            [str(jupyter_book), "build", str(ROOT), "--all", "-W", "-n", "--keep-going", "--path-output",
             str(path_output), *extra], capture_output=True, text=True, timeout=900,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "build succeeded" in result.stdout
    shutil.copytree(out / "ko" / "_build" / "html", out / "_build" / "html" / "ko")
    return out / "_build" / "html"


EDITIONS = ["", "ko/"]  # the English edition's root and the Korean one's, relative to html/


def pages(html: Path) -> list[Path]:
    return [html / edition / f"{name}.html" for edition in EDITIONS for name in toc_files()]


def test_every_toc_entry_has_a_page_in_both_editions_and_the_index_redirects(html):
    for page in pages(html):
        assert page.exists(), page
    for edition in EDITIONS:
        assert "book/intro.html" in (html / edition / "index.html").read_text()


def test_every_page_links_to_its_twin_in_the_other_language(html):
    """The language switch (book/_ext/language_switch.py) on every page of both editions leads to the same page in
    the other language, and the Korean pages are Korean: lang="ko", the Korean title."""
    from tools import i18n

    for name in toc_files():
        english, korean = html / f"{name}.html", html / "ko" / f"{name}.html"
        for page, twin, label in ((english, korean, "한국어"), (korean, english, "English")):
            text = page.read_text(encoding="utf-8")
            switch = re.search(r'<p class="language-switch"><a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', text)
            assert switch and switch.group(2) == label, f"{page.relative_to(html)}: no switch to {label}"
            assert (page.parent / switch.group(1)).resolve() == twin.resolve(), (page, switch.group(1))
        text = korean.read_text(encoding="utf-8")
        assert '<html lang="ko"' in text and i18n.KO_TITLE in text, name


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
    """book/api.md (its {attnlab-modules} directive, book/_ext/api_modules.py): a section for every module of attnlab,
    found on disk with pkgutil -- not through the package's attributes, where the function attnlab.attention hides
    the module -- linking the chapters its docstring's "Book:" line names; every public function and class a module
    defines is documented there, with a "[source]" link to its page of highlighted source (sphinx.ext.viewcode)."""
    import importlib
    import inspect
    import pkgutil

    import attnlab

    text = (html / "book" / "api.html").read_text(encoding="utf-8")
    names = sorted(info.name for info in pkgutil.walk_packages(attnlab.__path__, "attnlab.")
                   if not any(part.startswith("_") for part in info.name.split(".")[1:]))
    assert {"attnlab.attention", "attnlab.multihead", "attnlab.tagger", "attnlab.data.sequences"} <= set(names)
    headings = list(re.finditer(r'<h2><code class="[^"]*"><span class="pre">(attnlab[\w.]*)</span>', text))
    assert sorted(heading.group(1) for heading in headings) == names, "one section per module, no other"
    sections = {heading.group(1): text[heading.start():(headings[i + 1].start() if i + 1 < len(headings) else None)]
                for i, heading in enumerate(headings)}
    chapters = {notebook.stem for notebook in NOTEBOOKS}
    for name in names:
        module = importlib.import_module(name)  # by name: never getattr(attnlab, ...)
        section = sections[name]
        assert f'id="module-{name}"' in section, f"{name}: automodule did not document it"
        book = re.search(r"^\s*Book:.*?(?=\n\s*\n|\Z)", module.__doc__ or "", re.MULTILINE | re.DOTALL)
        assert book, f"{name}: its docstring needs a line 'Book: chapter N (notebooks/NN_slug.ipynb).'"
        named = re.findall(r"notebooks/(\w+)\.ipynb", book.group())
        assert named or "used by every chapter" in book.group(), f"{name}: {book.group()!r} names no chapter"
        for stem in named:
            assert stem in chapters, f"{name}: its docstring names notebooks/{stem}.ipynb, which does not exist"
            assert f'href="../notebooks/{stem}.html' in section, f"{name}: no link to the chapter {stem}"
        public = [member for member, obj in vars(module).items() if not member.startswith("_")
                  and (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == name]
        for member in public:
            assert f'id="{name}.{member}"' in section, (f"{name}.{member} is missing from the API page (a public "
                                                        "function or class needs a docstring)")
            assert f'href="../_modules/{name.replace(".", "/")}.html#{member}"' in section, \
                f"{name}.{member} has no [source] link"
        if public:
            assert (html / "_modules" / f"{name.replace('.', '/')}.html").is_file(), name
    assert text.count('<span class="viewcode-link"><span class="pre">[source]</span></span>') >= len(names)


def test_no_page_loads_anything_from_outside_the_site(html):
    """MathJax is served from the site (book/_ext/offline.py: sphinx-mathjax-offline's copy), the widget twins' CDN
    stylesheet is dropped: no script, stylesheet, font, image or frame of any page comes from a CDN."""
    offline = extension("offline")
    assert offline.external_loads('<script src="https://cdn.x/a.js"></script><link href="//c/f.css" rel="stylesheet">'
                                  '<a href="https://colab.research.google.com/x">Colab</a>') == [
        "https://cdn.x/a.js", "//c/f.css"]  # links are not loads
    assert (html / "_static" / offline.MATHJAX).is_file()
    math_pages = 0
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.relative_to(html).parts:
            continue
        text = page.read_text(encoding="utf-8")
        assert not offline.external_loads(text), f"{page.relative_to(html)}: {offline.external_loads(text)}"
        if 'class="math' in text:
            math_pages += 1
            assert re.search(r'<script[^>]+src="(\.\./)*_static/mathjax/tex-mml-chtml\.js', text), page.name
    assert math_pages >= len(NOTEBOOKS)


# ---- The built book in a real browser, driven by playwright (tools/find_browser.py; `make test` installs one) ----


def block_the_network(context, local: str, errors: list[str]) -> None:
    """Abort every request of ``context`` whose URL does not start with ``local``, recording it in ``errors``: the
    book must work offline, so nothing may leave the site."""
    def handle(route):
        if route.request.url.startswith(local):
            route.continue_()
        else:
            errors.append(f"left the site: {route.request.url}")
            route.abort()

    context.route("**/*", handle)


def record_errors(page, local: str, errors: list[str]) -> None:
    """Collect in ``errors`` the JavaScript exceptions of ``page`` and every failed request for one of its files."""
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: errors.append(f"failed: {request.url} ({request.failure})")
            if request.url.startswith(local) else None)
    page.on("response", lambda response: errors.append(f"HTTP {response.status}: {response.url}")
            if response.url.startswith(local) and response.status >= 400 else None)


@pytest.fixture(scope="module")
def chromium():
    """A headless chromium driven by playwright: $ATTNLAB_BROWSER, Debian's chromium, Chrome or Chromium, else
    playwright's own (tools/find_browser.py). Never skipped: without one, one line saying what to install."""
    from playwright.sync_api import sync_playwright

    from tools import find_browser

    with sync_playwright() as playwright:
        try:
            executable = find_browser.for_playwright(playwright)
        except find_browser.BrowserNotFound as missing:
            raise pytest.fail.Exception(str(missing), pytrace=False) from None
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser(html, chromium):
    """A local HTTP server for the built book and a chromium page: ``(page, base_url, errors)``, where ``errors``
    collects the JavaScript exceptions of the current page, every request for one of the book's own files that
    failed, and every request that tried to leave the site (all are blocked: the book must work offline)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    errors: list[str] = []
    context = chromium.new_context()
    block_the_network(context, base, errors)
    page = context.new_page()
    record_errors(page, base, errors)
    yield page, base, errors
    context.close()
    server.shutdown()


@pytest.fixture(scope="module")
def disk(html, chromium):
    """The built book opened from disk (file:// pages, no server) with every request off the disk blocked:
    ``(page, root_uri, errors)``, ``errors`` as for ``browser``."""
    root = html.as_uri() + "/"
    errors: list[str] = []
    context = chromium.new_context()
    block_the_network(context, "file://", errors)
    page = context.new_page()
    record_errors(page, "file://", errors)
    yield page, root, errors
    context.close()


def search(page, root: str, query: str) -> None:
    """Open the book's search page for ``query`` and wait until Sphinx has finished (it adds the results one by one
    on a timer and then writes "Search finished, found N page(s) ...", in the Korean edition "검색이 완료되었으며,
    ...")."""
    page.goto(f"{root}search.html?q={query}", wait_until="load")
    page.wait_for_function("() => /Search finished|검색이 완료/.test((document.querySelector("
                           "'#search-results .search-summary') || {}).innerText)", timeout=30000)


def test_search_finds_pages(browser):
    page, base, _ = browser
    search(page, base, "attention")
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


# ---- Offline: the book opened from disk, every request that leaves the disk blocked ----

TYPESET = r"""() => {
    const math = [...document.querySelectorAll('.math')];
    const raw = [];
    const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.parentElement.closest('pre, code, script, style, textarea, mjx-container, .highlight')) continue;
        if (/\\[()\[\]]|\$\$/.test(node.textContent)) raw.push(node.textContent.trim().slice(0, 60));
    }
    return {math: math.length, untypeset: math.filter(m => !m.querySelector('mjx-container')).length,
            containers: document.querySelectorAll('mjx-container').length, raw: raw.slice(0, 3),
            fonts: [...document.fonts].filter(f => f.family.startsWith('MJXTEX') && f.status === 'loaded').length};
}"""


def ink(png: bytes) -> float:
    """The fraction of clearly dark pixels in a screenshot."""
    import io

    from PIL import Image

    gray = Image.open(io.BytesIO(png)).convert("L")
    return sum(gray.histogram()[:128]) / (gray.width * gray.height)


ENGLISH_LEFT = r"""() => [...document.querySelectorAll('main article :is(p, li, td, th, h1, h2, h3, dt)')]
    .filter(e => !e.closest('.cell_output, .output, dl.py, .bibliography, .citation, .highlight, pre, .language-switch'))
    .filter(e => !(e.closest('tr') && /[\uac00-\ud7a3]/.test(e.closest('tr').innerText)))  // bilingual tables
    .filter(e => !e.closest('section[id^="attnlab-"]'))  // the API page's module sections: docstrings
    .map(e => e.innerText.replace(/\s+/g, ' ').trim())
    .filter(t => !/[\uac00-\ud7a3]/.test(t) && (t.match(/\b[A-Za-z]{3,}\b/g) || []).length >= 6)"""


@pytest.mark.parametrize("edition", EDITIONS, ids=["english", "korean"])
def test_every_page_from_disk_typesets_its_math_with_nothing_leaving_the_disk(disk, tmp_path, edition):
    """Opened from disk with the network blocked, in both editions: every page loads with zero failed or outgoing
    requests and no broken image, every formula is typeset by the site's own MathJax (its output elements present, its fonts loaded, no
    raw \\( or \\[ left in the text) and visibly drawn (a screenshot of the first formula has ink; saved in the
    test's tmp_path). In the Korean edition, no paragraph, list item, table cell or heading of the text (outputs,
    docstrings, the bibliography and the English column of bilingual tables aside) is left in English."""
    page, root, errors = disk
    with_math = 0
    for name in toc_files():
        errors.clear()
        page.goto(f"{root}{edition}{name}.html", wait_until="load")
        if edition:
            english = page.evaluate(ENGLISH_LEFT)
            assert not english, f"{edition}{name}: left in English: {english[:3]}"
        if page.locator(".math").count():
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=30000)
            page.evaluate("() => MathJax.startup.promise")
        state = page.evaluate(TYPESET)
        assert not errors, f"{name}: {errors}"
        broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0)"
                                                  ".map(i => i.src.slice(0, 80))")
        assert not broken, f"{name}: broken images {broken}"
        assert not state["raw"], f"{name}: raw LaTeX left in the page: {state['raw']}"
        if not state["math"]:
            continue
        with_math += 1
        assert state["untypeset"] == 0 and state["containers"] >= state["math"], f"{name}: {state}"
        assert state["fonts"] >= 1, f"{name}: MathJax's fonts did not load from the site: {state}"
        formula = page.locator("div.math mjx-container").first if page.locator("div.math").count() else \
            page.locator("mjx-container").first
        formula.scroll_into_view_if_needed()
        shot = formula.screenshot(path=str(tmp_path / f"{edition.strip('/')}{name.replace('/', '_')}.png"))
        box = formula.bounding_box()
        assert box and box["width"] > 5 and box["height"] > 5 and ink(shot) > 0.01, f"{name}: formula not drawn"
    assert with_math >= len(NOTEBOOKS), with_math


def test_search_from_disk_finds_pages_without_the_network(disk):
    """Search needs no server and no network. (Chrome refuses fetch() between file:// pages, so the excerpts under
    each result stay empty from disk; served over HTTP they load: test_search_finds_pages.)"""
    page, root, errors = disk
    errors.clear()
    search(page, root, "attention")
    assert page.locator("#search-results li").count() >= 10
    assert not [e for e in errors if not (e.startswith("failed: file://") or "Failed to fetch" in e)], errors


def test_search_over_http_loads_nothing_from_outside_and_fails_no_request(browser):
    page, base, errors = browser
    page.wait_for_load_state("networkidle")  # nothing of the previous test's page left to cut off
    errors.clear()
    search(page, base, "softmax")
    assert page.locator("#search-results li").count() >= 3
    page.wait_for_load_state("networkidle")
    assert not errors, errors


HANGUL = re.compile("[\uac00-\ud7a3]")


def korean_font_families() -> set[str] | None:
    """The font families fontconfig knows with Hangul (`fc-list :lang=ko`), or None where there is no fc-list."""
    import shutil

    if not shutil.which("fc-list"):
        return None
    listed = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=60).stdout
    return {family.strip() for line in listed.splitlines() for family in line.split(",") if family.strip()}


@pytest.mark.parametrize("edition", EDITIONS, ids=["english", "korean"])
def test_hangul_renders_in_a_real_font(browser, html, edition):
    """Every element with Korean text (the glossary boxes, chapter 4's sentences, the whole Korean edition) is drawn
    in a font that has Hangul, not as empty boxes: chromium's own report of the fonts it used
    (CSS.getPlatformFontsForNode), for up to 20 elements of each page. All pages share one stylesheet, so a sample
    of pages: the intro, the glossary and every third chapter (in the English edition, the chapters' 용어 boxes and
    chapter 4's Korean sentences). `make test` installs a font where fontconfig has none (Debian's
    fonts-noto-cjk)."""
    page, base, _ = browser
    html, base = html / edition, base + edition
    names = [n for i, n in enumerate(toc_files()) if n in ("book/intro", "book/glossary", "notebooks/04_alignment_functions")
             or (n.startswith("notebooks/") and i % 3 == 1)]
    korean = korean_font_families()
    assert korean is None or korean, ("no font with Hangul installed: apt-get install fonts-noto-cjk "
                                      "(`make test` does it)")
    checked = 0
    for name in names:
        text = re.sub(r'<p class="language-switch">.*?</p>', "", (html / f"{name}.html").read_text(encoding="utf-8"))
        if not HANGUL.search(text):
            continue
        page.goto(f"{base}{name}.html", wait_until="load")
        marked = page.evaluate("""() => {
            const found = [...document.querySelectorAll('main :is(p, td, th, li, span)')]
                .filter(e => /[\uac00-\ud7a3]/.test([...e.childNodes].filter(n => n.nodeType === 3)
                                                     .map(n => n.textContent).join('')));
            found.forEach(e => e.setAttribute('data-hangul', ''));
            return found.length;
        }""")
        assert marked, f"{name}: Korean in the HTML but no element shows it"
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        document = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        latin = {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": cdp.send(
            "DOM.querySelector", {"nodeId": document, "selector": "main h1"})["nodeId"]})["fonts"]}
        for node in cdp.send("DOM.querySelectorAll", {"nodeId": document,
                                                      "selector": "[data-hangul]"})["nodeIds"][:20]:
            used = {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}
            text = cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"][:80]
            # With fontconfig: a family it lists for Korean. Elsewhere: a family besides the one of Latin headings
            # (without a Hangul font, chromium draws the boxes in the Latin font and reports only that one).
            assert used & korean if korean is not None else used - latin, f"{name}: {text!r} drawn in {used}"
            checked += 1
        cdp.detach()
    assert checked >= 10, checked


# ---- The Korean edition in the browser: the switch, and search that finds Korean words with their particles ----

def test_the_language_switch_leads_both_ways_in_the_browser(browser):
    page, base, errors = browser
    page.wait_for_load_state("networkidle")  # nothing of the previous test's page left to cut off
    errors.clear()
    page.goto(f"{base}notebooks/07_scaled_dot_product_attention.html", wait_until="networkidle")
    page.click("p.language-switch a")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{base}ko/notebooks/07_scaled_dot_product_attention.html"
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.click("p.language-switch a")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{base}notebooks/07_scaled_dot_product_attention.html"
    assert not errors, errors


def results(page) -> list[str]:
    return page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.href)")


def test_korean_search_finds_words_whatever_particle_follows(browser):
    """book/_ext/korean_search.py: the query's words lose one particle as the index's did, in the same way (the
    JavaScript stemmer agrees with the Python one), so 어텐션을 finds what 어텐션 finds, and a glossary term finds
    the glossary and the chapters that use it."""
    korean_search = extension("korean_search")
    page, base, errors = browser
    page.wait_for_load_state("networkidle")  # nothing of the previous test's page left to cut off
    errors.clear()
    words = ["어텐션", "어텐션은", "어텐션에서는", "쿼리를", "키는", "길이", "softmax를", "attentions", "트랜스포머의"]
    search(page, base + "ko/", "어텐션")
    page.wait_for_load_state("networkidle")
    python = korean_search.SearchKorean({})
    assert page.evaluate("words => words.map(w => new Stemmer().stemWord(w))", words) == [python.stem(w)
                                                                                         for w in words]
    found = {}
    for query in ("어텐션", "어텐션을", "쿼리를", "셀프 어텐션은", "트랜스포머의"):
        search(page, base + "ko/", query)
        found[query] = results(page)
        page.wait_for_load_state("networkidle")  # the excerpts of the results, fetched page by page
    assert sorted(found["어텐션"]) == sorted(found["어텐션을"]) and len(found["어텐션"]) >= 15
    for query in ("쿼리를", "셀프 어텐션은", "트랜스포머의"):
        assert f"{base}ko/book/glossary.html" in [url.split("?")[0] for url in found[query]], query
        assert sum("/ko/notebooks/" in url for url in found[query]) >= 3, (query, found[query])
    assert not errors, errors
