"""mkdocs hooks: each page shows what its code printed and drew, from the run the tests made.

Under every visible ```` ```python ```` block that printed something, the page shows that text in
an output cell (``.zh-output``), as a notebook does; blocks that print nothing, doctest blocks
(their output is in the block) and ``invisible-code-block`` checks show nothing extra.

A page asks for a figure with an HTML comment on a line of its own::

    <!-- figure: draw_dot(loss) | The seed's example, with its gradients -->

``EXPR`` is evaluated in the page's namespace at that point (``sybil_pages.py``); its value, a
graphviz graph or a matplotlib figure, is added to the site next to the page
(``figures/<page>-<n>.svg``) and shown in place of the comment. An expression that evaluates to
``None`` (a plot of data that does not exist yet) shows nothing: no empty frame.

Both come from the record of the page's last complete run (``sybil_pages.load_record``), written
by pytest: the build executes nothing a test run just executed. On a miss (the page, the package
or the results changed since, or ``mkdocs serve`` without a test run) the hook runs the page itself,
exactly as the tests do, and a failing block stops the build with the page and line.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from contextlib import redirect_stdout
from pathlib import Path, PurePosixPath
from unittest import SkipTest

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).parent))
from sybil_pages import FIGURE, ROOT, load_record, sources_digest, sybil  # noqa: E402

_pages: dict[str, tuple[str, dict, dict[int, str]]] = {}  # src_uri -> (page text, record, figure offset -> uri)


def run_page(path: Path) -> dict | None:
    """The page's record: the last complete run's, or a fresh run's. None for a page without code."""
    text = path.read_text(encoding="utf-8")
    record = load_record(path, text)
    if record is not None:
        return record
    document = sybil.parse(path)
    if not document.regions:
        return None
    with redirect_stdout(io.StringIO()):  # recorded, not echoed into the build's log
        for example in document:
            try:
                example.evaluate()
            except SkipTest:
                continue
            except Exception as exc:
                raise PluginError(f"{path}, line {example.line}: a code block failed: {type(exc).__name__}: {exc}") from exc
    return document.record


def output_cell(text: str, out: dict) -> str:
    """A fenced text block holding what the block at ``out['start']`` printed, at its indentation."""
    lead = re.match(r"[^`~]*", text[out["start"] :]).group()
    indent = lead if set(lead) <= set(" \t>") else " " * len(lead)
    longest = max((len(run) for run in re.findall(r"`+", out["text"])), default=0)
    fence = "`" * max(3, longest + 1)
    body = "".join(indent + line for line in out["text"].splitlines(keepends=True))
    return f"\n\n{indent}{fence} {{ .text .zh-output .no-copy }}\n{body.rstrip()}\n{indent}{fence}\n"


def figure_html(match: re.Match, uri: str) -> str:
    caption = match["caption"] or ""
    alt = caption or match["expr"]
    cap = f"\n  <figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="zh-figure" markdown="span">\n  ![{alt}]({uri}){cap}\n</figure>'


def on_config(config):
    # mkdocs-jupyter keys its cache on the notebook's text alone, but the notebook runs zh: keep one
    # cache folder per version of the sources, and only the current one.
    notebooks = config.plugins.get("mkdocs-jupyter")
    if notebooks is not None and notebooks.config["cache"]:
        folder = ROOT / ".cache" / "notebooks"
        current = folder / sources_digest()[:16]
        for old in folder.glob("*"):
            if old != current:
                shutil.rmtree(old, ignore_errors=True)
        notebooks.config["cache_dir"] = str(current)
    return config


def on_files(files, config):
    _pages.clear()
    for file in list(files.documentation_pages()):
        if not file.src_uri.endswith(".md"):
            continue
        path = Path(file.abs_src_path)
        text = path.read_text(encoding="utf-8")
        record = run_page(path)
        if record is None:
            continue
        stem = PurePosixPath(file.src_uri).with_suffix("")
        uris = {}
        for n, (start, svg) in enumerate(record["figures"].items(), 1):
            if svg is None:
                uris[int(start)] = None
                continue
            name = f"{stem.name}-{n}.svg"
            files.append(File.generated(config, str(stem.parent / "figures" / name), content=svg))
            uris[int(start)] = f"figures/{name}"
        _pages[file.src_uri] = (text, record, uris)
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri not in _pages:
        return markdown
    text, record, uris = _pages[page.file.src_uri]
    if not text.endswith(markdown):
        raise PluginError(f"{page.file.src_uri}: its Markdown changed before the output hook ran")
    front = len(text) - len(markdown)  # front matter mkdocs has already taken off; nothing to edit there
    edits = [(out["end"], out["end"], output_cell(text, out)) for out in record["outputs"]]
    for match in FIGURE.finditer(text):
        if match.start() not in uris:
            raise PluginError(f"{page.file.src_uri}: figure `{match['expr']}` was not drawn (skipped?)")
        uri = uris[match.start()]
        edits.append((match.start(), match.end(), "" if uri is None else figure_html(match, uri)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text[front:]
