"""The Chromium-family browser that playwright drives in the book's browser test (tests/test_book.py).

Search order: ``$ATTNLAB_BROWSER`` when set (then nothing else); otherwise the platform's usual places (``candidates``):

- Linux: Debian's ``/usr/bin/chromium``, ``/usr/bin/chromium-browser`` (Fedora), Google Chrome;
- macOS: Google Chrome, then Chromium, in ``/Applications`` or ``~/Applications``, then Homebrew's ``chromium``;

then playwright's own chromium (``python -m playwright install chromium``). Ubuntu's chromium is a snap, which
playwright cannot drive (the snap has its own /tmp), so snap launchers are passed over.

``python tools/find_browser.py`` prints the browser it finds (exit 0) or one line saying what to install (exit 1);
with ``--install`` (``make test`` runs it so) it installs one where none is found, the platform's way
(``install_plan``), and says what it did. Standard library only; the tests import ``candidates``, ``find``,
``install_plan`` and ``missing_message``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping

ENV = "ATTNLAB_BROWSER"

LINUX = [
    "/usr/bin/chromium",  # Debian (apt-get install chromium), Arch
    "/usr/bin/chromium-browser",  # Fedora; on Ubuntu a launcher of the snap (passed over)
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/opt/google/chrome/chrome",
]
MACOS_APPS = [
    "Google Chrome.app/Contents/MacOS/Google Chrome",
    "Chromium.app/Contents/MacOS/Chromium",
]
MACOS_BIN = ["/opt/homebrew/bin/chromium", "/usr/local/bin/chromium"]  # Homebrew (Apple silicon, Intel)


class BrowserNotFound(RuntimeError):
    """No usable browser; the message is one line saying what to install."""


def candidates(system: str, env: Mapping[str, str], home: str) -> list[str]:
    """The paths searched, in order, on ``system`` (``platform.system()``: "Linux", "Darwin", ...)."""
    if env.get(ENV):
        return [env[ENV]]
    if system == "Linux":
        return list(LINUX)
    if system == "Darwin":
        return [os.path.join(root, app) for app in MACOS_APPS for root in ("/Applications",
                os.path.join(home, "Applications"))] + MACOS_BIN
    return []


def usable(path: str) -> bool:
    """An executable file that is not a launcher of a snap."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return False
    if os.path.basename(os.path.realpath(path)) == "snap":
        return False
    with open(path, "rb") as file:
        head = file.read(4096)
    return not (head.startswith(b"#!") and b"/snap/" in head)  # Ubuntu's /usr/bin/chromium-browser script


def find(system: str | None = None, env: Mapping[str, str] | None = None,
         exists: Callable[[str], bool] = usable, home: str | None = None) -> str | None:
    """The first usable path of ``candidates``, or None. Raises BrowserNotFound when ``$ATTNLAB_BROWSER`` is set
    to a path that is not usable (it is never passed over silently)."""
    system = platform.system() if system is None else system
    env = os.environ if env is None else env
    home = os.path.expanduser("~") if home is None else home
    for path in candidates(system, env, home):
        if exists(path):
            return path
    if env.get(ENV):
        raise BrowserNotFound(f"{ENV}={env[ENV]} is not an executable browser: point it to Chrome or Chromium, "
                              f"or unset it")
    return None


def os_release(path: str = "/etc/os-release") -> dict[str, str]:
    """The fields of /etc/os-release (empty where there is none, as on macOS)."""
    fields = {}
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                key, sep, value = line.strip().partition("=")
                if sep:
                    fields[key] = value.strip().strip("\"'")
    except OSError:
        pass
    return fields


def distro(system: str, release: Mapping[str, str]) -> str:
    """"debian", "ubuntu" (and their derivatives), "macos" or "other"."""
    if system == "Darwin":
        return "macos"
    if system == "Linux":
        ids = {release.get("ID", "")} | set(release.get("ID_LIKE", "").split())
        if "ubuntu" in ids:
            return "ubuntu"
        if "debian" in ids:
            return "debian"
    return "other"


