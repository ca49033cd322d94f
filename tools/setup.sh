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

# MathJax typesets the formulas in the reader's browser. It is served by the site itself, from
# docs/vendor/mathjax (git-ignored), so pages render with no network: the npm registry's
# package, pinned, its tarball checked against this sha256.
MATHJAX_VERSION=3.2.2
MATHJAX_SHA256=1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
mathjax=docs/vendor/mathjax
# (startup.js: the loader the pages use since they load only the parts they need; an older copy lacks it)
if [ "$(cat "$mathjax/VERSION" 2>/dev/null)" != "$MATHJAX_VERSION" ] || [ ! -f "$mathjax/startup.js" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "setup: installing npm with apt-get (it fetches MathJax, which renders the formulas)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
        else
            echo "setup: npm is missing (it fetches MathJax for the formulas): run 'sudo apt-get install npm' (macOS: 'brew install node'), then retry." >&2
            exit 1
        fi
    fi
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "mathjax@$MATHJAX_VERSION" >/dev/null)
    echo "$MATHJAX_SHA256  $tmp/mathjax-$MATHJAX_VERSION.tgz" | sha256sum --check --quiet || {
        echo "setup: the MathJax tarball does not have the pinned sha256" >&2; exit 1; }
    rm -rf "$mathjax" && mkdir -p "$mathjax"
    # the browser build, as components: the loader and core, TeX input (and the extensions it loads
    # on demand), HTML output and its fonts, the screen readers' MathML; not the all-in-one bundles
    # (their right-click menu alone weighs 0.4 MB), the Node.js or SVG builds
    tar -xzf "$tmp/mathjax-$MATHJAX_VERSION.tgz" -C "$mathjax" --strip-components=2 \
        package/es5/startup.js package/es5/core.js package/es5/input package/es5/output/chtml.js \
        package/es5/output/chtml package/es5/a11y
    tar -xzf "$tmp/mathjax-$MATHJAX_VERSION.tgz" -C "$mathjax" --strip-components=1 package/LICENSE
    rm -rf "$tmp"
    echo "$MATHJAX_VERSION" > "$mathjax/VERSION"
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
