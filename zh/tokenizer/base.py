"""What every byte-pair-encoding tokenizer shares: its state, special tokens, encode, decode, train, files.

Page: [tokenizer / BPE](../tokenizer/bpe.md) derives it; the subclasses only say how text is
cut into chunks (`zh.tokenizer.basic.BasicTokenizer`: not at all;
`zh.tokenizer.regex_split.RegexTokenizer`: with a regex) and where the merges come from.

A tokenizer is four pieces of state:

- ``byte_ids``: the id of each of the 256 single bytes (``byte_ids[b] == b`` for the tokenizers
  you train; GPT-4 numbers them differently, its *byte shuffle*);
- ``merges``: ``{(id1, id2): new_id}``, in the order they were learned (a smaller new id was
  learned earlier, and is applied earlier when encoding; so ``new_id`` is larger than ``id1``
  and ``id2``);
- ``special_tokens``: ``{"<|endoftext|>": id, ...}``, strings that bypass BPE entirely;
- ``pattern``: the regex that splits text into chunks before BPE (``None``: no split).

The work is done elsewhere: BPE on a chunk is defined by `zh.tokenizer.encode.encode_naive` and
done fast by `zh.tokenizer.fast_encoder`; merges are learned by `zh.tokenizer.train`; files are
`zh.tokenizer.files`. Where a name is tiktoken's (``n_vocab``, ``encode_ordinary``,
``decode_single_token_bytes``...), it means what it means in tiktoken.
"""

from __future__ import annotations

import functools
import operator
import os
import warnings
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path

import regex

from zh.tokenizer import files
from zh.tokenizer.encode import token_bytes
from zh.tokenizer.fast_encoder import FastEncoder
from zh.tokenizer.files import render_token
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


