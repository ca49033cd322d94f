"""Train the makemore MLP for the lecture's full 200,000 steps: the reference model and a tuned one.

    python scripts/train_mlp.py            # both full runs (a few minutes on 2 CPU cores)
    python scripts/train_mlp.py --quick    # 300 steps each, for the test suite

Saves ``docs/results/train_mlp.{json,md}`` (see scripts/results.py), which the page
docs/makemore/mlp.md includes. Both configurations have 11,897 parameters and see the same
minibatches; they differ only in how the parameters start.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import results
import torch
from training_run import names_splits

from zh import cli
from zh.models.mlp import MLP, MLPConfig
from zh.models.training import train_sgd
from zh.train import split_loss

CONFIGS = {
    "reference": MLPConfig(n_embd=10, n_hidden=200, block_size=3),
    "tuned": MLPConfig(n_embd=10, n_hidden=200, block_size=3, scaled_init=True),
}
REFERENCE = {"train": 2.1260, "val": 2.1701}  # the lecture's figures for the reference model


def run(name: str, steps: int) -> dict:
    """Train one configuration with the lecture's recipe and measure it."""
    torch.set_num_threads(1)  # the two runs go in parallel, one core each; tiny matmuls gain nothing from more
    config = CONFIGS[name]
    _, (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = names_splits(config.block_size)
    model = MLP(config, generator=torch.Generator().manual_seed(2147483647))
    decay_at = steps // 2  # the lecture: lr 0.1, then 0.01 for the second half
    start = time.perf_counter()
    losses = train_sgd(model, Xtr, Ytr, steps, batch_size=32, learning_rate=lambda i: 0.1 if i < decay_at else 0.01,
                       generator=torch.Generator().manual_seed(42))
    seconds = time.perf_counter() - start
    every = max(1, steps // 200)  # keep 200 points of the curve: mean minibatch loss per window
    curve = [sum(losses[i:i + every]) / len(losses[i:i + every]) for i in range(0, steps, every)]
    return {
        "config": asdict(config),
        "params": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "lr_decay_step": decay_at,
        "seconds": round(seconds, 1),
        "train": round(split_loss(model, Xtr, Ytr), 4),
        "val": round(split_loss(model, Xva, Yva), 4),
        "test": round(split_loss(model, Xte, Yte), 4),
        "curve_every": every,
        "curve": [round(x, 4) for x in curve],
    }


def main(argv=None) -> dict:
    """Run both configurations (in parallel processes) and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 steps each, to check that the script works")
    parser.add_argument("--max-steps", type=cli.POSITIVE, default=200_000)
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default docs/results)")
    args = parser.parse_args(argv)
    steps = 300 if args.quick else args.max_steps
    with ProcessPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(CONFIGS, pool.map(run, CONFIGS, [steps] * len(CONFIGS))))
    rows = [f"| lecture (Karpathy, makemore part 2) | 11,897 | 200,000 | {REFERENCE['train']:.4f} "
            f"| {REFERENCE['val']:.4f} | | |"]
    for name, r in runs.items():
        rows.append(f"| {name} (`scaled_init={r['config']['scaled_init']}`) | {r['params']:,} | {r['steps']:,} "
                    f"| {r['train']:.4f} | {r['val']:.4f} | {r['test']:.4f} | {r['seconds']:.0f} s |")
    table = ("| model | parameters | steps | train loss | val loss | test loss | time |\n"
             "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows))
    data = {"reference_lecture": REFERENCE, "quick": args.quick, "runs": runs}
    results.write("train_mlp", data, table, out_dir=args.out_dir)
    print(table)
    return data


if __name__ == "__main__":
    sys.exit(cli.run_safely("train_mlp.py", main))  # Ctrl-C: one line, exit status 130
