"""Reference answers to the exercises of the tokenizer pages (see ``zh.exercises``).

The references do not use zh's trainer or encoders: BPE is replayed here the slow, literal way
(recount every pair, merge left to right), splits come from the `regex` package directly, and
GPT-4's answers from tiktoken's own encoder built on the published ranks.
"""

from __future__ import annotations

import functools

import regex

from zh.exercises import exercise
from zh.tokenizer.gpt4 import GPT4_SPECIAL_TOKENS, bpe_parts, cl100k_ranks
from zh.tokenizer.regex_split import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN


def _pairs_in_order(chunks: list[list[int]]) -> dict[tuple[int, int], int]:
    """Counts of adjacent pairs inside each chunk, keyed in order of first occurrence."""
    counts: dict[tuple[int, int], int] = {}
    for ids in chunks:
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def _replace(ids: list[int], pair: tuple[int, int], new: int) -> list[int]:
    """Merge every occurrence of ``pair``, left to right, without overlaps: what ``str.replace`` does.

    Each id becomes one character (``chr``), so the replacement is Python's own, not zh's ``merge``.
    """
    text = "".join(map(chr, ids))
    return [ord(c) for c in text.replace(chr(pair[0]) + chr(pair[1]), chr(new))]


def _slow_train(chunks: list[bytes], num_merges: int) -> list[tuple[tuple[int, int], int]]:
    """BPE the literal way: recount everything, merge the most frequent pair (first seen wins ties)."""
    seqs = [list(c) for c in chunks]
    merges = []
    for new in range(256, 256 + num_merges):
        counts = _pairs_in_order(seqs)
        if not counts:
            break
        best = max(counts.values())
        pair = next(p for p, c in counts.items() if c == best)
        merges.append((pair, best))
        seqs = [_replace(s, pair, new) for s in seqs]
    return merges


def _replay(data: bytes, merges: dict[tuple[int, int], int]) -> list[int]:
    """Encode by applying the merges in the order they were learned, each everywhere at once."""
    ids = list(data)
    for pair, new in sorted(merges.items(), key=lambda item: item[1]):
        ids = _replace(ids, pair, new)
    return ids


def _probe_merges() -> dict[tuple[int, int], int]:
    return {pair: 256 + i for i, (pair, _) in enumerate(_slow_train([b"aaabdaaabac the cat ate the hat"], 6))}


# --- byte-pair encoding ---------------------------------------------------------------------------


@exercise("tokenizer/bpe", "merges_by_hand",
          hint="count every adjacent pair, merge the most frequent (the first seen wins a tie), count again",
          example=lambda: {"text": "abcabcab", "num_merges": 2})
def merges_by_hand(text, num_merges):
    """The first ``num_merges`` BPE merges of ``text``, by the literal algorithm."""
    return _slow_train([text.encode("utf-8")], num_merges)


@exercise("tokenizer/bpe", "compression_ratio", hint="bytes of the text (UTF-8) divided by the number of tokens",
          example=lambda: {"text": "the cat ate the hat", "merges": _probe_merges()})
def compression_ratio(text, merges):
    """UTF-8 bytes per token of ``text`` encoded by replaying ``merges``."""
    data = text.encode("utf-8")
    return len(data) / len(_replay(data, merges))


def _holey_vocab():
    """Bytes, and a few merged tokens with gaps between their ids (301 is half of "é")."""
    return {**{i: bytes([i]) for i in range(256)}, 300: b"ab", 301: "é".encode()[:1], 305: b" the", 310: "€".encode()}


@exercise("tokenizer/bpe", "decode_with_holes",
          hint="look each id up in the dict (not a list: ids can be missing), join the bytes, then decode as UTF-8 "
               "with errors='replace'",
          probes=lambda: [([97, 300, 305, 310], _holey_vocab()), ([301, 98], _holey_vocab()), ([], _holey_vocab()),
                          ([310, 310, 32], _holey_vocab())])
