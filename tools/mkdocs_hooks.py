"""mkdocs hooks: figures rendered at build time from the real objects a page builds.

A page asks for a figure with an HTML comment on a line of its own::

    <!-- figure: draw_dot(loss) | The seed's example, with its gradients -->

At build time the page's code blocks run exactly as the tests run them (``sybil_pages.py``),
up to that comment; the expression is then evaluated in the page's namespace. Its value, a
graphviz graph or a matplotlib figure, is rendered to SVG, added to the site next to the page
(``figures/<page>-<n>.svg``) and shown in place of the comment. Readers see no comment, and
no picture on the site is drawn by hand.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
from pathlib import Path, PurePosixPath

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).parent))
from sybil_pages import sybil  # noqa: E402

FIGURE = re.compile(r"^<!-- figure: (?P<expr>.+?)(?:\s+\|\s+(?P<caption>.+?))?\s*-->[ \t]*$", re.M)
PACKAGE = Path(__file__).parent.parent / "zh"

_svgs: dict[str, list[str]] = {}  # cache key -> rendered SVGs of one page, in page order
_pages: dict[str, list[tuple[str, str]]] = {}  # page src_uri -> [(figure uri relative to the page, caption)]


def _to_svg(obj) -> str:
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


def _render(path: Path) -> list[str]:
    """Run the page's blocks in order and render every figure comment on it."""
    document = sybil.parse(path)
    examples = iter(list(document))
    pending = next(examples, None)
    svgs = []
    for match in FIGURE.finditer(document.text):
        while pending is not None and pending.region.start < match.start():
            try:
                pending.evaluate()
            except Exception as exc:
                raise PluginError(
                    f"{path}, line {pending.line}: a code block failed while rendering figures: {exc}"
                ) from exc
            pending = next(examples, None)
        try:
            svgs.append(_to_svg(eval(match["expr"], document.namespace)))
        except Exception as exc:
            raise PluginError(f"{path}: figure `{match['expr']}` failed: {exc}") from exc
    return svgs


def _key(text: str) -> str:
    # Re-render when the page or any zh module changes (mkdocs serve rebuilds often).
    stamp = max((p.stat().st_mtime_ns for p in PACKAGE.rglob("*.py")), default=0)
    return hashlib.sha256(f"{stamp}\0{text}".encode()).hexdigest()


def on_files(files, config):
    for file in list(files.documentation_pages()):
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        captions = [m["caption"] or "" for m in FIGURE.finditer(text)]
        if not captions:
            continue
        key = _key(text)
        if key not in _svgs:
            _svgs[key] = _render(Path(file.abs_src_path))
        stem = PurePosixPath(file.src_uri).with_suffix("")
        _pages[file.src_uri] = []
        for n, (svg, caption) in enumerate(zip(_svgs[key], captions), 1):
            name = f"{stem.name}-{n}.svg"
            files.append(File.generated(config, str(stem.parent / "figures" / name), content=svg))
            _pages[file.src_uri].append((f"figures/{name}", caption))
    return files


def on_page_markdown(markdown, page, config, files):
    figures = iter(_pages.get(page.file.src_uri, []))

    def replace(match):
        uri, caption = next(figures)
        alt = caption or match["expr"]
        cap = f"\n  <figcaption>{caption}</figcaption>" if caption else ""
        return f'<figure class="zh-figure" markdown="span">\n  ![{alt}]({uri}){cap}\n</figure>'

    return FIGURE.sub(replace, markdown)
