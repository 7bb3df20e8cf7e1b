"""The Korean edition's catalogues: extract the English messages, merge them into the Korean catalogues, check them.

The book is written once, in English. Sphinx's gettext builder cuts every page (and every markdown cell of every
chapter) into messages -- a paragraph, a heading, a table cell, a list item -- in MyST source form, with its math,
roles and code literals; ``locale/ko/LC_MESSAGES/<page>.po`` holds each message's Korean translation; the second build
with ``language: ko`` (``make book``) puts the Korean text in place of the English and keeps code cells and outputs.

    python tools/i18n.py update        # after changing English prose: new messages in, changed ones marked fuzzy
    python tools/i18n.py check         # what is left to do: untranslated, fuzzy, stale, broken, off-glossary
    python tools/i18n.py config OUT    # write the Korean edition's _config.yml to OUT (used by `make book-ko`)
    python tools/i18n.py export PO     # PO's messages as numbered plain-text blocks, to translate without a PO editor
    python tools/i18n.py import PO TXT # the translated blocks back into PO

``make i18n`` runs ``update`` then ``check``. ``update`` keeps every existing translation: a message whose English
changed comes back *fuzzy*, with the previous English (``#| msgid``) above the old Korean, so the translator sees
what changed; a message that disappeared leaves the catalogue (git keeps its history). Messages with no prose
(numbers, code, math, links only) are filled with themselves. Docstrings, which the API page shows through
autodoc, stay English as the code does (CONTRIBUTING.md, "The Korean edition") and are not in the catalogues.

``check`` is what ``tests/test_i18n.py`` asserts; each problem names the catalogue and the message, so that a
contributor who changed an English paragraph is told which Korean paragraph to update.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import denormalize, read_po, unescape, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale" / "ko" / "LC_MESSAGES"
GLOSSARY = ROOT / "book" / "glossary.md"
EXCEPTIONS = ROOT / "locale" / "ko" / "glossary_exceptions.yml"

#: The Korean edition's settings on top of _config.yml.
KO_TITLE = "attnlab: 한 단계씩 만들어 보는 어텐션"

# ---------------------------------------------------------------------------------------------------------------
# Reading a message: MyST roles, code literals, math and links, the parts a translation must carry over unchanged.
ROLE = re.compile(r"\{([\w:+-]+)\}`([^`]*)`")
CODE = re.compile(r"(`+)(.+?)\1", re.S)
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?\s*\)")
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
HANGUL = re.compile("[\uac00-\ud7a3]")
DISPLAYED_TARGET = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)


@dataclass
class Parts:
    """What a message holds besides its words: each a sorted list, so that two messages compare as multisets."""

    roles: list[str] = field(default_factory=list)  # "cite:p:key" / "doc:target" (the shown text is translated)
    code: list[str] = field(default_factory=list)
    math: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    prose: str = ""  # the words a reader reads: shown texts of roles and links kept, code and math removed


def parts(text: str) -> Parts:
    found = Parts()
    shown: list[str] = []

    def role(match: re.Match) -> str:
        name, content = match.groups()
        target = DISPLAYED_TARGET.match(content)
        if target:  # {doc}`the chapter <../notebooks/x>`: the shown text is prose, the target must stay
            shown.append(target.group(1))
            found.roles.append(f"{name}:{target.group(2).strip()}")
            return f" {target.group(1)} "
        found.roles.append(f"{name}:{content.strip()}")
        return " "

    text = ROLE.sub(role, text)
    text = CODE.sub(lambda m: found.code.append(m.group(2).strip()) or " ", text)
    text = DISPLAY_MATH.sub(lambda m: found.math.append(m.group(1).strip()) or " ", text)
    text = MATH.sub(lambda m: found.math.append(m.group(1).strip()) or " ", text)
    found.links = sorted(LINK.findall(text) + AUTOLINK.findall(text))
    text = LINK.sub("] ", AUTOLINK.sub(" ", text))
    found.prose = HTML_TAG.sub(" ", text)
    for name in ("roles", "code", "math"):
        setattr(found, name, sorted(getattr(found, name)))
    return found


LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
LATEX_TEXT = re.compile(r"\\(?:text|operatorname|mathrm|mathbf|mathit|mathcal|mathbb)\{[^{}]*\}")


def is_math_block(text: str) -> bool:
    """A display-math block (```{math}``` or ``$$`` on lines of their own: Sphinx extracts its LaTeX, without the
    dollars, as a message): LaTeX commands, no ``$``, and at most one word of three letters or more outside
    ``\\text{...}`` and the commands (``PE(p, 2i)`` is a formula, ``Why $\\gamma$ starts at zero`` is not)."""
    rest = LATEX_COMMAND.sub(" ", LATEX_TEXT.sub(" ", text))
    return "$" not in text and bool(LATEX_COMMAND.search(text)) and len(re.findall(r"[A-Za-z]{3,}", rest)) <= 1


def has_prose(text: str) -> bool:
    """Whether a message has English words to translate (not only numbers, code, math, links or Korean)."""
    return bool(LATIN_WORD.search(parts(text).prose)) and not is_math_block(text)


# ---------------------------------------------------------------------------------------------------------------
# Catalogues.
def build_pot(out: Path) -> Path:
    """Run Sphinx's gettext builder over the book into ``out``; the folder of the .pot files (one per page). (It
    cannot reuse an HTML build's parsed pages: Sphinx keeps a different version record for the two builders.)"""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--all", "--builder", "custom", "--custom-builder", "gettext",
         "--path-output", str(out)], capture_output=True, text=True, timeout=900)
    if result.returncode != 0 or "build succeeded" not in result.stdout:
        raise RuntimeError("the gettext build failed:\n" + result.stdout[-3000:] + result.stderr[-3000:])
    return out / "_build" / "gettext"


