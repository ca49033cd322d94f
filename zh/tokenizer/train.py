"""Learning BPE merges fast: the merges of `zh.tokenizer.basic.train_naive`, touching only what each merge changes.

Page: [tokenizer / training fast](../tokenizer/fast.md) (how, and why the two agree).

Like `zh.tokenizer.basic.train_naive`, it returns the merges in the order they were learned,
as ``[((id1, id2), count), ...]``; the i-th merge gets the new id ``256 + i``.

**The tie rule.** Each step merges the most frequent adjacent pair; among pairs with the same
count, the one whose first occurrence comes first in the (current, partly merged) text wins.
The naive algorithm gets this rule for free (a dict keeps pairs in order of first occurrence,
and ``max`` returns the first maximum); the fast one keeps it explicitly.
"""

from __future__ import annotations

import heapq


def train_fast(chunk_counts: dict[bytes, int], num_merges: int) -> list[tuple[tuple[int, int], int]]:
    """The same merges as `zh.tokenizer.basic.train_naive`, touching only what each merge changes.

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
