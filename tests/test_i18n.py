"""The Korean edition's catalogues (tools/i18n.py): complete, current, faithful to their English, on the glossary.

The first test rebuilds the English templates from today's sources with Sphinx's gettext builder (about 20 s) and
checks every catalogue in locale/ko/LC_MESSAGES against them. The others show that each check fails on the fault it
is for, on small catalogues written in a temporary folder, and test the tool's update, export and import, the Korean
configuration, the glossary as one vocabulary and the Korean search's particle rule.
"""

from __future__ import annotations

import textwrap

import pytest
import yaml
from babel.messages.catalog import Catalog

from _book import ROOT, extension, toc_files
from tools import i18n

def test_every_page_is_translated_completely_and_currently(tmp_path):
    """100% translated, 0 fuzzy, 0 stale, 0 dropped or added math, code, citations, roles or links, every glossary
    term in its one Korean rendering, the English term at its first use in each chapter."""
    report = i18n.check(i18n.build_pot(tmp_path))
    assert report.messages > 2000
    problems = report.problems()
    assert not problems, (
        "The Korean edition is out of date. Run `make i18n` (new English goes into the catalogues, changed English "
        "is marked fuzzy with its previous text), translate what it lists in locale/ko/LC_MESSAGES/<page>.po (e.g. "
        "with `python tools/i18n.py export/import`), and run `make i18n` again until it lists nothing "
        "(CONTRIBUTING.md, 'The Korean edition').\n"
        + "\n".join(f"{name} ({len(found)}):\n  " + "\n  ".join(found[:40]) for name, found in problems.items()))


def test_every_page_of_the_book_has_a_catalogue():
    catalogues = {p.relative_to(i18n.LOCALE).with_suffix("").as_posix() for p in i18n.LOCALE.rglob("*.po")}
    assert catalogues == set(toc_files())


# ---- each check fails on its fault ----

GLOSSARY_ROWS = {"attention": "어텐션", "self-attention": "셀프 어텐션", "key": "키", "softmax": "소프트맥스"}


@pytest.fixture
def locale(tmp_path, monkeypatch):
    """A temporary locale folder and glossary; returns a function writing one catalogue page there."""
    monkeypatch.setattr(i18n, "LOCALE", tmp_path / "ko" / "LC_MESSAGES")
    monkeypatch.setattr(i18n, "glossary", lambda: dict(GLOSSARY_ROWS))
    monkeypatch.setattr(i18n, "EXCEPTIONS", tmp_path / "none.yml")
    monkeypatch.setattr(i18n, "ROOT", tmp_path)

    def write(messages: list[tuple], docname: str = "notebooks/01_x") -> None:
        catalogue = Catalog(locale="ko")
        for english, korean, *rest in messages:
            flags, comments = (rest[0] if rest else ()), (rest[1] if len(rest) > 1 else ())
            catalogue.add(english, korean, flags=flags, user_comments=list(comments))
        i18n.write_catalogue(catalogue, i18n.LOCALE / f"{docname}.po")

    return write


GOOD = ("Attention weights a set of values by $e_{ij}$ and `softmax`, see {cite:p}`bahdanau2015neural` and "
        "[the docs](https://pytorch.org), {doc}`chapter 3 <../notebooks/03_x>`.",
        "어텐션(attention)은 값들을 $e_{ij}$ 와 `softmax` 로 가중합합니다. {cite:p}`bahdanau2015neural` 와 "
        "[문서](https://pytorch.org), {doc}`3장 <../notebooks/03_x>` 를 보세요.")


def test_a_faithful_translation_passes(locale):
    locale([GOOD, ("`x` = 3", "`x` = 3")])
    assert i18n.check().problems() == {}


