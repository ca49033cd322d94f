"""The machinery every byte-pair-encoding tokenizer shares: merging, encoding, decoding, files.

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

**File format** (``save(prefix)`` writes ``prefix.model``; ``load`` reads it). UTF-8 text, one
item per line, strings as JSON literals so any character survives::

    zh-bpe v1
    class RegexTokenizer
    pattern "'(?i:[sdmt]|ll|ve|re)|..."       (or: pattern null)
    bytes identity                             (or: bytes 124 0 33 ... — 256 ids)
    special 1
    "<|endoftext|>" 100257
    merges 2
    32 116 256                                 (id1 id2 new_id)
    256 104 257

``prefix.vocab`` is for people only (never read back): one line per token with its bytes shown
as text, and for merged tokens the two tokens it was made from.
"""

from __future__ import annotations

import functools
import heapq
import json
import operator
import os
import sys
import unicodedata
import warnings
from collections import Counter, deque
from collections.abc import Iterable
from itertools import accumulate, islice, repeat
from pathlib import Path

import regex

from zh.tokenizer.batch import BatchEncoder
from zh.tokenizer.train import train_fast

#: The first line of every file that `Tokenizer.save` writes.
MAGIC = "zh-bpe v1"
#: Chunks longer than this are encoded without being cached (they rarely repeat).
CACHE_MAX_CHUNK = 256
#: The cache starts afresh when it holds this many chunks.
CACHE_MAX_ENTRIES = 1 << 18
#: Chunks with more bytes than this are encoded with a heap (see `Tokenizer._encode_long_chunk`).
LONG_CHUNK = 64
#: From this many new chunks in a text on, they are encoded together (see `zh.tokenizer.batch`).
BATCH_MIN = 500
# The rank of a pair that is not a merge: an int, because min() over ints alone is faster than
# over ints mixed with a float("inf").
_NEVER = sys.maxsize


class _ManyNewChunks(Exception):
    """A text has more new chunks than `_ChunkCache` encodes one by one."""


class _ChunkCache(dict):
    """``{chunk: ids}`` that encodes a new chunk when it is looked up, while ``budget`` lasts.

    ``dict.__getitem__`` calls ``__missing__`` for an absent key, from C: looking up a chunk seen
    before costs no Python code at all. Once ``budget`` new chunks have been encoded one by one,
    the next one raises `_ManyNewChunks`, and the caller encodes the rest all together.
    """

    def __init__(self, encode):
        super().__init__()
        self.encode = encode  # str chunk -> its ids
        self.budget = 0

    def __missing__(self, chunk: str):
        if self.budget <= 0:
            raise _ManyNewChunks
        self.budget -= 1
        ids = self.encode(chunk)
        if len(chunk) <= CACHE_MAX_CHUNK:  # as `add` does, for one chunk
            if len(self) >= CACHE_MAX_ENTRIES:
                self.clear()
            self[chunk] = ids
        return ids

    def add(self, chunks: list[str], encoded: list) -> None:
        """Remember ``chunks[i] -> encoded[i]``, except for long chunks; start afresh when full."""
        if len(self) + len(chunks) > CACHE_MAX_ENTRIES:  # keep memory bounded
            self.clear()
        # Keep copies of the chunks, made one after the other: the originals lie scattered among
        # the text's other chunks, freed when the call ends, and keeping them would leave the
        # allocator's free slots scattered too, which makes later calls measurably slower.
        joined = "".join(chunks)
        ends = list(accumulate(map(len, chunks)))
        pairs = zip(map(joined.__getitem__, map(slice, [0, *ends], ends)), encoded)
        if max(map(len, chunks), default=0) > CACHE_MAX_CHUNK:  # rare: filter in Python only then
            pairs = ((chunk, ids) for chunk, ids in pairs if len(chunk) <= CACHE_MAX_CHUNK)
        self.update(islice(pairs, CACHE_MAX_ENTRIES))


def render_token(b: bytes) -> str:
    """A token's bytes as readable text: invalid UTF-8 becomes ``�``, control characters ``\\uXXXX``."""
    text = b.decode("utf-8", errors="replace")
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] == "C" else c for c in text)


