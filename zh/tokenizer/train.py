"""Learning BPE merges from text: the naive algorithm, and a fast one that gives the same merges.

Page: [tokenizer / BPE](../tokenizer/bpe.md) (the naive algorithm and the tie rule) and
[tokenizer / training fast](../tokenizer/fast.md) (the fast one, and why they agree).

Both take the text already cut into chunks (byte strings; merges never cross chunks) and
return the merges in the order they were learned, as ``[((id1, id2), count), ...]``; the i-th
merge gets the new id ``256 + i``.

**The tie rule.** Each step merges the most frequent adjacent pair; among pairs with the same
count, the one whose first occurrence comes first in the (current, partly merged) text wins.
The naive algorithm gets this rule for free (a dict keeps pairs in order of first occurrence,
and ``max`` returns the first maximum); the fast one keeps it explicitly.
"""

from __future__ import annotations

import heapq


def get_stats(ids: list[int], counts: dict | None = None) -> dict[tuple[int, int], int]:
    """Count the adjacent pairs of ``ids``, in order of first appearance.

    Args:
        ids: A sequence of token ids.
        counts: A dict to add to (so several chunks can be counted together), or ``None``.

    Returns:
        ``{(id1, id2): count}``; the dict's order is the order in which pairs first occur.

    Example:
        >>> get_stats([1, 2, 3, 1, 2])
        {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: list[int], pair: tuple[int, int], idx: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by ``idx``, scanning left to right.

    Example:
        >>> merge([1, 1, 1, 2, 1, 1], (1, 1), 9)
        [9, 1, 2, 9]
    """
    out, i, n = [], 0, len(ids)
    first, second = pair
    while i < n:
        if i < n - 1 and ids[i] == first and ids[i + 1] == second:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out



def train_naive(chunks: list[bytes], num_merges: int) -> list[tuple[tuple[int, int], int]]:
    """Count every pair in the whole text, merge the most frequent, repeat ``num_merges`` times.

    Each step costs a pass over all the text: simple, and slow (minbpe's algorithm).
    Stops early if no pair is left (every chunk is a single token).
    """
    ids = [list(chunk) for chunk in chunks]
    merges = []
    for step in range(num_merges):
        stats = {}
        for chunk_ids in ids:
            get_stats(chunk_ids, stats)
        if not stats:
            break
        pair = max(stats, key=stats.get)  # ties: the first pair in dict order = first in the text
        ids = [merge(chunk_ids, pair, 256 + step) for chunk_ids in ids]
        merges.append((pair, stats[pair]))
    return merges


def train_fast(chunk_counts: dict[bytes, int], num_merges: int) -> list[tuple[tuple[int, int], int]]:
    """The same merges as `train_naive`, touching only what each merge changes.

    Args:
        chunk_counts: Each distinct chunk with its number of occurrences, **in order of first
            occurrence** in the text (what ``collections.Counter(chunks)`` gives).
        num_merges: How many merges to learn.

    How: the distinct chunks are laid end to end as a doubly linked list of tokens (a position
    never moves; merging deletes the right-hand position). For every pair we keep its count
    (occurrences weighted by the chunk's count) and the set of positions where it starts. A merge
    visits only the positions of its pair and adjusts the pairs on either side. The next pair
    comes from a heap keyed by ``(-count, first position)``, the tie rule: positions are in text
    order because chunks are in order of first occurrence.

    A pair's occurrences are all created by one merge (the one that made its newest token), and
    afterwards only removed, so its count only falls and its first position only moves right.
    A heap entry is thus never *worse* than the truth: an entry whose count is out of date is
    re-pushed with the current key when popped (lazy deletion), and one that is up to date is the
    true best pair.
    """
    tok, weight, nxt, prv = [], [], [], []
    for chunk, count in chunk_counts.items():
        start, n = len(tok), len(chunk)
        if n == 0:
            continue
        tok.extend(chunk)
        weight.extend([count] * n)
        nxt.extend(range(start + 1, start + n + 1))
        nxt[-1] = -1  # the end of a chunk: no pair crosses it
        prv.extend(range(start - 1, start + n - 1))
        prv[start] = -1

    counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}

    def add(pair, pos, w):
        if pair in counts:
            counts[pair] += w
            where[pair].add(pos)
        else:
            counts[pair] = w
            where[pair] = {pos}

    def remove(pair, pos, w):
        counts[pair] -= w
        where[pair].discard(pos)

    for i, j in enumerate(nxt):
        if j != -1:
            add((tok[i], tok[j]), i, weight[i])
    heap = [(-c, min(where[pair]), pair) for pair, c in counts.items()]
    heapq.heapify(heap)

    merges = []
    for step in range(num_merges):
        while heap:
            neg_count, _, pair = heapq.heappop(heap)
            count = counts.get(pair, 0)
            if count == -neg_count:
                break  # up to date, hence the best
            if count > 0:  # out of date: put it back with its true key
                heapq.heappush(heap, (-count, min(where[pair]), pair))
        else:
            break  # no pairs left
        idx = 256 + step
        merges.append((pair, count))
        a, b = pair
        created = set()
        for i in sorted(where[pair]):  # left to right, like merge()
            j = nxt[i]
            if tok[i] != a or j == -1 or tok[j] != b:
                continue  # this occurrence was consumed by the previous one ("aaa" with pair "aa")
            w, p, k = weight[i], prv[i], nxt[j]
            if p != -1:
                remove((tok[p], a), p, w)
                add((tok[p], idx), p, w)
                created.add((tok[p], idx))
            if k != -1:
                remove((b, tok[k]), j, w)
                add((idx, tok[k]), i, w)
                created.add((idx, tok[k]))
            tok[i], tok[j] = idx, -1
            nxt[i] = k
            if k != -1:
                prv[k] = i
        del counts[pair], where[pair]
        for new in created:
            if counts[new] > 0:
                heapq.heappush(heap, (-counts[new], min(where[new]), new))
    return merges
