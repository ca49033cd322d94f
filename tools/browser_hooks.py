"""mkdocs hooks: the micrograd pages' code runs in the reader's browser (``docs/javascripts/run.js``).

The micrograd part is pure Python, so the reader's own browser can run it: Pyodide (CPython in
WebAssembly) and Graphviz in WebAssembly, both vendored by ``tools/setup.sh`` under ``docs/vendor/``
and loaded only when the reader first presses Run. This hook gives the page what it needs:

- **The package.** The pure-Python part of ``zh`` (``PACKAGE``), packed as a wheel from the working
  tree at build time, and the installed ``graphviz`` and ``micrograd`` packages as wheels, all added
  to the site under ``assets/run/``; the page unpacks them into Pyodide's file system (no network,
  no micropip).
- **The steps.** Per page of ``RUNNABLE``, the steps the tests run, in page order: each visible
  python block, each doctest block (a REPL session: it shows its outputs itself) and each figure
  comment, as JSON in the page. Hidden check blocks are left out: they never run in the browser.
  A step that imports what Pyodide lacks (torch, numpy, matplotlib, ``zh.data``...), or uses a name
  such a step (or a hidden block) made, is marked read-only with the reason: the page shows why.
- **The blocks.** Each rendered code block of a step gets ``data-zh-step``, so the page attaches
  its Run button to the right one; a step whose block is not found stops the build.

Other pages whose code imports what the browser lacks get a note under their title: what it needs
(torch, numpy, matplotlib), and a link to running it locally.

How far the browser's results agree with the tests' is checked by ``tests/test_browser_run.py``;
``tests/test_browser_package.py`` checks the wheels without torch and the read-only marking.
"""

from __future__ import annotations

import ast
import html
import importlib.metadata
import io
import json
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).parent))
from sybil_pages import FIGURE, ROOT, is_visible_block, sybil  # noqa: E402

RUNNABLE = "micrograd/"  # the pages, under docs/, whose blocks run in the browser
# The part of zh that needs the standard library alone (`import zh.nn` loads its torch layers lazily).
PACKAGE = [
    "zh/__init__.py", "zh/engine.py", "zh/nn/__init__.py", "zh/nn/micrograd.py", "zh/viz.py",
    "zh/exercises/__init__.py", "zh/exercises/micrograd.py",
]
THIRD_PARTY = ["graphviz", "micrograd"]  # pure-Python distributions, packed from the installed copies
ASSETS = "assets/run"
FENCE = re.compile(
    r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,})python[ \t]*\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$", re.M | re.S
)
# a rendered block, whatever attributes other hooks gave its <div> (reader_hooks.py: data-search-exclude)
CODE_BLOCK = re.compile(
    r'(?P<open><div\b[^>]*\bclass="highlight"[^>]*)><pre><span></span><code>(?P<code>.*?)</code></pre></div>', re.S
)
TAG = re.compile(r"<[^>]+>")

_wheels: list[str] = []  # their site paths
_steps: dict[str, list[dict]] = {}  # page src_uri -> its steps
_missing: dict[str, list[str]] = {}  # page src_uri -> what its code needs that the browser lacks


def wheel(name: str, version: str, files: dict[str, bytes]) -> tuple[str, bytes]:
    """A pure-Python wheel (file name and bytes) holding ``files`` (archive path -> contents)."""
    info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: zh\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"]).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data)  # same bytes each build
    return f"{name}-{version}-py3-none-any.whl", buf.getvalue()


def installed(name: str) -> dict[str, bytes]:
    """The Python files of an installed distribution, by their path in its wheel."""
    dist = importlib.metadata.distribution(name)
    return {str(f): f.locate().read_bytes() for f in dist.files if f.suffix == ".py" and "__pycache__" not in f.parts}


def browser_modules() -> set[str]:
    """The modules a page can import in the browser, besides the standard library."""
    modules = set()
    for path in PACKAGE:
        parts = PurePosixPath(path).with_suffix("").parts
        modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for name in THIRD_PARTY:
        for path in installed(name):
            parts = PurePosixPath(path).with_suffix("").parts
            modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def _imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append(node.module)
    return found


def _missing_modules(tree: ast.AST, modules: set[str]) -> list[str]:
    """The modules ``tree`` imports that are neither in the standard library nor in ``modules``."""
    return [m for m in _imports(tree) if m not in modules and m.split(".")[0] not in sys.stdlib_module_names]


