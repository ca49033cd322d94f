"""The site's notebooks (docs/notebooks/*.py) run as the build runs them, and leave the build nothing to run.

mkdocs-jupyter executes a notebook when its cache has no entry for it. ``execute_notebook`` writes that
entry: the tests run each notebook beside the other tests, and the build after them reads the entry, as
it reads the pages' records (``make serve`` runs the notebooks in its pool, beside the pages).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.config import load_config

from sybil_pages import ROOT, execute_notebook, notebook_cache_dir, notebook_cache_file

NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.py"))


def notebook_options(config_file: Path) -> dict:
    return dict(load_config(str(config_file)).plugins["mkdocs-jupyter"].config)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_runs_and_leaves_the_build_its_cache_entry(path):
    options, folder = notebook_options(ROOT / "mkdocs.yml"), notebook_cache_dir()
    _, failure, _ = execute_notebook(str(path), options, str(folder))
    assert failure is None, failure
    assert notebook_cache_file(str(path), options, folder).is_file()


PROJECT = """site_name: t
plugins:
  - mkdocs-jupyter:
      include: ["notebooks/*.py"]
      execute: true
      allow_errors: false
      cache: true
      cache_dir: {cache}
"""


def notebook_project(tmp_path, code: str) -> Path:
    (tmp_path / "docs" / "notebooks").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "docs" / "notebooks" / "walk.py").write_text(f"# %% [markdown]\n# # A notebook\n\n# %%\n{code}\n")
    (tmp_path / "mkdocs.yml").write_text(PROJECT.format(cache=tmp_path / "cache"))
    return tmp_path / "docs" / "notebooks" / "walk.py"


def test_the_build_reads_the_entry_and_runs_nothing(tmp_path):
    runs = tmp_path / "runs.txt"
    notebook = notebook_project(tmp_path, f"open({str(runs)!r}, 'a').write('ran\\n')\nprint('the answer:', 6 * 7)")
    options = notebook_options(tmp_path / "mkdocs.yml")
    assert execute_notebook(str(notebook), options, str(tmp_path / "cache"))[1] is None
    assert runs.read_text() == "ran\n"
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "Cache hit" in build.stderr and runs.read_text() == "ran\n"  # the build did not run it again
    assert "the answer: 42" in (tmp_path / "site" / "notebooks" / "walk" / "index.html").read_text()


def test_a_failing_notebook_is_reported_with_its_error(tmp_path):
    notebook = notebook_project(tmp_path, "assert 1 + 1 == 3, 'arithmetic'")
    _, failure, _ = execute_notebook(str(notebook), notebook_options(tmp_path / "mkdocs.yml"), str(tmp_path / "cache"))
    assert failure.startswith(f"{notebook}: the notebook failed") and "arithmetic" in failure
    assert not list((tmp_path / "cache").glob("*.json"))


def test_a_build_that_does_not_render_the_notebook_keeps_its_entry(tmp_path):
    """A dirty rebuild (``make serve`` after an edit elsewhere) renders no notebook: mkdocs-jupyter would evict
    the entry of every notebook it did not render, and the next build would run it again."""
    from mkdocs.structure.files import File, Files

    from mkdocs_hooks import notebooks_to_run

    notebook = notebook_project(tmp_path, "x = 1")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    plugin = config.plugins["mkdocs-jupyter"]
    files = Files([File("notebooks/walk.py", config["docs_dir"], config["site_dir"], False)])
    plugin.on_pre_build(config)
    assert list(notebooks_to_run(files, config)) == [notebook]  # no entry yet: to run
    entry = notebook_cache_file(str(notebook), dict(plugin.config), tmp_path / "cache")
    entry.parent.mkdir(parents=True)
    entry.write_text("{}")
    plugin.on_pre_build(config)
    assert notebooks_to_run(files, config) == {}
    plugin.on_post_build(config)  # the notebook page was not rendered in this build
    assert entry.exists()
