"""zh.tokenizer's interface: tiktoken's names with tiktoken's meaning, files (zh's and minbpe's),
special tokens all-or-nothing, and bad input answered with a clear error."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zh.data import load_shakespeare
from zh.tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    BasicTokenizer,
    GPT4Tokenizer,
    RegexTokenizer,
    Tokenizer,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEXTS = ["hello world", "", "<|endoftext|> x", "naïve 東京 😉\n\n  12345", "a" * 300]


@pytest.fixture
def trained():
    tok = RegexTokenizer()
    tok.train(load_shakespeare()[:20_000], 300)
    return tok


# ---- tiktoken's names, tiktoken's meaning ---------------------------------------------------


def test_sizes_are_tiktokens(gpt4, reference):
    assert gpt4.n_vocab == reference.n_vocab == 100277  # the largest id + 1, not the number of tokens
    assert gpt4.max_token_value == reference.max_token_value == 100276
    assert len(gpt4.vocab) == 100261
    assert gpt4.eot_token == reference.eot_token == 100257
    assert gpt4.special_tokens_set == reference.special_tokens_set
    assert all(gpt4.is_special_token(i) == reference.is_special_token(i) for i in (100257, 100276, 15339))


def test_n_vocab_fits_an_embedding_of_every_id(gpt4):
    import torch

    table = torch.nn.Embedding(gpt4.n_vocab, 2)
    ids = gpt4.encode("<|endofprompt|>hi", allowed_special="all")  # the largest id
    assert table(torch.tensor(ids)).shape == (len(ids), 2)


def test_n_vocab_counts_unused_ids(trained):
    trained.register_special_tokens({"<|endoftext|>": 400})
    assert (trained.n_vocab, trained.max_token_value, len(trained.vocab)) == (401, 400, 301)  # ids 301..399 unused
    assert trained.eot_token == 400


def test_eot_token_without_one_says_so():
    with pytest.raises(KeyError, match="register_special_tokens"):
        _ = BasicTokenizer().eot_token


@pytest.mark.parametrize("token", ["hello", b" world", "<|endoftext|>", "<|endofprompt|>", b"\xe2\x80", "\n\n"])
def test_encode_single_token_is_tiktokens(gpt4, reference, token):
    assert gpt4.encode_single_token(token) == reference.encode_single_token(token)


def test_encode_single_token_refuses_several_tokens(gpt4, reference):
    with pytest.raises(KeyError):
        reference.encode_single_token("hello world")
    with pytest.raises(KeyError, match="not a single token"):
        gpt4.encode_single_token("hello world")
    with pytest.raises(TypeError, match="int"):
        gpt4.encode_single_token(15339)


def test_encode_single_token_prefers_the_smaller_of_equal_tokens():
    tok = BasicTokenizer()
    tok._set_state(None, list(range(256)), {(97, 98): 256, (256, 99): 257, (98, 99): 258, (97, 258): 259}, {})
    assert tok.vocab[257] == tok.vocab[259] == b"abc"
    assert tok.encode_single_token("abc") == 257


@pytest.mark.parametrize("idx", [0, 15339, 100257, 100276])
def test_decode_single_token_bytes_is_tiktokens(gpt4, reference, idx):
    assert gpt4.decode_single_token_bytes(idx) == reference.decode_single_token_bytes(idx)
    assert gpt4.decode_single_token_bytes(np.int64(idx)) == reference.decode_single_token_bytes(idx)


def test_decode_single_token_bytes_of_an_unknown_id(gpt4):
    with pytest.raises(KeyError, match="100261 is not in the vocabulary"):
        gpt4.decode_single_token_bytes(100261)


def test_batches_are_tiktokens(gpt4, reference):
    batch = gpt4.encode_batch(TEXTS, allowed_special="all")
    assert batch == reference.encode_batch(TEXTS, allowed_special="all")
    assert gpt4.encode_ordinary_batch(TEXTS) == reference.encode_ordinary_batch(TEXTS)
    assert gpt4.decode_batch(batch) == reference.decode_batch(batch) == TEXTS
    assert gpt4.decode_bytes(batch[3]) == reference.decode_bytes(batch[3])


def test_batch_of_one_string_is_refused(gpt4):
    with pytest.raises(TypeError, match="list of texts, got a single str; use encode"):
        gpt4.encode_batch("hello")
    with pytest.raises(TypeError, match="use encode_ordinary"):
        gpt4.encode_ordinary_batch("hello")


def test_decode_errors_as_in_bytes_decode(gpt4, reference):
    half = gpt4.encode("😉")[:1]
    assert gpt4.decode(half) == reference.decode(half) == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        gpt4.decode(half, errors="strict")
    assert gpt4.decode(half, errors="ignore") == reference.decode(half, errors="ignore") == ""


# ---- text tiktoken accepts: strings with surrogates -----------------------------------------

SURROGATES = [
    "\ud800",
    "a\udfffb",
    "\ud83d\ude00",  # a pair: the character U+1F600
    "x\ud83d",
    "\ude00\ud83d",  # the same two, in the wrong order
    "hi \ud800\udc00 there\udbff",
    "<|endoftext|>\ud800",
]


@pytest.mark.parametrize("text", SURROGATES)
def test_surrogates_get_tiktokens_ids(gpt4, reference, text):
    assert gpt4.encode(text, allowed_special="all") == reference.encode(text, allowed_special="all")
    assert gpt4.encode_ordinary(text) == reference.encode_ordinary(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=30).map("".join))
def test_any_string_with_surrogates_gets_tiktokens_ids(gpt4, reference, text):
    assert gpt4.encode(text, allowed_special="none") == reference.encode(text, disallowed_special=())


def test_trained_tokenizers_take_surrogates_like_tiktoken(trained):
    text = "hello \ud83d\ude00 world \ud800"
    assert trained.encode(text) == trained.to_tiktoken().encode(text)
    trained.train(text * 10, 260)  # training repairs them the same way
    assert trained.decode(trained.encode(text)) == "hello 😀 world \ufffd"


# ---- files: every zh class loads back, and minbpe's files load too ----------------------------


class _MyTokenizer(RegexTokenizer):
    """A user's subclass: loads back like the package's own."""


@pytest.mark.parametrize("cls", [Tokenizer, BasicTokenizer, RegexTokenizer, GPT4Tokenizer, _MyTokenizer])
def test_every_class_loads_back(cls, tmp_path):
    if cls is GPT4Tokenizer:
        tok = GPT4Tokenizer()
    else:
        tok = cls() if cls is not RegexTokenizer else cls(GPT2_SPLIT_PATTERN)
        tok.train("some text to learn a few merges from, some text " * 5, 270)
        tok.register_special_tokens({"<|endoftext|>": 300})
    loaded = Tokenizer.load(tok.save(tmp_path / "tok"))
    assert type(loaded) is cls
    assert (loaded.pattern, loaded.byte_ids, loaded.merges, loaded.special_tokens) == (
        tok.pattern,
        tok.byte_ids,
        tok.merges,
        tok.special_tokens,
    )
    text = "some text, and <|endoftext|> more 😉"
    assert loaded.encode(text, allowed_special="all") == tok.encode(text, allowed_special="all")
    assert cls.load(tmp_path / "tok.model").vocab == tok.vocab


def test_minbpe_basic_file():
    tok = Tokenizer.load(FIXTURES / "minbpe_basic.model")
    assert type(tok) is BasicTokenizer and tok.pattern is None
    assert tok.merges == {(97, 97): 256, (256, 97): 257, (257, 98): 258}
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]


def test_minbpe_regex_file_with_a_special_token():
    tok = RegexTokenizer.load(FIXTURES / "minbpe_regex.model")
    assert type(tok) is RegexTokenizer and tok.pattern == GPT4_SPLIT_PATTERN
    assert tok.special_tokens == {"<|endoftext|>": 262}
    assert tok.decode([259, 261]) == "hello wo"
    assert tok.encode("hello world<|endoftext|>", allowed_special="all") == [259, 261, 114, 108, 100, 262]


def test_minbpe_file_saved_by_zh_loads_back(tmp_path):
    tok = Tokenizer.load(FIXTURES / "minbpe_regex.model")
    again = Tokenizer.load(tok.save(tmp_path / "again"))
    assert (again.pattern, again.merges, again.special_tokens) == (tok.pattern, tok.merges, tok.special_tokens)


def test_minbpe_file_with_windows_line_ends(tmp_path):
    path = tmp_path / "crlf.model"
    path.write_bytes((FIXTURES / "minbpe_regex.model").read_bytes().replace(b"\n", b"\r\n"))
    assert Tokenizer.load(path).merges == Tokenizer.load(FIXTURES / "minbpe_regex.model").merges


@pytest.mark.parametrize(
    "lines, line, words",
    [
        (["minbpe v1", "", "x"], 3, "number of special tokens"),
        (["minbpe v1", "", "1", "<|x|>"], 4, "another entry"),
        (["minbpe v1", "", "0", "97 97", "256"], 5, "two integers"),
        (["minbpe v1", "", "0", "97 97", "257 97"], 5, "ids below 257"),
        (["minbpe v1"], 2, "split pattern"),
    ],
)
def test_minbpe_file_that_cannot_be_read(tmp_path, lines, line, words):
    path = tmp_path / "bad.model"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"bad.model, line {line}: expected .*{words}"):
        Tokenizer.load(path)


def test_minbpe_file_of_another_class():
    with pytest.raises(ValueError, match="line 2: expected a split pattern that a BasicTokenizer can have"):
        BasicTokenizer.load(FIXTURES / "minbpe_regex.model")


def test_binary_file_is_named(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"weights\.bin is not a text file"):
        Tokenizer.load(path)


def test_vocab_file_points_to_the_model_file(trained, tmp_path):
    trained.save(tmp_path / "tok")
    with pytest.raises(ValueError, match=r"tok\.vocab, line 1: .*load the \.model file"):
        Tokenizer.load(tmp_path / "tok.vocab")


# ---- special tokens: all or nothing ----------------------------------------------------------


def test_register_is_all_or_nothing(trained):
    before = (dict(trained.special_tokens), dict(trained.vocab))
    with pytest.raises(ValueError, match="id 97 is already the token"):
        trained.register_special_tokens({"<|a|>": 400, "<|b|>": 97})
    with pytest.raises(ValueError, match="'<|a|>' and '<|b|>' cannot both have id 400"):
        trained.register_special_tokens({"<|a|>": 400, "<|b|>": 400})
    with pytest.raises(ValueError, match="non-negative int"):
        trained.register_special_tokens({"<|a|>": 400, "<|b|>": -1})
    assert (trained.special_tokens, trained.vocab) == before


def test_register_needs_a_dict(trained):
    with pytest.raises(TypeError, match="got list"):
        trained.register_special_tokens(["<|endoftext|>"])


def test_training_over_a_special_id_is_refused_before_training():
    trained = RegexTokenizer()
    trained.register_special_tokens({"<|endoftext|>": 256})
    before = (dict(trained.merges), dict(trained.vocab), dict(trained.special_tokens))
    message = r"'<\|endoftext\|>' has id 256.*register_special_tokens\(\{'<\|endoftext\|>': 512\}\)"
    with pytest.raises(ValueError, match=message):
        trained.train(load_shakespeare()[:20_000], 512)
    assert (trained.merges, trained.vocab, trained.special_tokens) == before
    trained.register_special_tokens({"<|endoftext|>": 512})  # what the message says to do
    trained.train(load_shakespeare()[:20_000], 512)
    assert trained.special_tokens == {"<|endoftext|>": 512}
    assert trained.encode("<|endoftext|>", allowed_special="all") == [512]


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, name", [(None, "NoneType"), (b"hello", "bytes"), (123, "int"), (["a"], "list")])
@pytest.mark.parametrize("method", ["encode", "encode_ordinary", "train"])
def test_non_text_is_a_type_error_naming_the_type(trained, method, bad, name):
    args = (bad, 300) if method == "train" else (bad,)
    with pytest.raises(TypeError, match=rf"{method} takes text \(a str\), got {name}"):
        getattr(trained, method)(*args)


def test_bytes_hint_says_decode(trained):
    with pytest.raises(TypeError, match="decode"):
        trained.encode(b"hello")


def test_numpy_ints_are_ints(trained):
    trained.train(load_shakespeare()[:5000], np.int64(270))
    assert trained.n_vocab == 270
    trained.register_special_tokens({"<|endoftext|>": np.int32(300)})
    assert type(trained.special_tokens["<|endoftext|>"]) is int
    ids = np.array(trained.encode("hello<|endoftext|>", allowed_special="all"))
    assert trained.decode(ids) == trained.decode(list(ids)) == "hello<|endoftext|>"
    assert trained.decode_single_token_bytes(np.uint16(300)) == b"<|endoftext|>"


@pytest.mark.parametrize("bad", [True, 300.0, "300"])
def test_not_ints_are_refused(trained, bad):
    with pytest.raises(ValueError, match="non-negative int"):
        trained.register_special_tokens({"<|x|>": bad})
    with pytest.raises(ValueError, match="vocab_size must be an int"):
        trained.train("text", bad)
