"""The examples in zh's docstrings (shown in the API reference) run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import zh

MODULES = sorted(m.name for m in pkgutil.walk_packages(zh.__path__, "zh.") if m.name != "zh.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
