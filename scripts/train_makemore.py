"""Train a names model with the makemore command and record its losses: the makemore page's table.

    ZH_DATA_DIR=../shared/data python scripts/train_makemore.py --type transformer -- --n-embd 64 --max-steps 30000

Everything after ``--`` goes to ``zh makemore`` unchanged; the checkpoint lands in
``--work-dir`` (default ``checkpoints/makemore-<type>``). The best checkpoint's mean loss per
character on the train, val and test splits becomes that type's row of
``docs/results/train_makemore.{json,md}`` (rows of other types are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from results import RESULTS, environment, write

from zh import cli, makemore
from zh.data import CharVocab, data_path, read_items, split_words
from zh.makemore import load_checkpoint
from zh.models.registry import MODELS
from zh.models.sequence import build_sequences
from zh.train import split_loss


def main(argv: list[str] | None = None) -> None:
    """Train with ``zh makemore`` and record the best checkpoint's losses.

    Raises:
        CLIError: bad input, as ``zh makemore`` finds it (before any training).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--type", choices=sorted(MODELS), required=True)
    parser.add_argument("--work-dir", help="checkpoint folder (default checkpoints/makemore-<type>)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where the results files go")
    parser.add_argument("makemore_args", nargs="*", help="options passed on to zh makemore")
    args = parser.parse_args(argv)
    for ours in ("--work-dir", "--type"):  # given twice, zh makemore would take the second
        if any(a == ours or a.startswith(ours + "=") for a in args.makemore_args):
            parser.error(f"give {ours} before '--': it is this script's option too (the results are recorded "
                         f"under it)")
    work_dir = Path(args.work_dir or f"checkpoints/makemore-{args.type}")
    names = data_path("names.txt")
    command = [str(names), "--type", args.type, "--work-dir", str(work_dir), *args.makemore_args]

    start = time.perf_counter()
    makemore.run(makemore.build_parser(argparse.ArgumentParser(prog="zh makemore")).parse_args(command))
    seconds = time.perf_counter() - start

    ckpt = load_checkpoint(work_dir / "model.pt")
    entry = MODELS[ckpt["type"]]
    model = entry.build(entry.config(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    vocab = CharVocab(tuple(ckpt["vocab"]))
    items = read_items(names)
    losses = {split: split_loss(model, *build_sequences(words, vocab))
              for split, words in zip(("train", "val", "test"), split_words(items))}

    path = args.out_dir / "train_makemore.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else {}
    rows[args.type] = {
        "command": "zh makemore names.txt " + " ".join(command[1:]),
        "parameters": sum(p.numel() for p in model.parameters()),
        "step": ckpt["step"], "seconds": round(seconds, 1), **{k: round(v, 4) for k, v in losses.items()},
        "environment": environment(),
    }
    order = [name for name in MODELS if name in rows]
    table = "\n".join(
        ["| `--type` | parameters | steps (best val) | train | val | test | time |",
         "|---|---:|---:|---:|---:|---:|---:|"]
        + [f"| {t} | {rows[t]['parameters']:,} | {rows[t]['step']:,} | {rows[t]['train']:.4f} | "
           f"{rows[t]['val']:.4f} | {rows[t]['test']:.4f} | {rows[t]['seconds']:.0f} s |" for t in order]
    )
    write("train_makemore", {"rows": {t: rows[t] for t in order}}, table, out_dir=args.out_dir)
    print(table)


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(cli.run_safely("train_makemore.py", main))
