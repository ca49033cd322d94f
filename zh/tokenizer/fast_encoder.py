"""Encoding fast: the ids of `zh.tokenizer.basic.encode_naive`, in a fraction of its time.

Page: [GPT-4's tokenizer / encoding fast](../tokenizer/gpt4.md#encoding-fast).

`FastEncoder.encode` turns a text's chunks into ids. None of its shortcuts changes an id (the
tests compare it with `encode_naive` and with tiktoken, on random text too); each is explained
where it lives:

1. **chunks repeat**: a cache ``{chunk: ids}`` (`FastEncoder.cache`), read by a loop that runs
   in C (`FastEncoder.encode`);
2. **many chunks are one whole token**: a table from the token's text (`FastEncoder.one_token_chunks`);
3. **BPE on one chunk without recounting**: a list of pair ranks, or a heap for long chunks
   (`FastEncoder.bpe`);
4. **many new chunks at once**: `zh.tokenizer.batch.BatchEncoder`, with numpy (`FastEncoder.encode_many`).
"""

from __future__ import annotations

import functools
import heapq
from collections import deque
from itertools import accumulate, islice, repeat

from zh.tokenizer.batch import NEVER, BatchEncoder

#: Chunks of more characters than this are not cached (they rarely repeat).
CACHE_MAX_CHUNK = 256
#: The cache starts afresh when it holds this many chunks.
CACHE_MAX_ENTRIES = 1 << 18
#: Chunks of more bytes than this are long: encoded on their own, with a heap (`FastEncoder.bpe`).
LONG_CHUNK = 64
#: From this many new chunks in a text on, they are encoded together (`FastEncoder.encode`).
BATCH_MIN = 500


class _ManyNewChunks(Exception):
    """A text has more new chunks than `_ChunkCache` encodes one by one (raised to leave a C loop)."""


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
        # `add`'s bounds for one chunk, written out: this runs for every new chunk of a stream of
        # short texts, where a call to `add` (which copies strings) would cost more than the lookup
        if len(chunk) <= CACHE_MAX_CHUNK:
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


