"""The newcomer's paths: the Makefile's set-up (tools/check_prereqs.sh first), `make lab` as root and not, and the
search for a browser for the book's browser test (tools/find_browser.py) on each platform.

The Makefile runs here with VENV pointing to a temporary folder of fake programs (python, pip, jupyter) and a fake
`id` first on PATH, so nothing is installed and the real .venv is never touched."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tools import find_browser
from tools.find_browser import BrowserNotFound, candidates, find, install_plan, missing_message

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tools" / "check_prereqs.sh"
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'
MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n'
FEDORA = 'NAME="Fedora Linux"\nID=fedora\n'


def script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fakes(tmp_path):
    """``tmp/bin``: a fake ``id`` (``FAKE_UID``, 0 by default) and ``python3``: a system Python of version
    ``FAKE_PYTHON`` (3.11 by default) whose ``-m venv DIR`` fails when ``FAKE_VENV=broken`` and otherwise makes DIR a
    fake venv (python: exits 0; pip and jupyter: record their arguments). Every call is appended to ``tmp/calls``."""
    calls = tmp_path / "calls"
    template = tmp_path / "template" / "bin"
    script(template / "python", "exit 0\n")
    script(template / "pip", f'echo "pip $*" >> {calls}\n')
    script(template / "jupyter", f'echo "jupyter $*" >> {calls}\n')
    script(tmp_path / "bin" / "id", '[ "$1" = -u ] && echo "${FAKE_UID:-0}" || echo "uid=${FAKE_UID:-0}(fake)"\n')
    script(tmp_path / "bin" / "python3", f"""echo "python3 $*" >> {calls}
if [ "$1" = -c ]; then
  case "$2" in
    *version_info*) echo "${{FAKE_PYTHON:-3.11}}" ;;
    *ensurepip*) [ "${{FAKE_VENV:-ok}}" = no-ensurepip ] && exit 1 ;;
  esac
  exit 0
fi
if [ "$1" = -m ] && [ "$2" = venv ]; then
  if [ "${{FAKE_VENV:-ok}}" = broken ]; then
    echo "The virtual environment was not created successfully because ensurepip is not available." >&2; exit 1
  fi
  for dir; do :; done
  mkdir -p "$dir" && cp -R {template} "$dir/" && exit 0
