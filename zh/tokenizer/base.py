"""What every byte-pair-encoding tokenizer shares: its state, decoding, training and files; and `BasicTokenizer`.

Used on every tokenizer page. [Tokenizer / BPE](../tokenizer/bpe.md#a-tokenizer) meets it as
`BasicTokenizer`, the functions of `zh.tokenizer.basic` in a class; the other tokenizers only
say how text is cut into chunks (`zh.tokenizer.regex_split.RegexTokenizer`: with a regex) and
where the merges come from (`zh.tokenizer.gpt4.GPT4Tokenizer`: GPT-4's ranks).

A tokenizer is four pieces of state:

- ``byte_ids``: the id of each of the 256 single bytes (``byte_ids[b] == b`` for the tokenizers
  you train; GPT-4 numbers them differently, its *byte shuffle*);
- ``merges``: ``{(id1, id2): new_id}``, in the order they were learned (a smaller new id was
  learned earlier, and is applied earlier when encoding; so ``new_id`` is larger than ``id1``
  and ``id2``);
- ``special_tokens``: ``{"<|endoftext|>": id, ...}``, strings that bypass BPE entirely;
- ``pattern``: the regex that splits text into chunks before BPE (``None``: no split).

The work is done elsewhere: merges are learned by `zh.tokenizer.train.train_fast`, text is
encoded by `zh.tokenizer.fast_encoder.FastEncoder` (both checked against `zh.tokenizer.basic`),
tiktoken's interface (``encode``, special tokens...) is `zh.tokenizer.tiktoken_api.TiktokenAPI`,
and files are `zh.tokenizer.files`.
"""

from __future__ import annotations

import functools
import operator
import os
import warnings
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import regex

from zh.tokenizer import basic, files
from zh.tokenizer.fast_encoder import FastEncoder
from zh.tokenizer.files import ModelFile, render_token
from zh.tokenizer.tiktoken_api import TiktokenAPI, check_text, repair_surrogates
from zh.tokenizer.train import train_fast


class _class_or_instance:
    """A method that is told both its class and the instance it was called on (``None`` when called on the class).

    So ``load`` works both as ``RegexTokenizer.load(path)`` and as minbpe's ``tok.load(path)``.
    """

    def __init__(self, function):
        self.function = function
        functools.update_wrapper(self, function)

    def __get__(self, instance, owner):
        method = functools.partial(self.function, owner, instance)
        return functools.update_wrapper(method, self.function)


