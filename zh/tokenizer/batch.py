"""BPE on thousands of chunks at once, with numpy: the same ids as encoding them one by one.

Page: [GPT-4's tokenizer / encoding fast](../tokenizer/gpt4.md#encoding-fast).

`zh.tokenizer.fast_encoder.FastEncoder.bpe` is a short Python loop: find the chunk's
lowest-ranked pair, merge it, repeat. On a new text there are thousands of new chunks, and the
loop's interpreter overhead is most of the time. Here the chunks' ids lie end to end in one
array, and each *round* does, for every chunk at once, what one turn of the loop does: find the
chunk's lowest-ranked pair and merge it.

A round merges every occurrence of that pair in its chunk (left to right, so in ``x x x`` only
the first two join). That is what the loop would do in its next turns anyway: a merge only
creates pairs that contain the new token, and a merge that uses a token was learned after that
token, so it ranks after the pair just merged.
"""

from __future__ import annotations

import numpy as np

#: The rank of a pair that is not a merge: the largest int64, a plain Python int (also used by
#: `zh.tokenizer.fast_encoder`, whose loop over Python ints needs no numpy).
NEVER = np.iinfo(np.int64).max
#: Pair keys pack two ids into one 64-bit integer; ids must stay below this.
MAX_ID = 1 << 31
_EMPTY = np.uint64(2**64 - 1)  # a key no pair can have: both halves would be 2**32 - 1
_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * (2**64 / golden ratio)


