"""The course's shape, page by page, and the self-checks of ``zh.exercises``.

Every lesson page (each page of a part except its index) opens with a map (**You will:** what the page
teaches, **You need:** what it assumes) and ends with **In short** (3–5 bullets) and **Exercises**: 3–6,
easy to hard, each with a collapsed solution whose code the page's test runs. Every self-check accepts
its reference answer and rejects a perturbed one, so no check passes everything.
"""

import re
from pathlib import Path

import pytest

import zh.exercises as zx
from sybil_pages import DOCS, SOLUTION, sybil

LESSONS = sorted(p for part in zx.PARTS for p in (DOCS / part).glob("*.md") if p.name != "index.md")
LEVELS = ("easy", "medium", "hard")
EXERCISE = re.compile(r"^### (?P<n>\d+)\. .+ \((?P<level>easy|medium|hard)\)$", re.M)
CHECK_CALL = re.compile(r"""check\(\s*["'](?P<page>[\w/]+)["']\s*,\s*["'](?P<name>\w[\w ()-]*)["']""")


def page_id(path: Path) -> str:
    return path.relative_to(DOCS).with_suffix("").as_posix()


def sections(text: str) -> dict[str, str]:
    """The page's level-2 sections by title (code blocks are not headings)."""
    prose = re.sub(r"^( *)(```+|~~~+).*?^\1\2", "", text, flags=re.M | re.S)
    parts = re.split(r"^## (.+)$", prose, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("path", LESSONS, ids=page_id)
def test_lesson_opens_with_a_map(path):
    text = path.read_text(encoding="utf-8")
    body = re.sub(r"^# .+\n+", "", text, count=1)
    first = body.split("\n\n")[0]
    assert "**You will:**" in first and "**You need:**" in first, f"{page_id(path)}: no map under the title"


@pytest.mark.parametrize("path", LESSONS, ids=page_id)
def test_lesson_ends_with_in_short_and_exercises(path):
    text = path.read_text(encoding="utf-8")
    titles = list(sections(text))
    assert titles[-2:] == ["In short", "Exercises"], f"{page_id(path)}: ends with {titles[-2:]}"
    bullets = re.findall(r"^- ", sections(text)["In short"], re.M)
    assert 3 <= len(bullets) <= 5
    items = list(EXERCISE.finditer(sections(text)["Exercises"]))
    assert 3 <= len(items) <= 6, f"{page_id(path)}: {len(items)} exercises"
    assert [int(m["n"]) for m in items] == list(range(1, len(items) + 1))
    levels = [LEVELS.index(m["level"]) for m in items]
    assert levels == sorted(levels), f"{page_id(path)}: not ordered easy to hard"


@pytest.mark.parametrize("path", LESSONS, ids=page_id)
def test_every_exercise_has_a_solution_that_runs(path):
    text = path.read_text(encoding="utf-8")
    start = text.index("\n## Exercises")
    bounds = [m.start() for m in re.finditer(r"^### ", text[start:], re.M)] + [len(text) - start]
    document = sybil.parse(path)
    for a, b in zip(bounds, bounds[1:]):
        item = (start + a, start + b)
        solutions = [m for m in SOLUTION.finditer(text, *item)]
        assert len(solutions) == 1, f"{page_id(path)}: an exercise at offset {item[0]} has {len(solutions)} solutions"
        # the solution holds a python block that the page's test collects (and so runs)
        assert any(solutions[0].start() < s < solutions[0].end() for s, _ in document.regions), (
            f"{page_id(path)}: the solution at offset {solutions[0].start()} runs no code")


@pytest.mark.parametrize("path", LESSONS, ids=page_id)
def test_self_checks_name_this_pages_exercises(path):
    text = path.read_text(encoding="utf-8")
    known = {ex.name for ex in zx.exercises(page_id(path))}
    for call in CHECK_CALL.finditer(text):
        assert call["page"] == page_id(path), f"{page_id(path)} checks an exercise of {call['page']}"
        assert call["name"] in known, f"{page_id(path)}: no exercise {call['name']!r} is registered"
    used = {call["name"] for call in CHECK_CALL.finditer(text)}
    assert known <= used, f"{page_id(path)}: registered but never offered: {sorted(known - used)}"


def test_at_least_ninety_exercises():
    count = sum(len(EXERCISE.findall(sections(p.read_text(encoding="utf-8")).get("Exercises", ""))) for p in LESSONS)
    assert count >= 90, count


@pytest.mark.parametrize("ex", zx.exercises(), ids=lambda ex: f"{ex.page}:{ex.name}")
def test_check_accepts_the_reference_and_rejects_a_perturbed_one(ex, capsys):
    context = ex.example()
    reference = ex.reference if ex.probes is not None else ex.reference(**context)
    assert zx.check(ex.page, ex.name, reference, **context)
    assert capsys.readouterr().out.startswith("✓")
    assert not zx.check(ex.page, ex.name, zx.perturb(reference), **context)
    line = capsys.readouterr().out
    assert line.startswith("✗") and line.count("\n") == 1 and ex.hint in line


def test_check_never_prints_the_answer(capsys):
    zx._REGISTRY.pop(("micrograd/test", "secret"), None)
    zx.exercise("micrograd/test", "secret", hint="think")(lambda: 123.456)
    try:
        assert not zx.check("micrograd/test", "secret", 100.0)
        assert "123" not in capsys.readouterr().out
        assert not zx.check("micrograd/test", "secret", "text")
        assert "123" not in capsys.readouterr().out
    finally:
        del zx._REGISTRY["micrograd/test", "secret"]


def test_check_says_what_it_needs():
    with pytest.raises(ValueError, match="no such part"):
        zx.check("nowhere/page", "x", 1)
    with pytest.raises(ValueError, match="no exercise 'nope'"):
        zx.check("micrograd/value", "nope", 1)


def test_scalar_tensors_and_multi_line_probes(capsys):
    import torch

    zx._REGISTRY.pop(("micrograd/test", "scalar"), None)
    zx._REGISTRY.pop(("micrograd/test", "double"), None)
    zx.exercise("micrograd/test", "scalar", hint="h")(lambda: torch.tensor(2.5))
    zx.exercise("micrograd/test", "double", hint="h", probes=lambda: [(torch.eye(3),)])(lambda t: 2 * t)
    try:
        assert zx.check("micrograd/test", "scalar", torch.tensor(2.5))
        assert not zx.check("micrograd/test", "scalar", 2.6)
        assert not zx.check("micrograd/test", "double", lambda t: 3 * t)
        assert capsys.readouterr().out.count("\n") == 3  # one line per check, a tensor probe included
    finally:
        del zx._REGISTRY["micrograd/test", "scalar"], zx._REGISTRY["micrograd/test", "double"]
