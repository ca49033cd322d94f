"""What the makemore training scripts share: the names splits, and the command line of the part-3 scripts."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from zh import cli
from zh.data import CharVocab, build_dataset, load_names, split_words


def parse_args(doc: str, argv=None, add_arguments=None) -> argparse.Namespace:
    """``--max-steps``, ``--quick``, ``--threads``, ``--out-dir``; sets torch's threads; ``args.max_steps`` is final.

    ``add_arguments(parser)``, when given, adds a script's own options.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--max-steps", type=cli.POSITIVE, default=200_000)
    parser.add_argument("--quick", action="store_true", help="300 steps, for the tests")
    parser.add_argument("--threads", type=cli.POSITIVE, default=1, help="torch CPU threads")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default docs/results)")
    args = parser.parse_args(argv)
    if args.quick and args.out_dir is None:  # never let a smoke run overwrite the committed full results
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    if args.quick:
        args.max_steps = 300
    torch.set_num_threads(args.threads)
    return args


def names_splits(block_size: int = 3):
    """The vocabulary and the lectures' train, validation and test sets ``(X, Y)`` of names.txt."""
    words = load_names()
    vocab = CharVocab.from_words(words)
    return (vocab, *(build_dataset(part, vocab, block_size) for part in split_words(words)))
