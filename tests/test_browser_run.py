"""The micrograd pages' Run buttons, in the real browser (Debian's Chromium, offline, as test_browser.py).

On every micrograd page, Run is pressed on each runnable block in page order; each visible block must
print what the tests recorded for it (``sybil_pages.load_record``), each doctest block must give the
outputs its session states (checked as sybil checks them), and each graph must be drawn with the same
labels as the build's SVG. No page may fetch Pyodide before a click. An edited block (a changed
weight) gives the new result the same code gives in this interpreter, and Reset puts the page back.

Times are measured from the click to the output shown, and printed: the first click of a page
starts Python (target ≤ 10 s), later blocks take ≤ 1 s each (``SLACK`` below). ``make test`` runs
this file on the site it built, beside test_browser.py, each in a pytest-xdist worker of its own
(Playwright's sync API allows one instance per process; both wait on the browser most of the time).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import tempfile
import time

import pytest
from sybil.evaluators.doctest import NUMBER, OutputChecker
from test_browser import (  # noqa: F401 - the fixtures server and site
    CHROMIUM, DOCS, FLAGS, HOLDING_PLAYWRIGHT, PAGES, load_record, server, site, url_of,
)

MICROGRAD = [src for src in PAGES if src.startswith("micrograd/") and src.endswith(".md")]
# The targets are 10 s for a page's first output (Python starts) and 1 s for each later block; the
# test allows three times as much, as this 2-core machine often runs several test suites at once.
FIRST_OUTPUT_S, LATER_OUTPUT_S = 10.0, 1.0
SLACK = 3
TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")

MANIFEST = "() => JSON.parse(document.getElementById('zh-run').textContent)"
STATE = "i => document.querySelector(`[data-zh-step='${i}']`).dataset.zhState"
FINISHED = "i => ['done', 'error'].includes(document.querySelector(`[data-zh-step='${i}']`).dataset.zhState)"
SVG_OF = "async (src) => { const img = document.querySelector(`img[data-zh-figure='${src}']`); \
return img && img.closest('figure').dataset.zhState === 'done' ? await (await fetch(img.src)).text() : null; }"


@pytest.fixture(scope="module")
def browser(request, server):  # noqa: F811 - the fixture imported above
    """A Chromium page, offline as in test_browser.py, noting every URL it requests."""
    if HOLDING_PLAYWRIGHT:
        pytest.skip("runs in a pytest process of its own, as `make test` runs it (-n 2 --dist loadfile): "
                    "Playwright's sync API allows one instance at a time, and test_browser.py holds one")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1280, "height": 900}
        )
        origin = server.rstrip("/")
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(origin) else r.abort())
        page = context.pages[0] if context.pages else context.new_page()
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        yield page
        context.close()


def press_run(page, index: int) -> float:
    """Press the Run button of step ``index``; the seconds until its output is shown."""
    # a block inside an exercise's collapsed solution: the reader opens the solution first
    page.evaluate("i => document.querySelector(`[data-zh-bar='${i}']`).closest('details')?.setAttribute('open', '')",
                  index)
    started = time.perf_counter()
    page.click(f"[data-zh-bar='{index}'] >> text=Run")
    page.wait_for_function(FINISHED, arg=index, timeout=60_000)
    elapsed = time.perf_counter() - started
    page.evaluate("() => zhRun.page.busy")  # and the figures after it have their Graphviz source
    return elapsed


def svg_texts(svg: str) -> list[str]:
    return sorted(text.strip() for text in TEXT.findall(svg) if text.strip())


FIGURE_DONE = "src => { const img = document.querySelector(`img[data-zh-figure='${src}']`); \
return img && ['done', 'error', 'none'].includes(img.closest('figure').dataset.zhState); }"


def python_fetched(page) -> list[str]:
    return [url for url in page.requested if "/vendor/pyodide/" in url or "/vendor/viz/" in url]


def check_page(page, site, src: str, steps: list[dict]) -> list[float]:  # noqa: F811
    """Press Run on each runnable block of the page shown, in order; the seconds each took."""
    record = load_record(DOCS / src)
    assert record is not None, f"{src} has no record of a complete run: run its tests (or build the site) first"
    printed = {out["start"]: out["text"] for out in record["outputs"]}
    checker, flags = OutputChecker(), doctest.ELLIPSIS | NUMBER
    runnable = [i for i, step in enumerate(steps) if step["kind"] != "figure" and "readonly" not in step]
    times = []
    for i in runnable:
        times.append(press_run(page, i))
        result = page.evaluate("i => zhRun.results[i]", i)
        assert not result["error"] and page.evaluate(STATE, i) == "done", f"{src}, step {i}: {result}"
        if steps[i]["kind"] == "block":
            assert result["output"] == printed.get(steps[i]["start"], ""), f"{src}, step {i}"
        else:
            for example in result["examples"]:
                assert checker.check_output(example["want"], example["got"], flags), f"{src}, step {i}: {example}"
    for step in steps:
        if step["kind"] == "figure" and "readonly" not in step:
            page.wait_for_function(FIGURE_DONE, arg=step["image"], timeout=60_000)
            drawn = page.evaluate(SVG_OF, step["image"])
            assert drawn is not None, f"{src}: figure {step['expr']} was not drawn"
            built = (site / src).parent / "figures" / step["image"]
            assert svg_texts(drawn) == svg_texts(built.read_text(encoding="utf-8")), step["expr"]
    return times


def test_every_block_gives_what_the_tests_recorded(browser, server, site):  # noqa: F811
    """The micrograd pages in reading order, moving on as a reader does, by the footer's Next link.

    On value.md, a block is also edited, run with Shift+Enter, broken, and reset (``check_editing``).
    """
    browser.requested.clear()
    browser.goto(server + url_of(MICROGRAD[0]), wait_until="load")
    times = {}
    for n, src in enumerate(MICROGRAD):
        if n:
            browser.requested.clear()
            browser.click("a.md-footer__link--next")
            browser.wait_for_function("src => location.pathname.endsWith(src)", arg=url_of(src))
        browser.wait_for_selector("#zh-run", state="attached")
        browser.wait_for_timeout(300)
        assert not python_fetched(browser), f"{src} loads Python before any click: {python_fetched(browser)}"
        steps = browser.evaluate(MANIFEST)["steps"]
        times[src] = check_page(browser, site, src, steps)
        if src == "micrograd/value.md":
            check_editing(browser, steps)
        if all("readonly" in step for step in steps):  # pytorch.md: each block says why
            bars = browser.locator(".zh-run-bar").all_text_contents()  # collapsed solutions too
            reasons = ("Read-only here: it needs", "cannot run", "its self-check computes the answer with")
            odd = [text for text in bars if not any(reason in text for reason in reasons)]
            assert bars and not odd, f"{src}: blocks that do not say why they are read-only: {odd}"
    print("seconds from click to output:", {src: [round(t, 2) for t in ts] for src, ts in times.items()})
    firsts = [ts[0] for ts in times.values() if ts]  # without instant navigation, each page starts Python
    later = [t for ts in times.values() for t in ts[1:]]
    print(f"first output of a page: {max(firsts):.2f} s at most; later blocks: {max(later):.2f} s at most, "
          f"{sorted(later)[len(later) // 2]:.2f} s median")
    assert max(firsts) <= SLACK * FIRST_OUTPUT_S, times
    assert max(later) <= SLACK * LATER_OUTPUT_S, times


def check_editing(browser, steps: list[dict]) -> None:
    """value.md, all run: change c in the first block, run it and the session below it; then an error; Reset."""
    code = steps[0]["code"]
    edited = code.replace('c = Value(10.0, label="c")', 'c = Value(4.0, label="c")')
    assert edited != code
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(edited, namespace)
    # the reader's edit, then Shift+Enter in the block
    block = browser.locator("[data-zh-step='0'] code")
    block.evaluate("(code, text) => { code.textContent = text; }", edited)
    block.press("Shift+Enter")
    browser.wait_for_function(FINISHED, arg=0, timeout=60_000)
    assert browser.evaluate(STATE, 0) == "done"
    press_run(browser, 1)  # the doctest block `>>> L` just below, and the figure after it
    browser.wait_for_function(FIGURE_DONE, arg=steps[2]["image"], timeout=60_000)
    assert browser.evaluate("() => zhRun.results[1]")["examples"][0]["got"] == repr(namespace["L"]) + "\n"
    transcript = browser.locator("[data-zh-step='1'] code").inner_text()
    assert repr(namespace["L"]) in transcript
    assert f"data {namespace['L'].data:.4f}" in svg_texts(browser.evaluate(SVG_OF, steps[2]["image"]))
    # an error is a short traceback in place of the output
    block.evaluate("code => { code.textContent = 'x = 1\\nValue(1) + \"2\"\\n'; }")
    press_run(browser, 0)
    shown = browser.locator("[data-zh-step='0'] + .zh-output code").inner_text()
    assert browser.evaluate(STATE, 0) == "error"
    assert shown.startswith("Traceback") and shown.rstrip().endswith("got '2'") and "browser_run" not in shown
    browser.click("[data-zh-bar='0'] >> text=Reset")
    browser.click("[data-zh-bar='1'] >> text=Reset")
    assert browser.locator("[data-zh-step='0'] code").inner_text().rstrip("\n") == code.rstrip("\n")
    assert browser.locator("[data-zh-step='0'] + .zh-output").count() == 0
    assert "Value(data=-8.0, grad=0.0)" in browser.locator("[data-zh-step='1'] code").inner_text()
    figure = browser.locator(f"img[data-zh-figure='{steps[2]['image']}']")
    assert figure.get_attribute("src").endswith("figures/" + steps[2]["image"])  # the build's drawing again