@pytest.mark.parametrize("korean, kind", [
    (GOOD[1].replace("$e_{ij}$", "e_ij"), "broken"),  # a formula dropped
    (GOOD[1].replace("`softmax`", "소프트맥스"), "broken"),  # a code literal dropped
    (GOOD[1].replace("bahdanau2015neural", "luong2015effective"), "broken"),  # another citation
    (GOOD[1].replace("https://pytorch.org", "https://pytorch.kr"), "broken"),  # another link target
    (GOOD[1].replace("../notebooks/03_x", "../notebooks/04_x"), "broken"),  # another page
    (GOOD[1] + " $x$", "broken"),  # a formula added
    (GOOD[1].replace("어텐션(attention)은", "주의 집중(attention)은"), "glossary"),  # another rendering of the term
    (GOOD[1].replace("어텐션(attention)은", "어텐션은"), "first_use"),  # no English at the first use
    ("", "untranslated"),
    (GOOD[0], "untranslated"),  # the English copied
])
def test_each_fault_is_reported(locale, korean, kind):
    locale([(GOOD[0], korean)])
    problems = i18n.check().problems()
    assert list(problems) == [kind], problems


def test_fuzzy_is_reported_with_the_previous_english(locale):
    locale([(GOOD[0], GOOD[1], ("fuzzy",))])
    assert list(i18n.check().problems()) == ["fuzzy"]


def test_a_term_in_its_everyday_sense_is_excused_only_by_a_comment(locale):
    english = "The key idea of this chapter is that the weights depend on the input, which is the main point here."
    korean = "이 장의 핵심 아이디어는 가중치가 입력에 따라 달라진다는 것이며, 여기서 가장 중요한 점입니다."
    locale([(english, korean)])
    assert list(i18n.check().problems()) == ["glossary", "first_use"]
    locale([(english, korean, (), ["not-term: key (everyday sense: the key idea)"])])
    assert i18n.check().problems() == {}


def test_a_term_inside_a_longer_hyphenated_term_is_not_the_shorter_term():
    assert not i18n.term_pattern("attention").search("self-attention layers")
    assert i18n.term_pattern("self-attention").search("Self attention layers")
    assert i18n.term_pattern("key").search("three keys")


def test_stale_catalogues_are_reported(locale, tmp_path):
    """Against the templates: English missing from the catalogue (new or changed), English no longer in the page,
    a page without a catalogue and a catalogue without a page."""
    locale([GOOD, ("Old sentence about attention.", "어텐션(attention)에 관한 옛 문장입니다.")])
    locale([GOOD], docname="book/gone")
    pot = tmp_path / "pot"
    for docname, ids in {"notebooks/01_x": [GOOD[0], "A new sentence."], "book/new": ["Hello."]}.items():
        template = Catalog()
        for message_id in ids:
            template.add(message_id, locations=[(f"../{docname}.md", 1)])
        (pot / docname).parent.mkdir(parents=True, exist_ok=True)
        with (pot / f"{docname}.pot").open("wb") as f:
            i18n.write_po(f, template)
    stale = i18n.check(pot).stale
    assert len(stale) == 4, stale
    assert any("new or changed English" in s and "A new sentence." in s for s in stale)
    assert any("no longer in the page" in s and "Old sentence" in s for s in stale)
    assert any("no catalogue for the page book/new" in s for s in stale)
    assert any("its page book/gone is gone" in s for s in stale)


def test_update_keeps_translations_marks_changes_fuzzy_and_fills_what_has_no_prose(locale, tmp_path):
    locale([GOOD, ("The old sentence about a key.", "키(key)에 관한 옛 문장입니다.")])
    pot = tmp_path / "pot"
    template = Catalog()
    for message_id in (GOOD[0], "The old sentence about the key.", "`x` = $3$", "Docs."):
        template.add(message_id, locations=[("../notebooks/01_x.ipynb", 1)])
    template.add("From a docstring.", locations=[("../attnlab/x.py:docstring", None), ("of", None)])
    (pot / "notebooks").mkdir(parents=True)
    with (pot / "notebooks" / "01_x.pot").open("wb") as f:
        i18n.write_po(f, template)
    i18n.update(pot)
    catalogue = i18n.read_catalogue(i18n.LOCALE / "notebooks" / "01_x.po")
    assert catalogue[GOOD[0]].string == GOOD[1] and not catalogue[GOOD[0]].fuzzy
    changed = catalogue["The old sentence about the key."]
    assert changed.fuzzy and changed.previous_id == ["The old sentence about a key."]
    assert changed.user_comments == []  # Babel would read the "#| msgid" lines back as comments
    assert "fuzzy -- the English was: The old sentence about a key." in i18n.export(i18n.LOCALE / "notebooks" / "01_x.po")
    assert catalogue["`x` = $3$"].string == "`x` = $3$"  # nothing to translate
    assert not catalogue["Docs."].string
    assert catalogue.get("From a docstring.") is None  # docstrings stay English
    assert not catalogue.obsolete


