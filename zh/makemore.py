"""``python -m zh makemore``: train a character-level model on any one-item-per-line file, and sample it.

Page: [makemore / MLP](../makemore/mlp.md#the-makemore-command) shows it in use.

    python -m zh makemore names.txt --type mlp --max-steps 5000    # train, saving out/model.pt
    python -m zh makemore names.txt --resume --max-steps 5000      # continue from the checkpoint
    python -m zh makemore names.txt --sample-only --num-samples 20 # samples, labelled in train / new

Every character model of this site is one line of ``MODELS``; the model's options (``--n-embd``...)
are made from the fields of its config dataclass. A checkpoint is written only when the
validation loss beats the one it records, so a worse run never replaces a better model.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from zh.data import CharVocab, build_dataset, split_words
from zh.models.bigram import Bigram, BigramConfig
from zh.models.mlp import MLP, MLPConfig
from zh.models.sampling import sample_words
from zh.models.training import evaluate

#: name -> (model class, config dataclass). A new model is one more line here.
MODELS = {
    "bigram": (Bigram, BigramConfig),
    "mlp": (MLP, MLPConfig),
}

FORMAT = "zh-makemore-1"  # marks our checkpoints, so any other file is refused with a clear message
DATA_FIELDS = ("vocab_size",)  # config fields that come from the data, not from the command line


class CLIError(Exception):
    """A problem with the user's input: reported as one line and a nonzero exit, no traceback."""


def read_items(path: str | os.PathLike) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped of surrounding whitespace.

    Raises:
        CLIError: the file is missing, is a folder, is not UTF-8, or has no items.
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"input file not found: {path}")
    if not path.is_file():
        raise CLIError(f"input {path} is not a file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CLIError(
            f"{path} is not UTF-8 text: byte {exc.start} (0x{raw[exc.start]:02x}) is invalid; "
            f"save the file as UTF-8 and try again"
        ) from None
    items = [line.strip() for line in text.splitlines()]
    items = [item for item in items if item]
    if not items:
        raise CLIError(f"{path} has no items: it is empty or blank; put one item (e.g. a name) per line")
    return items


