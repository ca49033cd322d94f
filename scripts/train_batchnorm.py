"""Reproduce makemore part 3's runs: the naive MLP, the Kaiming-initialised MLP, and the same with BatchNorm.

Page: docs/makemore/activations.md shows the table this writes (docs/results/train_batchnorm.md).

    python scripts/train_batchnorm.py            # the full 200k-step runs (minutes on a CPU)
    python scripts/train_batchnorm.py --quick    # a few hundred steps, for the tests
"""

from __future__ import annotations

import sys
import time

import results
import torch
from training_run import names_splits, parse_args

from zh import cli
from zh.models.activations import build_mlp, train
from zh.train import split_loss

#: The losses logged in the notebook of Karpathy's lecture (Building makemore Part 3), for comparison only.
REFERENCE = {"naive": (2.1245, 2.1682), "batchnorm": (2.0674, 2.1057)}
RUNS = {
    "naive": dict(init="naive", batchnorm=False),
    "kaiming": dict(init="kaiming", batchnorm=False),
    "batchnorm": dict(init="kaiming", batchnorm=True),
}


def main(argv=None) -> dict:
    args = parse_args(__doc__, argv)
    steps = args.max_steps
    vocab, (Xtr, Ytr), (Xva, Yva), _ = names_splits(block_size=3)
    rows = {}
    for name, config in RUNS.items():
        g = torch.Generator().manual_seed(2147483647)
        model = build_mlp(len(vocab), block_size=3, n_embd=10, n_hidden=200, generator=g, **config)
        t0 = time.time()
        log = train(model, Xtr, Ytr, steps, batch_size=32, learning_rate=0.1, generator=g)
        rows[name] = {
            "initial_loss": log["loss"][0],
            "train": split_loss(model, Xtr, Ytr),
            "val": split_loss(model, Xva, Yva),
            "seconds": round(time.time() - t0, 1),
        }
        print(name, rows[name], flush=True)
    table = (
        f"| run ({steps:,} steps) | first minibatch loss | train | val | lecture train | lecture val |\n"
        "|---|---|---|---|---|---|\n"
        + "".join(
            f"| {name} | {r['initial_loss']:.4f} | {r['train']:.4f} | {r['val']:.4f} | "
            + (" | ".join(map(str, REFERENCE[name])) if name in REFERENCE else "— | —")
            + " |\n"
            for name, r in rows.items()
        )
    )
    results.write(
        "train_batchnorm", {"steps": steps, "runs": rows, "reference": REFERENCE}, table, out_dir=args.out_dir
    )
    return rows


if __name__ == "__main__":
    sys.exit(cli.run_safely("train_batchnorm.py", main))  # Ctrl-C: one line, exit status 130
