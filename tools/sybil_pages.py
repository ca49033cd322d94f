"""How the documentation pages are executed: one definition shared by the tests and the site build.

Every fence whose info string is exactly ``python`` runs, in page order, in one namespace per
page; ``<!-- invisible-code-block: python -->`` comments hold checks hidden from readers;
``<!-- skip: next -->`` and ``<!-- clear-namespace -->`` are sybil's usual directives. A block
inside an exercise's solution (``??? success "..."``) fails if it prints a failed self-check
(a line starting ``✗``, from ``zh.exercises.check``). A comment
``<!-- figure: EXPR | caption -->`` on a line of its own is a step too: ``EXPR`` is evaluated at
that point and must be a graphviz graph or a matplotlib figure (or Axes), rendered to SVG, or
``None`` for a figure that has no data yet (nothing is shown).

Every complete, passing run of a page (by pytest, or by the site build on a miss) is recorded:
what each visible python block printed to ``sys.stdout``, the SVG of each figure and how long the
run took. The record is a JSON file under ``.cache/pages/`` (``$ZH_PAGE_CACHE`` to move it) keyed
by the page's text and the contents of what its results can depend on (``page_dependencies``): the
``zh`` modules it imports, transitively, with the data files beside them, the committed results it
names, this executor and the pins. An edit to any of them is a miss, never a stale output; an edit
anywhere else re-runs nothing. The build (``mkdocs_hooks.py``) shows the record, so readers see
the very text the tests saw, and runs a page itself only when no record matches.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from doctest import ELLIPSIS
from pathlib import Path
from unittest import SkipTest

from sybil import Document, Example, Region, Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser

# The same pattern finds the figure steps here and replaces them in the build.
FIGURE = re.compile(r"^<!-- figure: (?P<expr>.+?)(?:\s+\|\s+(?P<caption>.+?))?\s*-->[ \t]*$", re.M)
# An exercise's worked solution: a collapsed pymdownx.details block, with everything indented under it.
SOLUTION = re.compile(r'^\?\?\? success "[^"\n]*"[ \t]*\n(?:[ \t]*\n| {4}.*(?:\n|$))*', re.M)

ROOT = Path(__file__).resolve().parent.parent
# Absolute: sybil resolves a relative path against this file's folder (tools/), not the repo root.
DOCS = ROOT / "docs"
# What every page's printed results and figures depend on besides its own text and imports: this
# executor and the pinned versions. SOURCES (all of it) keys what runs zh as a whole (the notebook).
EXECUTOR = [Path(__file__).resolve(), ROOT / "requirements" / "constraints.txt"]
SOURCES = [ROOT / "zh", DOCS / "results", *EXECUTOR]
RECORD_VERSION = 2


def to_svg(obj) -> str | None:
    """Render a graphviz graph, a matplotlib Figure or Axes to SVG text (closing the figure).

    ``None`` (a plot of data that does not exist yet) renders as nothing: the page shows no empty frame.
    """
    if obj is None:
        return None
    if hasattr(obj, "pipe"):  # graphviz.Digraph / graphviz.Source
        return obj.pipe(format="svg", encoding="utf-8")
    fig = getattr(obj, "figure", obj)  # accept an Axes as well as a Figure
    if hasattr(fig, "savefig"):
        import matplotlib.pyplot as plt

        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        return buf.getvalue()
    raise TypeError(f"expected a graphviz graph or a matplotlib figure, got {type(obj).__name__}")


def evaluate_figure(example: Example) -> None:
    try:
        svg = to_svg(eval(example.parsed, example.namespace))
    except Exception as exc:
        raise RuntimeError(f"figure `{example.parsed}` failed: {exc}") from exc
    example.document.figures[example.start] = svg


def parse_figures(document: Document):
    for match in FIGURE.finditer(document.text):
        yield Region(match.start(), match.end(), match["expr"], evaluate_figure)


class _Tee(io.StringIO):
    """Keeps what a block prints and still passes it on (to pytest's capture, or the terminal)."""

    def __init__(self, other):
        super().__init__()
        self._other = other

    def write(self, text):
        self._other.write(text)
        return super().write(text)

    def flush(self):
        self._other.flush()


def sources_digest(roots=None) -> str:
    """A hash of the contents of every file under ``roots`` (default ``SOURCES``)."""
    digest = hashlib.sha256()
    for root in roots if roots is not None else SOURCES:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# `import zh.x`, `from zh.x import a, b` and `from zh.x import (a,\n b)` in a page's code, doctests included
PAGE_IMPORT = re.compile(
    r"^[ \t]*(?:>>>[ \t]+)?(?:from[ \t]+(?P<base>zh[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+(?P<modules>zh[\w.]*(?:[ \t]*,[ \t]*zh[\w.]*)*))",
    re.M,
)
# Imports that no parser can see: `zh.exercises.check("part/page", ...)` loads that part's answers.
DYNAMIC_IMPORTS = {"zh.exercises": lambda page: [f"zh.exercises.{page.parent.name}"]}


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)


