"""The data files of the series, and the dataset helpers every makemore page uses.

Page: [makemore / bigram](../makemore/bigram.md) introduces them; every later part reuses them.

Files are found, in order, at: an explicit ``path``, ``$ZH_DATA_DIR``, the user cache
(``$XDG_CACHE_HOME/zh`` or ``~/.cache/zh``), or downloaded from the canonical public URL into
that cache and verified by sha256. Nothing is ever written into the working directory.
"""

from __future__ import annotations

import hashlib
import os
import random
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

#: name -> (canonical URL, sha256 of the file's bytes)
SOURCES = {
    "names.txt": (
        "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
        "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    ),
    "tinyshakespeare.txt": (
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
}


class DataNotFoundError(FileNotFoundError):
    """A data file is in none of the places zh looks, and could not be downloaded."""


def cache_dir() -> Path:
    """The per-user cache where downloaded data files are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zh"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(name: str, dest: Path) -> None:
    url, digest = SOURCES[name]
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(dest.suffix + ".part")
    with urllib.request.urlopen(url, timeout=30) as response:
        partial.write_bytes(response.read())
    if _sha256(partial) != digest:
        partial.unlink()
        raise DataNotFoundError(f"downloaded {name} from {url} but its sha256 does not match; the file was discarded")
    partial.replace(dest)  # atomic: a half-written file never looks like a cached one


def data_path(name: str, path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Locate the data file ``name`` (``"names.txt"`` or ``"tinyshakespeare.txt"``).

    Args:
        name: One of the keys of `SOURCES`.
        path: An explicit file to use; it must exist.
        download: Whether to fetch the file into `cache_dir` when it is nowhere else.

    Returns:
        The path of an existing file.

    Raises:
        DataNotFoundError: the file is nowhere and could not be downloaded; the message lists
            the places searched and how to provide the file.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown data file {name!r}; zh knows {', '.join(SOURCES)}")
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"{name}: the path you gave, {path}, is not a file")
        return path
    searched = []
    if os.environ.get("ZH_DATA_DIR"):
        candidate = Path(os.environ["ZH_DATA_DIR"]).expanduser() / name
        if candidate.is_file():
            return candidate
        searched.append(f"$ZH_DATA_DIR ({candidate})")
    else:
        searched.append("$ZH_DATA_DIR (not set)")
    cached = cache_dir() / name
    if cached.is_file():
        return cached
    searched.append(f"the user cache ({cached})")
    url = SOURCES[name][0]
    if download:
        try:
            _download(name, cached)
            return cached
        except OSError as exc:  # URLError, timeouts and DataNotFoundError are all OSErrors
            searched.append(f"a download from {url} ({exc})")
    raise DataNotFoundError(
        f"could not find {name}. Looked in: " + "; ".join(searched) + ". "
        f"Fix: download it from {url} and either pass its path, set ZH_DATA_DIR to its folder, "
        f"or put it in {cache_dir()}."
    )


def load_text(name: str, path: str | os.PathLike | None = None) -> str:
    """The whole text of data file ``name`` (see `data_path` for where it is looked for)."""
    return data_path(name, path).read_text(encoding="utf-8")


def load_names(path: str | os.PathLike | None = None) -> list[str]:
    """The 32,033 names of makemore's ``names.txt``, one per list item."""
    return load_text("names.txt", path).splitlines()


def load_shakespeare(path: str | os.PathLike | None = None) -> str:
    """The ~1.1 MB tiny-shakespeare corpus as one string."""
    return load_text("tinyshakespeare.txt", path)


def shakespeare_splits(path: str | os.PathLike | None = None) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Tiny shakespeare as character ids, split 90/10 as the GPT and BERT pages train on it.

    Returns:
        ``(chars, train, val)``: the sorted distinct characters (id ``i`` is ``chars[i]``), the first
        90% of the text and the last 10%, as 1-D ``torch.long`` tensors of ids.
    """
    text = load_shakespeare(path)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return chars, data[:n], data[n:]


@dataclass(frozen=True)
class CharVocab:
    """Characters <-> integer ids, with id 0 reserved for the start/end token (``.`` by default).

    Examples:
        >>> vocab = CharVocab.from_words(["emma", "ava"])
        >>> vocab.itos
        ('.', 'a', 'e', 'm', 'v')
        >>> vocab.encode("ava"), vocab.decode([1, 4, 1])
        ([1, 4, 1], 'ava')
    """

    itos: tuple[str, ...]

    @classmethod
    def from_words(cls, words: list[str], boundary: str = ".") -> "CharVocab":
        """The sorted characters of ``words`` after the boundary token."""
        chars = sorted(set("".join(words)))
        if boundary in chars:
            raise ValueError(
                f"the data contains {boundary!r}, which marks the start/end of a word; "
                f"choose another boundary character"
            )
        return cls((boundary, *chars))

    @property
    def stoi(self) -> dict[str, int]:
        """The inverse of `itos`."""
        return {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, word: str) -> list[int]:
        """Ids of the characters of ``word`` (no boundary tokens added)."""
        stoi = self.stoi
        unknown = sorted(set(word) - stoi.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {''.join(unknown)!r}")
        return [stoi[c] for c in word]

    def decode(self, ids) -> str:
        """The characters of ``ids`` joined into a string."""
        return "".join(self.itos[int(i)] for i in ids)


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """The series' 80/10/10 train/val/test split: shuffle with ``random.seed(seed)``, cut at 80% and 90%.

    Uses a private ``random.Random(seed)``: the same order as ``random.seed(42); random.shuffle(words)``
    without touching the global generator or the caller's list.
    """
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n1, n2 = int(0.8 * len(shuffled)), int(0.9 * len(shuffled))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def build_dataset(words: list[str], vocab: CharVocab, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Context windows and next characters: one example per character of each word plus its end.

    Every word is padded on the left with ``block_size`` boundary tokens, so the first example
    of ``"emma"`` with ``block_size=3`` is ``(... -> e)`` and the last ``(mma -> .)``.

    Returns:
        ``X`` of shape ``(N, block_size)`` and ``Y`` of shape ``(N,)``, both ``torch.long``.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    X, Y = [], []
    for word in words:
        context = [0] * block_size
        for ix in vocab.encode(word) + [0]:
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X, dtype=torch.long).view(-1, block_size), torch.tensor(Y, dtype=torch.long)


def make_moons(n_samples: int = 100, noise: float = 0.0, random_state: int | None = None) -> "tuple[numpy.ndarray, numpy.ndarray]":
    """Two interleaving half circles in the plane: the toy classification set of micrograd's demo.

    Class 0 lies on the upper half of the unit circle, class 1 on a lower half circle shifted to
    centre (1, 0.5); Gaussian noise of standard deviation ``noise`` is then added to every
    coordinate. The points come in a random order.

    Args:
        n_samples: Total number of points; class 0 gets ``n_samples // 2`` of them.
        noise: Standard deviation of the noise (0 for points exactly on the arcs).
        random_state: Seed of the numpy generator, for a reproducible set.

    Returns:
        ``X``, a float64 array of shape ``(n_samples, 2)``, and ``y``, an int array of 0s and 1s.
    """
    import numpy as np

    if n_samples < 2:
        raise ValueError(f"make_moons needs at least 2 points (one per moon), got n_samples={n_samples}")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative, got {noise}")
    rng = np.random.default_rng(random_state)
    n0 = n_samples // 2
    n1 = n_samples - n0
    upper = np.linspace(0, np.pi, n0)
    lower = np.linspace(0, np.pi, n1)
    X = np.concatenate([
        np.stack([np.cos(upper), np.sin(upper)], axis=1),
        np.stack([1 - np.cos(lower), 0.5 - np.sin(lower)], axis=1),
    ])
    y = np.concatenate([np.zeros(n0, dtype=int), np.ones(n1, dtype=int)])
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    return X + rng.normal(scale=noise, size=X.shape), y
