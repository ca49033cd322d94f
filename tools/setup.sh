#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) and check system tools, for one command:
#   tools/setup.sh serve   what `make serve` needs: the site's packages and Graphviz
#   tools/setup.sh test    what `make test` needs besides: the test and benchmark packages, Chromium
# Safe to run again (it skips work already done).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
MODE=${1:-test}
case "$MODE" in
    serve) extras=docs ;;
    test) extras=docs,test,bench ;;
    *) echo "setup: usage: tools/setup.sh [serve|test]" >&2; exit 2 ;;
esac

# System tools, from Debian's packages: Graphviz's `dot` renders the computation graphs on the
# micrograd pages; Chromium runs the browser test (tests/test_browser.py drives it with
# Playwright, which never downloads a browser of its own), so serving does not need it.
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
[ "$MODE" = serve ] || [ -x "${ZH_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
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

# The site serves the packages below from docs/vendor/ (git-ignored), so pages work with no network:
# the npm registry's packages, pinned, each tarball checked against its sha256.
# - MathJax typesets the formulas in the reader's browser.
# - The micrograd pages run their code in the reader's browser (docs/javascripts/run.js): Python is
#   Pyodide (CPython compiled to WebAssembly) and the graphs are drawn by Graphviz compiled to
#   WebAssembly (@viz-js/viz); a page loads them only when its reader first presses Run.
MATHJAX_VERSION=3.2.2
MATHJAX_SHA256=1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
PYODIDE_VERSION=0.29.5
PYODIDE_SHA256=6749b10ee515a1458ecea36d860c8ce2a48366e85b3f92d749ad1840e4aff181
VIZ_VERSION=3.31.0
VIZ_SHA256=7dc0189874849cca2fed7cbe88bf334cd0e6e012db16657794a812ad6f2b8c70
# package, version, sha256, folder under docs/vendor, what to keep (paths under the tarball's package/),
# how many leading folders of those paths to drop. MathJax: the browser build as components (the loader
# and core, TeX input and the extensions it loads on demand, HTML output and its fonts, the screen
# readers' MathML), not the all-in-one bundles (their right-click menu alone weighs 0.4 MB), the Node.js
# or SVG builds; its licence apart.
VENDORED=(
    "mathjax $MATHJAX_VERSION $MATHJAX_SHA256 mathjax 1 es5/startup.js es5/core.js es5/input es5/output/chtml.js es5/output/chtml es5/a11y"
    "pyodide $PYODIDE_VERSION $PYODIDE_SHA256 pyodide 0 package.json pyodide.js pyodide.asm.js pyodide.asm.wasm python_stdlib.zip pyodide-lock.json"
    "@viz-js/viz $VIZ_VERSION $VIZ_SHA256 viz 0 package.json dist/viz-global.js"
)

# whether docs/vendor/FOLDER holds VERSION (MathJax: and startup.js, the loader the pages use; an older
# copy lacks it)
current() { [ "$(cat "docs/vendor/$1/VERSION" 2>/dev/null)" = "$2" ] && { [ "$1" != mathjax ] || [ -f docs/vendor/mathjax/startup.js ]; }; }

fetch() {
    local name=$1 version=$2 sha256=$3 folder=$4 strip=$5 target=docs/vendor/$4 tmp
    shift 5
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
    echo "$sha256  $(echo "$tmp"/*.tgz)" | sha256sum --check --quiet || {
        echo "setup: the $name tarball does not have the pinned sha256" >&2; rm -rf "$tmp"; return 1; }
    rm -rf "$target" && mkdir -p "$target"
    tar -xzf "$tmp"/*.tgz -C "$target" --strip-components=$((strip + 1)) $(printf 'package/%s ' "$@")
    [ "$name" != mathjax ] || tar -xzf "$tmp"/*.tgz -C "$target" --strip-components=1 package/LICENSE
    rm -rf "$tmp"
    echo "$version" > "$target/VERSION"
}

# Fetching is mostly waiting on the registry: the packages are fetched at once, in the background,
# while pip installs below.
fetching=()
for vendored in "${VENDORED[@]}"; do
    read -r name version sha256 folder strip keep <<< "$vendored"
    current "$folder" "$version" && continue
    if ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "setup: installing npm with apt-get (it fetches MathJax, Pyodide and Graphviz for the browser)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
        else
            echo "setup: npm is missing (it fetches $name): run 'sudo apt-get install npm' (macOS: 'brew install node'), then retry." >&2
            exit 1
        fi
    fi
    # shellcheck disable=SC2086  # $keep is a list of paths
    fetch "$name" "$version" "$sha256" "$folder" "$strip" $keep &
    fetching+=($!)
done

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Reinstall only when the dependency files changed since the last successful install (for this
# command, or for `test`, which installs everything `serve` needs).
fresh() { [ -f "$1" ] && [ "$1" -nt pyproject.toml ] && [ "$1" -nt requirements/constraints.txt ]; }
stamp=.venv/.zh-installed-$MODE
# A machine's pip configuration may name local package folders that hold only a few packages: pip
# then warns, for every other package, that its folder there is missing. Those lines alone are dropped.
pip() {
    .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location 'file:.*' is ignored: it is neither a file nor a directory" >&2)
}
if ! fresh "$stamp" && ! fresh .venv/.zh-installed-test; then
    echo "setup: installing zh and what '$MODE' needs into .venv (the first time takes a minute or two)"
    pip install -q --upgrade pip
    # --no-compile: modules are compiled when first imported, into .venv/pycache (see the Makefile)
    pip install -q --no-compile -c requirements/constraints.txt -e ".[$extras]"
    touch "$stamp"
fi

for pid in "${fetching[@]}"; do
    wait "$pid" || { echo "setup: fetching the site's vendored packages failed (see above)" >&2; exit 1; }
done
