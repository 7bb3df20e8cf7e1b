"""The API reference's list of modules (book/_ext/api_modules.py), checked without building the book."""

import inspect
import sys

import pytest

import attnlab
from _book import NOTEBOOKS, ROOT, extension

api_modules = extension("api_modules")


def modules_on_disk() -> list[str]:
    """The oracle, independent of pkgutil: every .py file under attnlab/ that is not private, as a module name."""
    package = ROOT / "attnlab"
    names = []
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not any(part.startswith("_") for part in parts):
            names.append(".".join(("attnlab", *parts)))
    return sorted(names)


def test_every_module_of_attnlab_is_listed():
    names = api_modules.module_names()
    assert names == modules_on_disk()
    assert {"attnlab.attention", "attnlab.masks", "attnlab.multihead", "attnlab.softmax", "attnlab.self_attention",
            "attnlab.tagger", "attnlab.data", "attnlab.data.sequences", "attnlab.data.sets", "attnlab.data.shapes",
            "attnlab.data.images"} <= set(names)
    assert "attnlab._checks" not in names
    assert sorted(module.name for module in api_modules.modules()) == names


def test_a_module_shadowed_by_an_attribute_of_its_package_is_still_listed():
    """``from .attention import attention`` makes ``attnlab.attention`` the function: a list built from the package's
    attributes loses the module; the one built from the files on disk keeps it, and reads the module's docstring."""
    assert inspect.isfunction(attnlab.attention) and not inspect.ismodule(attnlab.attention)
    from_attributes = {f"attnlab.{name}" for name in attnlab.__all__ if inspect.ismodule(getattr(attnlab, name))}
    assert "attnlab.attention" not in from_attributes  # what the old coverage test missed
    assert "attnlab.attention" in api_modules.module_names()
    assert api_modules.describe("attnlab.attention").chapters[0] == "notebooks/01_attention_in_one_picture"


def test_shadowed_and_private_modules_of_any_package(tmp_path, monkeypatch):
    package = tmp_path / "shadowpkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .tool import tool\nfrom .sub import leaf as sub\n")
    (package / "tool.py").write_text('"""Book: chapter 3 (notebooks/03_x.ipynb)."""\ndef tool():\n    pass\n')
    (package / "_private.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "leaf.py").write_text("")
    (package / "sub" / "_hidden.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import shadowpkg

        assert inspect.isfunction(shadowpkg.tool) and shadowpkg.sub.__name__ == "shadowpkg.sub.leaf"
        assert api_modules.module_names(shadowpkg) == ["shadowpkg.sub", "shadowpkg.sub.leaf", "shadowpkg.tool"]
        assert api_modules.describe("shadowpkg.tool").chapters == ("notebooks/03_x",)
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "shadowpkg"]:
            del sys.modules[name]


def test_book_paragraphs_name_chapters_in_one_or_several_lines():
    one = "Masks.\n\nBook: chapter 9 (notebooks/09_masked_attention.ipynb).\n"
    assert api_modules.book_paragraph(one) == "Book: chapter 9 (notebooks/09_masked_attention.ipynb)."
    several = ("The Transformer.\n\nBook: chapter 12 (notebooks/12_transformer_block.ipynb) builds the block; "
               "chapter 13\n(notebooks/13_transformer.ipynb) the full model.\n\n"
               "- ``FeedForward``: notebooks/99_not_this.ipynb\n")
    paragraph = api_modules.book_paragraph(several)
    assert paragraph.endswith("the full model.")
    assert api_modules.chapters(paragraph) == ["notebooks/12_transformer_block", "notebooks/13_transformer"]
    assert api_modules.book_paragraph("No chapter here.") is None
    module = api_modules.Module("m", paragraph, tuple(api_modules.chapters(paragraph)))
    assert api_modules.taught_in(module) == ("Taught in {doc}`/notebooks/12_transformer_block` and "
                                             "{doc}`/notebooks/13_transformer`.")
    used = api_modules.Module("u", "Book: used by chapter 8 (notebooks/08_self_attention.ipynb).",
                              ("notebooks/08_self_attention",))
    assert api_modules.taught_in(used) == "Used in {doc}`/notebooks/08_self_attention`."
    everywhere = api_modules.Module("e", api_modules.EVERY_CHAPTER, ())
    assert everywhere.every_chapter and api_modules.taught_in(everywhere).startswith("Used by every chapter")


@pytest.mark.parametrize("name", api_modules.module_names())
def test_every_module_names_the_chapters_that_teach_or_use_it(name):
    """Each module docstring has a ``Book:`` line naming existing chapters (notebooks/NN_slug.ipynb), or says that
    every chapter uses it."""
    module = api_modules.describe(name)
    assert module.book, f"{name}: add 'Book: chapter N (notebooks/NN_slug.ipynb).' to its docstring"
    assert module.chapters or module.every_chapter, f"{name}: {module.book!r} names no notebooks/NN_slug.ipynb"
    existing = {f"notebooks/{notebook.stem}" for notebook in NOTEBOOKS}
    assert set(module.chapters) <= existing, f"{name}: no such chapter {set(module.chapters) - existing}"


def test_modules_come_in_reading_order():
    found = api_modules.modules()
    assert found[0].name == "attnlab.attention"
    firsts = [module.reading_order[0] for module in found]
    assert firsts == sorted(firsts)
    assert [module.name for module in found if module.every_chapter] == \
        [module.name for module in found[len(found) - sum(module.every_chapter for module in found):]]