def is_docstring(message) -> bool:
    """A message autodoc took from a docstring (it stays English: see the module's docstring): no location of it is
    a page. (Babel splits "attnlab/x.py:docstring of attnlab.x.f:3" at its spaces into three locations.)"""
    return bool(message.locations) and not any(path.endswith((".md", ".ipynb")) for path, _ in message.locations)


def templates(pot_dir: Path) -> dict[str, Catalog]:
    """Each page's template (docname -> catalogue of its English messages), without docstrings."""
    found = {}
    for pot in sorted(pot_dir.rglob("*.pot")):
        with pot.open("rb") as f:
            template = read_po(f)
        for message in list(template):
            if message.id and is_docstring(message):
                del template[message.id]
        found[pot.relative_to(pot_dir).with_suffix("").as_posix()] = template
    return found


def po_path(docname: str) -> Path:
    return LOCALE / f"{docname}.po"


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as f:
        catalogue = read_po(f, locale="ko")
    for message in catalogue:
        # Babel reads the "#| msgid" lines of a fuzzy message as translator comments, and a long comment, which it
        # wrote wrapped, as several: drop the former, join the latter back onto the note they continue.
        notes: list[str] = []
        for line in (c for c in message.user_comments if not c.startswith("|")):
            if notes and not line.startswith(("keep:", "not-term:")):
                notes[-1] += " " + line
            else:
                notes.append(line)
        message.user_comments = notes
    for message_id, previous in _previous_ids(path.read_text(encoding="utf-8")).items():
        if message_id in catalogue:
            catalogue[message_id].previous_id = [previous]
    return catalogue