def _keys(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return (left.astype(np.uint64) << np.uint64(32)) | right.astype(np.uint64)


class PairTable:
    """``merges`` (``{(id1, id2): new_id}``) as a hash table that looks up many pairs per call.

    Open addressing with linear probing, in two numpy arrays at most half full: a key's slot is
    the top bits of ``key * constant``; a key that finds its slot taken goes to the next one.
    """

    def __init__(self, merges: dict[tuple[int, int], int]):
        self.bits = max(8, (2 * len(merges)).bit_length())
        self.mask = (1 << self.bits) - 1
        self.keys = np.full(1 << self.bits, _EMPTY, dtype=np.uint64)
        self.values = np.full(1 << self.bits, NEVER, dtype=np.int64)
        pairs = np.array(list(merges), dtype=np.int64).reshape(-1, 2)
        keys = _keys(pairs[:, 0], pairs[:, 1])
        values = np.fromiter(merges.values(), dtype=np.int64, count=len(merges))
        todo, slots = np.arange(len(keys)), self._slots(keys)
        while len(todo):
            # of the keys whose slot is free, one per slot takes it; every other key moves on
            free = self.keys[slots] == _EMPTY
            taken, first = np.unique(slots[free], return_index=True)
            placed = todo[free][first]
            self.keys[taken], self.values[taken] = keys[placed], values[placed]
            left = np.ones(len(todo), dtype=bool)
            left[np.flatnonzero(free)[first]] = False
            todo, slots = todo[left], (slots[left] + 1) & self.mask

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * _MULT) >> np.uint64(64 - self.bits)).astype(np.int64)

    def lookup(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """``merges.get((left[i], right[i]), NEVER)`` for every ``i``."""
        keys = _keys(left, right)
        out = np.full(len(keys), NEVER, dtype=np.int64)
        where, slots = np.arange(len(keys)), self._slots(keys)
        while len(where):  # ends: an empty slot stops every search
            found = self.keys[slots]
            hit = found == keys
            out[where[hit]] = self.values[slots[hit]]
            go_on = ~hit & (found != _EMPTY)
            where, keys, slots = where[go_on], keys[go_on], (slots[go_on] + 1) & self.mask
        return out


class BatchEncoder:
    """A tokenizer's merges laid out for numpy, to encode many chunks in one call.

    Args:
        byte_ids: ``byte_ids[b]``: the id of byte ``b``.
        merges: ``{(id1, id2): new_id}``; each ``new_id`` is larger than ``id1`` and ``id2``.

    Raises:
        ValueError: an id is `MAX_ID` or more (two of them must fit in one 64-bit key).
    """

    def __init__(self, byte_ids: list[int], merges: dict[tuple[int, int], int]):
        ids = [*byte_ids, *merges.values()]
        if max(ids) >= MAX_ID:
            raise ValueError(f"BatchEncoder handles ids below {MAX_ID}, not {max(ids)}")
        self.byte_ids = np.array(byte_ids, dtype=np.int64)
        self.pairs = PairTable(merges)
        # The returned ids are these very int objects, those of byte_ids and merges, as in
        # FastEncoder.bpe: a cache of thousands of id lists reads back faster when its
        # lists share one object per id than when each holds its own copies, all over memory.
        self.ints = np.empty(max(ids) + 1, dtype=object)
        for idx in ids:
            self.ints[idx] = idx

    def encode(self, chunks: list[str]) -> list[list[int]]:
        """BPE on each chunk's UTF-8 bytes: the result of `zh.tokenizer.basic.encode_naive` on each.

        Args:
            chunks: The chunks.

        Returns:
            The ids of each chunk, in order.
        """
        data = "".join(chunks).encode("utf-8")  # one bytes object, not one per chunk
        sizes = map(len, chunks) if len(data) == sum(map(len, chunks)) else map(len, map(str.encode, chunks))
        lengths = np.fromiter(sizes, dtype=np.int64, count=len(chunks))
        ids = self.byte_ids[np.frombuffer(data, dtype=np.uint8)]
        chunk = np.repeat(np.arange(len(chunks)), lengths)  # which chunk each position belongs to
        # rank[i]: of the pair (ids[i], ids[i + 1]); NEVER at the last position of a chunk
        rank = np.full(len(ids), NEVER, dtype=np.int64)
        inner = np.flatnonzero(chunk[:-1] == chunk[1:])
        rank[inner] = self.pairs.lookup(ids[inner], ids[inner + 1])
        done_ids, done_chunk = [], []
        while len(ids):
            starts = np.flatnonzero(np.diff(chunk, prepend=-1))
            lowest = np.repeat(np.minimum.reduceat(rank, starts), np.diff(starts, append=len(ids)))
            finished = lowest == NEVER  # no merge left in these chunks: set them aside
            if finished.any():
                done_ids.append(ids[finished])
                done_chunk.append(chunk[finished])
                ids, chunk, rank, lowest = ids[~finished], chunk[~finished], rank[~finished], lowest[~finished]
            merge = rank == lowest
            if (merge[1:] & merge[:-1]).any():  # "x x x" and the pair (x, x): every other one, from the left
                position = np.arange(len(ids))
                run_start = np.maximum.accumulate(np.where(merge & ~np.r_[False, merge[:-1]], position, 0))
                merge &= (position - run_start) % 2 == 0
            at = np.flatnonzero(merge)
            ids[at] = rank[at]  # a merge's rank is the id of the new token
            keep = np.ones(len(ids), dtype=bool)
            keep[at + 1] = False
            ids, chunk, rank = ids[keep], chunk[keep], rank[keep]
            at = np.flatnonzero(merge[keep])
            # the two pairs that changed at each merge: with the right neighbour and with the left one
            rank[at] = NEVER
            right = at[at + 1 < len(ids)]
            right = right[chunk[right] == chunk[right + 1]]
            rank[right] = self.pairs.lookup(ids[right], ids[right + 1])
            left = at[at > 0]
            left = left[chunk[left - 1] == chunk[left]]
            rank[left - 1] = self.pairs.lookup(ids[left - 1], ids[left])
        if not done_ids:
            return [[] for _ in chunks]
        chunk = np.concatenate(done_chunk)
        order = np.argsort(chunk, kind="stable")  # chunks in order; within one, positions stay in order
        flat = self.ints[np.concatenate(done_ids)[order]].tolist()
        ends = np.cumsum(np.bincount(chunk, minlength=len(chunks))).tolist()
        return [flat[start:end] for start, end in zip([0, *ends], ends)]