def decode_with_holes(ids, vocab):
    """The text of ``ids`` in a vocabulary dict with holes (invalid UTF-8 as U+FFFD)."""
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


@exercise("tokenizer/bpe", "encode",
          hint="apply the merges in the order they were learned (smallest new id first), repeat until none applies",
          probes=lambda: [(t, _probe_merges()) for t in ("the hat", "aaaaaaa", "", "a cat sat", "théâtre")])
def encode(text, merges):
    """``text`` encoded by replaying ``merges`` in learning order."""
    return _replay(text.encode("utf-8"), merges)


# --- training fast ----------------------------------------------------------------------------------


def _expanded(chunk_counts: dict[bytes, int]) -> list[bytes]:
    return [chunk for chunk, n in chunk_counts.items() for _ in range(n)]


@exercise("tokenizer/fast", "weighted_counts",
          hint="each distinct chunk's pair counts, multiplied by how often the chunk occurs, summed over chunks",
          example=lambda: {"chunk_counts": {b"low": 3, b"lowest": 2, b"slow": 1}})
def weighted_counts(chunk_counts):
    """Pair counts of the text that ``chunk_counts`` stands for, counted on every copy."""
    return _pairs_in_order([list(c) for c in _expanded(chunk_counts)])


@exercise("tokenizer/fast", "first_merge", hint="the largest weighted count; among equals, the pair seen first",
          example=lambda: {"chunk_counts": {b"xy": 3, b"yx": 3}})
def first_merge(chunk_counts):
    """The first pair BPE merges on the text that ``chunk_counts`` stands for."""
    return _slow_train(_expanded(chunk_counts), 1)[0][0]


@exercise("tokenizer/fast", "merge_delta",
          hint="only pairs around a merged occurrence change: (x, a), (a, b), (b, y) lose n_w each, (x, z) and "
               "(z, y) gain n_w; leave out pairs whose change is 0",
          example=lambda: {"chunk": [3, 1, 2, 1, 2, 4], "pair": (1, 2), "new": 9, "n_w": 2})
def merge_delta(chunk, pair, new, n_w):
    """The nonzero changes of the pair counts when ``pair`` becomes ``new`` in ``chunk``, by recounting."""
    before, after = _pairs_in_order([list(chunk)]), _pairs_in_order([_replace(list(chunk), tuple(pair), new)])
    delta = {p: n_w * (after.get(p, 0) - before.get(p, 0)) for p in {**before, **after}}
    return {p: d for p, d in delta.items() if d}


@exercise("tokenizer/fast", "train_weighted",
          hint="keep each distinct chunk once with its count; weigh its pairs by the count; merge in every chunk",
          probes=lambda: [({b"low": 5, b"lower": 2, b"newest": 6, b"widest": 3}, 6),
                          ({b"aaaa": 2, b"aa": 3, b"ab": 1}, 3), ({b"xy": 3, b"yx": 3}, 2), ({b"abc": 1}, 5)])
def train_weighted(chunk_counts, num_merges):
    """BPE merges of the text that ``chunk_counts`` stands for, on every copy."""
    return _slow_train(_expanded(chunk_counts), num_merges)


# --- regex splitting ---------------------------------------------------------------------------------


@exercise("tokenizer/regex", "gpt2_chunks", hint="try the pattern's alternatives left to right at each position",
          example=lambda: {"text": "I'll pay 1000000 now!!"})
def gpt2_chunks(text):
    """GPT-2's chunks of ``text``, by the ``regex`` package."""
    return regex.findall(GPT2_SPLIT_PATTERN, text)


@exercise("tokenizer/regex", "gpt4_chunks",
          hint="digits come in threes, punctuation keeps the newlines after it, contractions ignore case",
          example=lambda: {"text": "WE'LL pay 1000000 now!!\n\nOK"})
def gpt4_chunks(text):
    """GPT-4's chunks of ``text``, by the ``regex`` package."""
    return regex.findall(GPT4_SPLIT_PATTERN, text)


