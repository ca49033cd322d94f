"""What the micrograd pages' Run buttons rest on, checked without a browser (tools/browser_hooks.py).

The wheel of zh's pure-Python part must import and work in an interpreter that has no torch and no
numpy (Pyodide has neither), and each page step that needs them must be marked read-only, with the
steps that use what it made.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import browser_hooks

ROOT = Path(__file__).resolve().parent.parent
DOCS_NEURON = ROOT / "docs" / "micrograd" / "neuron.md"

# Run in a fresh interpreter: torch and numpy cannot be imported, as in Pyodide.
BLOCK = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "numpy", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
sys.meta_path.insert(0, NoTorch())
"""


def run_without_torch(code: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", "-c", BLOCK + textwrap.dedent(code)],
        cwd=path, env={"PYTHONPATH": str(path)}, capture_output=True, text=True, timeout=60,
    )


def test_the_micrograd_classes_import_without_torch():
    result = run_without_torch(
        """
        from zh.nn import MLP, Layer, Module, Neuron, svm_loss, train
        import zh.nn
        try:
            zh.nn.Linear
        except ModuleNotFoundError as exc:
            print("torch layers:", exc)
        """,
        ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "torch layers: No module named 'torch' (hidden by the test)\n"


def test_the_wheels_hold_what_the_pages_import(tmp_path):
    from zh import __version__

    name, data = browser_hooks.wheel("zh", __version__, {p: (ROOT / p).read_bytes() for p in browser_hooks.PACKAGE})
    assert name == f"zh-{__version__}-py3-none-any.whl"
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    for dist in browser_hooks.THIRD_PARTY:
        _, data = browser_hooks.wheel(dist, "0", browser_hooks.installed(dist))
        zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    result = run_without_torch(
        """
        import zh.exercises
        from zh.engine import Value
        from zh.nn import MLP
        from zh.viz import draw_dot
        import micrograd.engine
        x = Value(2.0, label="x")
        y = (x * x).tanh()
        y.backward()
        print(round(x.grad, 6), "data 2.0000" in draw_dot(y).source, MLP(2, [3, 1]))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    grad = 2 * 2.0 * (1 - math.tanh(2.0 * 2.0) ** 2)  # d tanh(x²)/dx at x = 2
    assert result.stdout == f"{round(grad, 6)} True MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], " \
        "Layer of [LinearNeuron(3)]]\n"


PAGE = '''# A page

```python
import random
from zh.engine import Value
random.seed(0)
a = Value(2.0)
```

<!-- invisible-code-block: python
import torch
checked = torch.tensor(a.data)
-->

```python
b = a * 2
```

```python
c = [checked for _ in range(2)]
```

```python
>>> b
Value(data=4.0, grad=0.0)
```

??? success "An exercise's solution"

    ```python
    f = a * 5
    ```

```python
import numpy as np
grid = np.zeros(3)
```

```python
d = len(grid) + b.data
```

```python
e = b * 3
```
'''


def test_a_step_that_needs_torch_is_read_only_and_so_are_its_users(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    steps = browser_hooks.page_steps(page, PAGE, browser_hooks.browser_modules())
    assert [(step["kind"], step.get("readonly")) for step in steps] == [
        ("block", None),
        ("block", None),
        ("block", "uses checked, which comes from code the browser cannot run"),  # made by a hidden check
        ("doctest", None),
        ("block", None),
        ("block", "needs numpy"),
        ("block", "uses grid, which comes from code the browser cannot run"),
        ("block", "uses b, which comes from code the browser cannot run"),  # b: a read-only step read it
    ]
    assert steps[0]["code"] == 'import random\nfrom zh.engine import Value\nrandom.seed(0)\na = Value(2.0)\n'
    assert steps[4]["code"] == "f = a * 5\n"  # as the page shows it, without the indentation


def test_a_read_only_step_taints_what_it_may_change_not_what_it_only_computes_with(tmp_path):
    page = tmp_path / "page.md"
    text = (
        "```python\ndef f(x):\n    return x * x\n\nx, model = 3.0, [1.0]\n```\n\n"
        "```python\nimport numpy as np\nys = np.array([f(x + 1), f(2 * x) - 2])\nprint(f'{x}')\n"
        "model.append(len(ys))\n```\n\n"
        "```python\nprint(f(x))\n```\n\n"
        "```python\nprint(model)\n```\n"
    )
    page.write_text(text, encoding="utf-8")
    steps = browser_hooks.page_steps(page, text, browser_hooks.browser_modules())
    assert [step.get("readonly") for step in steps] == [
        None, "needs numpy", None,  # f was only called and x only computed with: both are as the page left them
        "uses model, which comes from code the browser cannot run",  # model.append changed it
    ]


def test_each_page_s_self_checks_need_only_what_their_own_references_import():
    answers = ROOT / "zh" / "exercises" / "micrograd.py"
    modules = browser_hooks.browser_modules()
    assert browser_hooks._missing_modules(browser_hooks.answer_code(answers, "micrograd/neuron"), modules) == []
    # the PyTorch page's references use numpy, which the other pages' references never import
    assert "numpy" in browser_hooks._missing_modules(browser_hooks.answer_code(answers, "micrograd/pytorch"), modules)
    steps = browser_hooks.page_steps(DOCS_NEURON, DOCS_NEURON.read_text(encoding="utf-8"), modules)
    assert not [step for step in steps if "readonly" in step]  # its solutions and their checks run too
