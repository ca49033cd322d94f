#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) and check system tools.
# Called by `make serve` and `make test`; safe to run again (it skips work already done).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# System tools, from Debian's packages: Graphviz's `dot` renders the computation graphs on the
# micrograd pages; Chromium runs the browser test (tests/test_browser.py drives it with
# Playwright, which never downloads a browser of its own).
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
[ -x "${ZH_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]} with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}' (macOS: 'brew install graphviz'" \
             "and set ZH_CHROMIUM=/path/to/chromium), then retry." >&2
        exit 1
    fi
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: zh needs Python >= 3.11 (found $("$PYTHON" --version)); set PYTHON=/path/to/python3.11" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Reinstall only when the dependency files changed since the last successful install.
stamp=.venv/.zh-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements/constraints.txt -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[docs,test,bench]"
    touch "$stamp"
fi
