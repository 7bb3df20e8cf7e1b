"""How the chapters run under nbval (``pytest --nbval ... notebooks``): patient with a busy machine, and offline.

- nbval waits only 5 s (hard-coded, not ``--nbval-cell-timeout``) for each output message once a cell has finished.
  A training cell's progress bar sends many messages; on a loaded machine the kernel can take longer than that to
  flush them, and nbval failed the cell with "Timeout of 5 seconds exceeded waiting for output". Every notebook cell
  waits up to ``OUTPUT_TIMEOUT`` seconds instead; a cell that really hangs is still stopped by the cell timeout.
- No network: before a chapter's first cell, the kernel nbval starts gets an audit hook that refuses (and records)
  every socket a chapter's code opens; after its last cell the record must be empty. So the chapters run once, and
  that one run is both the output comparison and the no-network check.
"""

from __future__ import annotations

import ast
import json
from queue import Empty

import pytest

OUTPUT_TIMEOUT = 120  # seconds to wait for each output message after a cell has finished

GUARD = """
import sys as _sys

__attnlab_sockets__ = []

def __attnlab_refuse__(event, args):
    if event in ("socket.__new__", "socket.connect", "socket.getaddrinfo", "socket.bind"):
        __attnlab_sockets__.append(f"{event} {args!r}")
        raise OSError(f"network access during a no-network test: {event}")

_sys.addaudithook(__attnlab_refuse__)
del _sys
"""
RECORD = "__attnlab_sockets__"


def run_quietly(kernel, code: str, timeout: float = OUTPUT_TIMEOUT) -> dict:
    """Run ``code`` in an nbval ``RunningKernel`` outside the notebook's cells; return the shell reply's content
    (``user_expressions`` holds ``RECORD``'s value as JSON text)."""
    msg_id = kernel.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                               user_expressions={RECORD: f"__import__('json').dumps({RECORD})"})
    while True:
        reply = kernel.kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    try:
        kernel.await_idle(msg_id, timeout)
    except Empty:
        pass
    return reply["content"]


def sockets_opened(reply: dict) -> list[str]:
    """The sockets the guard recorded, from ``run_quietly``'s reply."""
    value = reply["user_expressions"][RECORD]
    if value.get("status") != "ok":
        raise RuntimeError(f"the no-network guard is not installed in this kernel: {value}")
    return json.loads(ast.literal_eval(value["data"]["text/plain"]))  # the repr of a JSON string


def _is_notebook_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_notebook_cell(item):
            item.output_timeout = OUTPUT_TIMEOUT


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    result = yield  # nbval has started the notebook's kernel
    notebook = item.parent
    if _is_notebook_cell(item) and not getattr(notebook, "attnlab_guarded", False):
        reply = run_quietly(notebook.kernel, GUARD)
        if reply["status"] != "ok":
            raise RuntimeError(f"could not install the no-network guard: {reply.get('evalue')}")
        notebook.attnlab_guarded = True
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    opened: list[str] = []
    notebook = item.parent
    last = nextitem is None or nextitem.parent is not notebook
    if _is_notebook_cell(item) and last and getattr(notebook, "attnlab_guarded", False) and \
            notebook.kernel is not None and notebook.kernel.is_alive():
        opened = sockets_opened(run_quietly(notebook.kernel, ""))
    result = yield  # nbval stops the kernel after the last cell
    if opened:
        raise AssertionError(f"{notebook.name} tried to open {len(opened)} socket(s): {opened[:3]}")
    return result
