"""zh.data: where files are found, the error when they are not, and the lectures' split."""

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from zh import data
from zh.data import CharVocab, DataNotFoundError, build_dataset, load_names, make_moons, split_words


def test_names_from_zh_data_dir():
    words = load_names()
    assert len(words) == 32033 and words[:3] == ["emma", "olivia", "ava"]


def test_explicit_path_wins(tmp_path, monkeypatch):
    f = tmp_path / "mine.txt"
    f.write_text("ab\ncd\n")
    monkeypatch.setenv("ZH_DATA_DIR", str(tmp_path / "nowhere"))
    assert load_names(f) == ["ab", "cd"]


def test_missing_explicit_path_is_clear(tmp_path):
    with pytest.raises(DataNotFoundError, match="is not a file"):
        load_names(tmp_path / "absent.txt")


def test_offline_error_names_the_file_places_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("ZH_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(name, dest):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_download", offline)
    with pytest.raises(DataNotFoundError) as err:
        data.data_path("names.txt")
    message = str(err.value)
    for needle in ["names.txt", "$ZH_DATA_DIR", str(tmp_path / "cache" / "zh"), "network is unreachable", "Fix:"]:
        assert needle in message


def test_download_is_verified(tmp_path, monkeypatch):
    """A download whose bytes do not match the recorded sha256 is discarded, not cached."""

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return b"not the names file"

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(DataNotFoundError, match="sha256"):
        data._download("names.txt", tmp_path / "names.txt")
    assert list(tmp_path.iterdir()) == []


def test_cached_file_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("ZH_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "names.txt").write_text("zoe\n")
    assert load_names() == ["zoe"]


def test_series_split_sizes_for_block_size_3():
    words = load_names()
    vocab = CharVocab.from_words(words)
    sizes = [len(build_dataset(part, vocab, 3)[1]) for part in split_words(words)]
    assert sizes == [182625, 22655, 22866]


def test_split_does_not_touch_input_or_global_random():
    import random

    words = ["a", "b", "c", "d", "e"]
    random.seed(0)
    expected_next = random.random()
    random.seed(0)
    split_words(words)
    assert words == ["a", "b", "c", "d", "e"] and random.random() == expected_next


def test_vocab_rejects_boundary_character_and_unknown_chars():
    with pytest.raises(ValueError, match="start/end"):
        CharVocab.from_words(["a.b"])
    with pytest.raises(ValueError, match="not in the vocabulary: 'yz'"):  # every unknown character, once
        CharVocab.from_words(["ab"]).encode("azbzy")


def test_vocab_stoi_is_built_once_and_read_only():
    vocab = CharVocab.from_words(["emma", "ava"])
    assert vocab.stoi is vocab.stoi and dict(vocab.stoi) == {".": 0, "a": 1, "e": 2, "m": 3, "v": 4}
    with pytest.raises(TypeError):
        vocab.stoi["z"] = 5  # shared by every encode: it must not change under them
    assert vocab == CharVocab.from_words(["ava", "emma"]) and hash(vocab) == hash(CharVocab(vocab.itos))


@pytest.mark.parametrize("block_size", [1, 2, 5])
def test_build_dataset_windows(block_size):
    vocab = CharVocab.from_words(["emma"])
    X, Y = build_dataset(["emma"], vocab, block_size)
    assert X.shape == (5, block_size) and vocab.decode(Y) == "emma."
    assert X[0].tolist() == [0] * block_size


def test_names_file_that_is_not_utf8_names_the_file_and_the_byte(tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("emma\nchlo\u00e9\n".encode("latin-1"))  # é is the single byte 0xe9 in Latin-1
    with pytest.raises(ValueError, match=rf"^{f} is not UTF-8 text: byte 9 \(0xe9, line 2\) is invalid; save"):
        load_names(f)
    with pytest.raises(ValueError, match="not UTF-8"):
        data.load_text("tinyshakespeare.txt", f)


def test_names_are_stripped_and_blank_lines_skipped(tmp_path):
    f = tmp_path / "names.txt"
    f.write_bytes(b"\xef\xbb\xbfemma\r\n  ava \n\n\nbob\n")  # a byte-order mark, CRLF, spaces, blank lines
    assert load_names(f) == ["emma", "ava", "bob"]
    f.write_text("\n  \n")
    with pytest.raises(ValueError, match="holds no items"):
        load_names(f)


def test_decode_rejects_what_is_not_an_id_like_the_tokenizer():
    vocab = CharVocab.from_words(["emma", "ava"])  # ids 0..4
    assert vocab.decode(torch.tensor([1, 4, 1])) == vocab.decode(np.array([1, 4, 1])) == "ava"
    for bad in [-1, 5, 1.0, "a", None]:
        with pytest.raises(ValueError, match=rf"cannot decode id {re.escape(repr(bad))}: .*\(ids 0..4\)"):
            vocab.decode([1, bad])
    with pytest.raises(ValueError, match="cannot decode id tensor"):
        vocab.decode(torch.tensor([1.0]))


def test_vocab_and_dataset_reject_odd_arguments():
    with pytest.raises(TypeError, match=r"^from_words takes a list of words .* got one string"):
        CharVocab.from_words("emma")
    with pytest.raises(TypeError, match="^split_words takes a list of words"):
        split_words("emma")
    with pytest.raises(TypeError, match="^build_dataset takes a list of words"):
        build_dataset("emma", CharVocab.from_words(["emma"]), 3)
    with pytest.raises(TypeError, match="encode takes a string, got list"):
        CharVocab.from_words(["ab"]).encode(["a"])
    with pytest.raises(ValueError, match="'a' appear more than once"):
        CharVocab((".", "a", "a"))
    vocab = CharVocab.from_words(["ab"])
    for bad in [0, 2.5, True]:
        with pytest.raises(ValueError, match=f"whole number of at least 1, got {bad!r}"):
            build_dataset(["ab"], vocab, bad)
    with pytest.raises(ValueError, match="negative or NaN"):
        make_moons(10, noise=float("nan"))
    with pytest.raises(ValueError, match="whole number of points"):
        make_moons(10.5)


def test_the_micrograd_imports_leave_torch_unimported():
    """The micrograd pages' notebook imports these; torch would add seconds to its start (zh.data imports it lazily)."""
    code = ("import sys; from zh.data import make_moons; from zh.nn import MLP, train; from zh.viz import draw_dot; "
            "make_moons(10); assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
