"""Did installing attnlab change Colab? ``python colab/check_pins.py [constraints]`` (run by `make test-colab` with
the Colab environment's Python after attnlab's install) compares every installed distribution with the pins of
colab/constraints.txt and exits 1, listing them, when a pinned package is missing or at another version -- what a
chapter's setup cell would have upgraded (or downgraded) on Colab. Standard library only: tests/test_colab.py reads
the constraints with ``pins`` too.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().with_name("constraints.txt")
LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
COLAB_OWN = re.compile(r"#\s*Colab:\s*([0-9][A-Za-z0-9.+!_-]*)")  # "torch==2.13.0  # Colab: 2.11.0+cu128 ..."


def canonical(name: str) -> str:
    """PEP 503's normalised name: ``Jinja2`` and ``jinja2``, ``jupyter_client`` and ``jupyter-client`` are equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path = CONSTRAINTS, *, colab: bool = False) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line; anything else but comments is an error.
    ``colab=True``: Colab's own version where it differs from the pin (a ``# Colab: X`` comment: a version that
    cannot be installed here, such as torch's CUDA build), else the pin."""
    found: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = LINE.match(line)
        if not match:
            raise ValueError(f"{path.name}:{number}: expected `name==version`, got {raw!r}")
        name = canonical(match[1])
        if name in found:
            raise ValueError(f"{path.name}:{number}: {match[1]} is pinned twice")
        own = COLAB_OWN.search(raw)
        found[name] = own[1] if colab and own else match[2]
    return found


def installed() -> dict[str, str]:
    """``{canonical name: version}`` of this interpreter's environment."""
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def local_version_free(version: str) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``: a pin without a local label matches any build of that release, as in pip."""
    return version.split("+", 1)[0]


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """One line per pinned package that is missing or whose version differs."""
    lines = []
    for name, version in sorted(expected.items()):
        have = actual.get(name)
        if have is None:
            lines.append(f"{name}: pinned {version}, not installed")
        elif (have if "+" in version else local_version_free(have)) != version:
            lines.append(f"{name}: pinned {version}, installed {have}")
    return lines


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else CONSTRAINTS
    expected = pins(path)
    changed = differences(expected, installed())
    if changed:
        print(f"The Colab environment no longer matches {path}: installing attnlab (or a test tool) changed what "
              "Colab preinstalls. A requirement of attnlab must accept Colab's version:")
        for line in changed:
            print(f"  {line}")
        return 1
    print(f"Colab environment: all {len(expected)} pinned packages at Colab's versions ({path.name}).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
