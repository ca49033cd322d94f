"""Reproduce makemore part 5's performance log: five models, from the flat MLP to the wide WaveNet.

Page: docs/makemore/wavenet.md shows the table this writes (docs/results/train_wavenet.md).

    python scripts/train_wavenet.py                    # every stage, 200k steps each (the lecture's runs)
    python scripts/train_wavenet.py --stage wide       # one stage; its row replaces that stage's row
    python scripts/train_wavenet.py --quick --out-dir /tmp/w   # a few hundred steps, for the tests

Each stage: seed 42, minibatches of 32, SGD with learning rate 0.1, then 0.01 for the last quarter
(150k of 200k steps), the lectures' 80/10/10 split of names.txt. The losses are measured three times:
with BatchNorm's running statistics, as the lecture does; after `calibrate_batchnorm` has set them
from the whole training split; and with the weights averaged over the last quarter of the steps
(`ParameterAverage`, at the lower learning rate), BatchNorm recalibrated for them. Stages can run as
separate processes at once: each one adds its own row to the results under a file lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

import results
import torch
from training_run import names_splits, parse_args

from zh import cli
from zh.models.activations import train
from zh.models.wavenet import STAGES, WaveNet
from zh.train import ParameterAverage, calibrate_batchnorm, split_loss

NAME = "train_wavenet"
CURVE_POINTS = 200  # the loss curve: mean minibatch loss over each of this many equal spans of steps


def run_stage(stage: str, steps: int) -> dict:
    """Train one stage from seed 42 and measure it; returns its row."""
    label, config, batchnorm, reference = STAGES[stage]
    _, (Xtr, Ytr), (Xva, Yva), _ = names_splits(block_size=config.block_size)
    g = torch.Generator().manual_seed(42)
    model = WaveNet(config, generator=g, batchnorm=batchnorm)
    load_start, t0 = os.getloadavg()[0], time.time()
    average = ParameterAverage(model.layers.parameters(), start=int(0.75 * steps))  # after the decay
    log = train(model.layers, Xtr, Ytr, steps, batch_size=32, learning_rate=0.1, decay_at=0.75, generator=g,
                progress=stage, on_step=lambda lr, params, grads: average.update())
    span = max(1, steps // CURVE_POINTS)
    losses = torch.tensor(log["loss"][: steps // span * span])
    running = {"train": split_loss(model.layers, Xtr, Ytr), "val": split_loss(model.layers, Xva, Yva)}
    calibrate_batchnorm(model.layers, Xtr)
    calibrated = {"train_calibrated": split_loss(model.layers, Xtr, Ytr),
                  "val_calibrated": split_loss(model.layers, Xva, Yva)}
    average.apply()
    calibrate_batchnorm(model.layers, Xtr)
    return {
        "label": label,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        **running,
        **calibrated,
        "train_averaged": split_loss(model.layers, Xtr, Ytr),
        "val_averaged": split_loss(model.layers, Xva, Yva),
        "series": reference,
        "seconds": round(time.time() - t0, 1),
        "loadavg": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "environment": results.environment(),
        "curve": {"every": span, "loss": [round(v, 4) for v in losses.view(-1, span).mean(1).tolist()]},
    }


def table(rows: dict) -> str:
    """The Markdown table of every stage that has a row, in the lecture's order."""
    lines = ["| stage | parameters | steps | train | val | lecture train / val | val − lecture "
             "| train / val, BatchNorm calibrated | train / val, weights averaged |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for stage in STAGES:
        if stage not in rows:
            lines.append(f"| {STAGES[stage][0]} | | | not run yet | | {' / '.join(map(str, STAGES[stage][3]))} | | | |")
            continue
        r = rows[stage]
        after = [f"{r[f'train_{k}']:.4f} / {r[f'val_{k}']:.4f}" if f"val_{k}" in r else "not measured (an older run)"
                 for k in ("calibrated", "averaged")]
        lines.append(f"| {r['label']} | {r['parameters']:,} | {r['steps']:,} | {r['train']:.4f} | {r['val']:.4f} | "
                     f"{r['series'][0]} / {r['series'][1]} | {r['val'] - r['series'][1]:+.4f} | {' | '.join(after)} |")
    return "\n".join(lines)


def record(stage: str, row: dict, out_dir: Path) -> None:
    """Add (or replace) one stage's row in ``out_dir/train_wavenet.json`` and rewrite the table, under a lock."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / f".{NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # stages finishing at once must not lose each other's rows
        path = out_dir / f"{NAME}.json"
        rows = json.loads(path.read_text())["stages"] if path.exists() else {}
        rows[stage] = row
        results.write(NAME, {"stages": {s: rows[s] for s in STAGES if s in rows}}, table(rows), out_dir=out_dir)


def main(argv=None) -> dict:
    args = parse_args(__doc__, argv, lambda p: p.add_argument(
        "--stage", choices=list(STAGES), action="append", help="run only this stage (repeatable; default all)"))
    out_dir = Path(args.out_dir or results.RESULTS)
    rows = {}
    for stage in args.stage or STAGES:
        rows[stage] = run_stage(stage, args.max_steps)
        record(stage, rows[stage], out_dir)
        shown = ("parameters", "train", "val", "val_calibrated", "val_averaged", "series", "seconds")
        print(stage, {k: rows[stage][k] for k in shown}, flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run_safely("train_wavenet.py", main))  # Ctrl-C: one line, exit status 130
