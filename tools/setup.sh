#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) and check system tools.
# Called by `make serve` and `make test`; safe to run again (it skips work already done).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# Graphviz's `dot` renders the computation graphs on the micrograd pages.
if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing graphviz (the 'dot' binary) with apt-get"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
    else
        echo "setup: Graphviz's 'dot' is missing: run 'sudo apt-get install graphviz' (macOS: 'brew install graphviz'), then retry." >&2
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