def _calls(tree: ast.AST, name: str) -> bool:
    """Whether ``tree`` calls the function ``name`` anywhere."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(tree))


def _names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """The names ``tree`` reads before binding them, and the names it binds (assignments, imports, defs).

    Statement by statement: a name a statement reads counts unless an earlier statement bound it.
    """
    loads, stores = set(), set()
    for statement in tree.body:
        read, bound = _statement_names(statement)
        loads |= read - stores
        stores |= bound
    return loads, stores


def _statement_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    loads, stores, local = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, ast.arg):  # a parameter: local to its function
            local.add(node.arg)
        elif isinstance(node, ast.comprehension):  # its variables are local to it
            local.update(name.id for name in ast.walk(node.target) if isinstance(name, ast.Name))
    return loads - local, stores - local


# Where a name is only read: called, or an operand of arithmetic, a comparison or an f-string.
_READ_ONLY_USES = {(ast.Call, "func"), (ast.BinOp, "left"), (ast.BinOp, "right"), (ast.UnaryOp, "operand"),
                   (ast.Compare, "left"), (ast.Compare, "comparators"), (ast.FormattedValue, "value")}


def _maybe_changed(tree: ast.AST, loads: set[str]) -> set[str]:
    """The names of ``loads`` that ``tree`` may change: any used other than as `_READ_ONLY_USES` says
    (passed to a function, aliased, an attribute or item taken: ``train(model)``, ``m = model``, ``xs.append``)."""
    changed = set()
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.Name) and child.id in loads and (type(parent), field) not in _READ_ONLY_USES:
                    changed.add(child.id)
    return changed


def answer_code(answers: Path, page: str) -> ast.Module:
    """The code that computes the page's reference answers: the module's top-level statements, the
    functions registered with ``exercise(page, ...)``, and the module's functions they use, transitively."""
    tree = ast.parse(answers.read_text(encoding="utf-8"))
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}

    def registers_for_page(call: ast.AST) -> bool:  # exercise("part/page", ...)
        return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "exercise"
                and bool(call.args) and isinstance(call.args[0], ast.Constant) and call.args[0].value == page)

    todo = [n for n in defs.values() if any(registers_for_page(d) for d in n.decorator_list)]
    for statement in tree.body:  # exercise(page, ...)(function), registered after its definition
        if isinstance(statement, ast.Expr) and registers_for_page(getattr(statement.value, "func", None)):
            todo += [defs[a.id] for a in statement.value.args if isinstance(a, ast.Name) and a.id in defs]
    used: list[ast.stmt] = []
    while todo:
        node = todo.pop()
        if node not in used:
            used.append(node)
            todo += [defs[n.id] for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defs]
    top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Expr))]
    return ast.Module(body=top + used, type_ignores=[])


def page_steps(path: Path, text: str, modules: set[str]) -> list[dict]:
    """The page's steps as the browser runs them (see the module's docstring)."""
    document = sybil.parse(path)
    fences = [(m.start(), m.end(), m) for m in FENCE.finditer(text)]
    figures = [m.start() for m in FIGURE.finditer(text)]
    tainted: set[str] = set()  # names whose value in the browser may differ from the tests'
    # `check(...)` computes its reference answer in the page's zh.exercises module: what that needs
    answers = ROOT / "zh" / "exercises" / f"{path.parent.name}.py"
    check_needs = (_missing_modules(answer_code(answers, f"{path.parent.name}/{path.stem}"), modules)
                   if answers.exists() else [])
    steps: list[dict] = []
    last_fence = None
    for example in document:
        kind = getattr(example.region.evaluator, "__name__", type(example.region.evaluator).__name__)
        if kind == "evaluate_figure":
            source = example.parsed
            # the build's drawing of it (mkdocs_hooks.py numbers a page's figures from 1)
            image = f"{path.stem}-{figures.index(example.start) + 1}.svg"
            steps.append({"kind": "figure", "expr": source, "image": image})
        elif kind in ("PythonEvaluator", "DocTestEvaluator"):
            source = example.parsed if kind == "PythonEvaluator" else example.parsed.source
            if kind == "PythonEvaluator" and not is_visible_block(example):
                tainted |= _names(ast.parse(source))[1]  # a hidden check: it never runs in the browser
                continue
            fence = next(m for s, e, m in fences if s <= example.start < e)
            if fence is not last_fence:  # the next examples of a doctest block belong to its step
                indent = len(fence["indent"])
                # a blank line inside an indented block (a solution) keeps its newline
                lines = fence["body"].splitlines(keepends=True)
                code = "".join(line[indent:] if line.strip() else "\n" for line in lines)
                kind = "block" if kind == "PythonEvaluator" else "doctest"
                steps.append({"kind": kind, "code": code, "start": example.start})
            last_fence = fence
        else:  # skip / clear-namespace: not followed in the browser, so nothing after it runs there
            tainted.add("*")
            continue
        step = steps[-1]
        try:
            tree = ast.parse(source)
        except SyntaxError:  # left to the tests, which run every block
            tree = ast.Module(body=[], type_ignores=[])
        loads, stores = _names(tree)
        missing = _missing_modules(tree, modules)
        if "readonly" not in step and missing:
            step["readonly"] = f"needs {missing[0] if missing[0].startswith('zh.') else missing[0].split('.')[0]}"
        elif "readonly" not in step and check_needs and _calls(tree, "check"):
            step["readonly"] = f"its self-check computes the answer with {check_needs[0].split('.')[0]}"
        elif "readonly" not in step and "*" in tainted:
            step["readonly"] = "comes after a skip or clear-namespace directive, which the browser does not follow"
        elif "readonly" not in step and loads & tainted:
            step["readonly"] = f"uses {min(loads & tainted)}, which comes from code the browser cannot run"
        if "readonly" in step:
            tainted |= stores | _maybe_changed(tree, loads)  # train(model, ...) may change model
    return steps


