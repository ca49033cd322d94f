"""What a tokenizer's merges mean: the bytes of each token, and BPE on one chunk (the reference).

Page: [tokenizer / BPE](../tokenizer/bpe.md).

`encode_naive` is the definition of encoding, written to be read: replay the merges in the order
they were learned. `zh.tokenizer.fast_encoder.FastEncoder` gives exactly the same ids, much
faster; the tests check that on random text.
"""

from __future__ import annotations

from zh.tokenizer.train import get_stats, merge


def token_bytes(byte_ids: list[int], merges: dict[tuple[int, int], int]) -> dict[int, bytes]:
    """``{id: bytes}`` for the 256 byte tokens and every merged token.

    Args:
        byte_ids: ``byte_ids[b]``: the id of byte ``b``.
        merges: ``{(id1, id2): new_id}``.

    Example:
        >>> token_bytes(list(range(256)), {(104, 105): 256, (256, 33): 257})[257]
        b'hi!'
    """
    vocab = {idx: bytes([b]) for b, idx in enumerate(byte_ids)}
    for (p0, p1), idx in sorted(merges.items(), key=lambda item: item[1]):  # parts before wholes
        vocab[idx] = vocab[p0] + vocab[p1]
    return vocab


# --8<-- [start:encode_naive]
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
# --8<-- [end:encode_naive]
