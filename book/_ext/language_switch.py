"""A Sphinx extension: a link on every page to the same page in the other edition, English or Korean.

The English book is built into ``_build/html/`` and the Korean one (language ``ko``, from the catalogues in
``locale/ko/``) into ``_build/html/ko/`` (``make book``). A page ``notebooks/03_bahdanau_attention`` of the English
edition links to ``ko/notebooks/03_bahdanau_attention.html``, and the Korean page back to the English one, by
relative paths, so that the switch works offline and opened from disk. The link is plain HTML at the top of the
article (no script), and the page also declares its twin with ``<link rel="alternate" hreflang>``.
"""

from __future__ import annotations

import html

#: The other edition of each language: its language code, the link's text (in that language) and the path from this
#: edition's root to the other edition's root.
OTHER = {
    "en": ("ko", "한국어", "ko/"),
    "ko": ("en", "English", "../"),
}


def twin(language: str, pagename: str) -> tuple[str, str, str]:
    """(language, label, relative URL) of ``pagename``'s page in the other edition."""
    other, label, root = OTHER[language]
    up = "../" * pagename.count("/")
    return other, label, f"{up}{root}{pagename}.html"


def _add_switch(app, pagename, templatename, context, doctree):
    if doctree is None:  # the search page, the index redirect, the highlighted sources
        return
    language = app.config.language if app.config.language in OTHER else "en"
    other, label, url = twin(language, pagename)
    attrs = f'href="{html.escape(url)}" hreflang="{other}" lang="{other}"'
    switch = (f'<p class="language-switch"><a class="reference external" {attrs} '
              f'title="{html.escape(label)}">{html.escape(label)}</a></p>\n')
    context["body"] = switch + context.get("body", "")
    context["metatags"] = (context.get("metatags", "")
                           + f'\n<link rel="alternate" hreflang="{other}" href="{html.escape(url)}" />')


CSS = """
p.language-switch { float: right; margin: 0 0 0.5em 1em; font-size: 0.9em; }
p.language-switch a { border: 1px solid var(--pst-color-border); border-radius: 0.25em; padding: 0.1em 0.5em; }
"""


def _write_css(app, exception):
    if exception is None and app.builder.format == "html":
        (app.outdir / "_static" / "language_switch.css").write_text(CSS, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _add_switch)
    app.add_css_file("language_switch.css")
    app.connect("build-finished", _write_css)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
