"""A Sphinx extension: the API reference covers every module of attnlab, in the order the book teaches them.

The directive ``attnlab-modules`` (in ``book/api.md``) writes one section per public module of the package:

- the modules are enumerated with ``pkgutil.walk_packages`` and imported by name with ``importlib`` -- never looked
  up as attributes of the package, where ``from .attention import attention`` has replaced the module
  ``attnlab.attention`` with the function of the same name -- so no module can be skipped or shadowed; private
  modules (a part of the name starts with ``_``) are left out;
- each module's docstring names the chapters that teach it in a ``Book:`` paragraph, e.g. ``Book: chapter 10
  (notebooks/10_multi_head_attention.ipynb).``; utilities say which chapters use them (``Book: used by chapters ...``)
  or ``Book: used by every chapter (no chapter of its own).``. The section opens with a "Taught in" (or "Used in")
  line linking every ``notebooks/NN_slug.ipynb`` of that paragraph, which takes the paragraph's place in the
  module's description;
- then ``automodule`` with ``:members:`` documents every public function and class the module defines (its
  ``__all__`` is ignored, so it cannot hide one); ``sphinx.ext.viewcode`` adds the "[source]" links.

Sections come in reading order: by the first chapter the ``Book:`` paragraph names (the modules a chapter teaches
before those it only uses), then by name; modules used by every chapter come last. A module without a ``Book:``
paragraph, or one naming a notebook that does not exist, is a build warning (an error in the strict build).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

PACKAGE = "attnlab"
# The "Book:" paragraph of a docstring: from a line starting with "Book:" to the next blank line.
BOOK = re.compile(r"^[ \t]*(Book:.*?)(?=\n[ \t]*\n|\n?\Z)", re.MULTILINE | re.DOTALL)
NOTEBOOK = re.compile(r"\bnotebooks/((\d+)_\w+)\.ipynb\b")
EVERY_CHAPTER = "Book: used by every chapter (no chapter of its own)."


def module_names(package: ModuleType | str = PACKAGE) -> list[str]:
    """The dotted names of every public module of ``package``, its subpackages' modules included, sorted.

    Found on disk with ``pkgutil.walk_packages``, so a module is listed whatever attribute of its package shares its
    name; a subpackage that cannot be imported is an error, not a silent gap."""
    if isinstance(package, str):
        package = importlib.import_module(package)

    def fail(name: str) -> None:
        raise ImportError(f"{name} could not be imported to look for its modules")

    found = pkgutil.walk_packages(package.__path__, f"{package.__name__}.", onerror=fail)
    return sorted(info.name for info in found
                  if not any(part.startswith("_") for part in info.name.split(".")[1:]))


def book_paragraph(docstring: str | None) -> str | None:
    """The docstring's ``Book:`` paragraph joined into one line, or None."""
    match = BOOK.search(docstring or "")
    return " ".join(match.group(1).split()) if match else None


def chapters(paragraph: str | None) -> list[str]:
    """The chapters a ``Book:`` paragraph names, as docnames (``notebooks/10_multi_head_attention``), in its order."""
    named = [f"notebooks/{match.group(1)}" for match in NOTEBOOK.finditer(paragraph or "")]
    return list(dict.fromkeys(named))


@dataclass(frozen=True)
class Module:
    name: str
    book: str | None  # the "Book:" paragraph on one line
    chapters: tuple[str, ...]  # docnames, in the order the paragraph names them

    @property
    def every_chapter(self) -> bool:
        return self.book == EVERY_CHAPTER

    @property
    def used(self) -> bool:
        """Whether the chapters only use the module (``Book: used by ...``) rather than teach it."""
        return bool(re.match(r"Book:\s*used\b", self.book or "", re.IGNORECASE))

    @property
    def reading_order(self) -> tuple[int, bool, str]:
        """The first chapter named (modules without one last), the modules it teaches before those it uses, the name."""
        first = int(NOTEBOOK.search(f"{self.chapters[0]}.ipynb").group(2)) if self.chapters else 10**6
        return first, self.used, self.name


def describe(name: str) -> Module:
    """Import the module ``name`` (by name) and read the chapters its docstring names."""
    book = book_paragraph(importlib.import_module(name).__doc__)
    return Module(name, book, tuple(chapters(book)))


def modules(package: ModuleType | str = PACKAGE) -> list[Module]:
    """Every public module of ``package`` in reading order."""
    return sorted((describe(name) for name in module_names(package)), key=lambda module: module.reading_order)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def taught_in(module: Module) -> str:
    """The line under a module's heading: the chapters that teach (or use) it, linked."""
    if module.every_chapter:
        return "Used by every chapter (no chapter of its own)."
    if not module.chapters:
        return "Taught in no chapter yet."
    links = _and([f"{{doc}}`/{docname}`" for docname in module.chapters])
    return f"{'Used in' if module.used else 'Taught in'} {links}."


def section(module: Module) -> str:
    """The Markdown (MyST) of one module's section."""
    return (f"## `{module.name}`\n\n{taught_in(module)}\n\n"
            f"```{{eval-rst}}\n.. automodule:: {module.name}\n   :members:\n   :ignore-module-all:\n```\n")


class AttnlabModules(SphinxDirective):
    """``attnlab-modules``: a section per public module of attnlab, in reading order."""

    has_content = False

    def run(self):
        found = []
        for name in module_names(PACKAGE):
            try:
                found.append(describe(name))
            except Exception as error:  # noqa: BLE001 -- reported, and autodoc reports it again
                logger.warning(f"{name} could not be imported: {type(error).__name__}: {error}",
                               location=self.get_location(), type="attnlab", subtype="import")
                found.append(Module(name, None, ()))
                continue
            self._check(found[-1])
        found.sort(key=lambda module: module.reading_order)
        text = "\n".join(section(module) for module in found)
        node = nodes.Element()
        # match_titles: the sections join the page under its title, after "Conventions and errors".
        self.state.nested_parse(StringList(text.splitlines(), source=self.get_source_info()[0]), 0, node,
                                match_titles=True)
        return node.children

    def _check(self, module: Module) -> None:
        srcdir = Path(self.env.srcdir)
        if module.book is None:
            logger.warning(f"{module.name}'s docstring names no chapter: add a line 'Book: chapter N "
                           "(notebooks/NN_slug.ipynb).' (book/_ext/api_modules.py)",
                           location=self.get_location(), type="attnlab", subtype="book")
        elif not module.chapters and not module.every_chapter:
            logger.warning(f"{module.name}'s 'Book:' line names no notebooks/NN_slug.ipynb: {module.book!r}",
                           location=self.get_location(), type="attnlab", subtype="book")
        for docname in module.chapters:
            if not (srcdir / f"{docname}.ipynb").is_file():
                logger.warning(f"{module.name}'s docstring names {docname}.ipynb, which does not exist",
                               location=self.get_location(), type="attnlab", subtype="book")


def _drop_book_paragraph(app, what, name, obj, options, lines) -> None:
    """A module docstring's ``Book:`` paragraph is left out of the page: the line under the heading links it."""
    if what != "module" or not name.startswith(f"{PACKAGE}."):
        return
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("Book:")), None)
    if start is None:
        return
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    if end < len(lines):
        end += 1  # and the blank line after it
    elif start and not lines[start - 1].strip():
        start -= 1  # the last paragraph: the blank line before it
    del lines[start:end]


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("attnlab-modules", AttnlabModules)
    app.connect("autodoc-process-docstring", _drop_book_paragraph)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
