"""The figure hook (tools/mkdocs_hooks.py): figures come from the page's own objects, failures stop the build."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PAGE = '''# A page

```python
import graphviz
import matplotlib.pyplot as plt
g = graphviz.Digraph()
g.edge("x", "y")
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
```

<!-- figure: g | An edge from x to y -->

<!-- figure: ax -->
'''


def build(tmp_path, page):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(page)
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\nmarkdown_extensions: [md_in_html]\nhooks:\n  - {ROOT / 'tools' / 'mkdocs_hooks.py'}\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q"], cwd=tmp_path, capture_output=True, text=True
    )


def test_figures_are_rendered_from_page_objects(tmp_path):
    result = build(tmp_path, PAGE)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    graph, plot = (site / "figures" / "index-1.svg").read_text(), (site / "figures" / "index-2.svg").read_text()
    assert "<svg" in graph and ">x</text>" in graph and ">y</text>" in graph
    assert "<svg" in plot
    html = (site / "index.html").read_text()
    assert 'src="figures/index-1.svg"' in html and "<figcaption>An edge from x to y</figcaption>" in html
    assert "<!-- figure" not in html


def test_a_failing_block_stops_the_build(tmp_path):
    result = build(tmp_path, "# P\n\n```python\n1 / 0\n```\n\n<!-- figure: g -->\n")
    assert result.returncode != 0
    assert "index.md, line 3" in result.stderr and "division by zero" in result.stderr


def test_a_figure_must_be_a_graph_or_a_plot(tmp_path):
    result = build(tmp_path, "# P\n\n```python\nx = 3\n```\n\n<!-- figure: x -->\n")
    assert result.returncode != 0 and "expected a graphviz graph or a matplotlib figure, got int" in result.stderr
