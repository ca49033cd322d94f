# The two commands of the README:
#   make serve   build the site and serve it on http://127.0.0.1:8000 (live reload)
#   make test    lint (ruff), then run every test: tests/, every code block of docs/**/*.md, and a strict site build
# Both create or refresh .venv first (tools/setup.sh).

BIN := .venv/bin
export MPLBACKEND := Agg
export NO_MKDOCS_2_WARNING := 1
# The models are tiny: one thread per test worker beats oversubscribing the cores.
export OMP_NUM_THREADS ?= 1
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: serve test build setup clean

serve: setup
	$(BIN)/mkdocs serve

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/mkdocs build --strict

build: setup
	$(BIN)/mkdocs build --strict

setup:
	@tools/setup.sh

clean:
	rm -rf site .venv