def choose_boundary(items: list[str]) -> str:
    """``"."`` as the start/end token if the data never uses it, else a newline (never inside a line)."""
    return "." if not any("." in item for item in items) else "\n"


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def config_fields() -> dict[str, tuple[dataclasses.Field, str]]:
    """Every settable config field of every registered model (the union, by name), with its help.

    The help is the field's first line under ``Attributes:`` in its config's docstring.
    """
    fields = {}
    for _, config_cls in MODELS.values():
        docs = dict(re.findall(r"^\s+(\w+): (.+)$", (config_cls.__doc__ or "").split("Attributes:")[-1], re.M))
        for f in dataclasses.fields(config_cls):
            if f.name not in DATA_FIELDS:
                fields.setdefault(f.name, (f, docs.get(f.name, "")))
    return fields


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``makemore`` command's options (added to ``parser`` when given, e.g. a subcommand)."""
    parser = parser or argparse.ArgumentParser(prog="zh makemore", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="text file with one item (e.g. a name) per line, UTF-8")
    parser.add_argument("--type", choices=sorted(MODELS), default=None,
                        help="model to train (default mlp; with --resume/--sample-only, the checkpoint's)")
    parser.add_argument("--work-dir", default="out", help="folder of the checkpoint model.pt (default: out)")
    parser.add_argument("--resume", action="store_true", help="continue training the checkpoint in --work-dir")
    parser.add_argument("--sample-only", action="store_true", help="only print samples from the checkpoint")
    parser.add_argument("--max-steps", type=int, default=10_000, help="optimisation steps to run (default 10000)")
    parser.add_argument("--eval-every", type=int, default=500, help="steps between train/val evaluations (default 500)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="AdamW learning rate (default 0.01)")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--num-samples", type=int, default=10, help="samples printed at the end (default 10)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=3407)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: these models are small, more threads add overhead)")
    group = parser.add_argument_group("model options (the model's config; defaults are each model's own)")
    for name, (f, help_text) in config_fields().items():
        kind = f.type if isinstance(f.type, type) else {"int": int, "float": float, "bool": bool}[f.type]
        if kind is bool:
            group.add_argument(_option(name), dest=name, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        else:
            group.add_argument(_option(name), dest=name, type=kind, default=None, help=help_text)
    return parser


def _given_config(args) -> dict:
    return {name: getattr(args, name) for name in config_fields() if getattr(args, name) is not None}


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by this command; anything else raises ``CLIError``."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file fails in many ways; all mean the same to the user
        raise CLIError(f"{path} is not a zh makemore checkpoint (it could not be read: {exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CLIError(f"{path} is not a zh makemore checkpoint")
    if ckpt["model"] not in MODELS:
        raise CLIError(f"{path} holds a {ckpt['model']!r} model, which this version of zh does not know")
    return ckpt


def _save(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    torch.save(payload, partial)
    partial.replace(path)  # atomic: an interrupted save never leaves half a checkpoint


def _print_samples(model, vocab, train_items: set[str], args, max_len: int) -> None:
    g = torch.Generator().manual_seed(args.seed)
    words = sample_words(model, vocab, args.num_samples, generator=g, max_len=max_len, temperature=args.temperature)
    print(f"{args.num_samples} samples ('in train': the word is in the training items; 'new': it is not)")
    for word in words:
        print(f"  {'in train' if word in train_items else 'new':8}  {word if word else '(empty)'}")


def run(args: argparse.Namespace) -> int:
    """Train and/or sample as ``args`` say; raises ``CLIError`` on bad input."""
    for name in ("max_steps", "eval_every", "batch_size", "num_samples", "threads"):
        if getattr(args, name) < 1:
            raise CLIError(f"{_option(name)} must be at least 1, got {getattr(args, name)}")
    if args.temperature <= 0:
        raise CLIError(f"--temperature must be positive, got {args.temperature}")
    items = read_items(args.input)
    ckpt_path = Path(args.work_dir) / "model.pt"
    ckpt = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    given = _given_config(args)

    if args.resume or args.sample_only:
        if ckpt is None:
            raise CLIError(f"no checkpoint at {ckpt_path}: train a model first (without --resume/--sample-only)")
        if args.type is not None and args.type != ckpt["model"]:
            raise CLIError(f"{ckpt_path} holds a {ckpt['model']!r} model, not {args.type!r}; "
                           f"drop --type or choose another --work-dir")
        if given:
            raise CLIError(f"the model's shape comes from {ckpt_path}; drop {', '.join(map(_option, given))}")
        model_type, vocab = ckpt["model"], CharVocab(tuple(ckpt["vocab"]))
        unknown = sorted(set("".join(items)) - set(vocab.itos[1:]))
        if unknown:
            raise CLIError(f"{args.input} has characters the checkpoint's model never saw: {''.join(unknown)!r}; "
                           f"train a new model in another --work-dir")
        model_cls, config_cls = MODELS[model_type]
        config = config_cls(**ckpt["config"])
    else:
        if ckpt is not None:
            raise CLIError(f"{ckpt_path} already holds a trained {ckpt['model']!r} model (val loss "
                           f"{ckpt['val_loss']:.4f}); pass --resume to continue it, or choose another --work-dir")
        model_type = args.type or "mlp"
        model_cls, config_cls = MODELS[model_type]
        accepted = {f.name for f in dataclasses.fields(config_cls)}
        foreign = [name for name in given if name not in accepted]
        if foreign:
            raise CLIError(f"{', '.join(map(_option, foreign))} does not apply to the {model_type!r} model")
        vocab = CharVocab.from_words(items, boundary=choose_boundary(items))
        config = config_cls(vocab_size=len(vocab), **given)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = model_cls(config)
    if ckpt is not None:
        model.load_state_dict(ckpt["state_dict"])
    train_items, val_items, _ = split_words(items)
    max_len = 2 * max(len(item) for item in items)
    if args.sample_only:
        _print_samples(model, vocab, set(train_items), args, max_len)
        return 0
    if not val_items:
        raise CLIError(f"{args.input} has {len(items)} items; at least 10 are needed to hold out 10% for validation")

    Xtr, Ytr = build_dataset(train_items, vocab, config.block_size)
    Xva, Yva = build_dataset(val_items, vocab, config.block_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    if args.resume:
        optimizer.load_state_dict(ckpt["optimizer"])
        for group in optimizer.param_groups:  # the command line, not the checkpoint, sets these
            group.update(lr=args.learning_rate, weight_decay=args.weight_decay)
    best = ckpt["val_loss"] if ckpt is not None else math.inf
    start = ckpt["step"] if args.resume else 0
    params = sum(p.numel() for p in model.parameters())
    print(f"{model_type}: {params:,} parameters; {len(vocab)} characters; "
          f"{len(Ytr):,} train / {len(Yva):,} val examples")
    g = torch.Generator().manual_seed(args.seed + start)  # a resumed run draws fresh batches
    bar = tqdm(range(start, start + args.max_steps), desc="training", unit="step", file=sys.stderr)
    for step in bar:
        ix = torch.randint(0, len(Ytr), (args.batch_size,), generator=g)
        _, loss = model(Xtr[ix], Ytr[ix])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        done = step + 1
        if done % args.eval_every and done != start + args.max_steps:
            continue
        train_loss, val_loss = evaluate(model, Xtr, Ytr), evaluate(model, Xva, Yva)
        message = f"step {done}: train loss {train_loss:.4f}, val loss {val_loss:.4f}"
        if val_loss < best:
            best = val_loss
            _save(ckpt_path, {
                "format": FORMAT, "model": model_type, "config": dataclasses.asdict(config),
                "vocab": list(vocab.itos), "state_dict": model.state_dict(),
                "optimizer": optimizer.state_dict(), "step": done,
                "train_loss": train_loss, "val_loss": val_loss,
            })
            message += f"; saved {ckpt_path}"
        else:
            message += f"; not saved ({ckpt_path} has val loss {best:.4f})"
        tqdm.write(message)
    bar.close()
    _print_samples(model, vocab, set(train_items), args, max_len)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 bad input, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    return run_safely(args)


def run_safely(args: argparse.Namespace) -> int:
    """``run``, with input errors and Ctrl-C reported as one line instead of a traceback."""
    try:
        return run(args)
    except CLIError as exc:
        print(f"zh makemore: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zh makemore: interrupted; the checkpoint holds the best model saved so far", file=sys.stderr)
        return 130
