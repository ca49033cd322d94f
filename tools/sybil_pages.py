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
what each visible python block printed to ``sys.stdout`` and the SVG of each figure. The record
is a JSON file under ``.cache/pages/`` (``$ZH_PAGE_CACHE`` to move it) keyed by the page's text
and the contents of everything its results depend on (``SOURCES``), so an edit anywhere there is
a miss, never a stale output. The build (``mkdocs_hooks.py``) shows the record, so readers see
the very text the tests saw, and runs a page itself only when no record matches.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
from contextlib import redirect_stdout
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
# What a page's printed results and figures depend on besides its own text: the package, the
# committed results the pages read, this executor, and the pinned versions.
SOURCES = [ROOT / "zh", DOCS / "results", Path(__file__).resolve(), ROOT / "requirements" / "constraints.txt"]
RECORD_VERSION = 1


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


def cache_dir() -> Path:
    return Path(os.environ.get("ZH_PAGE_CACHE") or ROOT / ".cache" / "pages")


def _record_path(path: Path, text: str, sources: str | None = None) -> Path:
    page = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    sources = sources_digest() if sources is None else sources
    key = hashlib.sha256(f"{RECORD_VERSION}\0{sources}\0{text}".encode()).hexdigest()[:32]
    return cache_dir() / f"{page}-{key}.json"


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
        self._sources = sources_digest()  # as the run starts: after an edit meanwhile, the record never matches
        self.figures: dict[int, str | None] = {}  # figure comment offset -> SVG (None: show nothing)
        self.outputs: dict[int, str] = {}  # visible block offset -> what it printed
        self._done: set[int] = set()
        self._failed = False
        self.record: dict | None = None  # set once every step has run and passed

    def evaluate(self, example: Example, evaluator) -> None:
        __tracebackhide__ = True
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
        if any(s.start() < example.start < s.end() for s in SOLUTION.finditer(self.text)):
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
        }
        self.record = record
        target = _record_path(Path(self.path), self.text, self._sources)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            for old in target.parent.glob(target.name.split("-")[0] + "-*.json"):
                old.unlink(missing_ok=True)  # an older version of this page
            tmp = target.with_suffix(f".{os.getpid()}.tmp")  # written whole, then renamed: readers never see half
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:  # a read-only checkout still builds; it just runs its pages again next time
            pass

    def _end(self, start: int) -> int:
        return next(region.end for s, region in self.regions if s == start)


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
