"""Dependencies point one way: mechanisms import no model, models import no data set, training code or drawing,
and opening a module pulls in only what it uses. Checked on the source (module-level imports), so that a lazy
import inside a function (``from_torch`` reaching ``attnlab.interop``) does not count."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import attnlab

PACKAGE = Path(attnlab.__file__).parent
MODULES = sorted(name for _, name, is_pkg in pkgutil.walk_packages(attnlab.__path__, "attnlab.") if not is_pkg)

# The mechanisms every model is built from (and the argument checks they share).
MECHANISMS = {"attnlab._checks", "attnlab.attention", "attnlab.softmax", "attnlab.masks", "attnlab.scores",
              "attnlab.multihead", "attnlab.positional", "attnlab.decoding", "attnlab.device"}
# Models: built from mechanisms; they never import data sets, training loops or drawing code.
MODELS = {"attnlab.self_attention", "attnlab.tagger", "attnlab.seq2seq", "attnlab.transformer", "attnlab.interop",
          "attnlab.vision", "attnlab.sequence_layers", "attnlab.autoregressive", "attnlab.local",
          "attnlab.relative", "attnlab.pretrained", "attnlab.wordpiece"}
NOT_FOR_MODELS = ("attnlab.data", "attnlab.train", "attnlab.translation_task", "attnlab.viz", "attnlab.widgets",
                  "attnlab.measure")


def module_path(name: str) -> Path:
    parts = name.split(".")[1:]
    path = PACKAGE.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imports(name: str) -> set[str]:
    """The attnlab modules ``name`` imports at module level."""
    tree = ast.parse(module_path(name).read_text(encoding="utf-8"))
    package = name if module_path(name).name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("attnlab"):
                continue
            for alias in node.names:  # `from . import x` names a module; `from .x import y` names a member of x
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES or candidate + ".__init__" in MODULES else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("attnlab")}
    return {m for m in found if m != name and m != "attnlab"}


def closure(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for dep in imports(todo.pop()) - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


def test_the_groups_cover_every_module_they_name():
    assert MECHANISMS <= set(MODULES) and MODELS <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_mechanisms_import_only_mechanisms(name):
    assert imports(name) <= MECHANISMS, imports(name) - MECHANISMS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_import_no_data_training_or_drawing(name):
    bad = {m for m in closure(name) if m.startswith(NOT_FOR_MODELS)}
    assert not bad, f"{name} pulls in {sorted(bad)}"


def test_opening_transformer_py_pulls_in_only_the_mechanisms_it_uses():
    assert closure("attnlab.transformer") == {"attnlab._checks", "attnlab.attention", "attnlab.softmax",
                                              "attnlab.scores", "attnlab.masks", "attnlab.multihead",
                                              "attnlab.positional", "attnlab.decoding"}


def test_the_import_scanner_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The check above can fail: a model that imported the data package would be caught."""
    fake = tmp_path / "fake.py"
    fake.write_text("from .data.translation import PAD\nfrom . import _checks\n")
    monkeypatch.setattr(__import__(__name__), "module_path", lambda name: fake)
    assert imports("attnlab.fake") == {"attnlab.data.translation", "attnlab._checks"}
