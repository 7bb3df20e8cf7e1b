#!/bin/sh
# The set-up's prerequisites, checked before the Makefile creates .venv: Python >= 3.10 with a working venv module,
# and make. Stops at the first one missing with one line naming what to install on this platform (exit 1).
# Usage: sh tools/check_prereqs.sh [PYTHON]   (the Makefile passes $(PYTHON), python3 by default)
# For the tests: CHECK_UNAME replaces `uname -s`, CHECK_OS_RELEASE replaces /etc/os-release.
PY=${1:-python3}
UNAME=${CHECK_UNAME:-$(uname -s)}
OS_RELEASE=${CHECK_OS_RELEASE:-/etc/os-release}

# debian, ubuntu (and their derivatives), fedora, macos or other: which package names to give.
platform=other
if [ "$UNAME" = Darwin ]; then
  platform=macos
elif [ -r "$OS_RELEASE" ]; then
  ids=$(. "$OS_RELEASE" 2>/dev/null; echo " ${ID:-} ${ID_LIKE:-} ")
  case "$ids" in
    *" ubuntu "*|*" debian "*) platform=debian ;;
    *" fedora "*|*" rhel "*|*" centos "*) platform=fedora ;;
  esac
fi
if [ "$(id -u)" = 0 ]; then sudo=; else sudo="sudo "; fi

fail() { echo "attnlab set-up: $*" >&2; exit 1; }

python_hint() {
  case $platform in
    debian) echo "Debian/Ubuntu: ${sudo}apt install python3 python3-venv" ;;
    fedora) echo "Fedora: ${sudo}dnf install python3" ;;
    macos) echo "macOS: brew install python@3.11, or the installer from python.org" ;;
    *) echo "from python.org or your package manager" ;;
  esac
}

command -v make >/dev/null 2>&1 || case $platform in
  debian) fail "make is missing: install it (Debian/Ubuntu: ${sudo}apt install make)" ;;
  fedora) fail "make is missing: install it (Fedora: ${sudo}dnf install make)" ;;
  macos) fail "make is missing: install Apple's command line tools (xcode-select --install)" ;;
  *) fail "make is missing: install it with your package manager" ;;
esac

command -v "$PY" >/dev/null 2>&1 || fail "$PY not found: install Python >= 3.10 ($(python_hint)), or run make with PYTHON=/path/to/python3"

version=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
  || fail "$PY does not run: install Python >= 3.10 ($(python_hint)), or run make with PYTHON=/path/to/python3"
case $version in
  [0-9]*.[0-9]*) ;;
  *) fail "$PY does not report a Python version: install Python >= 3.10 ($(python_hint)), or run make with PYTHON=/path/to/python3" ;;
esac
major=${version%%.*}
minor=${version#*.}
if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 10 ]; }; then
  fail "$PY is Python $version; attnlab needs Python >= 3.10: install one ($(python_hint)), then run make with PYTHON=python3.X"
fi

# A working venv: Debian and Ubuntu ship ensurepip (which venv needs to put pip in .venv) in python3.X-venv.
tmp=$(mktemp -d 2>/dev/null || mktemp -d -t attnlab)
trap 'rm -rf "$tmp"' EXIT
if ! { "$PY" -m venv --without-pip "$tmp/venv" && "$PY" -c 'import ensurepip; ensurepip.version()'; } >/dev/null 2>&1; then
  case $platform in
    debian) fail "Python $version cannot create a virtual environment: install python$version-venv (Debian/Ubuntu: ${sudo}apt install python$version-venv)" ;;
    fedora) fail "Python $version cannot create a virtual environment: reinstall it with its venv module (Fedora: ${sudo}dnf install python3)" ;;
    macos) fail "Python $version cannot create a virtual environment: install a full Python (brew install python@3.11, or python.org)" ;;
    *) fail "Python $version cannot create a virtual environment: install its venv module (python$version-venv on Debian/Ubuntu)" ;;
  esac
fi
echo "attnlab set-up: Python $version ($(command -v "$PY")) with venv, and make: ok"
