"""Importing attnlab and running every chapter's code opens no socket (CONTRIBUTING.md, "Tests")."""

import importlib.util
import json
import subprocess
import sys
import textwrap

from _book import ROOT

def _root_conftest():
    spec = importlib.util.spec_from_file_location("attnlab_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GUARD = _root_conftest()  # the audit hook the chapters run under (installed in nbval's kernels)

# A fresh interpreter with the same guard: imports attnlab, runs the given code cells, prints what was refused.
HARNESS = GUARD.GUARD + textwrap.dedent(f'''
    import json, os, sys
    os.environ["MPLBACKEND"] = "Agg"
    import attnlab  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    for path, cells in json.loads(sys.argv[1]):
        os.chdir(os.path.dirname(path))
        for code in cells:
            result = shell.run_cell(code, silent=True)
            if not result.success:
                print(f"FAILED in {{path}}: {{result.error_in_exec or result.error_before_exec!r}}")
                sys.exit(2)
    print(json.dumps({GUARD.RECORD}))
''')


def run(notebooks: list[tuple[str, list[str]]]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HARNESS, json.dumps(notebooks)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


def test_importing_attnlab_opens_no_socket():
    result = run([])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_harness_does_catch_a_connection():
    result = run([(str(ROOT / "notebooks" / "x.ipynb"), ["import socket\nsocket.create_connection(('127.0.0.1', 9))"])])
    assert result.returncode == 2 and "network access" in result.stdout


def test_the_guard_in_nbval_kernels_records_a_connection_and_lets_other_code_run():
    """The chapters' own no-network check runs inside the kernels nbval starts (the root conftest.py installs it
    before a chapter's first cell and reads its record after the last); here it must catch a real attempt."""
    from nbval.kernel import RunningKernel

    guard = GUARD
    kernel = RunningKernel("python3", cwd=str(ROOT / "notebooks"))
    try:
        assert guard.run_quietly(kernel, guard.GUARD)["status"] == "ok"
        assert guard.sockets_opened(guard.run_quietly(kernel, "import attnlab\nx = 1 + 1")) == []
        reply = guard.run_quietly(kernel, "import socket\nsocket.create_connection(('127.0.0.1', 9))")
        assert reply["status"] == "error" and "network access" in reply["evalue"]
        opened = guard.sockets_opened(guard.run_quietly(kernel, ""))  # an error skips the reply's expressions
        assert opened and opened[0].startswith("socket.")
    finally:
        kernel.stop()


def _notebook(*cells: str) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                      for c in cells],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def test_nbval_with_the_root_conftest_fails_a_chapter_that_opens_a_socket_even_if_it_swallows_the_error(tmp_path):
    """End to end: pytest --nbval with the repository's conftest.py, on a notebook that tries to connect and hides
    the failure, and on one that does not."""
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    sneaky = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError:\n    pass"
    (tmp_path / "sneaky.ipynb").write_text(json.dumps(_notebook("x = 1", sneaky)))
    (tmp_path / "clean.ipynb").write_text(json.dumps(_notebook("x = 1", "y = x + 1")))
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "-p", "no:xdist"]
    clean = subprocess.run([*command, "clean.ipynb"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout[-3000:]
    sneaky_run = subprocess.run([*command, "sneaky.ipynb"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert sneaky_run.returncode == 1 and "tried to open 1 socket" in sneaky_run.stdout, sneaky_run.stdout[-3000:]
