"""The simplest byte-level BPE tokenizer: the text is one long sequence of bytes.

Page: [tokenizer / BPE](../tokenizer/bpe.md).
"""

from __future__ import annotations

from zh.tokenizer.base import Tokenizer


class BasicTokenizer(Tokenizer):
    """BPE on the raw UTF-8 bytes of the text, with no splitting: merges may cross words,
    spaces and punctuation (``"e t"`` can become one token).

    Example:
        >>> tok = BasicTokenizer()
        >>> tok.train("aaabdaaabac", vocab_size=256 + 3)
        >>> tok.encode("aaabdaaabac")
        [258, 100, 258, 97, 99]
    """

    def __init__(self):
        super().__init__(pattern=None)
