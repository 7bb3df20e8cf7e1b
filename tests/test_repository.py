"""The repository is self-contained: no file cites a guide or notes that live outside it.

Conventions are written down in CONTRIBUTING.md, facts come from a chapter or a paper (book/references.bib). A
citation of material that is not in the repository is one a reader cannot follow.
"""

import re
import subprocess

import pytest

from _book import ROOT

# Built from pieces so that this file does not match its own pattern.
PHRASES = [r"\.\./" + "shared", "ORA" + "CLES", "GUI" + "DE", "reference" + " notes", "design" + " guide"]
OUTSIDE = re.compile("|".join(PHRASES))


def repository_files() -> list[str]:
    """Tracked files and new files that git does not ignore (a file about to be committed is checked too)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout: {error}")
    return sorted({name for name in listed.decode().split("\0") if name})


def text(name: str) -> str | None:
    """The file's text, or None for a binary file (a NUL byte, or not UTF-8) or one deleted from the work tree."""
    path = ROOT / name
    if not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_the_pattern_catches_every_phrase():
    for phrase in ("../" + "shared/x.md", "see ORA" + "CLES.md", "the book's GUI" + "DE section 2",
                   "the book's reference" + " notes", "our design" + " guide"):
        assert OUTSIDE.search(phrase), phrase
    assert not OUTSIDE.search("CONTRIBUTING.md, Oracles: a guide for contributors")


def test_no_file_cites_material_outside_the_repository():
    files = repository_files()
    assert "CONTRIBUTING.md" in files and "tests/test_repository.py" in files
    found = []
    for name in files:
        content = text(name)
        if content is None:
            continue
        for number, line in enumerate(content.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not found, "cite CONTRIBUTING.md, a chapter or a paper instead:\n" + "\n".join(found)
