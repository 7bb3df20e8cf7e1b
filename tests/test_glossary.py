"""The bilingual glossary agrees with the chapters' 용어 boxes and links every term to the chapters that teach it."""

import re

from _book import NOTEBOOKS, ROOT, load, toc_files

ROW = re.compile(r"^\| (.+?) \| (.+?) \|(?: (.+?) \|)?$")


def chapter_terms() -> dict[tuple[str, str], set[str]]:
    terms: dict[tuple[str, str], set[str]] = {}
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and "용어" in text:
                for line in text.splitlines():
                    m = ROW.match(line)
                    if m and m.group(1) not in ("English", "---"):
                        terms.setdefault((m.group(1), m.group(2)), set()).add(path.stem)
    return terms


def glossary() -> dict[tuple[str, str], set[str]]:
    rows = {}
    for line in (ROOT / "book" / "glossary.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m and m.group(3) and m.group(1) not in ("English", "---"):
            rows[(m.group(1), m.group(2))] = set(re.findall(r"\.\./notebooks/(\w+)>", m.group(3)))
    return rows


def test_every_chapter_term_is_in_the_glossary_with_a_link_to_its_chapter():
    rows = glossary()
    for term, chapters in chapter_terms().items():
        assert term in rows, f"{term} is missing from book/glossary.md"
        assert chapters <= rows[term], f"{term}: glossary links {rows[term]}, chapters teaching it {chapters}"


def test_the_glossary_has_no_term_that_no_chapter_teaches():
    assert set(glossary()) == set(chapter_terms())


def test_every_chapter_has_a_korean_terms_box_and_the_reference_pages_are_in_the_toc():
    taught = set().union(*chapter_terms().values())
    assert {path.stem for path in NOTEBOOKS} <= taught
    assert {"book/how_to_run", "book/taxonomy", "book/glossary", "book/references"} <= set(toc_files())