_SINGLE_DIGITS = GPT4_SPLIT_PATTERN.replace(r"\p{N}{1,3}+", r"\p{N}")


@exercise("tokenizer/regex", "single_digit_split",
          hint="GPT-4's pattern with its digit group \\p{N}{1,3}+ replaced by a single \\p{N}",
          probes=lambda: [("Pi is 3.14159, e is 2.71828",), ("In 2024, 1000000 people",), ("no digits",),
                          ("x1y22z333",)])
def single_digit_split(text):
    """Chunks of GPT-4's pattern with single digits, by the ``regex`` package."""
    return regex.findall(_SINGLE_DIGITS, text)


def _probe_tokenizer():
    from zh.tokenizer import RegexTokenizer

    tok = RegexTokenizer()
    tok.train("the cat sat on the mat. the end. " * 3, vocab_size=270)
    tok.register_special_tokens({"<|endoftext|>": 270, "<|sep|>": 271})
    return tok


@exercise("tokenizer/regex", "encode_with_special",
          hint="cut the text at every occurrence of a special token; encode the pieces between with encode_ordinary",
          probes=lambda: [(t, _probe_tokenizer()) for t in ("the cat<|endoftext|>the mat", "<|sep|>", "plain text",
                                                             "a<|sep|><|endoftext|>b<|endoftext|>")])
def encode_with_special(text, tokenizer):
    """``tokenizer.encode`` with every special token allowed."""
    return tokenizer.encode(text, allowed_special="all")


# --- GPT-4's tokenizer -----------------------------------------------------------------------------


@functools.cache
def _tiktoken_cl100k():
    """tiktoken's own encoder over the published ranks: an implementation independent of zh's BPE."""
    import tiktoken

    return tiktoken.Encoding("cl100k_check", pat_str=GPT4_SPLIT_PATTERN, mergeable_ranks=cl100k_ranks(),
                             special_tokens=GPT4_SPECIAL_TOKENS)


@exercise("tokenizer/gpt4", "token_counts", hint="encode each text and count its ids",
          example=lambda: {"texts": ["hello world", "1234567", "안녕"]})
def token_counts(texts):
    """The number of cl100k_base tokens of each text, by tiktoken's encoder."""
    return [len(_tiktoken_cl100k().encode(t)) for t in texts]


@exercise("tokenizer/gpt4", "byte_of_id", hint="byte_ids[b] is the id of byte b: invert it",
          example=dict)
def byte_of_id():
    """The byte of each single-byte cl100k_base token, from the ranks."""
    return {rank: token[0] for token, rank in cl100k_ranks().items() if len(token) == 1}


@exercise("tokenizer/gpt4", "special_as_text",
          hint="allowed, a special token is one id; as ordinary text its 13 characters are split and merged like any",
          example=lambda: {"text": "<|endoftext|>"})
def special_as_text(text):
    """Tokens of ``text`` with special tokens allowed and as ordinary text, by tiktoken's encoder."""
    enc = _tiktoken_cl100k()
    return {"special": len(enc.encode(text, allowed_special="all")),
            "text": len(enc.encode(text, disallowed_special=()))}


@exercise("tokenizer/gpt4", "three_digit_tokens", hint="a string is one token if its bytes are a key of the ranks",
          example=dict)
def three_digit_tokens():
    """How many of the strings 000..999 are cl100k_base tokens, from the ranks."""
    ranks = cl100k_ranks()
    return sum(f"{n:03d}".encode() in ranks for n in range(1000))


@exercise("tokenizer/gpt4", "merge_of",
          hint="run BPE on the token's own bytes with only the tokens ranked below it; it stops at two parts",
          probes=lambda: [(t, cl100k_ranks()) for t in (b" world", b"hello", b" Hello", b"ing", b" tokenizer")])
def merge_of(token, ranks):
    """The ids of the two tokens ``token`` was merged from, by ``bpe_parts``."""
    left, right = bpe_parts(token, ranks, max_rank=ranks[token])
    return (ranks[left], ranks[right])
