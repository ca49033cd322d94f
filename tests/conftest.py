"""Fixtures shared by the tests: the GPT-4 tokenizers (zh's and tiktoken's, same ranks); zh makemore in-process."""

from types import SimpleNamespace

import pytest
import tiktoken

from zh.__main__ import main
from zh.data import load_names

from zh.tokenizer import GPT4_SPECIAL_TOKENS, GPT4_SPLIT_PATTERN, GPT4Tokenizer, cl100k_ranks


def pytest_collection_modifyitems(config, items):
    """The files holding a test marked ``slow`` first, then the pages, then the other tests.

    ``make test`` hands whole files to two workers in this order (``--dist loadfile
    --no-loadscope-reorder``; xdist would otherwise order files by their number of tests): the longest
    start first and the short ones fill in at the end, so that neither worker ends on a long file alone.
    Within a file nothing moves (a page's blocks run in page order).
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.path not in slow, item.path.suffix != ".md"))


@pytest.fixture(scope="module")
def gpt4():
    """One GPT4Tokenizer per test module (its chunk cache fills as the module's tests encode)."""
    return GPT4Tokenizer()


@pytest.fixture(scope="module")
def reference():
    """tiktoken's cl100k_base, built offline from the same ranks file."""
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=GPT4_SPLIT_PATTERN,
        mergeable_ranks=cl100k_ranks(),
        special_tokens=GPT4_SPECIAL_TOKENS,
    )


@pytest.fixture
def makemore(capsys):
    """Run ``zh makemore ARGS`` in this process; returns (returncode, stdout, stderr) like a process."""

    def run(*args):
        capsys.readouterr()
        try:
            returncode = main(["makemore", *map(str, args)])
        except SystemExit as exit_:  # argparse's errors (an option out of its range...)
            returncode = exit_.code
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=returncode, stdout=out, stderr=err)

    return run


@pytest.fixture(scope="module")
def names_file(tmp_path_factory):
    """The first 300 names, as a file for zh makemore."""
    path = tmp_path_factory.mktemp("data") / "names.txt"
    path.write_text("\n".join(load_names()[:300]) + "\n", encoding="utf-8")
    return path
