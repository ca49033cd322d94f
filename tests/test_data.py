"""zh.data: where files are found, the error when they are not, and the lectures' split."""

import pytest

from zh import data
from zh.data import CharVocab, DataNotFoundError, build_dataset, load_names, split_words


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
    with pytest.raises(ValueError, match="not in the vocabulary"):
        CharVocab.from_words(["ab"]).encode("abz")


@pytest.mark.parametrize("block_size", [1, 2, 5])
def test_build_dataset_windows(block_size):
    vocab = CharVocab.from_words(["emma"])
    X, Y = build_dataset(["emma"], vocab, block_size)
    assert X.shape == (5, block_size) and vocab.decode(Y) == "emma."
    assert X[0].tolist() == [0] * block_size