class Tokenizer:
    """Byte-pair encoding with a vocabulary of merges; subclasses choose how text is split.

    Not used directly: see `zh.tokenizer.basic.BasicTokenizer`,
    `zh.tokenizer.regex_split.RegexTokenizer` and `zh.tokenizer.gpt4.GPT4Tokenizer`.
    """

    def __init__(self, pattern: str | None = None):
        self._set_state(pattern=pattern, byte_ids=list(range(256)), merges={}, special_tokens={})

    # ---- state ---------------------------------------------------------------------------

    def _set_state(self, pattern, byte_ids, merges, special_tokens):
        self.pattern = pattern
        self.byte_ids = list(byte_ids)
        self.merges = dict(merges)
        self.special_tokens = {}
        self.vocab = self._build_vocab()
        self._cache = _ChunkCache(self._encode_new_chunk)  # valid as long as the merges do not change
        for derived in ("_one_token_chunks", "_batch_encoder"):  # likewise
            self.__dict__.pop(derived, None)
        self.register_special_tokens(special_tokens)

    def _build_vocab(self) -> dict[int, bytes]:
        vocab = {idx: bytes([b]) for b, idx in enumerate(self.byte_ids)}
        for (p0, p1), idx in sorted(self.merges.items(), key=lambda item: item[1]):
            vocab[idx] = vocab[p0] + vocab[p1]
        return vocab

    @property
    def n_vocab(self) -> int:
        """The number of ids: bytes, merges and special tokens (tiktoken's name)."""
        return len(self.vocab)

    def register_special_tokens(self, special_tokens: dict[str, int]) -> None:
        """Add special tokens, e.g. ``{"<|endoftext|>": 100257}``.

        Raises:
            ValueError: a token is not a non-empty string, or its id is not a new non-negative int.
        """
        taken = {idx: tok for tok, idx in self.special_tokens.items()}
        for token, idx in special_tokens.items():
            if not isinstance(token, str) or not token:
                raise ValueError(f"a special token must be a non-empty string, got {token!r}")
            if not isinstance(idx, int) or idx < 0:
                raise ValueError(f"special token {token!r}: its id must be a non-negative int, got {idx!r}")
            if idx in self.vocab and taken.get(idx) != token:
                raise ValueError(f"special token {token!r}: id {idx} is already the token {self._describe(idx)}")
            old = self.special_tokens.get(token)
            if old is not None and old != idx:  # moved to a new id: free the old one
                del self.vocab[old], taken[old]
            self.special_tokens[token] = idx
            self.vocab[idx] = token.encode("utf-8")
            taken[idx] = token

    def _describe(self, idx: int) -> str:
        special = {i: t for t, i in self.special_tokens.items()}
        return repr(special[idx]) if idx in special else f"[{render_token(self.vocab[idx])}]"

    # ---- encoding ------------------------------------------------------------------------

    def _split(self, text: str) -> list[str]:
        """The chunks that BPE works on separately (merges never cross a chunk boundary).

        Without a pattern the whole text is one chunk.
        """
        return [text] if text else []

    def _encode_chunk(self, data: bytes) -> list[int]:
        """BPE on one chunk: apply the earliest-learned merge present, until none applies.

        ``merges[pair]`` is the merged id, and ids were handed out in learning order, so the
        earliest-learned pair is the one with the smallest ``merges[pair]``. Merging its leftmost
        occurrence, then looking again, gives the same result as `merge` on all of them.
        """
        ids = list(map(self.byte_ids.__getitem__, data))
        if len(ids) > LONG_CHUNK:
            return self._encode_long_chunk(ids)
        get = self.merges.get
        ranks = list(map(get, zip(ids, ids[1:]), repeat(_NEVER)))  # ranks[i]: of ids[i], ids[i+1]
        while ranks:
            rank = min(ranks)
            if rank == _NEVER:
                break
            i = ranks.index(rank)  # the leftmost occurrence
            ids[i] = rank
            del ids[i + 1], ranks[i]
            if i > 0:
                ranks[i - 1] = get((ids[i - 1], rank), _NEVER)
            if i < len(ranks):
                ranks[i] = get((rank, ids[i + 1]), _NEVER)
        return ids

    def _encode_long_chunk(self, ids: list[int]) -> list[int]:
        """The same as `_encode_chunk`, in O(n log n) rather than O(n²) for a chunk of n bytes.

        Scanning and shifting the whole list at every merge is fast for the short chunks of a
        split pattern, but a `BasicTokenizer` sees the whole text as one chunk. Here the
        candidate merges wait in a heap keyed by (rank, position), so the next one is the
        earliest-learned and, among equals, the leftmost, as above; positions are linked
        rather than shifted, and an entry whose pair has changed since it was pushed is skipped.
        """
        get = self.merges.get
        nxt = list(range(1, len(ids) + 1))
        nxt[-1] = -1
        prv = list(range(-1, len(ids) - 1))
        heap = [(rank, i) for i, rank in enumerate(map(get, zip(ids, ids[1:]))) if rank is not None]
        heapq.heapify(heap)
        while heap:
            rank, i = heapq.heappop(heap)
            j = nxt[i]
            if j == -1 or ids[i] is None or get((ids[i], ids[j])) != rank:
                continue  # out of date: a pair's rank identifies it
            ids[i], ids[j], k = rank, None, nxt[j]
            nxt[i] = k
            if k != -1:
                prv[k] = i
                if (new := get((rank, ids[k]))) is not None:
                    heapq.heappush(heap, (new, i))
            if (p := prv[i]) != -1 and (new := get((ids[p], rank))) is not None:
                heapq.heappush(heap, (new, p))
        return [idx for idx in ids if idx is not None]

    @functools.cached_property
    def _one_token_chunks(self) -> dict[str, tuple[int]]:
        """``{text: (id,)}`` for the tokens whose own bytes encode to just themselves.

        A chunk equal to one of these texts needs no BPE at all. (Not every token qualifies in
        principle: BPE might take another path through its bytes, so each one is checked once,
        when the tokenizer first encodes.) Keyed by ``str``, like the chunks, so that looking a
        chunk up needs no ``.encode()``; tokens that are not valid UTF-8 on their own (pieces of
        a character) can never equal a whole chunk and are left out.
        """
        special = set(self.special_tokens.values())
        out = {}
        for idx, b in self.vocab.items():
            if idx not in special and self._encodes_to_itself(idx, b):
                try:
                    out[b.decode("utf-8")] = (idx,)
                except UnicodeDecodeError:
                    pass
        return out

    def _encodes_to_itself(self, idx: int, b: bytes) -> bool:
        """Whether BPE turns the bytes ``b`` of token ``idx`` back into that one token."""
        return self._encode_chunk(b) == [idx]

    @functools.cached_property
    def _batch_encoder(self) -> BatchEncoder | None:
        """The merges laid out for `zh.tokenizer.batch` (``None`` if some id is too large for it)."""
        try:
            return BatchEncoder(self.byte_ids, self.merges)
        except ValueError:  # ids of MAX_ID or more: such a tokenizer encodes one chunk at a time
            return None

    def _encode_chunks(self, chunks: list[str]) -> list[tuple[int] | list[int]]:
        """The ids of each chunk: a table lookup for one-token chunks, BPE for the others.

        Short chunks are encoded all at once (`zh.tokenizer.batch.BatchEncoder`) when there are
        enough of them to pay for numpy's per-call cost, else one by one like long chunks.
        """
        out = list(map(self._one_token_chunks.get, chunks))
        todo = [i for i, ids in enumerate(out) if ids is None]
        if len(todo) >= BATCH_MIN and self._batch_encoder is not None:
            short = [i for i in todo if len(chunks[i]) <= LONG_CHUNK]  # characters: at most 4x as many bytes
            for i, ids in zip(short, self._batch_encoder.encode([chunks[i] for i in short])):
                out[i] = ids
        for i in todo:
            if out[i] is None:
                out[i] = self._encode_chunk(chunks[i].encode("utf-8"))
        return out

    def _encode_new_chunk(self, chunk: str) -> tuple[int] | list[int]:
        ids = self._one_token_chunks.get(chunk)  # about half of the new chunks, on English
        return ids if ids is not None else self._encode_chunk(chunk.encode("utf-8"))

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` with BPE only: special tokens in it are treated as ordinary text."""
        # Real text repeats its chunks (" the", ",", "\n"), so the tokenizer keeps a cache
        # {chunk: ids}. If every chunk is in it, the whole loop runs in C: map() looks each one
        # up and hands its ids to out.extend (which copies a list or tuple without an iterator,
        # unlike itertools.chain); deque(..., maxlen=0) just drives the iteration. A few new
        # chunks are encoded as they are met; many, and we start over with them all together.
        chunks = self._split(text)
        self._cache.budget = BATCH_MIN
        out = []
        try:
            deque(map(out.extend, map(self._cache.__getitem__, chunks)), maxlen=0)
            return out
        except _ManyNewChunks:
            pass
        table = self._chunk_table(chunks)
        out = []
        deque(map(out.extend, map(table.__getitem__, chunks)), maxlen=0)
        del table  # before the chunks, for the same reason as in `_ChunkCache.add`
        return out

    def _chunk_table(self, chunks: list[str]) -> dict[str, tuple[int] | list[int]]:
        """``{chunk: ids}`` for every distinct chunk, from the cache or encoded now (and cached)."""
        distinct = set(chunks)
        table = dict(zip(distinct, map(self._cache.get, distinct)))
        new = [chunk for chunk, ids in table.items() if ids is None]
        encoded = self._encode_chunks(new)
        table.update(zip(new, encoded))
        self._cache.add(new, encoded)
        return table

    def encode(self, text: str, allowed_special: str | set[str] = "none_raise") -> list[int]:
        """Encode ``text``, deciding what to do with special tokens found in it.

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

        Returns:
            The token ids.

        Raises:
            ValueError: a disallowed special token occurs in ``text``, or ``allowed_special`` is
                not one of the forms above.
        """
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
            raise ValueError(f"allowed_special must be 'all', 'none', 'none_raise' or a set of tokens, got {allowed_special!r}")
        if allowed_special != "none":
            for token in self.special_tokens:
                if token not in allowed and token in text:
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

    def train(self, text: str, vocab_size: int, verbose: bool = False) -> None:
        """Learn ``vocab_size - 256`` merges from ``text`` (replacing any learned before).

        Uses `zh.tokenizer.train.train_fast`, which learns exactly the merges of the
        naive algorithm (`zh.tokenizer.train.train_naive`), ties included. Registered
        special tokens are kept; ``vocab_size`` does not count them.

        Args:
            text: The training text.
            vocab_size: The number of tokens to end with, at least 256 (the bytes).
            verbose: Print every merge.

        Raises:
            ValueError: ``vocab_size`` is below 256.
        """
        if not isinstance(vocab_size, int) or vocab_size < 256:
            raise ValueError(f"vocab_size must be an int of at least 256 (the 256 bytes), got {vocab_size!r}")
        chunk_counts = Counter(chunk.encode("utf-8") for chunk in self._split(text))
        learned = train_fast(chunk_counts, vocab_size - 256)
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
                print(f"merge {i + 1}/{len(learned)}: {pair} -> {256 + i} [{render_token(self.vocab[256 + i])}] had {count} occurrences")

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
                raise ValueError(f"cannot decode id {idx!r}: it is not in the vocabulary (ids 0..{max(vocab)})") from None
        return b"".join(out)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``. Bytes that are not valid UTF-8 (e.g. half of a multi-byte
        character, when ``ids`` is a slice of an encoding) become ``U+FFFD`` (``�``), as in
        tiktoken's ``decode``.

        Raises:
            ValueError: an id is not in the vocabulary.
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ---- files ---------------------------------------------------------------------------

    def _model_lines(self) -> list[str]:
        byte_ids = "identity" if self.byte_ids == list(range(256)) else " ".join(map(str, self.byte_ids))
        lines = [MAGIC, f"class {type(self).__name__}", f"pattern {json.dumps(self.pattern)}", f"bytes {byte_ids}"]
        lines.append(f"special {len(self.special_tokens)}")
        lines += [f"{json.dumps(t)} {i}" for t, i in self.special_tokens.items()]
        lines.append(f"merges {len(self.merges)}")
        lines += [f"{p0} {p1} {idx}" for (p0, p1), idx in sorted(self.merges.items(), key=lambda item: item[1])]
        return lines

    def _vocab_lines(self) -> list[str]:
        parts = {idx: pair for pair, idx in self.merges.items()}
        special = {i: t for t, i in self.special_tokens.items()}
        lines = []
        for idx in sorted(self.vocab):
            if idx in special:
                lines.append(f"{idx}\tspecial {special[idx]!r}")
            elif idx in parts:
                p0, p1 = parts[idx]
                lines.append(f"{idx}\t[{render_token(self.vocab[p0])}][{render_token(self.vocab[p1])}] -> [{render_token(self.vocab[idx])}]")
            else:
                lines.append(f"{idx}\t[{render_token(self.vocab[idx])}]")
        return lines

    def save(self, prefix: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write ``prefix.model`` (read back by `load`) and ``prefix.vocab`` (for people).

        Args:
            prefix: Path without extension, e.g. ``"models/shakespeare512"``.
            overwrite: Replace existing files that hold something else. Without it, saving over
                a *different* tokenizer raises; saving the same tokenizer again is allowed.

        Returns:
            The path of the ``.model`` file.

        Raises:
            FileExistsError: a target file exists with other contents and ``overwrite`` is False.
        """
        prefix = Path(prefix)
        files = {
            prefix.with_name(prefix.name + ".model"): "\n".join(self._model_lines()) + "\n",
            prefix.with_name(prefix.name + ".vocab"): "\n".join(self._vocab_lines()) + "\n",
        }
        if not overwrite:
            for path, content in files.items():
                if path.exists() and path.read_text(encoding="utf-8", errors="replace") != content:
                    raise FileExistsError(f"{path} already exists and holds something else; pass overwrite=True to replace it")
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        return prefix.with_name(prefix.name + ".model")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Tokenizer":
        """Read a ``.model`` file written by `save` and return the tokenizer it describes.

        Called on a subclass (``RegexTokenizer.load(...)``), the file must hold that class (or
        a subclass of it).

        Raises:
            ValueError: the file is not a zh tokenizer file or is damaged; the message gives
                the line number and what was expected there.
        """
        path = Path(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        reader = _LineReader(path, lines)
        reader.expect(lambda line: line == MAGIC or None, f"the header {MAGIC!r} (is this a zh tokenizer .model file?)")
        name = reader.field("class", str)
        known = {c.__name__: c for c in _subclasses(Tokenizer)}
        if name not in known or not issubclass(known[name], cls):
            reader.fail(f"the class {cls.__name__} or a subclass of it", back=1)
        pattern = reader.field("pattern", lambda v: _json(v, (str, type(None))))
        byte_ids = reader.field("bytes", lambda v: list(range(256)) if v == "identity" else _ints(v, 256))
        if len(set(byte_ids)) != 256:
            reader.fail("256 different byte ids", back=1)
        special = dict(reader.items(reader.field("special", int), lambda line: _special_line(line)))
        merges = {}
        known_ids = set(byte_ids)
        for p0, p1, idx in reader.items(reader.field("merges", int), lambda line: _ints(line, 3)):
            if p0 not in known_ids or p1 not in known_ids or idx in known_ids:
                reader.fail(f"a merge of two known ids into a new id, not {p0} {p1} -> {idx}", back=1)
            if idx < max(p0, p1):  # encoding relies on it: a token ranks after its parts
                reader.fail(f"a new id larger than the two it joins (ids follow learning order), not {p0} {p1} -> {idx}", back=1)
            merges[(p0, p1)] = idx
            known_ids.add(idx)
        reader.expect_end()
        tok = known[name].__new__(known[name])
        try:
            tok._set_state(pattern, byte_ids, merges, special)
        except (ValueError, regex.error) as exc:
            raise ValueError(f"{path}: {exc}") from None
        return tok

    # ---- interoperability ----------------------------------------------------------------

    def to_tiktoken(self, name: str = "zh"):
        """The same tokenizer as a ``tiktoken.Encoding`` (same ranks, split pattern and special tokens).

        tiktoken knows a token by its bytes, so two ids with the same bytes cannot be expressed.

        Raises:
            ValueError: two ids have the same bytes.
        """
        import tiktoken

        special_ids = set(self.special_tokens.values())
        ranks = {}
        for idx, b in self.vocab.items():
            if idx not in special_ids:
                if b in ranks:
                    raise ValueError(f"ids {ranks[b]} and {idx} are both [{render_token(b)}]; tiktoken needs distinct bytes")
                ranks[b] = idx
        # no pattern means one chunk: the whole text
        pat_str = self.pattern if self.pattern is not None else r"[\s\S]+"
        return tiktoken.Encoding(name=name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=dict(self.special_tokens))


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _json(value: str, types):
    out = json.loads(value)
    if not isinstance(out, types):
        raise ValueError(f"expected {' or '.join(t.__name__ for t in types)}")
    return out


def _ints(value: str, n: int) -> list[int]:
    parts = value.split(" ")
    if len(parts) != n or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected {n} non-negative integers")
    return [int(p) for p in parts]


def _special_line(line: str):
    token, _, idx = line.rpartition(" ")
    token = _json(token, (str,))
    if not idx.isdigit():
        raise ValueError("expected an integer id")
    return token, int(idx)


class _LineReader:
    """Reads a .model file line by line, turning every surprise into a ValueError with the line number."""

    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines, self.n = path, lines, 0

    def fail(self, expected: str, back: int = 0):
        n = self.n - back
        got = repr(self.lines[n])[:80] if n < len(self.lines) else "the end of the file"
        raise ValueError(f"{self.path}, line {n + 1}: expected {expected}, found {got}")

    def expect(self, parse, expected: str):
        if self.n >= len(self.lines):
            self.fail(expected)
        try:
            value = parse(self.lines[self.n])
        except (ValueError, json.JSONDecodeError):
            value = None
        if value is None:
            self.fail(expected)
        self.n += 1
        return value

    def field(self, key: str, parse):
        def parse_line(line):
            head, _, value = line.partition(" ")
            return (parse(value),) if head == key else None

        return self.expect(parse_line, f"'{key} ...'")[0]

    def items(self, count: int, parse):
        for _ in range(count):
            yield self.expect(parse, "another entry of the section above")

    def expect_end(self):
        if any(line.strip() for line in self.lines[self.n:]):
            self.fail("the end of the file")