class Tokenizer(TiktokenAPI):
    """Byte-pair encoding with a vocabulary of merges; subclasses choose how text is split.

    Not used directly: see `BasicTokenizer`, `zh.tokenizer.regex_split.RegexTokenizer` and
    `zh.tokenizer.gpt4.GPT4Tokenizer`. Encoding is tiktoken's interface,
    `zh.tokenizer.tiktoken_api.TiktokenAPI`.

    Attributes:
        vocab: ``{id: bytes}`` of every token, special tokens included.
        fast_encoder: The `zh.tokenizer.fast_encoder.FastEncoder` that encodes for it.
    """

    # Whether the fast encoder must check that each token's bytes encode to that token before
    # it looks whole chunks up as tokens (GPT4Tokenizer knows they do, and says so).
    _check_whole_tokens = True

    def __init__(self):
        self._set_state(pattern=None, byte_ids=range(256), merges={}, special_tokens={})

    def _set_state(self, pattern, byte_ids, merges, special_tokens):
        # The one place where the state is set (by __init__, train and load); subclasses extend it.
        self.pattern = pattern
        self.byte_ids = list(byte_ids)
        self.merges = dict(merges)
        ordinary = basic.token_bytes(self.merges, self.byte_ids)
        self.fast_encoder = FastEncoder(self.byte_ids, self.merges, ordinary, self._check_whole_tokens)
        self.__dict__.pop("_ids_by_bytes", None)  # TiktokenAPI's table, derived from the merges
        self.vocab = dict(ordinary)
        self.special_tokens = {}
        self.register_special_tokens(special_tokens)

    def split(self, text: str) -> list[str]:
        """The chunks that BPE works on separately (merges never cross a chunk boundary).

        Without a pattern the whole text is one chunk.
        """
        return [text] if text else []

    # ---- decoding ------------------------------------------------------------------------

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of ``ids`` joined together (`zh.tokenizer.basic.decode_bytes`).

        Args:
            ids: Integers: a list, or e.g. a 1-D tensor or array of integer type.

        Raises:
            ValueError: an id is not in the vocabulary (the message names it).
        """
        ids = list(ids)
        try:  # operator.index: ints of any kind (numpy's, a tensor's items), never floats
            return basic.decode_bytes(map(operator.index, ids), self.vocab)
        except (KeyError, TypeError):
            raise self._unknown_id(ids) from None

    def _unknown_id(self, ids: list) -> ValueError:
        # the error for the first of ids that is not in the vocabulary
        for idx in ids:
            try:
                if operator.index(idx) in self.vocab:
                    continue
            except TypeError:
                pass
            return ValueError(f"cannot decode id {idx!r}: it is not in the vocabulary (ids 0..{max(self.vocab)})")

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """The text of ``ids``. Bytes that are not valid UTF-8 (e.g. half of a multi-byte
        character, when ``ids`` is a slice of an encoding) become ``U+FFFD`` (``�``), as in
        tiktoken's ``decode``; ``errors="strict"`` raises instead (``bytes.decode``'s errors).

        Raises:
            ValueError: an id is not in the vocabulary.
        """
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    # ---- training ------------------------------------------------------------------------

    def train(self, text: str, vocab_size: int, verbose: bool = False) -> None:
        """Learn ``vocab_size - 256`` merges from ``text`` (replacing any learned before).

        Uses `zh.tokenizer.train.train_fast`, which learns exactly the merges of the
        naive algorithm (`zh.tokenizer.basic.train_naive`), ties included. Registered
        special tokens are kept; ``vocab_size`` does not count them, and their ids must be
        ``vocab_size`` or more, out of the way of the new tokens.

        Args:
            text: The training text.
            vocab_size: The number of tokens to end with, at least 256 (the bytes).
            verbose: Print every merge.

        Raises:
            TypeError: ``text`` is not a str.
            ValueError: ``vocab_size`` is below 256, or a special token's id is below it (checked
                before training: the tokenizer is then unchanged).
        """
        check_text(text, "train")
        if isinstance(vocab_size, bool) or not hasattr(vocab_size, "__index__") or operator.index(vocab_size) < 256:
            raise ValueError(f"vocab_size must be an int of at least 256 (the 256 bytes), got {vocab_size!r}")
        vocab_size = operator.index(vocab_size)
        in_the_way = {t: i for t, i in self.special_tokens.items() if i < vocab_size}
        if in_the_way:
            token, idx = min(in_the_way.items(), key=lambda item: item[1])
            raise ValueError(
                f"special token {token!r} has id {idx}, but training to vocab_size={vocab_size} gives ids up to "
                f"{vocab_size - 1} to new tokens; register it at {vocab_size} or above first "
                f"(register_special_tokens({{{token!r}: {vocab_size}}})), or train with a smaller vocab_size"
            )

        def chunk_counts(t):
            return Counter(chunk.encode("utf-8") for chunk in self.split(t))

        try:
            counts = chunk_counts(text)
        except UnicodeEncodeError:  # surrogates: repaired as `encode` does
            counts = chunk_counts(repair_surrogates(text))
        learned = train_fast(counts, vocab_size - 256)
        if len(learned) < vocab_size - 256:
            warnings.warn(
                f"the text ran out of pairs after {len(learned)} merges: the vocabulary has "
                f"{256 + len(learned)} tokens, not {vocab_size}",
                stacklevel=2,
            )
        merges = {pair: 256 + i for i, (pair, _) in enumerate(learned)}
        self._set_state(self.pattern, list(range(256)), merges, self.special_tokens)
        if verbose:
            for i, (pair, count) in enumerate(learned):
                shown = render_token(self.vocab[256 + i])
                print(f"merge {i + 1}/{len(learned)}: {pair} -> {256 + i} [{shown}] had {count} occurrences")

    # ---- files ---------------------------------------------------------------------------

    def save(self, prefix: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write ``prefix.model`` (read back by `load`) and ``prefix.vocab`` (for people).

        The format is described in `zh.tokenizer.files`.

        Args:
            prefix: Path without extension, e.g. ``"models/shakespeare512"``.
            overwrite: Replace existing files that hold something else. Without it, saving over
                a *different* tokenizer raises; saving the same tokenizer again is allowed.

        Returns:
            The path of the ``.model`` file.

        Raises:
            FileExistsError: a target file exists with other contents and ``overwrite`` is False.
        """
        model = ModelFile(type(self), self.pattern, self.byte_ids, self.merges, self.special_tokens)
        return files.save(model, prefix, overwrite)

    @_class_or_instance
    def load(cls, tok: Tokenizer | None, path: str | os.PathLike) -> Tokenizer:
        """Read a ``.model`` file, written by `save` or by minbpe, and return its tokenizer.

        Called on a class, ``RegexTokenizer.load(path)``, it returns a new tokenizer; the file must
        hold that class (or a subclass of it). Called on a tokenizer, ``tok.load(path)`` (minbpe's
        usage), it loads the file into ``tok`` (and returns it); the file must hold ``tok``'s class.

        Raises:
            ValueError: the file is not text, not a tokenizer file, holds another class, or is
                damaged; the message names the file, the line and what was expected there. A
                tokenizer that the file does not fit is left as it was.
        """
        classes = {c.__name__: c for c in _subclasses(Tokenizer)}
        model = files.read(path, classes, cls)
        if tok is not None and model.cls is not cls:
            raise ValueError(f"{path} holds a {model.cls.__name__}, not a {cls.__name__}; load it with "
                             f"{model.cls.__name__}.load(path)")
        loaded = model.cls.__new__(model.cls)
        try:
            loaded._set_state(model.pattern, model.byte_ids, model.merges, model.special_tokens)
        except (ValueError, regex.error) as exc:
            raise ValueError(f"{path}: {exc}") from None
        if tok is None:
            return loaded
        tok.__dict__.clear()
        tok.__dict__.update(loaded.__dict__)
        return tok


def _subclasses(cls):
    """``cls`` and all its subclasses, of any depth."""
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


class BasicTokenizer(Tokenizer):
    """BPE on the raw UTF-8 bytes of the text, with no splitting: merges may cross words,
    spaces and punctuation (``"e t"`` can become one token).

    The functions of `zh.tokenizer.basic`, fast: the same merges and ids.

    Example:
        >>> tok = BasicTokenizer()
        >>> tok.train("aaabdaaabac", vocab_size=256 + 3)
        >>> tok.encode("aaabdaaabac")
        [258, 100, 258, 97, 99]
    """
