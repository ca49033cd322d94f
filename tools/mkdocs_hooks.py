"""mkdocs hooks: each page shows what its code printed and drew, from the run the tests made.

Under every visible ```` ```python ```` block that printed something, the page shows that text in
an output cell (``.zh-output``), as a notebook does; blocks that print nothing, doctest blocks
(their output is in the block) and ``invisible-code-block`` checks show nothing extra.

A page asks for a figure with an HTML comment on a line of its own::

    <!-- figure: draw_dot(loss) | The seed's example, with its gradients -->

``EXPR`` is evaluated in the page's namespace at that point (``sybil_pages.py``); its value, a
graphviz graph or a matplotlib figure, is added to the site next to the page
(``figures/<page>-<n>.svg``) and shown in place of the comment; ``None`` (a plot of data that does
not exist yet) shows nothing, no empty frame.

Both come from the record of the page's last complete run (``sybil_pages.load_record``), written
by pytest: the build executes nothing a test run just executed. On a miss (the page or what it
imports or reads changed since, or ``mkdocs serve`` without a test run) the hook runs the page
itself, exactly as the tests do, the missing pages in parallel in fresh processes, logging each page
and its time; a failing block stops the build with the page and line. A notebook that mkdocs-jupyter
would execute (its cache has no entry for it) runs in the same pool, which writes the entry.

Under ``mkdocs serve --dirty`` (``make serve``) a rebuild renders only the pages whose Markdown changed:
an edit to a paragraph re-renders that page alone. What other pages show besides their own text
(``SHARED``: the ``zh`` sources their outputs, snippets and API reference come from, the results, these
hooks, the theme's overrides, the config) is watched here: after an edit there, every page is rendered
again, so a dirty build never shows a stale page. Pages that are not rendered again keep their titles
in the navigation (read from their source).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

os.environ.setdefault("MPLBACKEND", "Agg")
TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
from sybil_pages import (  # noqa: E402
    FIGURE, ROOT, SOURCES, execute_notebook, execute_page, load_record, notebook_cache_dir, notebook_cache_file,
    sources_digest, sybil,
)

log = logging.getLogger("mkdocs.hooks.zh")
_pages: dict[str, tuple[str, dict, dict[int, str | None]]] = {}  # src_uri -> (text, record, figure offset -> uri)
_last_seconds: dict[str, float] = {}  # page path -> how long its last run took (longest first next time)
# What a page's HTML can show besides its own Markdown (see the module docstring).
SHARED = [*SOURCES, TOOLS, ROOT / "overrides", ROOT / "mkdocs.yml"]
_dirty = {"serve": False, "shared": None}  # serving with --dirty; the digest of SHARED at the last build


def has_code(path: Path) -> bool:
    """Whether the page has steps to run (parsing is cheap; running is not)."""
    return bool(sybil.parse(path).regions)


def run_pages(paths: list[Path], notebooks: dict[Path, tuple] | None = None) -> dict[Path, dict | None]:
    """Execute the pages that have no current record, on all cores, saying which and how long each took.

    The pages run in a pool of new processes, one pool per build (so an edited ``zh`` module is imported
    anew), each page's steps in page order, exactly as its test runs them; the longest pages (by their
    last recorded time) start first. ``notebooks`` (path -> ``execute_notebook``'s other arguments) run
    in the same pool: mkdocs-jupyter then finds them in its cache.
    """
    # notebooks first: one takes as long as the slowest pages, and last it would run alone
    jobs = {path: (execute_notebook, str(path), *args) for path, args in (notebooks or {}).items()}
    jobs.update({path: (execute_page, str(path)) for path in paths})
    if not jobs:
        return {}
    workers = min(len(jobs), os.cpu_count() or 1)
    parts = [f"{len(paths)} page(s) with no current record"] if paths else []
    parts += [f"{len(notebooks)} notebook(s) with no cache entry"] if notebooks else []
    what = " and ".join(parts)
    log.info(f"zh: executing {what}, on {workers} process(es)")
    order = sorted(jobs, key=lambda p: -_last_seconds.get(str(p), 0.0))
    records, times, started = {}, {}, time.perf_counter()
    # the workers unpickle `execute_page` by importing sybil_pages, from this folder: mkdocs takes it off
    # sys.path after loading the hooks, and a new process starts with this one's sys.path
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(*jobs[path]): path for path in order}
        for k, future in enumerate(as_completed(futures), 1):
            path = futures[future]
            record, failure, seconds = future.result()
            if failure:
                for other in futures:
                    other.cancel()
                raise PluginError(failure)
            records[path], times[path] = record, seconds
            _last_seconds[str(path)] = seconds
            log.info(f"zh: [{k}/{len(jobs)}] {_name(path)} ran in {seconds:.1f} s")
    slowest = ", ".join(f"{_name(p)} {t:.0f} s" for p, t in sorted(times.items(), key=lambda x: -x[1])[:5])
    log.info(f"zh: executed {what} in {time.perf_counter() - started:.0f} s; slowest: {slowest}")
    return records


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT / "docs")) if path.is_relative_to(ROOT / "docs") else path.name


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


def _not_the_dirty_warning(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("A 'dirty' build is being performed")


def on_startup(command, dirty):
    _dirty["serve"] = command == "serve" and dirty
    if _dirty["serve"]:
        # mkdocs warns on every dirty build, which `strict: true` turns into a failed build; what it warns
        # of (stale pages and navigation) is taken care of in on_files and on_nav, so it is said once here.
        logging.getLogger("mkdocs.commands.build").addFilter(_not_the_dirty_warning)
        log.info("zh: serving with --dirty: an edited page is rendered again alone; an edit under zh/ or "
                 "tools/ renders every page (`make build` builds the whole site afresh)")


def on_config(config):
    # mkdocs-jupyter keys its cache on the notebook's text alone, but the notebook runs zh: keep one
    # cache folder per version of the sources, and only the current one.
    notebooks = config.plugins.get("mkdocs-jupyter")
    if notebooks is not None and notebooks.config["cache"]:
        current = notebook_cache_dir()
        for old in current.parent.glob("*"):
            if old != current:
                shutil.rmtree(old, ignore_errors=True)
        notebooks.config["cache_dir"] = str(current)
    return config


def notebooks_to_run(files, config) -> dict[Path, tuple]:
    """The notebooks mkdocs-jupyter would execute, having no cache entry: path -> ``execute_notebook``'s arguments.

    Every executed notebook's entry is also marked as used by this build: a dirty build that does not
    render the notebook would otherwise evict it, and the next build would run the notebook again.
    """
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None or not plugin.config["cache"] or not plugin.config["execute"]:
        return {}
    options, folder, found = dict(plugin.config), plugin.config["cache_dir"], {}  # plain: it goes to the pool
    for file in files:
        if plugin.should_include(file) and not any(
            PurePosixPath(file.abs_src_path).match(pattern) for pattern in options["execute_ignore"] or []
        ):
            entry = notebook_cache_file(file.abs_src_path, options, Path(folder))
            plugin._used_cache_paths.add(entry)
            if not entry.exists():
                found[Path(file.abs_src_path)] = (options, folder)
    return found


def on_files(files, config):
    _pages.clear()
    pages = [(file, Path(file.abs_src_path)) for file in files.documentation_pages() if file.src_uri.endswith(".md")]
    texts = {path: path.read_text(encoding="utf-8") for _, path in pages}
    records = {path: load_record(path, texts[path]) for _, path in pages}
    for record in records.values():
        if record is not None:
            _last_seconds[record["page"]] = record.get("seconds", 0.0)
    missing = [path for path, record in records.items() if record is None and has_code(path)]
    records.update(run_pages(missing, notebooks_to_run(files, config)))
    for file, path in pages:
        text = texts[path]
        record = records.get(path)
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
    if _dirty["serve"]:
        shared = sources_digest([p for p in SHARED if p.exists()])
        if _dirty["shared"] not in (None, shared):  # a page may show what changed: none of its HTML is current
            for file in files.documentation_pages():
                Path(file.abs_dest_path).unlink(missing_ok=True)
        _dirty["shared"] = shared
    return files


def on_nav(nav, config, files):
    if _dirty["serve"]:  # a page that is not rendered again still has its title in the others' navigation
        for page in nav.pages:
            if page.file.src_uri.endswith(".md") and not page.file.is_modified():
                page.read_source(config)
    return nav


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
