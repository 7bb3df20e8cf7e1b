"""The bilingual glossary: one row (one Korean rendering) per English term, a definition in every row, and the
chapters' 용어 boxes in agreement with it.

The glossary (`book/glossary.md`) is a table `| English | 한국어 | definition | taught in |`. Each chapter ends with
a 용어 box, the last markdown cell starting with ``:::{admonition} 용어``, holding `| English | 한국어 |` rows. A box
row may pair several terms (`query / key / value | 쿼리 / 키 / 값`) and add glosses in parentheses
(`annotation (encoder state) | 주석 벡터 (인코더 상태)`); the pairs without their parentheses must be glossary rows. A
Korean gloss without an English one (`교사 강요 (티처 포싱)`) is another rendering, which the glossary must list
under *Also seen* -- so no chapter can quietly introduce a second Korean name for a term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from _book import NOTEBOOKS, ROOT, load, toc_files

GLOSSARY = ROOT / "book" / "glossary.md"
PAREN = re.compile(r"\s*\(([^)]*)\)")
SAME_AS = re.compile(r"^Same as \*\*(.+?)\*\*")
ALSO = re.compile(r"\*Also seen:\* (.+?)\.?\s*$")
LINK = re.compile(r"\{doc\}`[^<`]*<\.\./([\w/]+)>`")
BOX = ":::{admonition} 용어"


def core(text: str) -> str:
    """A term without its parenthesised glosses, spaces collapsed."""
    return " ".join(PAREN.sub(" ", text).split())


def glosses(text: str) -> list[str]:
    return [g.strip() for g in PAREN.findall(text)]


@dataclass(frozen=True)
class Row:
    english: str
    korean: str
    definition: str
    pages: tuple[str, ...]  # docnames, e.g. notebooks/03_bahdanau_attention or book/taxonomy

    @property
    def same_as(self) -> str | None:
        match = SAME_AS.match(self.definition)
        return match.group(1) if match else None

    @property
    def also(self) -> list[str]:
        match = ALSO.search(self.definition)
        return [a.strip() for a in match.group(1).split(",")] if match else []


def parse_glossary(text: str) -> dict[str, Row]:
    """The glossary's rows by English term (case-folded). A repeated English term or a row without a definition is an
    error: that is how two Korean renderings of one term, or a bare term list, would creep back in."""
    rows: dict[str, Row] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|") or line.startswith(("| English", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 4:
            raise ValueError(f"glossary line {number}: expected 4 cells, got {len(cells)}: {line!r}")
        english, korean, definition, where = cells
        key = english.casefold()
        if key in rows:
            raise ValueError(f"glossary line {number}: {english!r} has two rows ({rows[key].korean!r} and {korean!r})")
        if len(definition.split()) < 3:
            raise ValueError(f"glossary line {number}: {english!r} has no definition")
        if not korean or core(korean) != korean:
            raise ValueError(f"glossary line {number}: {english!r} needs exactly one Korean rendering, got {korean!r}")
        rows[key] = Row(english, korean, definition, tuple(LINK.findall(where)))
    return rows


def box_rows(notebook: dict) -> list[tuple[str, str]]:
    """The (English, Korean) rows of the chapter's 용어 box: its last markdown cell that starts with the box."""
    cells = [c for c in notebook["cells"]
             if c["cell_type"] == "markdown" and "".join(c["source"]).lstrip().startswith(BOX)]
    if not cells:
        return []
    rows = []
    for line in "".join(cells[-1]["source"]).lstrip().splitlines()[1:]:
        if line.strip() == ":::":
            break
        cells_ = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells_) == 2 and cells_[0] not in ("English", "---"):
            rows.append((cells_[0], cells_[1]))
    return rows


HANGUL = re.compile("[\uac00-\ud7a3]")


def pairs(english: str, korean: str) -> list[tuple[str, str]] | None:
    """The (English, Korean) term pairs of a box row, or None when they cannot be paired.

    ``a / b`` pairs with ``가 / 나``; a heading ``GRU (gloss): reset gate / update gate`` is a term of its own;
    a shared last word, ``global / local attention`` with ``전역 / 지역 어텐션``, completes the bare terms before it
    (``global attention`` / ``전역 어텐션``) -- but only when the bare term is not a glossary term itself; and when
    the Korean cell holds English abbreviations with the Korean in parentheses (``Post-LN / Pre-LN (사후 정규화 /
    사전 정규화)``), the parentheses are the Korean terms."""
    found = []
    hangul_glosses = [g for g in glosses(korean) if HANGUL.search(g)]
    if not glosses(english) and not HANGUL.search(core(korean)) and len(hangul_glosses) == 1:
        korean = hangul_glosses[0]  # "Post-LN / Pre-LN (사후 정규화 / 사전 정규화)": the Korean is in the parentheses
    if ": " in english and ": " in korean:
        en_head, english = english.split(": ", 1)
        ko_head, korean = korean.split(": ", 1)
        found.append((en_head, ko_head))
    en_parts, ko_parts = english.split(" / "), korean.split(" / ")
    if len(en_parts) != len(ko_parts):
        return None
    found += list(zip(en_parts, ko_parts))
    return found


