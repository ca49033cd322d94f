"""tiktoken's interface, with tiktoken's meaning: special tokens, ``encode`` and its batch and single-token kin.

Page: [GPT-4's tokenizer / exactly tiktoken](../tokenizer/gpt4.md#exactly-tiktoken); special
tokens are met on [regex splitting](../tokenizer/regex.md).

`TiktokenAPI` is a base class of every `zh.tokenizer.base.Tokenizer`: what a ``tiktoken.Encoding``
does, a zh tokenizer does under the same name, and `TiktokenAPI.to_tiktoken` makes one. It
relies on the tokenizer's state (``vocab``, ``special_tokens``, ``pattern``, ``fast_encoder``)
and its ``split`` and ``decode``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Collection, Iterable

import regex

from zh.tokenizer.files import render_token


class TiktokenAPI:
    """What a ``tiktoken.Encoding`` does, under its names, for a zh tokenizer (special tokens included)."""

    # ---- sizes and special tokens --------------------------------------------------------

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

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` with BPE only: special tokens in it are treated as ordinary text.

        Raises:
            TypeError: ``text`` is not a str.
        """
        check_text(text, "encode_ordinary")
        try:
            return self.fast_encoder.encode(self.split(text))
        except UnicodeEncodeError:  # surrogates, which UTF-8 cannot hold: repair as tiktoken does
            return self.fast_encoder.encode(self.split(repair_surrogates(text)))

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
        check_text(text, "encode")
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

    # ---- decoding and converting --------------------------------------------------------

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


def check_text(text, where: str) -> None:
    """Raise a ``TypeError`` that says what to do unless ``text`` is a str (``where``: the caller's name)."""
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


def repair_surrogates(text: str) -> str:
    """``text`` made encodable as UTF-8 the way tiktoken does it (used when ``str.encode`` refuses it)."""
    # tiktoken's repair: through UTF-16, a surrogate pair (as text read from UTF-16 sources may
    # hold) becomes the character it stands for, and a lone surrogate becomes U+FFFD
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
