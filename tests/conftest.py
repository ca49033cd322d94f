"""Fixtures shared by the tokenizer tests: zh's GPT-4 tokenizer and tiktoken's, from the same ranks."""

import pytest
import tiktoken

from zh.tokenizer import GPT4_SPECIAL_TOKENS, GPT4_SPLIT_PATTERN, GPT4Tokenizer, cl100k_ranks


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
