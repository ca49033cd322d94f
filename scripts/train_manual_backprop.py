"""Train makemore part 4's MLP twice from the same start: with the manual gradients, and with autograd.

Page: docs/makemore/backprop.md shows the table this writes (docs/results/train_manual_backprop.md).

    python scripts/train_manual_backprop.py            # the full 200k-step runs (minutes on a CPU)
    python scripts/train_manual_backprop.py --quick    # a few hundred steps, for the tests
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402

from zh.data import CharVocab, build_dataset, load_names, split_words
from zh.models.backprop import calibrate, init_params, split_loss, train

#: The series' logged losses (makemore part 4 notebook, manual gradients), for comparison only.
REFERENCE = (2.0705, 2.1099)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="300 steps, for the tests")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default docs/results)")
    args = parser.parse_args(argv)
    if args.quick and args.out_dir is None:  # never let a smoke run overwrite the committed full results
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    steps = 300 if args.quick else args.steps
    torch.set_num_threads(args.threads)

    words = load_names()
    vocab = CharVocab.from_words(words)
    (Xtr, Ytr), (Xva, Yva), _ = (build_dataset(part, vocab, 3) for part in split_words(words))
    rows = {}
    for name, manual in (("manual gradients", True), ("autograd", False)):
        g = torch.Generator().manual_seed(2147483647)  # same init and same batches for both runs
        params = init_params(len(vocab), block_size=3, n_embd=10, n_hidden=200, generator=g)  # exercise 4 of the series: 200 hidden
        t0 = time.time()
        train(params, Xtr, Ytr, steps, batch_size=32, lr=0.1, generator=g, manual=manual)
        stats = calibrate(params, Xtr)
        rows[name] = {
            "train": split_loss(params, Xtr, Ytr, stats),
            "val": split_loss(params, Xva, Yva, stats),
            "seconds": round(time.time() - t0, 1),
        }
        print(name, rows[name], flush=True)
    table = (
        f"| run ({steps:,} steps) | train | val |\n|---|---|---|\n"
        + "".join(f"| {name} | {r['train']:.6f} | {r['val']:.6f} |\n" for name, r in rows.items())
        + f"| series (manual gradients) | {REFERENCE[0]} | {REFERENCE[1]} |\n"
    )
    results.write("train_manual_backprop", {"steps": steps, "runs": rows, "reference": REFERENCE}, table, out_dir=args.out_dir)
    return rows


if __name__ == "__main__":
    main()