fi
exit 1
""")
    return tmp_path


def environment(tmp: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", find_browser.ENV)}
    env["PATH"] = f"{tmp / 'bin'}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def make(tmp: Path, *targets: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), f"VENV={tmp / 'venv'}",
                           f"PYTHON={tmp / 'bin' / 'python3'}", *targets], env=environment(tmp, **extra),
                          capture_output=True, text=True, timeout=60)


def calls(tmp: Path) -> list[str]:
    path = tmp / "calls"
    return path.read_text().splitlines() if path.exists() else []


def installed_venv(tmp: Path) -> None:
    """A fake .venv whose stamp is up to date, so that no target installs anything."""
    subprocess.run([str(tmp / "bin" / "python3"), "-m", "venv", str(tmp / "venv")], check=True)
    (tmp / "venv" / ".installed").touch()
    (tmp / "calls").unlink()


# ---- make lab and the set-up ----


def test_setup_then_lab_as_root_checks_prerequisites_installs_and_passes_allow_root(fakes):
    result = make(fakes, "lab")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "attnlab set-up: Python 3.11" in result.stdout and "with venv, and make: ok" in result.stdout
    assert "http://localhost:8888/lab" in result.stdout  # the URL to open (JupyterLab prints its token URL too)
    made = calls(fakes)
    assert made.index("python3 -c import ensurepip; ensurepip.version()") < made.index(
        f"python3 -m venv {fakes / 'venv'}")  # prerequisites first
    assert "pip install -r requirements.txt -e .[pretrained]" in made
    assert made[-1] == "jupyter lab notebooks/ --allow-root"
    assert (fakes / "venv" / ".installed").exists()


def test_setup_remakes_a_venv_left_without_pip_by_a_failed_venv_run(fakes):
    script(fakes / "venv" / "bin" / "python", "exit 0\n")  # what `python3 -m venv` leaves when ensurepip fails
    result = make(fakes, "lab")
    assert result.returncode == 0, result.stdout + result.stderr
    made = calls(fakes)
    assert f"python3 -m venv {fakes / 'venv'}" in made and made[-1] == "jupyter lab notebooks/ --allow-root"


def test_lab_as_a_user_does_not_pass_allow_root_and_reinstalls_nothing(fakes):
    installed_venv(fakes)
    result = make(fakes, "lab", FAKE_UID="1000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(fakes) == ["jupyter lab notebooks/"]
    assert "http://localhost:8888/lab" in result.stdout


def test_lab_args_are_passed_on(fakes):
    installed_venv(fakes)
    result = make(fakes, "lab", "LAB_ARGS=--ip=0.0.0.0 --no-browser")
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(fakes) == ["jupyter lab notebooks/ --allow-root --ip=0.0.0.0 --no-browser"]


def test_setup_stops_before_the_venv_with_one_line_when_python_is_too_old(fakes):
    result = make(fakes, "lab", FAKE_PYTHON="3.8", CHECK_OS_RELEASE=str(fakes / "none"), CHECK_UNAME="Linux")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("attnlab set-up:")]
    assert len(lines) == 1 and "is Python 3.8; attnlab needs Python >= 3.10" in lines[0], result.stderr
    assert not (fakes / "venv").exists()
    assert not any(call.startswith(("jupyter", "pip")) for call in calls(fakes))


def test_setup_names_the_venv_package_when_venv_is_broken(fakes):
    (fakes / "os-release").write_text(DEBIAN)
    result = make(fakes, "lab", FAKE_VENV="broken", CHECK_OS_RELEASE=str(fakes / "os-release"), CHECK_UNAME="Linux")
    assert result.returncode != 0
    assert ("attnlab set-up: Python 3.11 cannot create a virtual environment: install python3.11-venv "
            "(Debian/Ubuntu: apt install python3.11-venv)") in result.stderr.splitlines()
    assert not (fakes / "venv").exists()


def test_make_test_finds_the_browser_before_pytest_and_keeps_its_command(fakes):
    installed_venv(fakes)
    result = make(fakes, "-n", "test")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    browser = lines.index(f"{fakes / 'venv' / 'bin' / 'python'} tools/find_browser.py --install")
    assert lines[browser + 1].startswith("OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "
                                         f"{fakes / 'venv' / 'bin' / 'python'} -m pytest -n auto --dist loadscope")


def test_make_browser_uses_the_browser_of_the_environment_variable(fakes):
    installed_venv(fakes)
    (fakes / "venv" / "bin" / "python").unlink()
    (fakes / "venv" / "bin" / "python").symlink_to(sys.executable)
    chrome = script(fakes / "Chrome", "exit 0\n")
    result = make(fakes, "browser", **{find_browser.ENV: str(chrome)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"Browser for the book's browser test: {chrome}"


# ---- tools/check_prereqs.sh run directly ----


def check(fakes: Path, python: str = "python3", **extra) -> subprocess.CompletedProcess:
    python = str(fakes / "bin" / python) if "/" not in python else python
    return subprocess.run(["/bin/sh", str(CHECK), python], env=environment(fakes, **extra), capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("uname, release, uid, expected", [
    ("Linux", DEBIAN, "0", "install python3.11-venv (Debian/Ubuntu: apt install python3.11-venv)"),
    ("Linux", UBUNTU, "1000", "install python3.11-venv (Debian/Ubuntu: sudo apt install python3.11-venv)"),
    ("Linux", MINT, "1000", "install python3.11-venv (Debian/Ubuntu: sudo apt install python3.11-venv)"),
    ("Linux", FEDORA, "1000", "(Fedora: sudo dnf install python3)"),
    ("Darwin", "", "501", "install a full Python (brew install python@3.11, or python.org)"),
], ids=["debian-root", "ubuntu", "mint", "fedora", "macos"])
@pytest.mark.parametrize("broken", ["broken", "no-ensurepip"])
def test_check_names_the_missing_venv_package_for_the_platform(fakes, uname, release, uid, expected, broken):
    (fakes / "os-release").write_text(release)
    result = check(fakes, FAKE_VENV=broken, FAKE_UID=uid, CHECK_UNAME=uname, CHECK_OS_RELEASE=str(fakes / "os-release"))
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("attnlab set-up: Python 3.11 cannot create a virtual environment: ") and expected in line


@pytest.mark.parametrize("version", ["3.8", "2.7"])
def test_check_stops_on_an_old_python(fakes, version):
    (fakes / "os-release").write_text(DEBIAN)
    result = check(fakes, FAKE_PYTHON=version, FAKE_UID="1000", CHECK_OS_RELEASE=str(fakes / "os-release"),
                   CHECK_UNAME="Linux")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"attnlab set-up: {fakes / 'bin' / 'python3'} is Python {version}; attnlab needs Python >= 3.10: install one "
        "(Debian/Ubuntu: sudo apt install python3 python3-venv), then run make with PYTHON=python3.X"]


def test_check_accepts_a_newer_python(fakes):
    result = check(fakes, FAKE_PYTHON="3.13")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("attnlab set-up: Python 3.13 ")


def test_check_stops_when_python_is_missing(fakes):
    result = check(fakes, "/nonexistent/python3", CHECK_UNAME="Darwin")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("attnlab set-up: /nonexistent/python3 not found: install Python >= 3.10 (macOS: brew")


def test_check_stops_when_make_is_missing(fakes):
    (fakes / "os-release").write_text(UBUNTU)
    result = subprocess.run(["/bin/sh", str(CHECK), "python3"], capture_output=True, text=True, timeout=30,
                            env={"PATH": str(fakes / "bin"), "FAKE_UID": "1000", "CHECK_UNAME": "Linux",
                                 "CHECK_OS_RELEASE": str(fakes / "os-release")})
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["attnlab set-up: make is missing: install it (Debian/Ubuntu: sudo apt "
                                          "install make)"]


def test_check_passes_with_this_python():
    result = subprocess.run(["/bin/sh", str(CHECK), sys.executable], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"attnlab set-up: Python {sys.version_info[0]}.{sys.version_info[1]} ")


# ---- tools/find_browser.py: the search order of each platform ----

MAC_CHROME = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
MAC_CHROMIUM = "/Applications/Chromium.app/Contents/MacOS/Chromium"


def test_linux_search_order():
    assert candidates("Linux", {}, "/home/u") == [
        "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable",
        "/opt/google/chrome/chrome"]


def test_macos_search_order():
    assert candidates("Darwin", {}, "/Users/u") == [
        MAC_CHROME, "/Users/u/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        MAC_CHROMIUM, "/Users/u/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/opt/homebrew/bin/chromium", "/usr/local/bin/chromium"]


def test_other_platforms_search_nothing():
    assert candidates("Windows", {}, "C:/Users/u") == []
    assert find("Windows", {}, lambda path: True, "C:/Users/u") is None


@pytest.mark.parametrize("system, present, expected", [
    ("Linux", {"/usr/bin/chromium", "/usr/bin/google-chrome"}, "/usr/bin/chromium"),
    ("Linux", {"/opt/google/chrome/chrome", "/usr/bin/google-chrome-stable"}, "/usr/bin/google-chrome-stable"),
    ("Linux", {"/usr/bin/chromium-browser"}, "/usr/bin/chromium-browser"),
    ("Linux", {MAC_CHROME}, None),
    ("Darwin", {MAC_CHROMIUM, "/Users/u/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"},
     "/Users/u/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"),
    ("Darwin", {MAC_CHROMIUM, "/opt/homebrew/bin/chromium"}, MAC_CHROMIUM),
    ("Darwin", {"/usr/local/bin/chromium"}, "/usr/local/bin/chromium"),
    ("Darwin", {"/usr/bin/chromium"}, None),
])
def test_find_returns_the_first_present_path(system, present, expected):
    home = "/Users/u" if system == "Darwin" else "/home/u"
    assert find(system, {}, present.__contains__, home) == expected


@pytest.mark.parametrize("system", ["Linux", "Darwin", "Windows"])
def test_the_environment_variable_overrides_on_every_platform(system):
    env = {find_browser.ENV: "/my/chrome"}
    assert candidates(system, env, "/home/u") == ["/my/chrome"]
    assert find(system, env, {"/my/chrome", "/usr/bin/chromium", MAC_CHROME}.__contains__, "/home/u") == "/my/chrome"
    with pytest.raises(BrowserNotFound, match="ATTNLAB_BROWSER=/my/chrome is not an executable browser"):
        find(system, env, {"/usr/bin/chromium", MAC_CHROME}.__contains__, "/home/u")  # never passed over
    assert find(system, {find_browser.ENV: ""}, {"/usr/bin/chromium"}.__contains__, "/home/u") == (
        "/usr/bin/chromium" if system == "Linux" else None)  # set but empty: the usual search


def test_usable_means_an_executable_file_that_is_not_a_snap(tmp_path):
    chrome = script(tmp_path / "chrome", 'exec /usr/lib/chromium/chromium "$@"\n')
    assert find_browser.usable(str(chrome))
    plain = tmp_path / "plain"
    plain.write_text("not executable")
    assert not find_browser.usable(str(plain))
    assert not find_browser.usable(str(tmp_path))  # a folder
    assert not find_browser.usable(str(tmp_path / "missing"))
    launcher = script(tmp_path / "chromium-browser", 'if ! [ -x /snap/bin/chromium ]; then exit 1; fi\n'
                                                     'exec /snap/bin/chromium "$@"\n')
    assert not find_browser.usable(str(launcher))  # Ubuntu's transitional package
    snap = script(tmp_path / "snap", "exit 0\n")
    (tmp_path / "chromium").symlink_to(snap)
    assert not find_browser.usable(str(tmp_path / "chromium"))  # /snap/bin/chromium -> /usr/bin/snap


def test_os_release_is_read_with_its_quotes_removed(tmp_path):
    (tmp_path / "os-release").write_text(MINT + "# a comment\n")
    assert find_browser.os_release(str(tmp_path / "os-release")) == {
        "NAME": "Linux Mint", "ID": "linuxmint", "ID_LIKE": "ubuntu debian"}
    assert find_browser.os_release(str(tmp_path / "missing")) == {}


def release(text: str) -> dict[str, str]:
    return dict(line.replace('"', "").split("=", 1) for line in text.splitlines())


def test_install_plan_debian_uses_apt_get_through_sudo_unless_root():
    description, commands = install_plan("Linux", release(DEBIAN), root=True, python="py")
    assert "apt-get" in description
    assert commands == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]]
    _, commands = install_plan("Linux", release(DEBIAN), root=False, python="py")
    assert commands == [["sudo", "apt-get", "update", "-qq"], ["sudo", "apt-get", "install", "-y", "-qq", "chromium"]]
    _, commands = install_plan("Linux", {"ID": "raspbian", "ID_LIKE": "debian"}, root=True, python="py")
    assert commands[-1][-1] == "chromium"


@pytest.mark.parametrize("text", [UBUNTU, MINT], ids=["ubuntu", "mint"])
def test_install_plan_ubuntu_uses_playwright_with_its_apt_dependencies(text):
    description, commands = install_plan("Linux", release(text), root=False, python="py")
    assert "snap" in description
    assert commands == [["py", "-m", "playwright", "install", "--with-deps", "chromium"]]


@pytest.mark.parametrize("system, text", [("Darwin", ""), ("Linux", FEDORA), ("Linux", "")],
                         ids=["macos", "fedora", "unknown-linux"])
def test_install_plan_elsewhere_downloads_playwrights_chromium(system, text):
    description, commands = install_plan(system, release(text) if text else {}, root=False, python="py")
    assert description.startswith("playwright's own chromium")
    assert commands == [["py", "-m", "playwright", "install", "chromium"]]


@pytest.mark.parametrize("system, text, expected", [
    ("Linux", DEBIAN, "(apt-get install chromium, as root or through sudo)"),
    ("Linux", UBUNTU, "playwright install --with-deps chromium"),
    ("Darwin", "", "install Google Chrome"),
    ("Linux", FEDORA, "install Chromium or Google Chrome"),
])
def test_missing_message_is_one_line_saying_what_to_install(system, text, expected):
    message = missing_message(system, release(text) if text else {})
    assert "\n" not in message and expected in message and "ATTNLAB_BROWSER=" in message


# ---- tools/find_browser.py: what the command and the book's browser test do with the search ----


class FakePlaywright:
    def __init__(self, path):
        self.chromium = type("BrowserType", (), {"executable_path": str(path)})()


def test_for_playwright_prefers_the_found_browser_then_playwrights_own_else_fails(tmp_path, monkeypatch):
    own = script(tmp_path / "chrome-linux64" / "chrome", "exit 0\n")
    monkeypatch.setattr(find_browser, "find", lambda: "/usr/bin/chromium")
    assert find_browser.for_playwright(FakePlaywright(own)) == "/usr/bin/chromium"
    monkeypatch.setattr(find_browser, "find", lambda: None)
    assert find_browser.for_playwright(FakePlaywright(own)) is None  # launch() then uses playwright's own
    with pytest.raises(BrowserNotFound, match="No browser for the book's browser test: .*ATTNLAB_BROWSER="):
        find_browser.for_playwright(FakePlaywright(tmp_path / "missing"))


@pytest.fixture
def nothing_installed(monkeypatch):
    """No browser anywhere, on Debian as root; ``ran`` collects the commands main() runs instead of running them."""
    ran = []
    monkeypatch.setattr(find_browser, "find", lambda: "/usr/bin/chromium" if ran else None)
    monkeypatch.setattr(find_browser, "playwright_chromium", lambda playwright=None: None)
    monkeypatch.setattr(find_browser.platform, "system", lambda: "Linux")
    monkeypatch.setattr(find_browser, "os_release", lambda: release(DEBIAN))
    monkeypatch.setattr(find_browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(find_browser.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(find_browser.subprocess, "call", lambda command: ran.append(command) or 0)
    return ran


def test_main_without_install_fails_with_one_line(nothing_installed, capsys):
    assert find_browser.main([]) == 1
    assert capsys.readouterr().out.splitlines() == [missing_message("Linux", release(DEBIAN))]
    assert nothing_installed == []


def test_main_install_says_what_it_does_then_finds_the_browser(nothing_installed, capsys):
    assert find_browser.main(["--install"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "No Chromium or Chrome found; installing Debian's chromium with apt-get: apt-get update -qq && "
        "apt-get install -y -qq chromium",
        "Browser for the book's browser test: /usr/bin/chromium"]
    assert nothing_installed == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]]


def test_main_install_failing_says_what_to_install(nothing_installed, monkeypatch, capsys):
    monkeypatch.setattr(find_browser.subprocess, "call", lambda command: 100)
    assert find_browser.main(["--install"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].startswith("Could not run `apt-get update -qq`. No browser for the book's")


def test_command_with_a_bad_environment_variable_fails_without_installing(tmp_path):
    env = {**os.environ, find_browser.ENV: str(tmp_path / "missing")}
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "find_browser.py"), "--install"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"ATTNLAB_BROWSER={tmp_path / 'missing'} is not an executable browser: "
                                          "point it to Chrome or Chromium, or unset it"]


def test_this_debian_machine_uses_debians_chromium():
    """Where Debian's chromium is installed (`make test` installs it on Debian), the search returns it."""
    if not (find_browser.distro("Linux", find_browser.os_release()) == "debian" and shutil.which("apt-get")
            and find_browser.usable("/usr/bin/chromium")):
        pytest.skip("not a Debian machine with /usr/bin/chromium")
    assert find("Linux", {}) == "/usr/bin/chromium"
