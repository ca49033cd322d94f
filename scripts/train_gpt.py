"""Train the character-level GPT of zh.models.gpt on tiny shakespeare.

    python scripts/train_gpt.py --preset nanogpt-cpu        # nanoGPT's CPU configuration (~2 min on 2 cores)
    python scripts/train_gpt.py --preset best               # the best model found for 15 min on 2 cores
    python scripts/train_gpt.py --quick --out-dir /tmp/x    # a few steps, for the tests
    torchrun --standalone --nproc_per_node=2 scripts/train_gpt.py ...   # the same, data-parallel (DDP)

The split is the first 90% of the characters for training, the last 10% for validation. Every
``--eval-every`` steps the train and validation losses are estimated on ``--eval-iters`` random
batches; at the end the validation loss is also computed exactly, over the whole validation text.
``--checkpoint`` saves the model, optimizer and random state there (every evaluation and at the
end); ``--resume`` continues from it. The run is recorded in ``docs/results/train_gpt.{json,md}``
under its preset's name (see scripts/results.py).

Under ``torchrun`` each of the N processes takes its own 1/N of every global batch of
``--batch-size`` sequences; DistributedDataParallel averages the gradients over the processes during
``backward()``, so every process takes the same optimizer step. Only rank 0 logs, evaluates and saves.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import lm_training as lm
import results
import torch
from data_parallel import DataParallel

from zh import cli
from zh.data import random_windows
from zh.data import shakespeare_splits as zh_shakespeare_splits
from zh.models.gpt import GPT, GPTConfig, attention_maps
from zh.train import split_loss

TRAIN_CHARS, VAL_CHARS = 1_003_854, 111_540  # the 90/10 split of tiny shakespeare's 1,115,394 characters

# nanoGPT's CPU recipe for shakespeare-char, and the best one measured here for 15 min on 2 cores (how it was
# chosen: docs/results/train_gpt_runs.md)
PRESETS = {
    "nanogpt-cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_steps=2000,
                        learning_rate=1e-3, min_lr=1e-4, warmup=100, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
                        dropout=0.0, attn_dropout=0.0, eval_every=250, eval_iters=20, bf16=False),
    "best": dict(n_layer=4, n_head=4, n_embd=128, block_size=256, batch_size=8, max_steps=1_000_000,
                 learning_rate=3e-3, min_lr=3e-4, warmup=100, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
                 dropout=0.1, attn_dropout=0.0, eval_every=500, eval_iters=20, time_budget=840.0, bf16=True),
}
QUICK = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, max_steps=20, warmup=5,
             eval_every=10, eval_iters=2)
# a line of the validation text whose attention maps the results keep, for the GPT page to draw
ATTENTION_TEXT = "BAPTISTA:\nGood morrow, neighbour Gremio."
MODEL_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "attn_dropout")
# the table's columns (scripts/results.py: write_runs) between the steps and the load average
COLUMNS = [
    ("dropout", "---", lambda r: dropout_cell(r["config"])),
    ("matmuls", "---", lambda r: "bfloat16" if r["settings"].get("bf16") else "float32"),
    ("train", "---:", lambda r: f"{r['train']:.4f}"),
    ("val", "---:", lambda r: f"{r['val']:.4f}"),
    ("val (whole split)", "---:", lambda r: f"{r['val_full']:.4f}"),
    ("training time", "---:", lambda r: f"{r['train_seconds']:.0f} s"),
    ("processes × threads", "---", lambda r: f"{r['processes']} × {r['threads']}"),
]


def dropout_cell(config: dict) -> str:
    """The table's dropout: one rate, or two when the attention weights get their own."""
    rate, attn = config["dropout"], config["attn_dropout"]
    return f"{rate:g}" if attn == rate else f"{rate:g} (attention {attn:g})"


def parse_args(argv=None) -> argparse.Namespace:
    """The command line of scripts/lm_training.py, plus ``--sample-chars``."""
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sample-chars", type=cli.COUNT, default=500, help="length of the final sample")

    return lm.parse_args("train_gpt.py", __doc__, PRESETS, QUICK, "nanogpt-cpu", argv, extra)


