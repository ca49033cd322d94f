"""A tokenizer's files: ``.model`` (read back by ``load``) and ``.vocab`` (for people).

Used by ``Tokenizer.save`` and ``Tokenizer.load``
([tokenizer / BPE, saving and loading](../tokenizer/bpe.md#saving-and-loading)).

**zh's format** (``Tokenizer.save(prefix)`` writes ``prefix.model``, from a `ModelFile`). UTF-8 text, one item per
line, strings as JSON literals so that any character survives::

    zh-bpe v1
    class RegexTokenizer
    pattern "'(?i:[sdmt]|ll|ve|re)|..."       (or: pattern null)
    bytes identity                             (or: bytes 124 0 33 ... — 256 ids)
    special 1
    "<|endoftext|>" 100257
    merges 2
    32 116 256                                 (id1 id2 new_id)
    256 104 257

**minbpe's format**, read too: a line ``minbpe v1``, the split pattern as it is (an empty line
for a tokenizer without one), the number of special tokens, one line ``token id`` for each, then
one line ``id1 id2`` per merge, the i-th merge making token ``256 + i``. It has no class and no
byte order: the bytes are tokens 0..255, and the class is ``BasicTokenizer`` without a pattern,
``RegexTokenizer`` with one.

``prefix.vocab`` is never read back: one line per token with its bytes shown as text, and for a
merged token the two tokens it was made from.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from zh.tokenizer.basic import token_bytes

#: The first line of every file that ``Tokenizer.save`` writes.
MAGIC = "zh-bpe v1"
#: The first line of a minbpe ``.model`` file.
MINBPE_MAGIC = "minbpe v1"


def render_token(b: bytes) -> str:
    """A token's bytes as readable text: invalid UTF-8 becomes ``�``, control characters ``\\uXXXX``.

    Example:
        >>> render_token(b"hi\\n\\xe2\\x82")
        'hi\\\\u000a�'
    """
    text = b.decode("utf-8", errors="replace")
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] == "C" else c for c in text)


@dataclass
class ModelFile:
    """What a ``.model`` file holds: a tokenizer's class and its four pieces of state."""

    cls: type
    pattern: str | None
    byte_ids: list[int]
    merges: dict[tuple[int, int], int]
    special_tokens: dict[str, int]


# ---- writing --------------------------------------------------------------------------------


def model_lines(model: ModelFile) -> list[str]:
    """The lines of ``model``'s ``.model`` file, in zh's format."""
    byte_ids = "identity" if model.byte_ids == list(range(256)) else " ".join(map(str, model.byte_ids))
    lines = [MAGIC, f"class {model.cls.__name__}", f"pattern {json.dumps(model.pattern)}", f"bytes {byte_ids}"]
    lines.append(f"special {len(model.special_tokens)}")
    lines += [f"{json.dumps(t)} {i}" for t, i in model.special_tokens.items()]
    lines.append(f"merges {len(model.merges)}")
    lines += [f"{p0} {p1} {idx}" for (p0, p1), idx in sorted(model.merges.items(), key=lambda item: item[1])]
    return lines


def vocab_lines(model: ModelFile) -> list[str]:
    """The lines of ``model``'s ``.vocab`` file: ``id<TAB>[bytes]``, with a merged token's parts."""
    vocab = token_bytes(model.merges, model.byte_ids)
    parts = {idx: pair for pair, idx in model.merges.items()}
    special = {i: t for t, i in model.special_tokens.items()}
    lines = []
    for idx in sorted([*vocab, *special]):
        if idx in special:
            lines.append(f"{idx}\tspecial {special[idx]!r}")
        elif idx in parts:
            p0, p1 = (render_token(vocab[p]) for p in parts[idx])
            lines.append(f"{idx}\t[{p0}][{p1}] -> [{render_token(vocab[idx])}]")
        else:
            lines.append(f"{idx}\t[{render_token(vocab[idx])}]")
    return lines


def save(model: ModelFile, prefix: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``prefix.model`` and ``prefix.vocab``; see ``Tokenizer.save``."""
    prefix = Path(prefix)
    files = {
        prefix.with_name(prefix.name + ".model"): "\n".join(model_lines(model)) + "\n",
        prefix.with_name(prefix.name + ".vocab"): "\n".join(vocab_lines(model)) + "\n",
    }
    if not overwrite:
        for path, content in files.items():
            if path.exists() and path.read_text(encoding="utf-8", errors="replace") != content:
                message = f"{path} already exists and holds something else; pass overwrite=True to replace it"
                raise FileExistsError(message)
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return prefix.with_name(prefix.name + ".model")


# ---- reading --------------------------------------------------------------------------------


def read(path: str | os.PathLike, classes: dict[str, type], wanted: type) -> ModelFile:
    """What the ``.model`` file at ``path`` holds, in zh's format or minbpe's.

    Args:
        path: The file.
        classes: The tokenizer classes by name, to find the one the file names.
        wanted: The file must hold this class or a subclass of it.

    Raises:
        ValueError: the file is not text, or not a tokenizer file, or holds another class, or is
            damaged; the message names the file, and the line and what was expected there.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")  # the mark some editors put first
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not a text file (byte {exc.start} is not UTF-8), so not a tokenizer .model file; "
            f"those are text, written by Tokenizer.save"
        ) from None
    # "\n" only: str.splitlines() would also cut at characters that a pattern or a token may hold
    lines = [line.removesuffix("\r") for line in text.removesuffix("\n").split("\n")]
    reader = _LineReader(path, lines if text else [])
    if path.suffix == ".vocab":
        expected = f"the header {MAGIC!r} (a .vocab file is for people: load the .model file beside it)"
    else:
        expected = f"the header {MAGIC!r} or {MINBPE_MAGIC!r} (is this a tokenizer .model file?)"
    header = reader.expect(lambda line: line if line in (MAGIC, MINBPE_MAGIC) else None, expected)
    model = _read_zh(reader, classes, wanted) if header == MAGIC else _read_minbpe(reader, classes, wanted)
    reader.expect_end()
    return model


