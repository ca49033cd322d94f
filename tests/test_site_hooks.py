"""The page executor and the build hook (tools/sybil_pages.py, tools/mkdocs_hooks.py).

Figures come from the page's own objects; what a visible block prints is shown under it; one run
(pytest's) serves the build; an edit is never shown stale; failures stop the build with page and line.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from sybil_pages import EXECUTOR, load_record, make_sybil, page_dependencies, page_key, sources_digest  # noqa: E402

FIGURES = '''# A page

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

# Each block appends to runs.txt, so a test can count how many times the page was executed.
OUTPUTS = '''# Outputs

```python
from pathlib import Path
with Path("runs.txt").open("a") as f:
    f.write("run\\n")
x = 2
print("x is", x)
```

<!-- invisible-code-block: python
print("a hidden check prints this")
assert x == 2
-->

```python
y = 3
```

```python
>>> x + y
5
```

!!! note

    ```python
    print("inside a note, <b>not bold</b>")
    ```
'''

CONFTEST = '''from pathlib import Path
from sybil_pages import make_sybil
pytest_collect_file = make_sybil(Path(__file__).parent / "docs").pytest()
'''

MKDOCS_YML = f"""site_name: t
markdown_extensions: [md_in_html, attr_list, admonition, pymdownx.superfences, pymdownx.highlight]
hooks:
  - {ROOT / "tools" / "mkdocs_hooks.py"}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(MKDOCS_YML)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "pytest.ini").write_text(f"[pytest]\npythonpath = {ROOT / 'tools'}\n")  # as pyproject.toml does
    monkeypatch.setenv("ZH_PAGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def run(project, *args):
    return subprocess.run([sys.executable, "-m", *args], cwd=project, capture_output=True, text=True)


def build(project, page):
    (project / "docs" / "index.md").write_text(page)
    return run(project, "mkdocs", "build", "--strict", "-q")


def outputs(project):
    html = (project / "site" / "index.html").read_text()
    cells = html.split('zh-output no-copy highlight"><pre><span></span><code>')[1:]
    return [cell.split("</code>")[0] for cell in cells]


def test_figures_are_rendered_from_page_objects(project):
    result = build(project, FIGURES)
    assert result.returncode == 0, result.stderr
    site = project / "site"
    graph, plot = (site / "figures" / "index-1.svg").read_text(), (site / "figures" / "index-2.svg").read_text()
    assert "<svg" in graph and ">x</text>" in graph and ">y</text>" in graph
    assert "<svg" in plot
    html = (site / "index.html").read_text()
    assert 'src="figures/index-1.svg"' in html and "<figcaption>An edge from x to y</figcaption>" in html
    assert "<!-- figure" not in html


def test_printed_text_shows_under_its_block_and_hidden_checks_show_nothing(project):
    result = build(project, OUTPUTS)
    assert result.returncode == 0, result.stderr
    # In page order, escaped, and only for the two visible blocks that print.
    assert outputs(project) == ["x is 2\n", "inside a note, &lt;b&gt;not bold&lt;/b&gt;\n"]
    html = (project / "site" / "index.html").read_text()
    assert html.count("a hidden check prints this") == 1  # in the check's own source (an HTML comment)
    assert "run\n" not in result.stdout + result.stderr  # the build does not echo what pages print


@pytest.mark.slow
def test_one_pytest_run_serves_the_build_and_an_edit_is_never_stale(project):
    (project / "docs" / "index.md").write_text(OUTPUTS)
    (project / "docs" / "other.md").write_text("# Other\n\n```python\nprint('other page')\n```\n")
    # As `make test` runs it: two workers, one page per worker at a time.
    tests = run(project, "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile", "docs")
    assert tests.returncode == 0, tests.stdout
    assert "x is 2" not in tests.stdout  # pytest captured it as usual
    record = load_record(project / "docs" / "index.md")
    assert [(o["line"], o["text"]) for o in record["outputs"]] == [
        (3, "x is 2\n"),
        (27, "inside a note, <b>not bold</b>\n"),
    ]
    assert load_record(project / "docs" / "other.md")["outputs"][0]["text"] == "other page\n"

    assert build(project, OUTPUTS).returncode == 0
    assert (project / "runs.txt").read_text() == "run\n"  # the build reused pytest's run
    assert outputs(project)[0] == "x is 2\n"

    edited = OUTPUTS.replace("x = 2", "x = 7").replace("x == 2", "x == 7").replace("5\n```", "10\n```")
    assert build(project, edited).returncode == 0, "the edited page must run again"
    assert (project / "runs.txt").read_text() == "run\nrun\n"
    assert outputs(project)[0] == "x is 7\n"
    assert len(list((project / "cache").glob("*.json"))) == 2  # the old record of index.md is gone


def test_a_partial_or_failing_run_records_nothing(project):
    (project / "docs" / "index.md").write_text(OUTPUTS.replace("x == 2", "x == 3"))
    assert run(project, "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "docs").returncode != 0
    assert load_record(project / "docs" / "index.md") is None
    (project / "docs" / "index.md").write_text(OUTPUTS)
    only_first = run(project, "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "docs", "-k", "line:3")
    assert only_first.returncode == 0
    assert load_record(project / "docs" / "index.md") is None


def test_the_notebook_key_follows_every_source_file(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    before = sources_digest([tmp_path / "pkg"])
    (tmp_path / "pkg" / "a.py").write_text("A = 2\n")
    assert sources_digest([tmp_path / "pkg"]) != before


@pytest.fixture(scope="module")
def copy_of_the_site(tmp_path_factory):
    """zh/, docs/ and the executor's files, copied: a place to edit a module and see which records go stale."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(ROOT / "zh", root / "zh", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "docs", root / "docs", ignore=shutil.ignore_patterns("vendor"))
    for file in EXECUTOR:
        (root / file.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, root / file.relative_to(ROOT))
    return root


def keys(root):
    pages = sorted(p for p in (root / "docs").rglob("*.md") if "results" not in p.parts)
    return {p.relative_to(root / "docs").as_posix(): page_key(p, p.read_text(encoding="utf-8"), root) for p in pages}


def stale_after(root, file, edit):
    before = keys(root)
    original = (root / file).read_text(encoding="utf-8")
    (root / file).write_text(edit(original), encoding="utf-8")
    try:
        after = keys(root)
    finally:
        (root / file).write_text(original, encoding="utf-8")
    return {page for page in before if before[page] != after[page]}


def test_editing_a_module_reruns_only_the_pages_that_import_it(copy_of_the_site):
    cuda_pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs" / "cuda").glob("*.md")}
    assert stale_after(copy_of_the_site, "zh/cuda/matmul.py", lambda s: s + "\n# an edit\n") == cuda_pages
    engine = stale_after(copy_of_the_site, "zh/engine.py", lambda s: s + "\n# an edit\n")
    # (zh.diagrams, which the CUDA pages draw with, tells a GPT by its parts, so it imports no model)
    assert "micrograd/value.md" in engine and not engine & cuda_pages
    assert not any(p.startswith("tokenizer/") for p in engine)
    # a module imported inside a function counts: the results a page reads through zh count too
    assert stale_after(copy_of_the_site, "docs/results/train_gpt.json", lambda s: s + " ") >= {"attention/gpt.md"}


def test_editing_a_paragraph_reruns_that_page_only(copy_of_the_site):
    edit = lambda s: s.replace("\n\n", "\n\nA new paragraph.\n\n", 1)  # noqa: E731
    assert stale_after(copy_of_the_site, "docs/makemore/mlp.md", edit) == {"makemore/mlp.md"}


def test_a_page_depends_on_what_its_imports_import(copy_of_the_site):
    page = copy_of_the_site / "docs" / "micrograd" / "value.md"
    files = page_dependencies(page, page.read_text(), copy_of_the_site)
    deps = {f.relative_to(copy_of_the_site).as_posix() for f in files}
    assert {"zh/__init__.py", "zh/engine.py"} <= deps
    assert not any(d.startswith(("zh/cuda", "zh/tokenizer", "zh/models")) for d in deps)


def test_pages_are_pytest_items_with_figures_as_steps(project):
    (project / "docs" / "index.md").write_text(FIGURES)
    document = make_sybil(project / "docs").parse(project / "docs" / "index.md")
    assert [type(r.evaluator).__name__ for _, r in document.regions] == ["PythonEvaluator", "function", "function"]


def test_a_failing_block_stops_the_build_with_page_and_line(project):
    result = build(project, "# P\n\n```python\n1 / 0\n```\n\n<!-- figure: g -->\n")
    assert result.returncode != 0
    assert "index.md, line 3" in result.stderr and "division by zero" in result.stderr


def test_a_figure_must_be_a_graph_or_a_plot(project):
    result = build(project, "# P\n\n```python\nx = 3\n```\n\n<!-- figure: x -->\n")
    assert result.returncode != 0
    assert "index.md, line 7" in result.stderr
    assert "expected a graphviz graph or a matplotlib figure, got int" in result.stderr


def test_a_figure_of_none_shows_nothing(project):
    page = "# P\n\n```python\nresults = None\n```\n\nNothing measured yet.\n\n<!-- figure: results | A plot -->\n"
    result = build(project, page)
    assert result.returncode == 0, result.stderr
    html = (project / "site" / "index.html").read_text()
    assert "<figure" not in html and "A plot" not in html and "Nothing measured yet." in html
    assert not (project / "site" / "figures").exists()


# Three builds in one process, as `mkdocs serve --dirty` (`make serve`) makes them after edits.
DIRTY_SERVE = """
import sys
from pathlib import Path
from mkdocs.commands.build import build
from mkdocs.config import load_config

def config():
    return load_config("mkdocs.yml", site_dir="site", strict=True)  # as mkdocs.yml sets it

first = config()
hooks = next(iter(first["hooks"].values()))
hooks.SHARED = [Path("shared.txt").resolve()]  # stands for zh/, tools/...: what every page may show
first.plugins.on_startup(command="serve", dirty=True)
build(first, serve_url="http://127.0.0.1:8000/", dirty=True)
for edit in sys.stdin.read().split("\\n"):
    path, old, new = edit.split("|")
    Path(path).write_text(Path(path).read_text().replace(old, new))
    stamps = {p: p.stat().st_mtime_ns for p in Path("site").rglob("index.html")}
    build(config(), serve_url="http://127.0.0.1:8000/", dirty=True)
    rendered = sorted(str(p.parent) for p in stamps if p.stat().st_mtime_ns != stamps[p])
    print(rendered, ">A third page</a>" in Path("site/other/index.html").read_text())
"""


def test_a_dirty_rebuild_renders_the_edited_page_and_a_shared_edit_renders_all(project):
    (project / "docs" / "index.md").write_text(OUTPUTS)
    (project / "docs" / "other.md").write_text("# Other\n\nA paragraph.\n\n```python\nprint('other page')\n```\n")
    (project / "docs" / "third.md").write_text("# A third page\n\nNo code.\n")
    (project / "shared.txt").write_text("v1\n")
    edits = "docs/other.md|A paragraph.|An edited paragraph.\nshared.txt|v1|v2"
    result = subprocess.run([sys.executable, "-c", DIRTY_SERVE], cwd=project, input=edits,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    paragraph, shared = result.stdout.splitlines()
    # the edited page alone is rendered again, and the page it was not rendered with keeps its title in its
    # navigation (not "None")
    assert paragraph == "['site/other'] True"
    assert shared == "['site', 'site/other', 'site/third'] True"  # every page may show the shared file
    other = (project / "site" / "other" / "index.html").read_text()
    assert "An edited paragraph." in other and "other page" in other
    assert (project / "runs.txt").read_text() == "run\n"  # index.md ran once: its record served every build
