"""The Python half of the micrograd pages' Run buttons: it runs in the reader's browser, in Pyodide.

``docs/javascripts/run.js`` loads it once (``tools/browser_hooks.py`` adds it to the site) and calls
its three functions with a step's code; each returns JSON. A page's steps share one namespace, as in
the tests; what a step prints is captured, as the tests record it, and an error comes back as a
short traceback (the reader's code only, not this file's frames).
"""

import contextlib
import doctest
import io
import json
import sys
import traceback

sys.path.insert(0, "/zh-run")  # where run.js unpacks the wheels
_namespace: dict = {}


def new_page() -> None:
    """Start a fresh namespace: the reader opened another page (or the same one again)."""
    _namespace.clear()
    _namespace["__name__"] = "__main__"


def _traceback(exc: BaseException, filename: str) -> str:
    """The traceback from the first frame of the reader's code on."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _run(source: str, mode: str, filename: str) -> tuple[str, bool]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(source, filename, mode), _namespace)
        except BaseException as exc:  # the reader's error, shown as Python shows it
            return out.getvalue() + _traceback(exc, filename), True
    return out.getvalue(), False


def run_block(code: str) -> str:
    """Run a code block: ``{"output": what it printed or its traceback, "error": bool}``."""
    output, error = _run(code, "exec", "<block>")
    return json.dumps({"output": output, "error": error})


def run_doctest(text: str) -> str:
    """Run a REPL session (a doctest block) example by example, as the REPL would.

    Returns ``{"transcript": the session with each example's actual output, "examples": [{"want",
    "got"}...], "error": whether an example raised where the session shows no traceback}``: the page
    shows the transcript in place of the block.
    """
    pieces, examples, error = [], [], False
    try:
        parts = doctest.DocTestParser().parse(text)
    except ValueError as exc:  # a malformed prompt line
        return json.dumps({"transcript": f"{text.rstrip()}\n{exc}\n", "examples": [], "error": True})
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        lines = part.source.splitlines()
        pad = " " * part.indent
        pieces.append("".join(f"{pad}{'>>> ' if i == 0 else '... '}{line}\n" for i, line in enumerate(lines)))
        got, failed = _run(part.source, "single", "<stdin>")
        error |= failed and part.exc_msg is None  # an exception the session does not expect
        examples.append({"want": part.want, "got": got})
        pieces.append("".join(pad + line for line in got.splitlines(keepends=True)))
    return json.dumps({"transcript": "".join(pieces), "examples": examples, "error": error})


def draw(expr: str) -> str:
    """Evaluate a figure's expression: ``{"dot": its Graphviz source}``, or ``{"none": true}``, or an error."""
    try:
        graph = eval(compile(expr, "<figure>", "eval"), _namespace)
    except BaseException as exc:
        return json.dumps({"error": _traceback(exc, "<figure>")})
    if graph is None:
        return json.dumps({"none": True})
    if not hasattr(graph, "source"):
        return json.dumps({"error": f"the figure is a {type(graph).__name__}, not a graphviz graph"})
    return json.dumps({"dot": graph.source})


new_page()