class FastEncoder:
    """A tokenizer's merges, with the tables and the cache that make encoding fast.

    Every `zh.tokenizer.base.Tokenizer` makes one (``tok.fast_encoder``) whenever its merges are
    set; the tables are built on first use.

    Args:
        byte_ids: ``byte_ids[b]``: the id of byte ``b``.
        merges: ``{(id1, id2): new_id}``; each ``new_id`` is larger than ``id1`` and ``id2``.
        vocab: ``{id: bytes}`` of the byte tokens and merged tokens (no special tokens).
        check_whole_tokens: Check, for each token, that BPE on its own bytes gives it back before
            putting it in `one_token_chunks` (see there). ``False`` only for merges known to pass.

    Attributes:
        cache: ``{chunk: ids}`` of the chunks met so far (a dict; ``cache.clear()`` empties it).
    """

    def __init__(
        self,
        byte_ids: list[int],
        merges: dict[tuple[int, int], int],
        vocab: dict[int, bytes],
        check_whole_tokens: bool = True,
    ):
        # The tokenizer's own list and dicts, not copies: the ids that encoding returns are these
        # very int objects (see `zh.tokenizer.batch.BatchEncoder`).
        self.byte_ids, self.merges, self.vocab = byte_ids, merges, vocab
        self.check_whole_tokens = check_whole_tokens
        self.cache = _ChunkCache(self.encode_one)

    # --8<-- [start:encode]
    def encode(self, chunks: list[str]) -> list[int]:
        """The ids of a text given as its chunks, all joined: the cache's, or encoded now.

        Args:
            chunks: The text's chunks, in order (``tok.split(text)``).
        """
        # Real text repeats its chunks (" the", ",", "\n"). If every chunk is in the cache, this
        # whole loop runs in C: map() looks each one up and hands its ids to out.extend (which
        # copies a list or tuple without an iterator, unlike itertools.chain); deque(...,
        # maxlen=0) just drives the iteration. The cache encodes the first few new chunks as
        # they are met; after BATCH_MIN of them, we start over with all of them together.
        self.cache.budget = BATCH_MIN
        out = []
        try:
            deque(map(out.extend, map(self.cache.__getitem__, chunks)), maxlen=0)
            return out
        except _ManyNewChunks:
            pass
        # Pass 2 reads a table made for this call alone, never the shared cache, which another
        # thread may clear at any time.
        table = self._table(chunks)
        out = []
        deque(map(out.extend, map(table.__getitem__, chunks)), maxlen=0)
        del table  # before the chunks are freed, for the reason given in `_ChunkCache.add`
        return out
    # --8<-- [end:encode]

    def _table(self, chunks: list[str]) -> dict[str, tuple[int] | list[int]]:
        """``{chunk: ids}`` for every distinct chunk: from the cache, or encoded now (and cached)."""
        distinct = set(chunks)
        table = dict(zip(distinct, map(self.cache.get, distinct)))
        new = [chunk for chunk, ids in table.items() if ids is None]
        encoded = self.encode_many(new)
        table.update(zip(new, encoded))
        self.cache.add(new, encoded)
        return table

    def encode_many(self, chunks: list[str]) -> list[tuple[int] | list[int]]:
        """The ids of each chunk, without the cache: a table lookup for one-token chunks, BPE for the others.

        Short chunks are encoded all at once (`zh.tokenizer.batch.BatchEncoder`) when there are
        at least `BATCH_MIN` to encode, enough to pay for numpy's cost per call; the others
        one by one (`bpe`).
        """
        out = list(map(self.one_token_chunks.get, chunks))
        todo = [i for i, ids in enumerate(out) if ids is None]
        if len(todo) >= BATCH_MIN and self.batch_encoder is not None:
            # at most LONG_CHUNK bytes (a character is 1 to 4 bytes; ASCII needs no encoding to count)
            short = [
                i for i in todo if len(c := chunks[i]) <= LONG_CHUNK and (c.isascii() or len(c.encode()) <= LONG_CHUNK)
            ]
            for i, ids in zip(short, self.batch_encoder.encode([chunks[i] for i in short])):
                out[i] = ids
        for i in todo:
            if out[i] is None:
                out[i] = self.bpe(chunks[i].encode("utf-8"))
        return out

    def encode_one(self, chunk: str) -> tuple[int] | list[int]:
        """The ids of one chunk, without the cache: `one_token_chunks`, else `bpe`."""
        ids = self.one_token_chunks.get(chunk)  # about half of the new chunks, on English
        return ids if ids is not None else self.bpe(chunk.encode("utf-8"))

    @functools.cached_property
    def one_token_chunks(self) -> dict[str, tuple[int]]:
        """``{text: (id,)}`` for the tokens whose own bytes encode to just themselves.

        A chunk equal to one of these texts needs no BPE at all. Not every token qualifies in
        principle (BPE might take another path through its bytes), so with
        ``check_whole_tokens`` each one is checked, once, when the table is first used; only tokens
        of at most `LONG_CHUNK` bytes, whose check is cheap (training on ``"a" * 1_000_000`` makes
        tokens of half a million bytes, and checking those took longer than encoding). Longer
        chunks go through `bpe` like any other. Keyed by
        ``str``, like the chunks, so that looking a chunk up needs no ``.encode()``; tokens that
        are not valid UTF-8 on their own (pieces of a character) can never equal a whole chunk.
        """
        out = {}
        for idx, b in self.vocab.items():
            if not self.check_whole_tokens or len(b) <= LONG_CHUNK and self.bpe(b) == [idx]:
                try:
                    out[b.decode("utf-8")] = (idx,)
                except UnicodeDecodeError:
                    pass
        return out

    @functools.cached_property
    def batch_encoder(self) -> BatchEncoder | None:
        """The merges laid out for `zh.tokenizer.batch` (``None`` if some id is too large for it)."""
        try:
            return BatchEncoder(self.byte_ids, self.merges)
        except ValueError:  # ids of batch.MAX_ID or more: then every chunk is encoded on its own
            return None

    # --8<-- [start:bpe]
    def bpe(self, data: bytes) -> list[int]:
        """BPE on one chunk's bytes: the result of `zh.tokenizer.basic.encode_naive`.

        Rather than counting the pairs again after each merge, keep the rank of every adjacent
        pair in a list (``ranks[i]`` for ``ids[i], ids[i + 1]``) and, after a merge, look up only
        the two pairs it changed. Merging the lowest rank's leftmost occurrence, then looking
        again, is what `encode_naive` does, one occurrence at a time.
        """
        ids = list(map(self.byte_ids.__getitem__, data))
        if len(ids) > LONG_CHUNK:
            return self._bpe_heap(ids)
        get = self.merges.get
        # NEVER, not None or inf, for a pair that is no merge: min() over ints alone is fastest
        ranks = list(map(get, zip(ids, ids[1:]), repeat(NEVER)))
        while ranks:
            rank = min(ranks)
            if rank == NEVER:
                break
            i = ranks.index(rank)  # the leftmost occurrence
            ids[i] = rank  # a merge's rank is the id of the new token
            del ids[i + 1], ranks[i]
            if i > 0:
                ranks[i - 1] = get((ids[i - 1], rank), NEVER)
            if i < len(ranks):
                ranks[i] = get((rank, ids[i + 1]), NEVER)
        return ids
    # --8<-- [end:bpe]

    def _bpe_heap(self, ids: list[int]) -> list[int]:
        """`bpe` for a long chunk, in O(n log n) rather than O(n²) for n bytes.

        Scanning and shifting the whole list at every merge is fast for the short chunks of a
        split pattern, but a `zh.tokenizer.base.BasicTokenizer` sees the whole text as one chunk.
        Here the candidate merges wait in a heap keyed by (rank, position), so the next one is
        the earliest-learned and, among equals, the leftmost, as in `bpe`; positions are linked
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