def install_plan(system: str, release: Mapping[str, str], root: bool,
                 python: str = sys.executable) -> tuple[str, list[list[str]]]:
    """What ``--install`` does where no browser is found: ``(description, commands)``.

    Debian: its chromium with apt-get (through sudo unless root). Ubuntu: playwright's own chromium with the
    libraries it needs (``--with-deps``, which runs apt-get), as Ubuntu's chromium is a snap. Elsewhere (macOS, other
    Linux): playwright's own chromium, downloaded into its cache (about 150 MB).
    """
    kind = distro(system, release)
    if kind == "debian":
        sudo = [] if root else ["sudo"]
        return "Debian's chromium with apt-get", [sudo + ["apt-get", "update", "-qq"],
                                                  sudo + ["apt-get", "install", "-y", "-qq", "chromium"]]
    if kind == "ubuntu":
        return ("playwright's own chromium and its libraries (apt-get; Ubuntu's chromium is a snap, which "
                "playwright cannot drive)", [[python, "-m", "playwright", "install", "--with-deps", "chromium"]])
    return "playwright's own chromium (a download of about 150 MB)", [[python, "-m", "playwright", "install",
                                                                       "chromium"]]


def missing_message(system: str, release: Mapping[str, str]) -> str:
    """One line: no browser, and what to install on this platform."""
    kind = distro(system, release)
    do = {
        "debian": "install Debian's chromium (apt-get install chromium, as root or through sudo)",
        "ubuntu": "run `.venv/bin/python -m playwright install --with-deps chromium` or install Google Chrome "
                  "(Ubuntu's chromium snap cannot be driven)",
        "macos": "install Google Chrome (or Chromium), or run `.venv/bin/python -m playwright install chromium`",
        "other": "install Chromium or Google Chrome, or run `.venv/bin/python -m playwright install chromium`",
    }[kind]
    return f"No browser for the book's browser test: {do}, or set {ENV}=/path/to/chrome (`make test` installs one)."


def playwright_chromium(playwright=None) -> str | None:
    """The path of playwright's own chromium if it is installed (``playwright``: a started sync_playwright(), else
    one is started here), else None; None too where the playwright package is missing."""
    if playwright is None:
        try:
            from playwright.sync_api import sync_playwright
            with sync_playwright() as started:
                path = started.chromium.executable_path
        except Exception:  # no playwright package, or its driver cannot start
            return None
    else:
        path = playwright.chromium.executable_path
    return path if os.path.exists(path) else None


def for_playwright(playwright) -> str | None:
    """``executable_path`` for ``playwright.chromium.launch``: the browser ``find`` finds, or None for playwright's
    own chromium where it is installed. Raises BrowserNotFound (one line saying what to install) otherwise."""
    path = find()
    if path is None and playwright_chromium(playwright) is None:
        raise BrowserNotFound(missing_message(platform.system(), os_release()))
    return path


def main(argv: list[str]) -> int:
    install = "--install" in argv
    system, release = platform.system(), os_release()

    def report() -> bool:
        path = find()
        if path is None:
            own = playwright_chromium()
            if own is None:
                return False
            path = f"playwright's own chromium, {own}"
        print(f"Browser for the book's browser test: {path}")
        return True

    try:
        if report():
            return 0
        if not install:
            print(missing_message(system, release))
            return 1
        root = getattr(os, "geteuid", lambda: 0)() == 0
        description, commands = install_plan(system, release, root)
        print(f"No Chromium or Chrome found; installing {description}: "
              + " && ".join(" ".join(command) for command in commands), flush=True)
        for command in commands:
            if shutil.which(command[0]) is None or subprocess.call(command) != 0:
                print(f"Could not run `{' '.join(command)}`. {missing_message(system, release)}")
                return 1
        if report():
            return 0
        print(missing_message(system, release))
        return 1
    except BrowserNotFound as missing:
        print(missing)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