class Tokenizer:
    """Byte-pair encoding with a vocabulary of merges; subclasses choose how text is split.

    Not used directly: see `zh.tokenizer.basic.BasicTokenizer`,
    `zh.tokenizer.regex_split.RegexTokenizer` and `zh.tokenizer.gpt4.GPT4Tokenizer`.

    Attributes:
        vocab: ``{id: bytes}`` of every token, special tokens included.
        fast_encoder: The `zh.tokenizer.fast_encoder.FastEncoder` that encodes for it.
    """

    # Whether the fast encoder must check that each token's bytes encode to that token before
    # it looks whole chunks up as tokens (GPT4Tokenizer knows they do, and says so).
    _check_whole_tokens = True

    def __init__(self, pattern: str | None = None):
        self._set_state(pattern=pattern, byte_ids=list(range(256)), merges={}, special_tokens={})

    # ---- state ---------------------------------------------------------------------------

    def _set_state(self, pattern, byte_ids, merges, special_tokens):
        # The one place where the state is set (by __init__, train and load); subclasses extend it.
        self.pattern = pattern
        self.byte_ids = list(byte_ids)
        self.merges = dict(merges)
        ordinary = token_bytes(self.byte_ids, self.merges)
        self.fast_encoder = FastEncoder(self.byte_ids, self.merges, ordinary, self._check_whole_tokens)
        self.__dict__.pop("_ids_by_bytes", None)  # derived from the merges, like the encoder
        self.vocab = dict(ordinary)
        self.special_tokens = {}
        self.register_special_tokens(special_tokens)

    @property
    def max_token_value(self) -> int:
        """The largest id, special tokens included (tiktoken's name)."""
        return max(self.vocab)

    @property
    def n_vocab(self) -> int:
        """``max_token_value + 1``, as in tiktoken: the size an embedding table needs for every id.

        Larger than ``len(vocab)`` when ids are left unused, as in GPT-4 (100,277 for 100,261 tokens).
        """
        return self.max_token_value + 1

    @property
    def special_tokens_set(self) -> set[str]:
        """The registered special tokens' strings (tiktoken's name)."""
        return set(self.special_tokens)

    @property
    def eot_token(self) -> int:
        """The id of ``<|endoftext|>`` (tiktoken's name).

        Raises:
            KeyError: it is not registered.
        """
        if "<|endoftext|>" not in self.special_tokens:
            raise KeyError("this tokenizer has no '<|endoftext|>'; register it with register_special_tokens")
        return self.special_tokens["<|endoftext|>"]

    def is_special_token(self, token: int) -> bool:
        """Whether ``token`` is the id of a special token (tiktoken's name)."""
        return token in self.special_tokens.values()

    def register_special_tokens(self, special_tokens: dict[str, int]) -> None:
        """Add special tokens, e.g. ``{"<|endoftext|>": 100257}``; all of them, or none if one is refused.

        Registering a token again with another id moves it (its old id is free again).

        Raises:
            TypeError: ``special_tokens`` is not a dict.
            ValueError: a token is not a non-empty string, or its id is not a non-negative int,
                or is already another token's.
        """
        if not isinstance(special_tokens, dict):
            raise TypeError(f"special tokens are a dict {{token: id}}, got {type(special_tokens).__name__}")
        new = dict(self.special_tokens)
        for token, idx in special_tokens.items():
            if not isinstance(token, str) or not token:
                raise ValueError(f"a special token must be a non-empty string, got {token!r}")
            new[token] = _index(idx, f"special token {token!r}: its id")
        owner = {}
        for token, idx in new.items():
            if idx in owner:
                raise ValueError(f"special tokens {owner[idx]!r} and {token!r} cannot both have id {idx}")
            if idx in self.fast_encoder.vocab:
                shown = render_token(self.vocab[idx])
                raise ValueError(f"special token {token!r}: id {idx} is already the token [{shown}]")
            owner[idx] = token
        for idx in set(self.special_tokens.values()) - set(owner):  # moved away: free the old id
            del self.vocab[idx]
        self.special_tokens = new
        self.vocab.update((idx, token.encode("utf-8")) for token, idx in new.items())

    # ---- encoding ------------------------------------------------------------------------

    def split(self, text: str) -> list[str]:
        """The chunks that BPE works on separately (merges never cross a chunk boundary).

        Without a pattern the whole text is one chunk.
        """
        return [text] if text else []

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` with BPE only: special tokens in it are treated as ordinary text.

        Raises:
            TypeError: ``text`` is not a str.
        """
        _check_text(text, "encode_ordinary")
        try:
            return self.fast_encoder.encode(self.split(text))
        except UnicodeEncodeError:  # surrogates, which UTF-8 cannot hold: repair as tiktoken does
            return self.fast_encoder.encode(self.split(_repair_surrogates(text)))

    def encode(self, text: str, allowed_special: str | set[str] = "none_raise",
               disallowed_special: str | Collection[str] = "all") -> list[int]:
        """Encode ``text``, deciding what to do with special tokens found in it.

        Text that UTF-8 cannot hold is repaired as tiktoken does: a surrogate pair becomes the
        character it stands for, a lone surrogate becomes ``U+FFFD`` (``�``).

        Args:
            text: Any string.
            allowed_special: Which registered special tokens become their special id (tiktoken's
                semantics):

                - ``"all"``: every one;
                - ``"none"``: none, their text is encoded like any other text;
                - ``"none_raise"`` (default, like tiktoken's default): none, and a
                  ``ValueError`` if the text contains one;
                - a set of token strings: those; any *other* registered special token in the
                  text raises ``ValueError`` (tiktoken's ``disallowed_special="all"``).
            disallowed_special: tiktoken's argument: which of the special tokens that are not
                allowed raise ``ValueError`` when found in the text (with ``allowed_special``
                ``"none_raise"`` or a set): ``"all"`` (default), or a collection of token
                strings (``()``: none; the others are then encoded as text).

        Returns:
            The token ids.

        Raises:
            TypeError: ``text`` is not a str.
            ValueError: a disallowed special token occurs in ``text``, or ``allowed_special`` or
                ``disallowed_special`` is not one of the forms above.
        """
        _check_text(text, "encode")
        if disallowed_special == "all":
            disallowed = set(self.special_tokens)
        elif isinstance(disallowed_special, Collection) and not isinstance(disallowed_special, str) \
                and all(isinstance(t, str) for t in disallowed_special):
            disallowed = set(disallowed_special)
        else:
            raise ValueError(f"disallowed_special must be 'all' or a collection of tokens, got {disallowed_special!r}")
        if allowed_special == "all":
            allowed = set(self.special_tokens)
        elif allowed_special in ("none", "none_raise"):
            allowed = set()
        elif isinstance(allowed_special, (set, frozenset)):
            unknown = sorted(set(allowed_special) - set(self.special_tokens))
            if unknown:
                raise ValueError(f"allowed_special names tokens that are not registered: {unknown}")
            allowed = set(allowed_special)
        else:
            raise ValueError(
                f"allowed_special must be 'all', 'none', 'none_raise' or a set of tokens, got {allowed_special!r}"
            )
        if allowed_special != "none":
            for token in [*self.special_tokens, *sorted(disallowed - set(self.special_tokens))]:
                if token in disallowed and token not in allowed and token in text:
                    raise ValueError(
                        f"the text contains the special token {token!r}; pass allowed_special={{{token!r}}} "
                        f"(or 'all') to encode it as a special token, or 'none' to encode it as text"
                    )
        if not allowed:
            return self.encode_ordinary(text)
        # longest first, so a special token that contains another one wins
        alternatives = "|".join(regex.escape(t) for t in sorted(allowed, key=len, reverse=True))
        out = []
        for i, part in enumerate(regex.split(f"({alternatives})", text)):
            # split with a group alternates text, special, text, special, ..., text
            out.extend([self.special_tokens[part]] if i % 2 else self.encode_ordinary(part))
        return out

    def encode_ordinary_batch(self, texts: list[str]) -> list[list[int]]:
        """`encode_ordinary` on each text (tiktoken's name; one thread: the chunk cache is shared)."""
        _check_texts(texts, "encode_ordinary_batch")
        return [self.encode_ordinary(text) for text in texts]

    def encode_batch(self, texts: list[str], allowed_special: str | set[str] = "none_raise",
                     disallowed_special: str | Collection[str] = "all") -> list[list[int]]:
        """`encode` on each text (tiktoken's name; ``allowed_special`` and ``disallowed_special`` as in `encode`)."""
        _check_texts(texts, "encode_batch")
        return [self.encode(text, allowed_special, disallowed_special) for text in texts]

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        """The id of the one token whose bytes (or text) are exactly these (tiktoken's name).

        Special tokens count too, after ordinary ones. If two tokens have the same bytes (which
        training can produce), the smaller id is returned.

        Raises:
            KeyError: no token has these bytes.
        """
        if isinstance(text_or_bytes, str):
            key = text_or_bytes.encode("utf-8")
        elif isinstance(text_or_bytes, (bytes, bytearray)):
            key = bytes(text_or_bytes)
        else:
            raise TypeError(f"encode_single_token takes a str or bytes, got {type(text_or_bytes).__name__}")
        idx = self._ids_by_bytes.get(key)
        if idx is None:
            idx = next((i for t, i in self.special_tokens.items() if t.encode("utf-8") == key), None)
        if idx is None:
            raise KeyError(f"{text_or_bytes!r} is not a single token; encode() gives its ids")
        return idx

    @functools.cached_property
    def _ids_by_bytes(self) -> dict[bytes, int]:
        out = {}
        for idx, b in sorted(self.fast_encoder.vocab.items(), reverse=True):  # the smallest id last, so it wins
            out[b] = idx
        return out

    # ---- decoding ------------------------------------------------------------------------

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of ``ids`` joined together.

        Args:
            ids: Integers: a list, or e.g. a 1-D tensor or array of integer type.

        Raises:
            ValueError: an id is not in the vocabulary (the message names it).
        """
        vocab, out = self.vocab, []
        for idx in ids:
            try:
                out.append(vocab[operator.index(idx)])  # index(): ints of any kind, never floats
            except (KeyError, TypeError):
                message = f"cannot decode id {idx!r}: it is not in the vocabulary (ids 0..{max(vocab)})"
                raise ValueError(message) from None
        return b"".join(out)

    def decode(self, ids: Iterable[int], errors: str = "replace") -> str:
        """The text of ``ids``. Bytes that are not valid UTF-8 (e.g. half of a multi-byte
        character, when ``ids`` is a slice of an encoding) become ``U+FFFD`` (``�``), as in
        tiktoken's ``decode``; ``errors="strict"`` raises instead (``bytes.decode``'s errors).

        Raises:
            ValueError: an id is not in the vocabulary.
        """
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def decode_batch(self, batch: Iterable[Iterable[int]], errors: str = "replace") -> list[str]:
        """`decode` on each list of ids (tiktoken's name)."""
        return [self.decode(ids, errors) for ids in batch]

    def decode_single_token_bytes(self, token: int) -> bytes:
        """The bytes of one token, special tokens included (tiktoken's name).

        Raises:
            KeyError: ``token`` is not in the vocabulary.
        """
        idx = _index(token, "a token")
        if idx not in self.vocab:
            raise KeyError(f"id {token!r} is not in the vocabulary (ids 0..{self.max_token_value})")
        return self.vocab[idx]

    # ---- training ------------------------------------------------------------------------

    def train(self, text: str, vocab_size: int, verbose: bool = False) -> None:
        """Learn ``vocab_size - 256`` merges from ``text`` (replacing any learned before).

        Uses `zh.tokenizer.train.train_fast`, which learns exactly the merges of the
        naive algorithm (`zh.tokenizer.train.train_naive`), ties included. Registered
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
        _check_text(text, "train")
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
            counts = chunk_counts(_repair_surrogates(text))
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
        return files.save(self, prefix, overwrite)

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

    # ---- interoperability ----------------------------------------------------------------

    def to_tiktoken(self, name: str = "zh"):
        """The same tokenizer as a ``tiktoken.Encoding`` (same ranks, split pattern and special tokens).

        tiktoken knows a token by its bytes, so two ids with the same bytes cannot be expressed.

        Raises:
            ValueError: two ids have the same bytes.
        """
        import tiktoken

        ranks = {}
        for idx, b in self.fast_encoder.vocab.items():
            if b in ranks:
                shown = render_token(b)
                raise ValueError(f"ids {ranks[b]} and {idx} are both [{shown}]; tiktoken needs distinct bytes")
            ranks[b] = idx
        # no pattern means one chunk: the whole text
        pat_str = self.pattern if self.pattern is not None else r"[\s\S]+"
        special = dict(self.special_tokens)
        return tiktoken.Encoding(name=name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special)


def _subclasses(cls):
    """``cls`` and all its subclasses, of any depth."""
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


def _check_text(text, where: str) -> None:
    if not isinstance(text, str):
        hint = "; decode bytes to text first, e.g. data.decode('utf-8')" if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"{where} takes text (a str), got {type(text).__name__}{hint}")


def _check_texts(texts, where: str) -> None:
    if isinstance(texts, (str, bytes)):
        one = where.removesuffix("_batch")
        raise TypeError(f"{where} takes a list of texts, got a single {type(texts).__name__}; use {one}")


def _index(value, what: str) -> int:
    """``value`` as an int, if it is one of any kind (a numpy int too; not a bool, not a float)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")
    value = operator.index(value)
    if value < 0:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")
    return value


def _repair_surrogates(text: str) -> str:
    # tiktoken's repair: through UTF-16, a surrogate pair (as text read from UTF-16 sources may
    # hold) becomes the character it stands for, and a lone surrogate becomes U+FFFD
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