def lookup(en: str, ko: str, last: tuple[str, str], rows: dict[str, Row]) -> tuple[str, str, Row | None]:
    """The glossary row of one pair, completing a bare term with the shared last word of its row if needed."""
    row = rows.get(core(en).casefold())
    if row is None and " " not in core(en) and " " in core(last[0]) and " " in core(last[1]):
        en = f"{core(en)} {core(last[0]).split(' ', 1)[1]}"
        ko = f"{core(ko)} {core(last[1]).split(' ', 1)[1]}"
        row = rows.get(en.casefold())
    return en, ko, row


def mismatches(english: str, korean: str, rows: dict[str, Row]) -> list[str]:
    """Why a box row disagrees with the glossary (empty if it agrees)."""
    found = pairs(english, korean)
    if found is None:
        return [f"{english!r} / {korean!r}: not as many Korean terms as English ones"]
    problems = []
    for en, ko in found:
        en, ko, row = lookup(en, ko, found[-1], rows)
        if row is None:
            problems.append(f"{core(en)!r} is not in the glossary")
            continue
        if core(ko) != row.korean:
            problems.append(f"{core(en)!r}: the box says {core(ko)!r}, the glossary {row.korean!r}")
        en_glosses, ko_glosses = glosses(en), glosses(ko)
        if en_glosses and len(en_glosses) == len(ko_glosses):
            # A translated English gloss: if the gloss is itself a term, its Korean must be the glossary's.
            for en_gloss, ko_gloss in zip(en_glosses, ko_glosses):
                term = rows.get(en_gloss.casefold())
                if term is not None and ko_gloss != term.korean:
                    problems.append(f"{en_gloss!r}: the box says {ko_gloss!r}, the glossary {term.korean!r}")
        elif not en_glosses:
            # A Korean-only gloss is another rendering of the term, which the glossary must list; a gloss without
            # Hangul is the English term or its abbreviation, which any rendering may carry.
            problems += [f"{core(en)!r}: {g!r} is not among the renderings the glossary lists ({row.also})"
                         for g in ko_glosses if HANGUL.search(g) and g not in row.also]
    return problems


def chapter_boxes() -> dict[str, list[tuple[str, str]]]:
    return {f"notebooks/{path.stem}": box_rows(load(path)) for path in NOTEBOOKS}


