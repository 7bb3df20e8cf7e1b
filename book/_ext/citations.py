"""A Sphinx extension: the references page links every work back to the pages that cite it.

The directive ``cited-in`` (in ``book/references.md``) writes one line per entry of ``book/references.bib``, sorted
by key (first author, year, first word of the title): the work, cited with ``{cite:t}``, then links to every chapter
and book page whose Markdown cites it with a ``{cite}``, ``{cite:p}`` or ``{cite:t}`` role.

The list is computed at build time from the sources, so it cannot fall out of date: a chapter that starts citing a
paper appears next to it in the next build. An entry that no page cites is listed as such;
``tests/test_references.py`` fails on it (a reference nobody cites is either dead or a sign that a citation was lost),
runs the same scan without a build, and checks that every entry has a DOI or a URL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
BIB = ROOT / "book" / "references.bib"
# {cite}`a`, {cite:p}`a,b`, {cite:t}`a` -- the roles sphinxcontrib-bibtex defines for MyST.
ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
ENTRY = re.compile(r"^@\w+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)
CHAPTER = re.compile(r"^notebooks/(\d+)_")


def bib_keys(path: Path = BIB) -> list[str]:
    """The keys of the bibliography, in the file's order."""
    return ENTRY.findall(path.read_text(encoding="utf-8"))


def cited_keys(text: str) -> list[str]:
    """The keys the citation roles of one Markdown text name, in order (repeats kept)."""
    return [key.strip() for match in ROLE.finditer(text) for key in match.group(1).split(",") if key.strip()]


def page_texts(root: Path = ROOT) -> dict[str, str]:
    """The Markdown of every page that can cite: each chapter's markdown cells and each book page, by docname.

    The references page itself is left out (it cites everything, to link it)."""
    texts = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[f"notebooks/{path.stem}"] = "\n".join("".join(c["source"]) for c in cells
                                                    if c["cell_type"] == "markdown")
    for path in sorted((root / "book").glob("*.md")):
        if path.stem != "references":
            texts[f"book/{path.stem}"] = path.read_text(encoding="utf-8")
    return texts


def reading_order(docname: str) -> tuple[int, str]:
    """Chapters by number, then the book pages by name."""
    match = CHAPTER.match(docname)
    return (int(match.group(1)), docname) if match else (10**6, docname)


def cited_in(root: Path = ROOT) -> dict[str, list[str]]:
    """For every cited key, the docnames of the pages that cite it, in reading order."""
    found: dict[str, set[str]] = {}
    for docname, text in page_texts(root).items():
        for key in cited_keys(text):
            found.setdefault(key, set()).add(docname)
    return {key: sorted(pages, key=reading_order) for key, pages in found.items()}


def link(docname: str) -> str:
    """A link to a page: "chapter 3" for a chapter, the page's title for a book page."""
    match = CHAPTER.match(docname)
    label = f"chapter {int(match.group(1))}" if match else ""
    return f"{{doc}}`{label} </{docname}>`" if label else f"{{doc}}`/{docname}`"


def lines(keys: list[str], citing: dict[str, list[str]]) -> list[str]:
    """The Markdown list: one item per key, the work and where it is cited."""
    items = []
    for key in keys:
        pages = citing.get(key, [])
        where = ", ".join(link(docname) for docname in pages) if pages else "not cited on any page"
        items.append(f"- {{cite:t}}`{key}`: {where}")
    return items


class CitedIn(SphinxDirective):
    """``cited-in``: every bibliography entry with links to the pages that cite it."""

    has_content = False

    def run(self):
        keys = sorted(bib_keys())
        citing = cited_in()
        self.env.note_dependency(str(BIB))
        for docname in page_texts():
            path = ROOT / (f"{docname}.ipynb" if docname.startswith("notebooks/") else f"{docname}.md")
            self.env.note_dependency(str(path))
        node = nodes.Element()
        self.state.nested_parse(StringList(lines(keys, citing), source=self.get_source_info()[0]), 0, node)
        return node.children


def setup(app):
    app.add_directive("cited-in", CitedIn)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
