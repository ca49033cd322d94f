"""Self-checks for the exercises at the end of every lesson page.

Work an exercise, then check your attempt with one call::

    from zh.exercises import check
    check("makemore/backprop", "dlogits", dlogits, logits=logits, Yb=Yb)

``check`` prints one line, ``✓`` and the largest difference, or ``✗`` and what is off and a hint,
and returns ``True`` or ``False``. It never prints the answer: the reference answers live here,
computed independently of the page (usually by autograd or by a slow, obvious method), one module
per part of the site (``zh.exercises.micrograd``, ``.makemore``, ``.attention``, ``.tokenizer``,
``.cuda``), and each is tested to accept itself and reject a perturbed copy of itself.

Some exercises ask for a function: pass your function, and ``check`` calls it and the reference
on the same inputs and compares the results. Keyword arguments after the answer are the page's
own values the reference needs (the batch, the logits...), named as the page names them.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exercise", "check", "exercise", "exercises", "perturb"]

# The parts of the site; an exercise's page is "<part>/<page>", as in the docs folder.
PARTS = ("micrograd", "makemore", "attention", "tokenizer", "cuda")


@dataclass(frozen=True)
class Exercise:
    """One checkable answer: ``reference(**context)`` computes it; ``hint`` is shown when an attempt is off.

    For an answer that is a function, ``reference`` is the reference function itself and ``probes()``
    gives the argument tuples both are called with. ``example()`` gives a context for the tests (the
    values a page would pass).
    """

    page: str
    name: str
    reference: Callable[..., Any]
    hint: str
    rtol: float = 1e-5
    atol: float = 1e-6
    probes: Callable[[], list[tuple]] | None = None
    example: Callable[[], dict] = field(default=dict)

    @property
    def context(self) -> tuple[str, ...]:
        """The keyword arguments ``check`` needs besides the answer (none for a function answer)."""
        return () if self.probes is not None else tuple(inspect.signature(self.reference).parameters)


_REGISTRY: dict[tuple[str, str], Exercise] = {}


def exercise(page: str, name: str, *, hint: str, **options) -> Callable:
    """Register the decorated function as the reference answer of exercise ``name`` on ``page``."""

    def register(reference: Callable) -> Callable:
        if (page, name) in _REGISTRY:
            raise ValueError(f"exercise {name!r} of {page!r} is registered twice")
        _REGISTRY[page, name] = Exercise(page, name, reference, hint, **options)
        return reference

    return register


def _load(part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"no such part {part!r}: the pages are named 'part/page', part one of {', '.join(PARTS)}")
    importlib.import_module(f"{__name__}.{part}")


def exercises(page: str | None = None) -> list[Exercise]:
    """Every registered exercise (of one page, if given), in the order they were registered."""
    for part in PARTS if page is None else (page.split("/")[0],):
        _load(part)
    return [ex for (p, _), ex in _REGISTRY.items() if page is None or p == page]


def _lookup(page: str, name: str) -> Exercise:
    _load(page.split("/")[0])
    if (page, name) not in _REGISTRY:
        known = ", ".join(repr(n) for p, n in _REGISTRY if p == page)
        raise ValueError(f"no exercise {name!r} on page {page!r}" + (f" (it has {known})" if known else ""))
    return _REGISTRY[page, name]


def _as_array(x):
    """A float64 numpy array of a tensor or array-like, or None for anything else (numpy imported lazily)."""
    import numpy as np

    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().double().numpy()
    try:
        out = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return out


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def compare(answer, expected, rtol: float, atol: float) -> str | None:
    """None if ``answer`` matches ``expected``, else what is off, in words that never give ``expected`` away."""
    if _is_array(expected):
        import numpy as np

        want = _as_array(expected)
        got = _as_array(answer) if _is_array(answer) or isinstance(answer, (list, tuple)) else None
        if got is None:
            return f"expected an array or tensor of shape {tuple(want.shape)}, got {type(answer).__name__}"
        if got.shape != want.shape:
            return f"the shape is {tuple(got.shape)}, expected {tuple(want.shape)}"
        if want.size == 0:
            return None
        diff = np.atleast_1d(np.abs(got - want))  # 0-d too: a scalar tensor is an answer like any other
        diff[np.isnan(got) != np.isnan(want)] = np.inf  # a NaN where none belongs is as wrong as it gets
        diff[np.isnan(got) & np.isnan(want)] = 0.0
        bad = diff > atol + rtol * np.atleast_1d(np.abs(np.nan_to_num(want)))
        if not bad.any():
            return None
        where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0))), diff.shape)
        return f"largest difference {float(diff[where]):.3g} at {list(map(int, where))}"
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if answer == expected and type(answer) is type(expected):
            return None
        if isinstance(expected, str) and isinstance(answer, str):
            at = next((i for i, (a, b) in enumerate(zip(answer, expected)) if a != b), min(len(answer), len(expected)))
            return f"the text differs from character {at} on"
        return "not the right answer"
    if isinstance(expected, int):
        if isinstance(answer, bool) or not isinstance(answer, int) and not (_is_array(answer) and answer.ndim == 0):
            return f"expected a whole number, got {type(answer).__name__}"
        return None if int(answer) == expected else ("too high" if int(answer) > expected else "too low")
    if isinstance(expected, float):
        try:
            got = float(answer)
        except (TypeError, ValueError):
            return f"expected a number, got {type(answer).__name__}"
        if math.isclose(got, expected, rel_tol=rtol, abs_tol=atol) or (math.isnan(got) and math.isnan(expected)):
            return None
        if math.isnan(got):
            return "the answer is nan"
        return "too high" if got > expected else "too low"
    if isinstance(expected, Mapping):
        if not isinstance(answer, Mapping):
            return f"expected a dict, got {type(answer).__name__}"
        if set(answer) != set(expected):
            missing, extra = set(expected) - set(answer), set(answer) - set(expected)
            return f"the keys differ: {len(missing)} missing, {len(extra)} not expected"
        for key in expected:
            off = compare(answer[key], expected[key], rtol, atol)
            if off:
                return f"at key {key!r}: {off}"
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(answer, (list, tuple)) and not _is_array(answer):
            return f"expected a sequence, got {type(answer).__name__}"
        if len(answer) != len(expected):
            return f"the length is {len(answer)}, expected {len(expected)}"
        for i, (a, e) in enumerate(zip(answer, expected)):
            off = compare(a, e, rtol, atol)
            if off:
                return f"at position {i}: {off}"
        return None
    raise TypeError(f"cannot compare with a reference of type {type(expected).__name__}")


def _short(args: tuple) -> str:
    """The probe's arguments on one line, cut short (a tensor's repr spans lines)."""
    text = " ".join(repr(args).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _compare_functions(answer, ex: Exercise) -> str | None:
    if not callable(answer):
        return f"expected a function, got {type(answer).__name__}"
    for args in ex.probes():
        try:
            got = answer(*args)
        except Exception as exc:  # the reader's function failing is an answer too: say how
            return f"calling it on probe input {_short(args)} raised {type(exc).__name__}: {' '.join(str(exc).split())}"
        off = compare(got, ex.reference(*args), ex.rtol, ex.atol)
        if off:
            return f"on probe input {_short(args)}: {off}"
    return None


def check(page: str, name: str, answer, /, **context) -> bool:
    """Check ``answer`` to exercise ``name`` of ``page``; print one line saying whether it is right.

    Returns True if it is. ``context`` holds the page's values that the reference answer depends on
    (a wrong or missing one is a ``TypeError`` naming it). The line never shows the expected answer.
    """
    ex = _lookup(page, name)
    missing = [k for k in ex.context if k not in context]
    extra = [k for k in context if k not in ex.context]
    if missing or extra:
        need = ", ".join(f"{k}=..." for k in ex.context)
        raise TypeError(f"check({page!r}, {name!r}, answer{', ' if need else ''}{need}): "
                        + (f"missing {', '.join(missing)}" if missing else f"unexpected {', '.join(extra)}"))
    if ex.probes is not None:
        off = _compare_functions(answer, ex)
    else:
        off = compare(answer, ex.reference(**context), ex.rtol, ex.atol)
    if off is None:
        print(f"✓ {name}: correct")
        return True
    print(f"✗ {name}: {off}. Hint: {ex.hint}")
    return False


def perturb(value):
    """A copy of ``value`` that is off by more than any tolerance: the tests show no check passes everything."""
    if callable(value) and not _is_array(value):
        return lambda *args: perturb(value(*args))
    if _is_array(value):
        out = value.clone() if hasattr(value, "clone") else value.copy()
        if out.numel() if hasattr(out, "numel") else out.size:
            flat = out.reshape(-1)
            if out.dtype.is_floating_point if hasattr(out.dtype, "is_floating_point") else out.dtype.kind == "f":
                flat[0] = flat[0] + 0.1 * (1 + abs(float(flat[0])))
            else:
                flat[0] = flat[0] + 1
            return out
        return [0.0]  # an empty array's only wrong twin is a non-empty one
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.1 * (1 + abs(value)) if not math.isnan(value) else 0.0
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, Mapping):
        if not value:
            return {"?": 0}
        first = next(iter(value))
        return {**value, first: perturb(value[first])}
    if isinstance(value, (list, tuple)):
        return type(value)([perturb(value[0]), *value[1:]]) if value else type(value)([0])
    if value is None:
        return 0
    raise TypeError(f"cannot perturb a {type(value).__name__}")
