"""The data files of the makemore and tokenizer pages, and the dataset helpers every makemore page uses.

Page: [makemore / bigram](../makemore/bigram.md) introduces them; every later part reuses them.

Files are found, in order, at: an explicit ``path``, ``$ZH_DATA_DIR``, the user cache
(``$XDG_CACHE_HOME/zh`` or ``~/.cache/zh``), or downloaded from the canonical public URL into
that cache and verified by sha256. Nothing is ever written into the working directory.

torch is imported by the functions that make tensors, when they run: the micrograd pages and their
notebook use `make_moons`, and start seconds sooner without it.
"""

from __future__ import annotations

import hashlib
import operator
import os
import random
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only: the functions that need numpy or torch import it when they run
    import numpy
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


def read_utf8(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file, without the byte-order mark some editors write at its start.

    Raises:
        ValueError: the file is not UTF-8; the message names the file, the first invalid byte
            (its position, value and line) and the fix.
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(
            f"{path} is not UTF-8 text: byte {exc.start} (0x{raw[exc.start]:02x}, line {line}) is invalid; "
            f"save the file as UTF-8 and try again"
        ) from None


def load_text(name: str, path: str | os.PathLike | None = None) -> str:
    """The whole text of data file ``name`` (see `data_path` for where it is looked for, `read_utf8` for errors)."""
    return read_utf8(data_path(name, path))


def items_of(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped of surrounding whitespace (a ``\\r`` or a trailing space
    would otherwise become a character of the vocabulary).

    Lines end at ``\\n`` only: ``str.splitlines`` also splits at form feeds, ``U+0085`` and other
    separators that may sit inside an item.
    """
    return [item for line in text.split("\n") if (item := line.strip())]


def read_items(path: str | os.PathLike) -> list[str]:
    """The items of a UTF-8 file of one item per line (`read_utf8`, then `items_of`).

    Raises:
        ValueError: the file is not UTF-8, or holds no items (it is empty or blank).
    """
    items = items_of(read_utf8(path))
    if not items:
        raise ValueError(f"{path} holds no items: it is empty or blank; put one item (e.g. a name) per line")
    return items


def load_names(path: str | os.PathLike | None = None) -> list[str]:
    """The 32,033 names of makemore's ``names.txt`` (`read_items`: stripped, blank lines skipped).

    Raises:
        ValueError: the file is not UTF-8 (see `read_utf8`) or holds no names.
    """
    return read_items(data_path("names.txt", path))


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
    if len(text) < 2:
        raise ValueError(f"{data_path('tinyshakespeare.txt', path)} holds {len(text)} characters; a 90/10 split "
                         f"needs at least 2")
    import torch

    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return chars, data[:n], data[n:]


def random_windows(data: torch.Tensor, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """``(batch_size, length)``: windows of the text ``data`` (ids) starting at random places (the GPT and BERT
    scripts' batches)."""
    import torch

    start = torch.randint(len(data) - length + 1, (batch_size,), generator=generator)
    return data.unfold(0, length, 1)[start.to(data.device)]  # a view of the text: no copy


def _check_word_list(function: str, words) -> None:
    # one string would be taken, character by character, for a list of one-letter words
    if isinstance(words, str):
        raise TypeError(f"{function} takes a list of words (e.g. load_names()), got one string")


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

    def __post_init__(self):
        if len(set(self.itos)) != len(self.itos):
            repeated = sorted({c for c in self.itos if self.itos.count(c) > 1})
            raise ValueError(f"a vocabulary lists each character once; {''.join(repeated)!r} appear more than once")

    @classmethod
    def from_words(cls, words: list[str], boundary: str = ".") -> "CharVocab":
        """The sorted characters of ``words`` after the boundary token.

        Raises:
            TypeError: ``words`` is one string rather than a list of words.
            ValueError: a word contains the boundary character.
        """
        _check_word_list("from_words", words)
        chars = sorted(set("".join(words)))
        if boundary in chars:
            raise ValueError(
                f"the data contains {boundary!r}, which marks the start/end of a word; "
                f"choose another boundary character"
            )
        return cls((boundary, *chars))

    @cached_property
    def stoi(self) -> Mapping[str, int]:
        """The inverse of `itos` (read-only; built once: `encode` looks up every character of a dataset)."""
        return MappingProxyType({s: i for i, s in enumerate(self.itos)})

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, word: str) -> list[int]:
        """Ids of the characters of ``word`` (no boundary tokens added).

        Raises:
            TypeError: ``word`` is not a string.
            ValueError: a character is not in the vocabulary.
        """
        if not isinstance(word, str):
            raise TypeError(f"encode takes a string, got {type(word).__name__} {word!r}")
        stoi = self.stoi
        try:
            return [stoi[c] for c in word]
        except KeyError:  # look for every unknown character only now: checking each word first costs more
            unknown = sorted(set(word) - stoi.keys())
            raise ValueError(f"characters not in the vocabulary: {''.join(unknown)!r}") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids`` joined into a string.

        Args:
            ids: Integers in ``0..len(self) - 1``: a list, or e.g. a 1-D tensor of integer type.

        Raises:
            ValueError: an id is not in the vocabulary: negative, too large, or not an integer
                (a float, a string); the message names it.
        """
        itos, out = self.itos, []
        for idx in ids:
            try:
                i = operator.index(idx)  # ints of any kind (Python, numpy, 0-d integer tensors), never floats
                if i < 0:  # itos[-1] would quietly be the last character
                    raise IndexError
                out.append(itos[i])
            except (TypeError, IndexError):
                known = f"ids 0..{len(itos) - 1}"
                raise ValueError(f"cannot decode id {idx!r}: it is not in the vocabulary ({known})") from None
        return "".join(out)


def split_sizes(n: int) -> tuple[int, int, int]:
    """How many of ``n`` items `split_words` puts in train, validation and test (80/10/10, rounded down)."""
    n1, n2 = int(0.8 * n), int(0.9 * n)
    return n1, n2 - n1, n - n2


#: The fewest items for which `split_words` leaves at least one in train and one in validation, and so does
#: every larger number (from 10 on, 10% is at least one; below, the rounding decides).
MIN_SPLIT_ITEMS = min(n for n in range(1, 11) if all(min(split_sizes(m)[:2]) >= 1 for m in range(n, 11)))


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """The 80/10/10 split of Karpathy's makemore lectures: shuffle with ``random.seed(seed)``, cut at 80% and 90%.

    Uses a private ``random.Random(seed)``: the same order as ``random.seed(42); random.shuffle(words)``
    without touching the global generator or the caller's list.

    Raises:
        TypeError: ``words`` is one string rather than a list of words.
    """
    _check_word_list("split_words", words)
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n_train, n_val, _ = split_sizes(len(shuffled))
    n1, n2 = n_train, n_train + n_val
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def build_dataset(words: list[str], vocab: CharVocab, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Context windows and next characters: one example per character of each word plus its end.

    Every word is padded on the left with ``block_size`` boundary tokens, so the first example
    of ``"emma"`` with ``block_size=3`` is ``(... -> e)`` and the last ``(mma -> .)``.

    Returns:
        ``X`` of shape ``(N, block_size)`` and ``Y`` of shape ``(N,)``, both ``torch.long``.

    Raises:
        TypeError: ``words`` is one string rather than a list of words.
        ValueError: ``block_size`` is not a whole number of at least 1.
    """
    _check_word_list("build_dataset", words)
    if isinstance(block_size, bool) or not isinstance(block_size, Integral) or block_size < 1:
        raise ValueError(f"block_size must be a whole number of at least 1, got {block_size!r}")
    import torch

    X, Y = [], []
    for word in words:
        context = [0] * block_size
        for ix in vocab.encode(word) + [0]:
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X, dtype=torch.long).view(-1, block_size), torch.tensor(Y, dtype=torch.long)


def make_moons(
    n_samples: int = 100, noise: float = 0.0, random_state: int | None = None
) -> tuple[numpy.ndarray, numpy.ndarray]:
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

    if not isinstance(n_samples, Integral) or n_samples < 2:
        raise ValueError(f"make_moons needs a whole number of points, at least 2 (one per moon); got {n_samples!r}")
    if not noise >= 0:  # also catches NaN
        raise ValueError(f"noise is a standard deviation and cannot be negative or NaN, got {noise}")
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
