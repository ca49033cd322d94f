"""mkdocs hooks that fix what a reader would otherwise see raw.

- **Math in headings.** The table of contents gets the heading's math as MathJax markup (typeset in
  the browser like the page), and the search index a plain-text title (``How small should h be?``,
  not ``How small should \\(h\\) be?``): search results are shown as text.
- **Snippet markers.** The ``# --8<-- [start:name]`` comments that let pages include regions of
  ``zh``'s source are blanked in the API reference's source listings (the line stays, so the
  line numbers still match the file).
- **Scripts that are not there.** An ``extra_javascript`` file under ``docs/vendor/`` that is missing,
  or one that such a script loads when a page needs it (MathJax, before ``tools/setup.sh`` has
  fetched it), stops the build instead of leaving every formula raw.
- **A lighter search index.** Each visit that uses search loads the index (``overrides/main.html``
  holds it back until then), so what it holds is weighed:
  code blocks, the API reference's source listings and the pages' output cells are left out
  (``data-search-exclude``, which Material's search honours). The lessons' text, the names in it
  (inline code) and the docstrings stay searchable; the index is 0.36 MB instead of 0.82 MB.
- **Notebook pages.** Each notebook page (a jupytext ``.py`` file run by mkdocs-jupyter) gets its
  ``.ipynb`` next to it, for the download button of ``overrides/main.html``; the MathJax 2 loader
  and configuration that nbconvert's template puts in the page are taken out (the site's MathJax 3
  typesets notebooks too, and Material's instant navigation would run that code against it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import jupytext
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

# pymdownx.arithmatex turns $...$ into \(...\) before the toc extension reads the heading's text
INLINE_MATH = re.compile(r"\\\((.+?)\\\)")
SNIPPET_MARKER = re.compile(r'<span class="c1">#\s*--8&lt;--\s*\[(?:start|end):[\w-]+\]</span>')

# the TeX a heading is likely to hold, as text: enough for a search result's title
TEX_TEXT = {
    r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ", r"\epsilon": "ε", r"\varepsilon": "ε",
    r"\eta": "η", r"\theta": "θ", r"\lambda": "λ", r"\mu": "μ", r"\sigma": "σ", r"\tau": "τ",
    r"\partial": "∂", r"\nabla": "∇", r"\sum": "Σ", r"\cdot": "·", r"\times": "×", r"\approx": "≈",
    r"\le": "≤", r"\ge": "≥", r"\ne": "≠", r"\to": "→", r"\infty": "∞", r"\sqrt": "√",
}
TEX_COMMAND = re.compile(r"\\[A-Za-z]+")
TAG = re.compile(r"<[^>]+>")
# blocks the search index leaves out: code blocks, source listings (the docstrings are indexed), outputs
SEARCH_EXCLUDED = re.compile(r'<(details|div) (class="(?:mkdocstrings-source|zh-output|highlight"))')
NBCONVERT_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)


def tex_to_text(text: str) -> str:
    """Replace each ``\\(...\\)`` in ``text`` by plain text: known commands as symbols, braces dropped."""

    def plain(match: re.Match) -> str:
        tex = TEX_COMMAND.sub(lambda m: TEX_TEXT.get(m[0], m[0][1:]), match[1])
        return re.sub(r"[{}]|\\[,;!]", "", tex).replace("^", "").replace("_", "")

    return INLINE_MATH.sub(plain, text)


# what a script of the site loads when a page needs it (tools/setup.sh fetches them): MathJax on the pages
# with a formula; Pyodide and Graphviz on the first Run of a micrograd page (tools/browser_hooks.py)
LOADS_ON_DEMAND = {
    "javascripts/mathjax.js": ["vendor/mathjax/startup.js"],
    "javascripts/run.js": ["vendor/pyodide/pyodide.js", "vendor/viz/dist/viz-global.js"],
}


def on_config(config):
    scripts = list(map(str, config["extra_javascript"]))
    needed = [s for s in scripts if s.startswith("vendor/")] + [v for s in scripts for v in LOADS_ON_DEMAND.get(s, [])]
    for script in needed:
        if not (Path(config["docs_dir"]) / script).is_file():
            raise PluginError(f"{script} is missing from {config['docs_dir']}: run tools/setup.sh, which fetches it")
    return config


def _typeset_in_toc(items) -> None:
    for item in items:
        # arithmatex's markup: MathJax (docs/javascripts/mathjax.js) typesets only these spans
        item.title = INLINE_MATH.sub(lambda m: f'<span class="arithmatex">{m[0]}</span>', item.title)
        _typeset_in_toc(item.children)


def on_page_content(html, page, config, files):
    _typeset_in_toc(page.toc.items)
    html = SEARCH_EXCLUDED.sub(r"<\1 data-search-exclude \2", html)
    return NBCONVERT_MATHJAX.sub("", SNIPPET_MARKER.sub("", html))


def on_files(files, config):
    for file in list(files.documentation_pages()):
        if not file.src_uri.endswith(".py"):  # only mkdocs-jupyter turns .py files into pages
            continue
        notebook = jupytext.read(file.abs_src_path)
        stem = PurePosixPath(file.src_uri).stem
        # the page is <dir>/<stem>/index.html (or <dir>/<stem>.html): the notebook sits beside it
        target = PurePosixPath(file.dest_uri).parent / f"{stem}.ipynb"
        files.append(File.generated(config, str(target), content=jupytext.writes(notebook, fmt="ipynb")))
    return files


def on_post_build(config):
    # runs after the search plugin wrote its index (hooks come after the plugins)
    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if not index.is_file():
        return
    data = json.loads(index.read_text(encoding="utf-8"))
    for doc in data["docs"]:
        # section titles come from the table of contents, which now holds MathJax's markup
        doc["title"] = tex_to_text(TAG.sub("", doc["title"]))
    index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
