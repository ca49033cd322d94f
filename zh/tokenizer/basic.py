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
    """``{(id1, id2): count}`` of the adjacent pairs of ``ids``, in order of first appearance;
    added into ``counts`` if given (several chunks counted together).

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
    """Count every pair, merge the most frequent, ``num_merges`` times (fewer if no pair is left).

    ``chunks``: the text's bytes, cut where merges may not cross. Returns ``[((id1, id2), count)]``
    in the order learned: merge i makes token 256 + i. Each step reads all the text: slow.

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
    """BPE on one chunk: apply the earliest-learned merge present (the smallest new id in
    ``merges``, ``{(id1, id2): new_id}``) until none applies. ``byte_ids``: each byte's id
    (default: byte b is token b).

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
    """``{id: bytes}`` for the byte tokens (ids ``byte_ids``, default 0-255) and every merged
    token, whose bytes are its parts' joined: decoding is then a lookup per id (`decode_bytes`).

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
