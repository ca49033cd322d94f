"""Byte-pair encoding on bytes, written to be read: count pairs, merge, train, encode, decode.

Page: [tokenizer / BPE](../tokenizer/bpe.md), which shows each function.

These are the definitions. The class that wraps them, `zh.tokenizer.base.BasicTokenizer` (like
every `zh.tokenizer.base.Tokenizer`), gets the same results faster: it trains with
`zh.tokenizer.train.train_fast` and encodes with `zh.tokenizer.fast_encoder.FastEncoder`; the
tests check both against the functions here, on random text too.
"""

from __future__ import annotations

from collections.abc import Iterable


# --8<-- [start:get_stats]
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
# --8<-- [end:get_stats]


# --8<-- [start:merge]
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
# --8<-- [end:merge]


# --8<-- [start:train]
def train_naive(chunks: list[bytes], num_merges: int) -> list[tuple[tuple[int, int], int]]:
    """Count every pair in the whole text, merge the most frequent, repeat ``num_merges`` times.

    Each step costs a pass over all the text: simple, and slow. Stops early if no pair is left.

    Args:
        chunks: The text's bytes, cut into chunks that merges never cross (one chunk: no cut).
        num_merges: How many merges to learn.

    Returns:
        ``[((id1, id2), count), ...]`` in the order learned: the i-th merge makes token ``256 + i``.

    Example:
        >>> train_naive([b"aaabdaaabac"], 3)
        [((97, 97), 4), ((256, 97), 2), ((257, 98), 2)]
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
# --8<-- [end:train]


# --8<-- [start:encode]
def encode_naive(data: bytes, merges: dict[tuple[int, int], int], byte_ids: list[int] | None = None) -> list[int]:
    """BPE on one chunk: apply the earliest-learned merge present, until none applies.

    Ids were handed out in learning order, so of the pairs present, the one learned first is
    the one with the smallest ``merges[pair]``.

    Args:
        data: The chunk's bytes.
        merges: ``{(id1, id2): new_id}``.
        byte_ids: The id of each byte; by default byte ``b`` is token ``b``.

    Example:
        >>> encode_naive(b"aaabdaaabac", {(97, 97): 256, (256, 97): 257, (257, 98): 258})
        [258, 100, 258, 97, 99]
    """
    ids = list(data) if byte_ids is None else [byte_ids[b] for b in data]
    while len(ids) >= 2:
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # no adjacent pair is a merge: done
        ids = merge(ids, pair, merges[pair])
    return ids
# --8<-- [end:encode]


# --8<-- [start:decode]
def token_bytes(merges: dict[tuple[int, int], int], byte_ids: list[int] | None = None) -> dict[int, bytes]:
    """``{id: bytes}`` for the 256 byte tokens and every merged token: a merge's bytes are its parts'.

    Decoding is then a lookup per id (`decode_bytes`).

    Args:
        merges: ``{(id1, id2): new_id}``.
        byte_ids: The id of each byte; by default byte ``b`` is token ``b``.

    Example:
        >>> token_bytes({(104, 105): 256, (256, 33): 257})[257]
        b'hi!'
    """
    vocab = {idx: bytes([b]) for b, idx in enumerate(range(256) if byte_ids is None else byte_ids)}
    for (p0, p1), idx in sorted(merges.items(), key=lambda item: item[1]):  # parts before wholes
        vocab[idx] = vocab[p0] + vocab[p1]
    return vocab


def decode_bytes(ids: Iterable[int], vocab: dict[int, bytes]) -> bytes:
    """The bytes of ``ids`` joined together (tiktoken's name); ``vocab`` as `token_bytes` makes it.

    Example:
        >>> decode_bytes([258, 100], token_bytes({(97, 97): 256, (256, 97): 257, (257, 98): 258}))
        b'aaabd'
    """
    return b"".join(vocab[idx] for idx in ids)
# --8<-- [end:decode]
