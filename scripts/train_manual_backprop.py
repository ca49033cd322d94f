"""Train makemore part 4's MLP twice from the same start: with the manual gradients, and with autograd.

Page: docs/makemore/backprop.md shows the table this writes (docs/results/train_manual_backprop.md).

    python scripts/train_manual_backprop.py            # the full 200k-step runs (minutes on a CPU)
    python scripts/train_manual_backprop.py --quick    # a few hundred steps, for the tests
"""

from __future__ import annotations

import sys
import time

import results
import torch
from training_run import names_splits, parse_args

from zh import cli
from zh.models.backprop import calibrate, init_params, split_loss, train

#: The losses in the notebook of Karpathy's lecture (Building makemore Part 4, manual gradients), for comparison.
REFERENCE = (2.0705, 2.1099)


def main(argv=None) -> dict:
    args = parse_args(__doc__, argv)
    steps = args.max_steps
    vocab, (Xtr, Ytr), (Xva, Yva), _ = names_splits(block_size=3)
    rows = {}
    for name, manual in (("manual gradients", True), ("autograd", False)):
        g = torch.Generator().manual_seed(2147483647)  # same init and same batches for both runs
        # exercise 4 of the lecture: 200 hidden
        params = init_params(len(vocab), block_size=3, n_embd=10, n_hidden=200, generator=g)
        t0 = time.time()
        train(params, Xtr, Ytr, steps, batch_size=32, learning_rate=0.1, generator=g, manual=manual)
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
        + f"| lecture's notebook (manual gradients) | {REFERENCE[0]} | {REFERENCE[1]} |\n"
    )
    results.write(
        "train_manual_backprop", {"steps": steps, "runs": rows, "reference": REFERENCE}, table, out_dir=args.out_dir
    )
    return rows


if __name__ == "__main__":
    sys.exit(cli.run_safely("train_manual_backprop.py", main))  # Ctrl-C: one line, exit status 130
