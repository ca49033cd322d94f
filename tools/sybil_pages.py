"""How the documentation pages are executed: one definition shared by the tests and the site build.

Every fence whose info string is exactly ``python`` runs, in page order, in one namespace per
page; ``<!-- invisible-code-block: python -->`` comments hold checks hidden from readers;
``<!-- skip: next -->`` and ``<!-- clear-namespace -->`` are sybil's usual directives.
"""

from doctest import ELLIPSIS
from pathlib import Path

from sybil import Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser

PARSERS = [
    PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NUMBER),
    SkipParser(),
    ClearNamespaceParser(),
]

# Absolute: sybil resolves a relative path against this file's folder (tools/), not the repo root.
DOCS = Path(__file__).resolve().parent.parent / "docs"
# Script outputs under docs/results/ are data included into pages, not pages.
sybil = Sybil(parsers=PARSERS, patterns=["*.md"], excludes=["results/*"], path=str(DOCS))
