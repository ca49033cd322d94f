"""tools/reader_hooks.py: math in the table of contents and search titles, snippet markers, notebook downloads."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

from reader_hooks import SNIPPET_MARKER, tex_to_text  # noqa: E402

PAGE = """# A page

## How small should $h$ be?

Text.
"""

NOTEBOOK = """# %% [markdown]
# # A notebook

# %%
x = 1 + 1
"""


def build(tmp_path, extra_config="", extensions=""):
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\nmarkdown_extensions:\n  - pymdownx.arithmatex:\n      generic: true\n{extensions}"
        f"hooks:\n  - {ROOT / 'tools' / 'reader_hooks.py'}\n{extra_config}"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / "site"


def test_math_in_headings_is_typeset_in_the_toc_and_plain_in_search(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(PAGE)
    site = build(tmp_path)
    html = (site / "index.html").read_text()
    toc = html[html.index('href="#how-small-should-h-be"') :][:300]
    assert '<span class="arithmatex">\\(h\\)</span>' in toc
    titles = [doc["title"] for doc in json.loads((site / "search" / "search_index.json").read_text())["docs"]]
    assert "How small should h be?" in titles and not any("\\(" in t for t in titles)


def test_tex_to_text():
    assert tex_to_text(r"Why \(\sigma^2\) and \(\frac{1}{\sqrt{n}}\)?") == "Why σ2 and frac1√n?"
    assert tex_to_text("no math") == "no math"


def test_snippet_markers_are_blanked_in_source_listings():
    line = (
        '<a id="l64"></a>    <span class="c1"># --8&lt;-- [start:ops]</span>\n'
        '<a id="l65"></a>    <span class="k">def</span>'
    )
    out = SNIPPET_MARKER.sub("", line)
    assert "--8&lt;--" not in out and '<a id="l64"></a>' in out and '<span class="k">def</span>' in out
    kept = '<span class="c1"># a comment about [start:x]</span>'
    assert SNIPPET_MARKER.sub("", kept) == kept


def test_a_notebook_page_gets_its_ipynb(tmp_path):
    (tmp_path / "docs" / "notebooks").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "docs" / "notebooks" / "walk.py").write_text(NOTEBOOK)
    site = build(tmp_path, "plugins:\n  - mkdocs-jupyter:\n      include: ['notebooks/*.py']\n")
    notebook = nbformat.reads((site / "notebooks" / "walk" / "walk.ipynb").read_text(), as_version=4)
    nbformat.validate(notebook)
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "code"]
    assert notebook.cells[1].source == "x = 1 + 1"
    html = (site / "notebooks" / "walk" / "index.html").read_text()
    assert "MathJax.Hub" not in html and "x-mathjax-config" not in html


def test_a_missing_local_script_stops_the_build(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    hook = ROOT / "tools" / "reader_hooks.py"
    config = f"site_name: t\nextra_javascript: [vendor/mathjax/tex-mml-chtml.js]\nhooks: [{hook}]\n"
    (tmp_path / "mkdocs.yml").write_text(config)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0 and "vendor/mathjax/tex-mml-chtml.js is missing" in result.stderr
    assert "tools/setup.sh" in result.stderr
    # and a script that the site's mathjax.js loads on the pages with a formula
    (tmp_path / "mkdocs.yml").write_text(config.replace("vendor/mathjax/tex-mml-chtml.js", "javascripts/mathjax.js"))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0 and "vendor/mathjax/startup.js is missing" in result.stderr


def test_output_cells_and_source_listings_stay_out_of_the_search_index(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# A page\n\nLessontext.\n\n<div class=\"zh-output\">printedoutput</div>\n\n"
        '<details class="mkdocstrings-source"><summary>Source</summary>sourcelisting</details>\n\n'
        "```python\ncodeblock = 1\n```\n\nAn `inlinename` in the text.\n"
    )
    site = build(tmp_path, "theme:\n  name: material\nplugins:\n  - search\n",
                 extensions="  - pymdownx.highlight\n  - pymdownx.superfences\n")
    index = (site / "search" / "search_index.json").read_text()
    assert "Lessontext" in index and "inlinename" in index
    assert "printedoutput" not in index and "sourcelisting" not in index and "codeblock" not in index
