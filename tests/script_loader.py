"""Load a program of scripts/ as a module, so a test can call its main() (they are not a package)."""

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name: str, register: bool = False):
    """``scripts/<name>.py`` as a fresh module; ``register`` also puts it in ``sys.modules`` under ``name``
    (a script whose worker processes find its functions by module name needs that)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
