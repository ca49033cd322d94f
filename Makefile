# The two commands of the README:
#   make serve   build the site and serve it on http://127.0.0.1:8000 (live reload)
#   make test    lint (ruff), then run every test: tests/, every code block of docs/**/*.md, a strict
#                site build, and every page of that build in a real browser
# Both create or refresh .venv first (tools/setup.sh), with what that command needs.

BIN := .venv/bin
export MPLBACKEND := Agg
export NO_MKDOCS_2_WARNING := 1
# The models are tiny: one thread per test worker beats oversubscribing the cores.
export OMP_NUM_THREADS ?= 1
# Bytecode: set-up installs without compiling (pip would compile all of torch, half its time), so each
# module is compiled when first imported and kept under .venv/pycache, out of the sources' folders
# (where `make serve` watches for edits), even where the environment says not to write bytecode.
export PYTHONPYCACHEPREFIX := $(CURDIR)/.venv/pycache
export PYTHONDONTWRITEBYTECODE :=
PYTEST_ARGS ?= -n 2 --dist loadfile --no-loadscope-reorder

.PHONY: serve test build setup clean

# --dirty: after an edit, only the pages whose Markdown changed are rendered again (seconds, not a
# whole-site rebuild with the API reference and the search index). What that trades, and how the hooks
# make up for it (tools/mkdocs_hooks.py): the other pages keep the HTML of the previous build, so an
# edit under zh/, tools/, docs/results/, overrides/ or mkdocs.yml renders every page again, and pages
# not rendered again are read for their titles in the navigation. Still, a page added or removed, or a
# change to its title, shows in the other pages' navigation only once they are rendered again;
# `make build` is a clean build.
serve:
	@tools/setup.sh serve
	$(BIN)/mkdocs serve --dirty

# One execution of the pages: pytest records what each page printed and drew (.cache/pages/), the
# build shows those records, and the browser tests open the very site that was built. The two browser
# files run side by side, one per worker (each holds its own Playwright): they mostly wait on Chromium.
test:
	@tools/setup.sh test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS) --ignore=tests/test_browser.py --ignore=tests/test_browser_run.py
	$(BIN)/mkdocs build --strict
	ZH_SITE_DIR=site $(BIN)/python -m pytest -n 2 --dist loadfile tests/test_browser.py tests/test_browser_run.py

build:
	@tools/setup.sh serve
	$(BIN)/mkdocs build --strict

setup:
	@tools/setup.sh test

clean:
	rm -rf site .venv .cache/pages .cache/notebooks
