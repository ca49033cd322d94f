"""Train the character-level BERT of zh.models.bert on tiny shakespeare (masked language modelling).

    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node=2 scripts/train_bert.py --threads 1 \
        --checkpoint .cache/bert.pt         # the GPT's best shape, 14 min on 2 cores, data-parallel
    python scripts/train_bert.py --quick --out-dir /tmp/x                    # a few steps, for the tests

The same split and characters as scripts/train_gpt.py (first 90% train, last 10% validation), plus
one id for ``[MASK]``. Each step draws random windows of ``block_size`` characters and masks them
with `zh.models.bert.mask_tokens` (15% chosen; 80% [MASK], 10% random, 10% kept); the loss is on
the chosen characters only. Every ``--eval-every`` steps the loss and masked-character accuracy
are estimated on ``--eval-iters`` random batches; at the end every validation character is masked
once and scored (`zh.models.bert.masked_char_scores`). ``--checkpoint`` saves the model, optimizer
and random state there (every evaluation and at the end); ``--resume`` continues from it. The run
is recorded in ``docs/results/train_bert.{json,md}`` under its preset's name.
"""

from __future__ import annotations

import os
import sys
import time

import lm_training as lm
import results
import torch
from data_parallel import DataParallel

from zh.data import random_windows, shakespeare_splits
from zh.models.bert import BERT, BertConfig, mask_tokens, masked_char_scores

# the GPT's best CPU shape (scripts/train_gpt.py --preset best), on windows of 32 characters (how it was chosen:
# docs/results/train_gpt_presets.md)
PRESETS = {
    "best": dict(n_layer=4, n_head=4, n_embd=128, block_size=32, batch_size=128, max_steps=1_000_000,
                 learning_rate=3e-3, min_lr=1e-4, warmup=100, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
                 dropout=0.0, mask_prob=0.15, eval_every=150, eval_iters=8, time_budget=840.0),
}
QUICK = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, max_steps=20, warmup=5,
             eval_every=10, eval_iters=2, time_budget=None)
MODEL_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "dropout")
# the table's columns (scripts/results.py: write_runs) between the steps and the load average
COLUMNS = [
    ("train loss", "---:", lambda r: f"{r['train']:.4f}"),
    ("val loss", "---:", lambda r: f"{r['val']:.4f}"),
    ("val loss, every character masked once", "---:", lambda r: f"{r['val_full']:.4f}"),
    ("masked-character accuracy (val)", "---:", lambda r: f"{100 * r['val_full_acc']:.1f}%"),
    ("training time", "---:", lambda r: f"{r['train_seconds']:.0f} s"),
]


def main(argv=None) -> dict | None:
    """Train (or resume) and record the run; returns its record (``None`` when there is none to write).

    Raises:
        CLIError: bad input, found before any work (`lm_training.parse_args`), or a run that diverged.
    """
    args = lm.parse_args("train_bert.py", __doc__, PRESETS, QUICK, "best", argv)
    wall_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    procs = DataParallel(args)
    load_start = [round(x, 2) for x in os.getloadavg()]

    chars, train, val = shakespeare_splits()
    train, val = train.to(args.device), val.to(args.device)
    mask_id = len(chars)  # the characters are 0 .. len(chars) - 1; one more id for [MASK]

    def batch(data: torch.Tensor, generator: torch.Generator):
        windows = random_windows(data, args.batch_size, args.block_size, generator)
        return mask_tokens(windows, mask_id, args.mask_prob, generator)

    def metrics(model: BERT, x: torch.Tensor, y: torch.Tensor) -> dict:
        logits, loss = model(x, y)
        chosen = y != -1
        return {"loss": loss.item(), "acc": (logits.argmax(-1) == y)[chosen].float().mean().item()}

    fields = {"vocab_size": len(chars) + 1, **{k: getattr(args, k) for k in MODEL_FIELDS}}
    model, history, train_seconds, finished = lm.run(BERT, BertConfig, fields, args.block_size, args, procs,
                                                     {"train": train, "val": val}, batch, metrics)
    procs.finish(model, args.checkpoint)
    if args.no_results or not procs.master or not finished:
        return None
    loss, correct = masked_char_scores(model, val, mask_id, generator=torch.Generator().manual_seed(0))
    return record(args, model, history, train_seconds, time.perf_counter() - wall_start,
                  loss.mean().item(), correct.float().mean().item(), procs.world, load_start)


def record(args, model: BERT, history, train_seconds, wall_seconds, val_loss, val_acc, world, load_start) -> dict:
    """Add this run to ``train_bert.json`` (the runs of other presets are kept) and rewrite the table."""
    settings = {k: getattr(args, k) for k in PRESETS["best"] if k not in MODEL_FIELDS}
    measured = {"processes": world, "time_budget": args.time_budget, "val_acc": history[-1]["val_acc"],
                "val_full": round(val_loss, 4), "val_full_acc": round(val_acc, 4),
                "train_seconds": round(train_seconds, 1), "wall_seconds": round(wall_seconds, 1),
                "loadavg_start": load_start}
    return results.record_run("train_bert", args, model, history, settings, measured, COLUMNS)


if __name__ == "__main__":
    sys.exit(lm.main("train_bert.py", main))