def page_text(docname: str) -> str:
    if docname.startswith("notebooks/"):
        cells = load(ROOT / f"{docname}.ipynb")["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return (ROOT / f"{docname}.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows() -> dict[str, Row]:
    return parse_glossary(GLOSSARY.read_text(encoding="utf-8"))


# -- the checks check -----------------------------------------------------------------------------------------------

GOOD = ("| English | 한국어 | definition | taught in |\n|---|---|---|---|\n"
        "| teacher forcing | 교사 강요 | Feeding the correct previous token. *Also seen:* 티처 포싱. | "
        "{doc}`2 <../notebooks/02_seq2seq_bottleneck>` |\n"
        "| query | 쿼리 | The vector that asks. | {doc}`1 <../notebooks/01_attention_in_one_picture>` |\n"
        "| key | 키 | The vector looked up by. | {doc}`1 <../notebooks/01_attention_in_one_picture>` |\n"
        "| global attention | 전역 어텐션 | Attention over every key. | {doc}`4 <../notebooks/04_alignment_functions>` |\n"
        "| local attention | 지역 어텐션 | Attention over a window. | {doc}`4 <../notebooks/04_alignment_functions>` |\n")


def test_the_parser_rejects_two_renderings_of_one_term_and_a_term_without_a_definition():
    assert set(parse_glossary(GOOD)) == {"teacher forcing", "query", "key", "global attention", "local attention"}
    second = GOOD + "| teacher forcing | 티처 포싱 | Another row for the same term. | |\n"
    with pytest.raises(ValueError, match="two rows"):
        parse_glossary(second)
    with pytest.raises(ValueError, match="two rows"):
        parse_glossary(GOOD + "| Teacher Forcing | 교사 강요 | The same term, capitalised. | |\n")
    with pytest.raises(ValueError, match="no definition"):
        parse_glossary(GOOD + "| mask | 마스크 |  | |\n")
    with pytest.raises(ValueError, match="one Korean rendering"):
        parse_glossary(GOOD + "| mask | 마스크 (가리개) | A boolean array of allowed keys. | |\n")
    with pytest.raises(ValueError, match="4 cells"):
        parse_glossary(GOOD + "| mask | 마스크 |\n")


def test_the_box_check_catches_a_second_rendering():
    rows = parse_glossary(GOOD)
    assert mismatches("teacher forcing", "교사 강요", rows) == []
    assert mismatches("teacher forcing", "교사 강요 (티처 포싱)", rows) == []  # listed under Also seen
    assert mismatches("query / key", "쿼리 / 키", rows) == []
    assert mismatches("teacher forcing", "교사 강제", rows)  # a different rendering
    assert mismatches("teacher forcing", "교사 강요 (강제 교육)", rows)  # an unlisted alternative
    assert mismatches("query / key", "쿼리", rows)  # unpaired
    assert mismatches("value", "값", rows)  # not in the glossary
    assert mismatches("key / query", "키 / 쿼리 (query)", rows) == []  # an English gloss may follow any rendering
    assert mismatches("GRU: key / query", "GRU: 키 / 쿼리", rows) == ["'GRU' is not in the glossary"]
    assert mismatches("global / local attention", "전역 / 지역 어텐션", rows) == []  # the shared last word
    assert mismatches("global / local attention", "전체 / 지역 어텐션", rows)
    assert mismatches("query / key", "Q / K (쿼리 / 키)", rows) == []  # the Korean in parentheses
    assert mismatches("query / key", "Q / K (질문 / 키)", rows)


# -- the glossary ---------------------------------------------------------------------------------------------------

def test_every_row_has_a_definition_and_one_korean_rendering(rows):
    for row in rows.values():
        assert row.definition.rstrip().endswith((".", ")")), row
        assert row.korean not in row.also, row  # the rendering itself is not an "also"


def test_a_synonym_points_to_a_row_and_two_rows_share_a_rendering_only_as_synonyms(rows):
    for row in rows.values():
        if row.same_as:
            assert row.same_as.casefold() in rows, f"{row.english}: no row for {row.same_as!r}"
    by_korean: dict[str, list[Row]] = {}
    for row in rows.values():
        by_korean.setdefault(row.korean, []).append(row)
    for korean, same in by_korean.items():
        if len(same) > 1:
            canonical = [r for r in same if not r.same_as]
            assert len(canonical) == 1, f"{korean}: {[r.english for r in same]} need one row and synonyms of it"
            assert all(r.same_as.casefold() == canonical[0].english.casefold() for r in same if r.same_as), same


def test_no_rendering_uses_the_word_for_transpose(rows):
    """전치 is "transpose" in every Korean linear-algebra course: pre-norm is 사전 정규화, not 전치 정규화."""
    for row in rows.values():
        assert "전치" not in row.korean or "transpose" in row.english, row
    assert rows["pre-norm"].korean == "사전 정규화" and rows["post-norm"].korean == "사후 정규화"


def test_every_chapter_box_agrees_with_the_glossary(rows):
    problems = [f"{docname}: {problem}" for docname, box in chapter_boxes().items()
                for english, korean in box for problem in mismatches(english, korean, rows)]
    assert not problems, "\n".join(problems)


def test_the_glossary_links_every_chapter_whose_box_has_the_term(rows):
    for docname, box in chapter_boxes().items():
        for english, korean in box:
            found = pairs(english, korean) or []
            for en, ko in found:
                row = lookup(en, ko, found[-1], rows)[2]
                if row is not None:
                    assert docname in row.pages, f"{row.english}: the glossary does not link {docname}"


def test_every_row_links_a_page_that_uses_the_term(rows):
    pages = {"notebooks/" + path.stem for path in NOTEBOOKS} | {f"book/{p.stem}" for p in (ROOT / "book").glob("*.md")}
    boxed = set()  # (chapter, term) for every term a chapter's box names: the box is the chapter using it
    for docname, box in chapter_boxes().items():
        for english, korean in box:
            found = pairs(english, korean) or []
            boxed |= {(docname, lookup(en, ko, found[-1], rows)[0].casefold()) for en, ko in found}
    for row in rows.values():
        assert row.pages, f"{row.english}: no page linked"
        for docname in row.pages:
            assert docname in pages, f"{row.english}: {docname} does not exist"
            if (docname, row.english.casefold()) in boxed:
                continue
            text = page_text(docname).casefold()
            names = [row.english] + ([row.same_as] if row.same_as else [])
            assert any(name.casefold() in text for name in names), f"{row.english}: {docname} never uses the term"


def test_every_chapter_has_a_korean_terms_box_and_the_reference_pages_are_in_the_toc():
    empty = [docname for docname, box in chapter_boxes().items() if not box]
    assert not empty, f"chapters without a 용어 box: {empty}"
    assert {"book/how_to_run", "book/taxonomy", "book/glossary", "book/references"} <= set(toc_files())