def _previous_ids(text: str) -> dict[str, str]:
    """The previous English (``#| msgid``) of each fuzzy message, which Babel writes (as a comment wrapped at spaces)
    but does not read back."""
    found, lines = {}, text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("#| msgid "):
            continue
        j, previous = i + 1, [line.removeprefix("#| msgid ")]
        while j < len(lines) and lines[j].startswith("#| ") and not lines[j].startswith("#| msgctxt"):
            previous.append(lines[j].removeprefix("#| "))
            j += 1
        while j < len(lines) and lines[j].startswith("#"):
            j += 1
        if j < len(lines) and lines[j].startswith("msgid "):
            current = [lines[j].removeprefix("msgid ")]
            j += 1
            while j < len(lines) and lines[j].startswith('"'):
                current.append(lines[j])
                j += 1
            found[denormalize("\n".join(current))] = unescape(" ".join(previous))
    return found


def write_catalogue(catalogue: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        # No locations (they move with every edit); no wrapping, so that one message is one line to edit; the
        # previous English of a fuzzy message is kept for the translator.
        write_po(f, catalogue, width=0, no_location=True, omit_header=False, include_previous=True)


def update(pot_dir: Path) -> list[str]:
    """Merge every template into its catalogue (creating new ones), fill the messages without prose, drop the
    catalogues of pages that are gone. Returns what it did, one line per catalogue that changed."""
    done = []
    pages = templates(pot_dir)
    for docname, template in pages.items():
        path = po_path(docname)
        catalogue = read_catalogue(path) if path.exists() else Catalog(locale="ko", project="attnlab",
                                                                        fuzzy=False)
        catalogue.project, catalogue.copyright_holder = "attnlab", "The attnlab authors"
        catalogue.update(template, update_header_comment=False)
        catalogue.obsolete.clear()  # what left the sources leaves the catalogue (git keeps the history)
        terms = glossary() if docname == "book/glossary" else {}
        for message in catalogue:
            if message.id and not message.string and (not has_prose(message.id) or message.id in terms):
                message.string = message.id  # nothing to translate; the glossary's English column stays English
        write_catalogue(catalogue, path)
        done.append(f"{path.relative_to(ROOT)}: {sum(1 for m in catalogue if m.id)} messages")
    for path in sorted(LOCALE.rglob("*.po")):
        if path.relative_to(LOCALE).with_suffix("").as_posix() not in pages:
            path.unlink()
            done.append(f"{path.relative_to(ROOT)}: removed (its page is gone)")
    return done


# ---------------------------------------------------------------------------------------------------------------
# The glossary as the term base.
def glossary() -> dict[str, str]:
    """English term -> its one Korean rendering, from book/glossary.md's table."""
    rows = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith(("| English", "|---")):
            english, korean = (cell.strip() for cell in line.strip().strip("|").split(" | ")[:2])
            rows[english] = korean
    return rows


def term_pattern(term: str) -> re.Pattern:
    """The English term in running text: any case, hyphen or space between its words, an optional plural; not as
    part of a longer hyphenated word (``attention`` is not found in ``self-attention``); a Korean particle may follow
    it (``GRU와``)."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", term)]
    last = words[-1]
    words[-1] = f"{last[:-1]}(?:y|ies)" if re.search(r"[^aeiou]y$", last) else f"{last}(?:s|es)?"
    return re.compile(r"(?<![A-Za-z0-9_-])" + r"[\s-]+".join(words) + r"(?![A-Za-z0-9_-])", re.I)


def exceptions() -> dict:
    data = yaml.safe_load(EXCEPTIONS.read_text(encoding="utf-8")) if EXCEPTIONS.exists() else None
    return data or {}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------------------------------------------------------
# The check.
@dataclass
class Report:
    untranslated: list[str] = field(default_factory=list)
    fuzzy: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # math, links, citations or code literals dropped or added
    glossary: list[str] = field(default_factory=list)
    first_use: list[str] = field(default_factory=list)
    messages: int = 0

    def problems(self) -> dict[str, list[str]]:
        return {name: value for name, value in vars(self).items() if isinstance(value, list) and value}


def short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def check(pot_dir: Path | None = None, only: list[Path] | None = None) -> Report:
    """Every catalogue (or ``only`` these) against its template (when ``pot_dir`` is given) and every translation
    against its English."""
    report = Report()
    terms = glossary()
    patterns = {term: term_pattern(term) for term in terms}
    allowed = exceptions()
    everyday = set(allowed.get("everyday_words", {}))  # terms whose everyday sense is the common one
    pages = templates(pot_dir) if pot_dir is not None else None
    catalogues = {p.relative_to(LOCALE).with_suffix("").as_posix(): p for p in sorted(LOCALE.rglob("*.po"))
                  if only is None or p.resolve() in only}
    if pages is not None:
        for docname in sorted(set(pages) - set(catalogues)):
            report.stale.append(f"{po_path(docname).relative_to(ROOT)}: no catalogue for the page {docname}")
        for docname in sorted(set(catalogues) - set(pages)):
            report.stale.append(f"{catalogues[docname].relative_to(ROOT)}: its page {docname} is gone")
    for docname, path in catalogues.items():
        where = path.relative_to(ROOT)
        catalogue = read_catalogue(path)
        ids = {m.id for m in catalogue if m.id}
        if pages is not None and docname in pages:
            wanted = {m.id for m in pages[docname] if m.id}
            report.stale += [f"{where}: new or changed English, not in the catalogue: {short(i)!r}"
                             for i in sorted(wanted - ids)]
            report.stale += [f"{where}: English no longer in the page: {short(i)!r}" for i in sorted(ids - wanted)]
        if catalogue.obsolete:
            report.stale += [f"{where}: obsolete message (#~) left: {short(i if isinstance(i, str) else i[0])!r}"
                             for i in catalogue.obsolete]
        seen_terms: set[str] = set()
        is_chapter = docname.startswith("notebooks/")
        for message in catalogue:
            if not message.id:
                continue
            excused = {c.split(":", 1)[1].split("(")[0].strip().casefold() for c in message.user_comments
                       if c.strip().startswith("not-term:")}
            report.messages += 1
            label = f"{where}: {short(message.id)!r}"
            if message.fuzzy:
                report.fuzzy.append(label + (f" (was {short(message.previous_id[0])!r})"
                                             if message.previous_id else ""))
            if not message.string:
                report.untranslated.append(label)
                continue
            source, target = parts(message.id), parts(message.string)
            if (has_prose(message.id) and not HANGUL.search(message.string) and not _kept(message)
                    and not (docname == "book/glossary" and message.id in terms)):
                report.untranslated.append(label + " (no Korean in the translation; a message kept in English "
                                                   "needs a translator comment `# keep: <why>`)")
                continue
            for name in ("math", "code", "roles", "links"):
                a, b = Counter(getattr(source, name)), Counter(getattr(target, name))
                if a != b:
                    report.broken.append(f"{label}: {name} differ: dropped {sorted((a - b).elements())}, "
                                         f"added {sorted((b - a).elements())}")
            if _kept(message) or docname == "book/glossary" or not has_prose(message.id):
                continue  # the glossary's own rows define the terms; kept messages are English on purpose
            for term, pattern in patterns.items():
                if term in everyday or not pattern.search(source.prose):
                    continue
                korean, other_sense = terms[term], term.casefold() in excused  # still the term's first use
                if squash(korean) not in squash(message.string) and not other_sense:
                    report.glossary.append(f"{label}: the glossary term {term!r} is {korean!r}, not in the "
                                           f"translation {short(message.string, 70)!r}")
                first = is_chapter and term not in seen_terms and len(message.id) > 80
                if first and korean.casefold() != term.casefold():
                    seen_terms.add(term)
                    if not pattern.search(target.prose) and not other_sense:
                        report.first_use.append(f"{label}: first use of {term!r} in the chapter: write "
                                                f"'{korean}({term})'")
    return report


def _kept(message) -> bool:
    return any(comment.strip().startswith("keep:") for comment in message.user_comments)


# ---------------------------------------------------------------------------------------------------------------
# Translating without a PO editor: numbered plain-text blocks, nothing to escape.
MARK = "@@@"


def export(path: Path) -> str:
    """Every message of a catalogue as a block: ``@@@ n`` (``@@@ n fuzzy`` when fuzzy), the English, then ``@@@ n ->``
    and the current Korean (empty if none). ``import`` reads the same format back."""
    blocks = []
    for n, message in enumerate(m for m in read_catalogue(path) if m.id):
        flags = " fuzzy" if message.fuzzy else ""
        if message.fuzzy and message.previous_id:
            flags += " -- the English was: " + " ".join(message.previous_id[0].split())
        notes = "".join(f" {c}" if not i else f"; {c}" for i, c in enumerate(message.user_comments))
        blocks.append(f"{MARK} {n}{flags}\n{message.id}\n{MARK} {n} ->{notes}\n{message.string}")
    return "\n".join(blocks) + "\n"


def import_(path: Path, text: str) -> int:
    """Set the translations of ``export``'s blocks (``@@@ n ->`` then the Korean; ``@@@ n -> keep: why`` keeps the
    English with that reason; ``@@@ n -> not-term: key (why)`` before the Korean says that the glossary term is used
    in another sense in this message, as "key" in "the key idea"). The English part of a block may be left out.
    Returns how many were set; a translated message is no longer fuzzy."""
    catalogue = read_catalogue(path)
    messages = [m for m in catalogue if m.id]
    done = 0
    for match in re.finditer(rf"^{MARK} (\d+) ->([^\n]*)\n(.*?)(?=^{MARK} \d+|\Z)", text, re.S | re.M):
        n, keep, body = int(match.group(1)), match.group(2).strip(), match.group(3).strip("\n")
        message = messages[n]
        notes = [note.strip() for note in keep.split(";") if note.strip()]
        if keep.startswith("keep:"):
            message.string = message.id
            message.user_comments = [keep]
        elif body.strip():
            message.string = body
            message.user_comments = notes
        else:
            continue
        message.flags.discard("fuzzy")
        message.previous_id = []
        done += 1
    write_catalogue(catalogue, path)
    return done


# ---------------------------------------------------------------------------------------------------------------
# The Korean edition's configuration.
def write_config(out: Path) -> Path:
    """_config.yml with language ko and the Korean title, written to ``out`` (a folder). Jupyter Book resolves the
    local extensions' folders against the configuration file's folder, so they are written as absolute paths."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = KO_TITLE
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["language"] = "ko"
    sphinx["config"]["locale_dirs"] = [str(ROOT / d) for d in sphinx["config"].get("locale_dirs", [])]
    sphinx["local_extensions"] = {name: str(ROOT / path) for name, path in sphinx.get("local_extensions", {}).items()}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "_config.yml"
    path.write_text("# Written by tools/i18n.py from _config.yml: the Korean edition.\n"
                    + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["update", "check", "config", "export", "import"])
    parser.add_argument("paths", nargs="*", help="config: the folder to write into; export: PO; import: PO TXT; "
                                                 "check: only these PO files, without rebuilding the templates")
    args = parser.parse_args(argv)
    if args.command == "config":
        print(write_config(Path(args.paths[0]) if args.paths else ROOT / "_build" / "ko"))
        return 0
    if args.command == "export":
        sys.stdout.write(export(Path(args.paths[0])))
        return 0
    if args.command == "import":
        print(import_(Path(args.paths[0]), Path(args.paths[1]).read_text(encoding="utf-8")), "messages set")
        return 0
    if args.command == "check" and args.paths:
        report = check(None, only=[Path(p).resolve() for p in args.paths])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            pot_dir = build_pot(Path(tmp))
            if args.command == "update":
                for line in update(pot_dir):
                    print(line)
            report = check(pot_dir)
    print(f"{report.messages} messages checked")
    for name, problems in report.problems().items():
        print(f"\n{name}: {len(problems)}")
        for problem in problems:
            print("  " + problem)
    return 1 if report.problems() and args.command == "check" else 0


if __name__ == "__main__":
    sys.exit(main())