def shakespeare_splits(device="cpu") -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """The character vocabulary and the train and validation text as id tensors (90/10 split)."""
    chars, train, val = zh_shakespeare_splits()
    assert (len(train), len(val)) == (TRAIN_CHARS, VAL_CHARS), f"unexpected split {len(train)} / {len(val)}"
    return chars, train.to(device), val.to(device)


def get_batch(data: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator):
    """``batch_size`` random windows of ``block_size + 1`` characters: inputs and next-character targets."""
    windows = random_windows(data, batch_size, block_size + 1, generator)
    return windows[:, :-1], windows[:, 1:]


def loss_metrics(model: GPT, x: torch.Tensor, y: torch.Tensor) -> dict:
    """What each evaluation batch reports: the loss."""
    return {"loss": model(x, y)[1].item()}


def whole_windows(data: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``data`` cut into consecutive windows of ``block_size`` and their next characters (each predicted once)."""
    n = (len(data) - 1) // block_size
    return data[: n * block_size].view(n, block_size), data[1: n * block_size + 1].view(n, block_size)


def main(argv=None) -> dict | None:
    """Train (or resume) and record the run; returns its record (``None`` when there is none to write).

    Raises:
        CLIError: bad input, found before any work (`lm_training.parse_args`), or a run that diverged.
    """
    args = parse_args(argv)
    wall_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    procs = DataParallel(args)
    load_start = [round(x, 2) for x in os.getloadavg()]

    chars, train, val = shakespeare_splits(args.device)
    def batch(data: torch.Tensor, generator: torch.Generator):
        return get_batch(data, args.batch_size, args.block_size, generator)

    fields = {"vocab_size": len(chars), **{k: getattr(args, k) for k in MODEL_FIELDS}}
    model, history, train_seconds, finished = lm.run(GPT, GPTConfig, fields, args.block_size + 1, args, procs,
                                                     {"train": train, "val": val}, batch, loss_metrics)
    procs.finish(model, args.checkpoint)

    out = None
    if procs.master and finished and not args.no_results:
        val_full = split_loss(model, *whole_windows(val, model.config.block_size), rows=64)
        prompt = torch.tensor([[chars.index("\n")]], device=args.device)
        ids = model.generate(prompt, args.sample_chars, generator=torch.Generator(args.device).manual_seed(42))
        sample = "".join(chars[i] for i in ids[0].tolist())
        maps = validation_attention(model, chars, val)
        out = record(args, model, history, train_seconds, time.perf_counter() - wall_start, val_full, sample,
                     maps, procs.world, load_start)
    return out


def validation_attention(model: GPT, chars: list[str], val: torch.Tensor) -> dict:
    """The attention maps of every layer and head on `ATTENTION_TEXT`, a line of the validation text.

    Row ``i`` of a map is kept up to its diagonal (the rest is 0 by causality) as a string of numbers
    with 3 decimals, which keeps the JSON small.
    A model with a shorter context reads the line's last ``block_size`` characters.
    """
    text = ATTENTION_TEXT[-model.config.block_size:]
    ids = torch.tensor([[chars.index(c) for c in text]], device=val.device)
    windows = val.unfold(0, ids.size(1), 1)
    assert (windows == ids).all(1).any(), "ATTENTION_TEXT must be a line of the validation text"
    maps = attention_maps(model, ids)[:, 0].float()  # (n_layer, n_head, T, T)
    rows = [[[" ".join(f"{p:.3f}" for p in row[: i + 1]) for i, row in enumerate(head.tolist())] for head in layer]
            for layer in maps]
    return {"text": text, "maps": rows}


def record(args, model: GPT, history, train_seconds, wall_seconds, val_full, sample, maps, world,
           load_start) -> dict:
    """Add this run to ``train_gpt.json`` (the runs of other presets are kept) and rewrite the table."""
    settings = {k: getattr(args, k) for k in [*PRESETS["nanogpt-cpu"], "time_budget"] if k not in MODEL_FIELDS}
    measured = {"processes": world, "val_full": round(val_full, 4), "train_seconds": round(train_seconds, 1),
                "wall_seconds": round(wall_seconds, 1), "loadavg_start": load_start, "sample": sample,
                "attention": maps}
    return results.record_run("train_gpt", args, model, history, settings, measured, COLUMNS)


if __name__ == "__main__":
    sys.exit(lm.main("train_gpt.py", main))
