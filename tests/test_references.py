"""The bibliography: every entry linked (DOI or URL), cited somewhere, and listed with the pages that cite it.

The references page is generated at build time by ``book/_ext/citations.py`` (the directive ``{cited-in}``); these
tests run the same scan without a build.
"""

import re
from _book import ROOT, config, extension

citations = extension("citations")

BIB = ROOT / "book" / "references.bib"
FIELD = re.compile(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$", re.MULTILINE)
DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def entries(text: str) -> dict[str, dict[str, str]]:
    """Each entry's fields (one-line values only, which is what doi and url are), by key. A repeated key is an error."""
    found: dict[str, dict[str, str]] = {}
    for chunk in re.split(r"\n(?=@)", text.strip()):
        match = citations.ENTRY.match(chunk)
        assert match, f"not a bibliography entry: {chunk[:60]!r}"
        key = match.group(1)
        assert key not in found, f"{key} appears twice in the bibliography"
        found[key] = {name.lower(): value for name, value in FIELD.findall(chunk)}
    return found


def unlinked(text: str) -> list[str]:
    """The keys of the entries without a usable link: no doi and no url, a malformed DOI, or a non-https URL."""
    bad = []
    for key, fields in entries(text).items():
        doi, url = fields.get("doi"), fields.get("url")
        if not (doi or url) or (doi and not DOI.match(doi)) or (url and not url.startswith("https://")):
            bad.append(key)
    return bad


def test_the_link_check_catches_an_entry_without_a_link():
    linked = "@article{a2020x,\n  title = {X},\n  year  = {2020},\n  doi   = {10.1162/neco.1992.4.1.131}\n}\n"
    assert unlinked(linked) == []
    assert unlinked(linked.replace("doi   = {10.1162/neco.1992.4.1.131}", "note = {none}")) == ["a2020x"]
    assert unlinked(linked.replace("10.1162/", "https://doi.org/10.1162/")) == ["a2020x"]  # a DOI, not a URL
    assert unlinked(linked.replace("doi   = {10.1162/neco.1992.4.1.131}", "url = {http://x.org}")) == ["a2020x"]


def test_every_entry_has_a_doi_or_a_url():
    assert unlinked(BIB.read_text(encoding="utf-8")) == []


def test_the_scan_finds_every_citation_role():
    text = "{cite:p}`a2019, b2020` and {cite:t}`c2021`, {cite}`d2022`; `{not}` and {doc}`e`"
    assert citations.cited_keys(text) == ["a2019", "b2020", "c2021", "d2022"]


def test_every_cited_key_is_in_the_bibliography_and_every_entry_is_cited():
    keys = citations.bib_keys()
    assert set(keys) == set(entries(BIB.read_text(encoding="utf-8")))
    citing = citations.cited_in()
    assert set(citing) <= set(keys), f"cited but not in references.bib: {sorted(set(citing) - set(keys))}"
    assert set(keys) <= set(citing), f"in references.bib but cited on no page: {sorted(set(keys) - set(citing))}"


def test_the_backlinks_name_the_pages_that_cite_each_work():
    citing = citations.cited_in()
    assert citing["bahdanau2015neural"][0] == "notebooks/01_attention_in_one_picture"
    assert "notebooks/18_pretrained_transformer" in citing["devlin2019bert"]
    assert "book/taxonomy" in citing["schmidhuber1992learning"]
    # Chapters come in reading order (10 after 9, not after 1), book pages after them.
    for pages in citing.values():
        assert pages == sorted(pages, key=citations.reading_order)
    listed = citations.lines(["bahdanau2015neural"], citing)
    assert listed[0].startswith("- {cite:t}`bahdanau2015neural`: {doc}`chapter 1 </notebooks/01_attention")


def test_the_references_page_uses_the_generated_list():
    page = (ROOT / "book" / "references.md").read_text(encoding="utf-8")
    assert "```{cited-in}" in page and "```{bibliography}" in page
    assert config()["sphinx"]["local_extensions"]["citations"] == "book/_ext"
