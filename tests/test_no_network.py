"""Importing attnlab and running every chapter's code opens no socket (GUIDE section 5)."""

import json
import subprocess
import sys
import textwrap

import pytest

from _book import NOTEBOOKS, ROOT

HARNESS = textwrap.dedent('''
    import json, os, sys

    opened = []

    def refuse(event, args):
        if event in ("socket.__new__", "socket.connect", "socket.getaddrinfo", "socket.bind"):
            opened.append(f"{event} {args!r}")
            raise OSError(f"network access during a no-network test: {event}")

    sys.addaudithook(refuse)
    os.environ["MPLBACKEND"] = "Agg"
    import attnlab  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    for path, cells in json.loads(sys.argv[1]):
        os.chdir(os.path.dirname(path))
        for code in cells:
            result = shell.run_cell(code, silent=True)
            if not result.success:
                print(f"FAILED in {path}: {result.error_in_exec or result.error_before_exec!r}")
                sys.exit(2)
    print(json.dumps(opened))
''')


def run(notebooks: list[tuple[str, list[str]]]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HARNESS, json.dumps(notebooks)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


def test_importing_attnlab_opens_no_socket():
    result = run([])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_running_a_chapter_opens_no_socket(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    result = run([(str(path), ["".join(c["source"]) for c in cells if c["cell_type"] == "code"])])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_harness_does_catch_a_connection():
    result = run([(str(ROOT / "notebooks" / "x.ipynb"), ["import socket\nsocket.create_connection(('127.0.0.1', 9))"])])
    assert result.returncode == 2 and "network access" in result.stdout