def _read_zh(reader: _LineReader, classes: dict[str, type], wanted: type) -> ModelFile:
    cls = classes.get(reader.field("class", str))
    if cls is None or not issubclass(cls, wanted):
        reader.fail(f"the class {wanted.__name__} or a subclass of it", back=1)
    pattern = reader.field("pattern", lambda v: _json(v, (str, type(None))))
    byte_ids = reader.field("bytes", lambda v: list(range(256)) if v == "identity" else _ints(v, 256))
    if len(set(byte_ids)) != 256:
        reader.fail("256 different byte ids", back=1)
    special = dict(reader.items(reader.field("special", int), lambda line: _special_line(line, json_string=True)))
    merges = {}
    known = set(byte_ids)
    for p0, p1, idx in reader.items(reader.field("merges", int), lambda line: _ints(line, 3)):
        if p0 not in known or p1 not in known or idx in known:
            reader.fail(f"a merge of two known ids into a new id, not {p0} {p1} -> {idx}", back=1)
        if idx < max(p0, p1):  # encoding relies on it: a token ranks after its parts
            expected = f"a new id larger than the two it joins (ids follow learning order), not {p0} {p1} -> {idx}"
            reader.fail(expected, back=1)
        merges[(p0, p1)] = idx
        known.add(idx)
    return ModelFile(cls, pattern, byte_ids, merges, special)


def _read_minbpe(reader: _LineReader, classes: dict[str, type], wanted: type) -> ModelFile:
    # stripped, as minbpe reads it back
    pattern = reader.expect(lambda line: line.strip(), "the split pattern (a line of its own, empty for none)")
    cls = classes["RegexTokenizer" if pattern else "BasicTokenizer"]
    if not issubclass(cls, wanted):
        reader.fail(f"a split pattern that a {wanted.__name__} can have (this one makes a {cls.__name__})", back=1)
    count = reader.expect(lambda line: int(line) if line.isdigit() else None, "the number of special tokens")
    special = dict(reader.items(count, lambda line: _special_line(line, json_string=False)))
    merges = {}
    while reader.at_entry():
        idx = 256 + len(merges)  # the i-th merge makes token 256 + i
        p0, p1 = reader.expect(lambda line: _ints(line, 2), "a merge 'id1 id2' (two integers)")
        if p0 >= idx or p1 >= idx:
            reader.fail(f"a merge of two ids below {idx} (the tokens made so far), not {p0} {p1}", back=1)
        merges[(p0, p1)] = idx
    return ModelFile(cls, pattern or None, list(range(256)), merges, special)


def _json(value: str, types):
    out = json.loads(value)
    if not isinstance(out, types):
        raise ValueError(f"expected {' or '.join(t.__name__ for t in types)}")
    return out


def _ints(value: str, n: int) -> list[int]:
    parts = value.split(" ")
    if len(parts) != n or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected {n} non-negative integers")
    return [int(p) for p in parts]


def _special_line(line: str, json_string: bool):
    token, _, idx = line.rpartition(" ")
    if json_string:
        token = _json(token, (str,))
    if not token or not idx.isdigit():
        raise ValueError("expected a token and its id")
    return token, int(idx)


class _LineReader:
    """Reads a .model file line by line, turning every surprise into a ValueError with the line number."""

    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines, self.n = path, lines, 0

    def fail(self, expected: str, back: int = 0):
        n = self.n - back
        got = repr(self.lines[n])[:80] if n < len(self.lines) else "the end of the file"
        raise ValueError(f"{self.path}, line {n + 1}: expected {expected}, found {got}")

    def expect(self, parse, expected: str):
        if self.n >= len(self.lines):
            self.fail(expected)
        try:
            value = parse(self.lines[self.n])
        except (ValueError, json.JSONDecodeError):
            value = None
        if value is None:
            self.fail(expected)
        self.n += 1
        return value

    def field(self, key: str, parse):
        def parse_line(line):
            head, _, value = line.partition(" ")
            return (parse(value),) if head == key else None

        return self.expect(parse_line, f"'{key} ...'")[0]

    def items(self, count: int, parse):
        for _ in range(count):
            yield self.expect(parse, "another entry of the section above")

    def at_entry(self) -> bool:
        """Whether the next line holds something (the end of the file and blank lines do not)."""
        return self.n < len(self.lines) and bool(self.lines[self.n].strip())

    def expect_end(self):
        if any(line.strip() for line in self.lines[self.n :]):
            self.fail("the end of the file")
