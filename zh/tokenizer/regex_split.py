"""BPE after splitting the text with a regex, so that merges never cross word boundaries.

Page: [tokenizer / regex splitting](../tokenizer/regex.md).
"""

from __future__ import annotations

import re

import regex

from zh.tokenizer.base import Tokenizer

#: GPT-2's split pattern: contractions, optional space + letters, + digits, + other, whitespace.
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: GPT-4's (cl100k_base) split pattern, as tiktoken defines it: case-insensitive contractions,
#: digits in groups of at most 3, newlines kept apart from other whitespace.
GPT4_SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""  # noqa: E501 (one regex, as tiktoken writes it)

# The ASCII characters in each Unicode class, asked of the `regex` module itself (its \s, for
# one, differs from Python's str.isspace on \x1c-\x1f).
_ASCII = [chr(c) for c in range(128)]
_ASCII_CLASSES = {
    name: "".join(f"\\x{ord(c):02x}" for c in _ASCII if regex.fullmatch(name, c))
    for name in (r"\p{L}", r"\p{N}", r"\s")
}
_ASCII_SPACE = _ASCII_CLASSES[r"\s"]


def ascii_equivalent(pattern: str) -> re.Pattern | None:
    """A standard-library ``re`` pattern that splits **pure-ASCII** text exactly like ``pattern``.

    On ASCII text, ``\\p{L}`` can only match ``[A-Za-z]``, ``\\p{N}`` only ``[0-9]``, and so on;
    with these classes spelled out, the C ``re`` engine does the split about twice as fast as
    ``regex``. Returns ``None`` when the pattern uses something this translation does not know.
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if pattern.startswith(("\\p{", "\\P{"), i):
                name = pattern[i : pattern.index("}", i) + 1]
                if name not in _ASCII_CLASSES:
                    return None
            else:
                name = pattern[i : i + 2]
            if name in _ASCII_CLASSES:
                chars = _ASCII_CLASSES[name]
                out.append(chars if in_class else f"[{chars}]")
            elif name == r"\S" and not in_class:
                out.append(f"[^{_ASCII_SPACE}]")
            elif name[1] in "pPS":
                return None
            else:
                out.append(name)
            i += len(name)
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


class RegexTokenizer(Tokenizer):
    """BPE on the chunks of a split pattern (GPT-4's by default), with special tokens.

    Args:
        pattern: The split regex (``regex`` module syntax): `GPT4_SPLIT_PATTERN`,
            `GPT2_SPLIT_PATTERN` or your own.

    Example:
        >>> tok = RegexTokenizer()
        >>> tok.split("Hello world!!! 2024")
        ['Hello', ' world', '!!!', ' ', '202', '4']
    """

    def __init__(self, pattern: str = GPT4_SPLIT_PATTERN):
        self._set_state(pattern, byte_ids=range(256), merges={}, special_tokens={})

    def _set_state(self, pattern, byte_ids, merges, special_tokens):
        super()._set_state(pattern, byte_ids, merges, special_tokens)
        try:
            self._compiled = regex.compile(pattern)
        except regex.error as exc:
            raise ValueError(f"the split pattern {pattern!r} is not a valid regex: {exc}") from None
        if self._compiled.groups:
            raise ValueError(f"the split pattern {pattern!r} has capturing groups; use (?:...) instead")
        self._compiled_ascii = ascii_equivalent(pattern)

    def split(self, text: str) -> list[str]:
        """The chunks of ``text`` that the pattern matches, in order (they join to ``text``)."""
        if self._compiled_ascii is not None and text.isascii():
            return self._compiled_ascii.findall(text)
        return self._compiled.findall(text)