def test_export_and_import_round_trip(locale, tmp_path):
    locale([(GOOD[0], ""), ("The key to it.", "")])
    path = i18n.LOCALE / "notebooks" / "01_x.po"
    exported = i18n.export(path)
    assert exported.startswith("@@@ 0\n" + GOOD[0] + "\n@@@ 0 ->\n")
    text = f"@@@ 0 ->\n{GOOD[1]}\n@@@ 1 -> not-term: key (everyday sense)\n그것의 요점입니다.\n"
    assert i18n.import_(path, text) == 2
    catalogue = i18n.read_catalogue(path)
    assert catalogue[GOOD[0]].string == GOOD[1]
    assert catalogue["The key to it."].user_comments == ["not-term: key (everyday sense)"]
    assert i18n.export(path).count("@@@ 1 -> not-term: key (everyday sense)\n그것의 요점입니다.") == 1
    long_note = "keep: " + "a reason long enough that Babel wraps it over several comment lines " * 3
    assert i18n.import_(path, f"@@@ 1 -> {long_note.strip()}\n") == 1
    assert i18n.read_catalogue(path)["The key to it."].user_comments == [long_note.strip()]


def test_prose_math_blocks_and_parts():
    assert not i18n.has_prose(r"s_j = q \cdot k_j, \qquad a_j = \frac{\exp(s_j)}{\sum_l \exp(s_l)}")
    assert not i18n.has_prose("`nn.MultiheadAttention` | 0.93x | $O(n^2)$")
    assert i18n.has_prose(r"The weights $\alpha$ sum to one.")
    found = i18n.parts(GOOD[0])
    assert found.math == ["e_{ij}"] and found.code == ["softmax"] and found.links == ["https://pytorch.org"]
    assert found.roles == ["cite:p:bahdanau2015neural", "doc:../notebooks/03_x"]


def test_the_korean_configuration(tmp_path):
    config = yaml.safe_load(i18n.write_config(tmp_path).read_text(encoding="utf-8"))
    assert config["sphinx"]["config"]["language"] == "ko" and config["title"] == i18n.KO_TITLE
    for path in list(config["sphinx"]["local_extensions"].values()) + config["sphinx"]["config"]["locale_dirs"]:
        assert (ROOT / path).is_dir(), path


def test_the_glossary_gives_each_english_term_one_korean_rendering_and_no_two_concepts_share_one():
    """One vocabulary: a Korean rendering names one concept (rows sharing one are synonyms, "Same as ...")."""
    from test_glossary import GLOSSARY, parse_glossary

    rows = parse_glossary(GLOSSARY.read_text(encoding="utf-8"))
    by_korean: dict[str, list] = {}
    for row in rows.values():
        by_korean.setdefault(row.korean, []).append(row)
    for korean, sharing in by_korean.items():
        if len(sharing) > 1:
            names = {row.english.casefold() for row in sharing}
            assert all(row.same_as and row.same_as.casefold() in names for row in sharing[1:]) or all(
                row.same_as and row.same_as.casefold() in names for row in sharing[:-1]), (korean, names)


# ---- the Korean search (book/_ext/korean_search.py) ----

def test_the_korean_search_strips_one_particle_and_stems_latin_words():
    korean_search = extension("korean_search")
    language = korean_search.SearchKorean({})
    assert {language.stem(w) for w in ("어텐션", "어텐션은", "어텐션을", "어텐션에서는")} == {"어텐션"}
    assert language.stem("softmax를") == language.stem("softmax") == "softmax"
    assert language.stem("attentions") == "attent"  # Porter, as in the English edition
    assert language.stem("키는") == "키는" and language.stem("길이") == "길이"  # two syllables at least remain
    assert textwrap.dedent(korean_search.JS_STEMMER).count("KOREAN_PARTICLES") >= 2