_module_imports: dict[tuple, list[str]] = {}  # (file, mtime, size) -> what it imports (a module scan is cached)


def _imports_of_module(file: Path, name: str) -> list[str]:
    """Every module name a zh module imports, anywhere in it (inside functions too), ``from`` names included."""
    stat = file.stat()
    key = (file, stat.st_mtime_ns, stat.st_size)
    if key not in _module_imports:
        package = name if file.name == "__init__.py" else name.rpartition(".")[0]
        found = []
        for node in ast.walk(ast.parse(file.read_bytes(), str(file))):
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                found += [module, *(f"{module}.{alias.name}" for alias in node.names)]
        _module_imports[key] = found
    return _module_imports[key]


def page_dependencies(path: Path, text: str, root: Path = ROOT) -> list[Path]:
    """The files a page's results can depend on, besides its text: see the module docstring."""
    path = Path(path)
    wanted = []
    for m in PAGE_IMPORT.finditer(text):
        if m["modules"]:
            wanted += [name.strip() for name in m["modules"].split(",")]
        else:
            names = [n.split(" as ")[0].strip() for n in m["names"].strip("()").replace("\n", ",").split(",")]
            wanted += [m["base"], *(f"{m['base']}.{n}" for n in names if n)]
    seen, files = set(), set()
    while wanted:
        name = wanted.pop()
        if name in seen or not (name == "zh" or name.startswith("zh.")):
            continue
        seen.add(name)
        parts = name.split(".")
        wanted += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b.c runs a and a.b first
        file = _module_file(name, root)
        if file is None:  # a function or class imported by name, not a module
            continue
        files.add(file)
        wanted += _imports_of_module(file, name)
        wanted += DYNAMIC_IMPORTS.get(name, lambda page: [])(path)
        # data the module reads: files beside it and in folders that are not packages (kernels/, ...)
        for near in file.parent.iterdir():
            if near.is_file() and near.suffix not in (".py", ".pyc"):
                files.add(near)
            elif near.is_dir() and near.name != "__pycache__" and not (near / "__init__.py").exists():
                files.update(f for f in near.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    # committed results the page or its modules name (train_gpt.json, ...)
    named = text + "".join(f.read_text(encoding="utf-8", errors="replace") for f in files if f.suffix == ".py")
    results = root / "docs" / "results"
    if results.is_dir():
        files.update(f for f in results.iterdir() if f.is_file() and f.name in named)
    executor = [f if root == ROOT else root / f.relative_to(ROOT) for f in EXECUTOR]
    return sorted(files) + [f for f in executor if f.is_file()]


def page_key(path: Path, text: str, root: Path = ROOT) -> str:
    """The key of a page's record: its text and the contents of ``page_dependencies``."""
    digest = hashlib.sha256(f"{RECORD_VERSION}\0{text}\0".encode())
    for file in page_dependencies(path, text, root):
        digest.update(f"{file.relative_to(root) if file.is_relative_to(root) else file}\0".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:32]


def cache_dir() -> Path:
    return Path(os.environ.get("ZH_PAGE_CACHE") or ROOT / ".cache" / "pages")


def _record_path(path: Path, text: str, key: str | None = None) -> Path:
    page = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    return cache_dir() / f"{page}-{key or page_key(path, text)}.json"


def write_json(target: Path, data) -> None:
    """``data`` as JSON at ``target``, written whole, then renamed: readers (other workers, a build) never see half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, target)


def load_record(path: Path, text: str | None = None) -> dict | None:
    """The record of the last complete run of the page as it is now, or None if there is none."""
    text = Path(path).read_text(encoding="utf-8") if text is None else text
    try:
        return json.loads(_record_path(path, text).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_visible_block(example: Example) -> bool:
    """A python block readers see (not an invisible-code-block comment, not a doctest)."""
    return isinstance(example.region.evaluator, PythonEvaluator) and not (
        example.document.text[example.start : example.end].lstrip().startswith("<!--")
    )


class Page(Document):
    """A markdown page that records what its steps print and draw, and saves the record once all ran."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text, path)
        self._key = page_key(Path(path), text)  # as the run starts: after an edit meanwhile, the record never matches
        self._started: float | None = None  # when its first step ran (pytest parses every page long before)
        self._solutions = [(m.start(), m.end()) for m in SOLUTION.finditer(text)]  # exercises' solution blocks
        self.figures: dict[int, str | None] = {}  # figure comment offset -> SVG (None: show nothing)
        self.outputs: dict[int, str] = {}  # visible block offset -> what it printed
        self._done: set[int] = set()
        self._failed = False
        self.record: dict | None = None  # set once every step has run and passed

    def evaluate(self, example: Example, evaluator) -> None:
        __tracebackhide__ = True
        if self._started is None:
            self._started = time.perf_counter()
        out = _Tee(sys.stdout)
        try:
            with redirect_stdout(out):
                super().evaluate(example, evaluator)
        except SkipTest:  # a conditional skip the page asked for: the run is still complete
            self._finished(example, "")
            raise
        except BaseException:
            self._failed = True
            raise
        if any(start < example.start < end for start, end in self._solutions):
            failed = [line for line in out.getvalue().splitlines() if line.startswith("✗ ")]
            if failed:  # a worked solution must pass its own self-check
                self._failed = True
                raise AssertionError(f"a solution's self-check failed: {failed[0]}")
        self._finished(example, out.getvalue())

    def _finished(self, example: Example, printed: str) -> None:
        if printed.strip() and is_visible_block(example):
            self.outputs[example.start] = printed
        self._done.add(example.start)
        if not self._failed and len(self._done) == len(self.regions):
            self._save()

    def _save(self) -> None:
        record = {
            "page": self.path,
            "outputs": [
                {"line": self.text.count("\n", 0, start) + 1, "start": start, "end": self._end(start), "text": text}
                for start, text in sorted(self.outputs.items())
            ],
            "figures": {str(start): svg for start, svg in sorted(self.figures.items())},
            "seconds": round(time.perf_counter() - self._started, 2),
        }
        self.record = record
        target = _record_path(Path(self.path), self.text, self._key)
        try:
            for old in target.parent.glob(target.name.split("-")[0] + "-*.json"):
                old.unlink(missing_ok=True)  # an older version of this page
            write_json(target, record)
        except OSError:  # a read-only checkout still builds; it just runs its pages again next time
            pass

    def _end(self, start: int) -> int:
        return next(region.end for s, region in self.regions if s == start)


def execute_page(path: str) -> tuple[dict | None, str | None, float]:
    """Run a page's steps in order, as its test does: ``(record, None, seconds)``, or ``(None, failure, seconds)``.

    The record is None for a page without code. What the page prints is recorded, not echoed; what it
    writes to stderr (training loops' progress bars) is dropped, so a build's log stays readable.
    """
    started = time.perf_counter()
    document = sybil.parse(Path(path))
    if not document.regions:
        return None, None, 0.0
    with redirect_stdout(io.StringIO()), open(os.devnull, "w") as devnull, redirect_stderr(devnull):
        for example in document:
            try:
                example.evaluate()
            except SkipTest:
                continue
            except Exception as exc:
                failure = f"{path}, line {example.line}: a code block failed: {type(exc).__name__}: {exc}"
                return None, failure, time.perf_counter() - started
    return document.record, None, time.perf_counter() - started


# mkdocs-jupyter's options that shape a notebook's HTML (its cache key adds `toc_depth` and `execute`).
NOTEBOOK_OPTIONS = ("kernel_name", "theme", "allow_errors", "show_input", "no_input", "no_prompt",
                    "remove_tag_config", "highlight_extra_classes", "include_requirejs", "custom_mathjax_url")


def notebook_cache_dir() -> Path:
    """Where the build keeps mkdocs-jupyter's cache: a folder per version of ``SOURCES``.

    mkdocs-jupyter keys an entry on the notebook's text alone, but a notebook runs ``zh``: an edit
    to any of ``SOURCES`` must run it again.
    """
    return ROOT / ".cache" / "notebooks" / sources_digest()[:16]


def notebook_cache_file(path: str, options, folder: Path) -> Path:
    """The entry mkdocs-jupyter (``options``: its config) reads for an executed notebook at ``path``."""
    from mkdocs_jupyter import plugin

    return plugin._get_cache_path(folder, plugin._compute_cache_key(path, options, True))


def execute_notebook(path: str, options, folder: str) -> tuple[None, str | None, float]:
    """Execute a notebook as mkdocs-jupyter does on a cache miss, and write the entry its build then reads.

    ``(None, None, seconds)``, or ``(None, failure, seconds)``, like ``execute_page``: the build runs its
    notebooks beside the pages (in its pool) and the tests run them beside the other tests, so no build
    waits on a notebook alone. ``options`` is the plugin's config.
    """
    from mkdocs_jupyter import convert, plugin

    started = time.perf_counter()
    stderr = os.dup(2)  # the kernel, a child process, writes its warnings there: not into the build's log
    try:
        with redirect_stdout(io.StringIO()), open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            body = convert.nb2html(path, execute=True, **{name: options[name] for name in NOTEBOOK_OPTIONS})
    except Exception as exc:
        return None, f"{path}: the notebook failed: {type(exc).__name__}: {exc}", time.perf_counter() - started
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
    toc_tokens, title = plugin._get_nb_toc_tokens(path, options["toc_depth"])
    write_json(notebook_cache_file(path, options, Path(folder)), {"content": body, "toc_tokens": toc_tokens,
                                                                  "title": title})
    return None, None, time.perf_counter() - started


PARSERS = [
    PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NUMBER),
    SkipParser(),
    ClearNamespaceParser(),
    parse_figures,
]


def make_sybil(docs: Path) -> Sybil:
    # Script outputs under docs/results/ are data included into pages, not pages.
    return Sybil(
        parsers=PARSERS, patterns=["*.md"], excludes=["results/*"], path=str(docs), document_types={".md": Page}
    )


sybil = make_sybil(DOCS)
