"""Every page is a test module: guard against a configuration that silently collects no page."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sybil_pages import sybil  # noqa: E402


def test_every_docs_page_is_collected():
    pages = [p for p in (ROOT / "docs").rglob("*.md") if "results" not in p.relative_to(ROOT / "docs").parts]
    assert pages, "no pages under docs/"
    missed = [str(p) for p in pages if not sybil.should_parse(p)]
    assert not missed, f"pages sybil would not run: {missed}"


def test_script_outputs_are_not_pages():
    assert not sybil.should_parse(ROOT / "docs" / "results" / "bench_engine.md")


def test_every_module_has_an_api_reference_entry():
    """Each file of the package is rendered on some page of docs/reference/ (``::: zh.module``)."""
    listed = {
        line[4:].strip()
        for page in (ROOT / "docs" / "reference").glob("*.md")
        for line in page.read_text().splitlines()
        if line.startswith("::: ")
    }
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "zh").rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
        and path.parent != ROOT / "zh" / "exercises"  # the exercises' answers: a reference would give them away
    }
    assert sorted(modules - listed) == []


def test_the_reference_index_lists_every_reference_page():
    """The API reference's index links each page of docs/reference/ (it once left out zh.models.bert)."""
    folder = ROOT / "docs" / "reference"
    index = (folder / "index.md").read_text()
    unlisted = [p.name for p in folder.glob("*.md") if p.name != "index.md" and f"]({p.name})" not in index]
    assert unlisted == []
