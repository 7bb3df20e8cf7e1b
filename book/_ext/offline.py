"""A Sphinx extension: the built book needs no network.

- MathJax comes from the built site: Sphinx's default loads it from cdn.jsdelivr.net, and a page opened without a
  network then shows every formula as raw LaTeX. The copy used is the one the PyPI package ``sphinx-mathjax-offline``
  (pinned in requirements.txt) ships, MathJax 3.2.2 with its fonts; it is copied to ``_static/mathjax/`` and
  ``mathjax_path`` points to its ``tex-mml-chtml.js`` (the same combined file as Sphinx's default).
- matplotlib's animations (the static widget twins, ``FuncAnimation.to_jshtml``) link font-awesome 4.4 from
  maxcdn.bootstrapcdn.com for their button icons. The theme already draws those icons from its own copy of Font
  Awesome (``_static/scripts/fontawesome.js``), so the link is dropped from the pages.
- After the build every page is checked: a script, stylesheet, font, image or frame loaded from outside the site is
  a warning, which the strict build (``-W``) turns into an error. Links (``<a href>``) may point anywhere.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "sphinx-mathjax-offline"
MATHJAX = "mathjax/tex-mml-chtml.js"  # relative to _static/
ANIMATION_ICONS = re.compile(r'<link[^>]*href="https?://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"[^>]*>\s*')
# Attributes that make a browser fetch something when the page loads (not <a href>, which waits for a click).
LOADED = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed|input)\b[^>]*\ssrc\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)"
    r"|<link\b(?=[^>]*\srel\s*=\s*[\"']?(?:stylesheet|preload|modulepreload|prefetch|icon|shortcut icon|manifest|"
    r"preconnect|dns-prefetch)\b)[^>]*\shref\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)"
    r"|url\(\s*[\"']?((?:https?:)?//[^\"')\s]+)"
    r"|@import\s+[\"']((?:https?:)?//[^\"']+)",
    re.IGNORECASE,
)


def mathjax_files() -> Path:
    """The folder holding ``mathjax/`` in the installed sphinx-mathjax-offline."""
    try:
        distribution = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise ExtensionError(f"the book serves MathJax itself from the package {PACKAGE}, which is not installed: "
                             "pip install -r requirements.txt") from None
    static = Path(distribution.locate_file("sphinx-mathjax-offline")) / "static"
    if not (static / MATHJAX).is_file():
        raise ExtensionError(f"{PACKAGE} {distribution.version} has no {MATHJAX} under {static}")
    return static


def external_loads(html: str) -> list[str]:
    """Every URL outside the site that ``html`` makes a browser load (scripts, stylesheets, fonts, images, frames)."""
    return [next(group for group in match.groups() if group) for match in LOADED.finditer(html)]


def _use_local_mathjax(app, config) -> None:
    config.mathjax_path = MATHJAX
    config.html_static_path = [*config.html_static_path, str(mathjax_files())]


def _drop_animation_icon_stylesheet(app, pagename, templatename, context, doctree) -> None:
    if "body" in context:
        context["body"] = ANIMATION_ICONS.sub("", context["body"])


def _check_pages(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in sorted(outdir.rglob("*.html")):
        if "_static" in page.relative_to(outdir).parts:
            continue
        for url in external_loads(page.read_text(encoding="utf-8")):
            logger.warning(f"{page.relative_to(outdir)} loads {url} from outside the site; the book must work "
                           "offline (book/_ext/offline.py)", type="offline", subtype="external")


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("html-page-context", _drop_animation_icon_stylesheet, priority=950)
    app.connect("build-finished", _check_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