def on_files(files, config):
    _wheels.clear()
    _steps.clear()
    _missing.clear()
    from zh import __version__

    packed = [wheel("zh", __version__, {p: (ROOT / p).read_bytes() for p in PACKAGE})]
    packed += [wheel(name, importlib.metadata.version(name), installed(name)) for name in THIRD_PARTY]
    packed.append(("run.py", (Path(__file__).parent / "browser_run.py").read_bytes()))
    for name, data in packed:
        files.append(File.generated(config, f"{ASSETS}/{name}", content=data))
        if name.endswith(".whl"):
            _wheels.append(f"{ASSETS}/{name}")
    modules = browser_modules()
    for file in files.documentation_pages():
        if file.src_uri.startswith(RUNNABLE) and file.src_uri.endswith(".md"):
            path = Path(file.abs_src_path)
            _steps[file.src_uri] = page_steps(path, path.read_text(encoding="utf-8"), modules)
        elif file.src_uri.endswith(".md") and not file.src_uri.startswith("results/"):
            _missing[file.src_uri] = missing_imports(Path(file.abs_src_path), modules)
    return files


def missing_imports(path: Path, modules: set[str]) -> list[str]:
    """What the page's visible code imports that the browser lacks: ``torch``, ``numpy``... (else ``zh.data``...)."""
    missing = []
    for example in sybil.parse(path):
        evaluator = type(example.region.evaluator).__name__
        if evaluator == "DocTestEvaluator" or (evaluator == "PythonEvaluator" and is_visible_block(example)):
            source = example.parsed.source if evaluator == "DocTestEvaluator" else example.parsed
            missing += [m for m in _missing_modules(ast.parse(source), modules) if m not in missing]
    third_party = list(dict.fromkeys(m.split(".")[0] for m in missing if not m.startswith("zh.")))
    return third_party or missing  # zh's other modules need torch or numpy themselves


def on_page_content(content, page, config, files):
    steps = _steps.get(page.file.src_uri)
    if steps is None:
        return _with_note(content, page)
    blocks = [i for i, step in enumerate(steps) if step["kind"] != "figure"]
    pieces, at = [], 0
    for match in CODE_BLOCK.finditer(content):
        if not blocks:
            break
        shown = html.unescape(TAG.sub("", match["code"]))
        if shown.rstrip("\n") != steps[blocks[0]]["code"].rstrip("\n"):
            continue
        pieces += [content[at : match.start()], f'{match["open"]} data-zh-step="{blocks.pop(0)}">']
        at = match.end("open") + 1
    if blocks:
        first = steps[blocks[0]]["code"].strip().splitlines()[0]
        raise PluginError(f"{page.file.src_uri}: the block of step {blocks[0]} ({first!r}) was not found in the page")
    manifest = {"wheels": _wheels, "steps": steps}
    script = json.dumps(manifest).replace("</", "<\\/")  # no "</script>" inside the script
    return "".join(pieces) + content[at:] + f'\n<script type="application/json" id="zh-run">{script}</script>\n'


def _with_note(content: str, page) -> str:
    """The page, with a note under its title if its code needs what the browser does not have."""
    missing = _missing.get(page.file.src_uri)
    if not missing:
        return content
    root = "../" * page.url.count("/")
    names = [f"<code>{name}</code>" for name in missing]
    needs = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    note = (
        f'<p class="zh-run-note">This page\'s code needs {needs}, which a browser does not have: it runs on '
        f'your computer (<a href="{root}#run-it-locally">set-up</a>; then paste the blocks in order into '
        f'Python or a notebook). The <a href="{root}micrograd/derivative/">micrograd pages</a> run in the '
        "browser.</p>\n"
    )
    heading = content.find("</h1>")
    at = heading + len("</h1>") if heading >= 0 else 0
    return content[:at] + "\n" + note + content[at:]
