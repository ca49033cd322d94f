"""``python -m zh makemore``: train a character-level model on any one-item-per-line file, and sample it.

Pages: [makemore / MLP](../makemore/mlp.md#the-makemore-command) (in use),
[makemore / WaveNet](../makemore/wavenet.md#one-command-for-every-model) (the models).

    python -m zh makemore names.txt --type wavenet --max-steps 5000  # train, saving out/model.pt
    python -m zh makemore names.txt --resume --max-steps 5000        # continue from the checkpoint
    python -m zh makemore names.txt --sample-only --num-samples 20   # samples, labelled in train / new

Every model is one entry of `zh.models.registry.MODELS`, trained by `zh.train.train`. A checkpoint is written
only when the validation loss beats the one it records, so a worse run never replaces a better model.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from zh import cli
from zh import train as training
from zh.cli import CLIError, option_name
from zh.data import MIN_SPLIT_ITEMS, CharVocab, read_items, read_utf8, split_words
from zh.models.registry import DEFAULT_TYPE, MODELS, config_fields
from zh.models.sampling import sample_words
from zh.models.sequence import build_sequences

FORMAT = "zh-makemore-3"  # marks our checkpoints, so any other file is refused with a clear message


@dataclass
class Options:
    """The training options of a run, refused with ``--sample-only``: default, argparse type and help of each."""

    max_steps: int = cli.option(10_000, cli.POSITIVE, "optimisation steps to run")
    eval_every: int = cli.option(500, cli.POSITIVE, "steps between train/val evaluations")
    batch_size: int = cli.option(32, cli.POSITIVE, "items (e.g. names) per step")
    learning_rate: float = cli.option(1e-2, cli.NON_NEGATIVE, "AdamW learning rate")
    final_lr_ratio: float = cli.option(1.0, cli.FRACTION, "learning rate at the last step, as a fraction of "
                                       "--learning-rate, reached by a cosine (1: constant)")
    weight_decay: float = cli.option(0.01, cli.NON_NEGATIVE, "AdamW weight decay of the weight matrices")
    average_last: float = cli.option(0.0, cli.FRACTION, "average the weights over this last fraction of the steps "
                                     "(stochastic weight averaging; 0: off); evaluations and the checkpoint use it")


def build_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``makemore`` command's options to ``parser`` (the ``zh makemore`` subcommand's)."""
    add = parser.add_argument
    add("input", type=Path, help="text file with one item (e.g. a name) per line, UTF-8")
    add("--type", choices=sorted(MODELS), help=f"model to train (default {DEFAULT_TYPE}; with --resume/--sample-only, "
        "the checkpoint's)")
    add("--work-dir", type=Path, default=Path("out"), help="folder of the checkpoint model.pt (default: out)")
    add("--resume", action="store_true", help="continue training the checkpoint in --work-dir")
    add("--sample-only", action="store_true", help="only print samples from the checkpoint")
    for f in dataclasses.fields(Options):  # None when not given (see options_of)
        add(option_name(f.name), type=f.metadata["type"], help=f"{f.metadata['help']} (default {f.default})")
    add("--max-len", type=cli.POSITIVE, default=100, help="the longest item accepted, in characters (default 100)")
    add("--num-samples", type=cli.POSITIVE, default=10, help="samples printed at the end (default 10)")
    add("--temperature", type=cli.ABOVE_ZERO, default=1.0, help="divides the logits when sampling (default 1)")
    add("--seed", type=cli.COUNT, default=3407, help="seed of the weights, batches and samples (default 3407)")
    add("--threads", type=cli.POSITIVE, default=1, help="torch CPU threads (default 1: these models are small)")
    group = parser.add_argument_group("model options (the model's config; defaults are each model's own)")
    for name, (kind, help_text) in config_fields().items():
        group.add_argument(option_name(name), dest=name, help=help_text, **(
            {"action": argparse.BooleanOptionalAction} if kind is bool else
            {"type": cli.POSITIVE if kind is int else cli.NON_NEGATIVE}))
    return parser


def options_of(args: argparse.Namespace) -> tuple[Options, dict]:
    """The training options (defaults filled in) and the model options given; `CLIError` for contradictions."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Options) if getattr(args, f.name) is not None}
    if args.sample_only and args.resume:
        raise CLIError("--sample-only and --resume contradict each other: choose one")
    if args.sample_only and given:
        raise CLIError(f"--sample-only trains nothing; drop {', '.join(map(option_name, given))}")
    if args.work_dir.exists() and not args.work_dir.is_dir():
        raise CLIError(f"--work-dir {args.work_dir} is a file, not a folder; choose a folder for the checkpoint")
    return Options(**given), {name: getattr(args, name) for name in config_fields() if getattr(args, name) is not None}


def load_items(path: Path, max_len: int) -> list[str]:
    """The items of the input file (`zh.data.read_items`); `CLIError` if it has none, or one longer than ``max_len``."""
    try:
        items = read_items(cli.check_file(path, "input file"))
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if (long := next((item for item in items if len(item) > max_len), None)) is not None:
        number = next(i for i, line in enumerate(read_utf8(path).split("\n"), 1) if line.strip() == long)
        raise CLIError(f"{path}, line {number}: an item of {len(long):,} characters, longer than --max-len "
                       f"{max_len}; shorten the line, or raise --max-len (every step then takes longer)")
    return items


def load_checkpoint(path: Path) -> dict:
    """A checkpoint of this command (`zh.train.load_checkpoint`), of a model type this version knows."""
    ckpt = training.load_checkpoint(path, FORMAT, "a zh makemore checkpoint")
    if ckpt.get("type") not in MODELS or not isinstance(ckpt.get("vocab"), list) or \
            not all(isinstance(ckpt.get(k), float) for k in ("train_loss", "val_loss")):
        raise CLIError(f"{path} is damaged: its type, vocab or losses are missing or not what zh writes")
    return ckpt


def describe_checkpoint(path: Path) -> str:
    """What ``path`` holds, in one phrase: nothing, a model (type, step, losses), or a file that is not ours."""
    try:
        ckpt = load_checkpoint(path)
    except CLIError as exc:
        return str(exc) if path.exists() else f"no checkpoint was written ({path} does not exist)"
    return (f"{path} holds the {ckpt['type']!r} model of step {ckpt['step']} "
            f"(train loss {ckpt['train_loss']:.4f}, val loss {ckpt['val_loss']:.4f})")


@dataclass
class Setup:
    """What the command works on once the arguments are resolved."""

    model_type: str
    config: object
    vocab: CharVocab
    model: nn.Module
    ckpt: dict | None  # the checkpoint in --work-dir, if any
    ckpt_path: Path


def resolve_model(args: argparse.Namespace, given: dict, items: list[str]) -> Setup:
    """The model to train or sample: a fresh one of ``--type``, or the checkpoint's (``--resume``/``--sample-only``)."""
    ckpt_path = args.work_dir / "model.pt"
    ckpt = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    if args.resume or args.sample_only:
        if ckpt is None:
            raise CLIError(f"no checkpoint at {ckpt_path}: train a model first (without --resume/--sample-only)")
        if args.type is not None and args.type != ckpt["type"]:
            raise CLIError(f"{ckpt_path} holds a {ckpt['type']!r} model, not {args.type!r}; "
                           f"drop --type or choose another --work-dir")
        if given:
            raise CLIError(f"the model's shape comes from {ckpt_path}; drop {', '.join(map(option_name, given))}")
        model_type, vocab = ckpt["type"], CharVocab(tuple(ckpt["vocab"]))
        if unknown := sorted(set("".join(items)) - set(vocab.itos[1:])):
            raise CLIError(f"{args.input} has characters the checkpoint's model never saw: {''.join(unknown)!r}; "
                           f"train a new model in another --work-dir")
    else:
        if ckpt is not None:
            raise CLIError(f"{ckpt_path} already holds a trained {ckpt['type']!r} model (val loss "
                           f"{ckpt['val_loss']:.4f}); pass --resume to continue it, or choose another --work-dir")
        model_type = args.type or DEFAULT_TYPE
        # the start/end token: "." if the data never uses it, else a newline (never inside a line)
        vocab = CharVocab.from_words(items, boundary="\n" if any("." in item for item in items) else ".")
    torch.manual_seed(args.seed)
    try:  # the config's own checks, e.g. n_embd not divisible by n_head
        data = {"vocab_size": len(vocab), "block_size": max(map(len, items)) + 1}
        config = MODELS[model_type].config(**ckpt["config"]) if ckpt else MODELS[model_type].make_config(data, given)
        model = MODELS[model_type].build(config)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"the {model_type!r} model cannot be built with these options: {exc}") from None
    if ckpt is not None:
        training.restore(ckpt_path, ckpt, model)
    if not MODELS[model_type].fixed_context and max(map(len, items)) + 1 > config.block_size:
        raise CLIError(f"{args.input} has an item of {max(map(len, items))} characters; the model reads at most "
                       f"{config.block_size} tokens (the start token included)")
    return Setup(model_type, config, vocab, model, ckpt, ckpt_path)


def train(setup: Setup, options: Options, seed: int, train_items: list[str], val_items: list[str]) -> None:
    """AdamW on minibatches of items (`zh.train.train`); evaluate every ``eval_every`` steps, save when val improves."""
    model, ckpt, path, o = setup.model, setup.ckpt, setup.ckpt_path, options
    (Xtr, Ytr), (Xva, Yva) = build_sequences(train_items, setup.vocab), build_sequences(val_items, setup.vocab)
    optimizer = training.configure_optimizer(model, o.learning_rate, o.weight_decay)
    if ckpt is not None:  # --resume
        training.restore(path, ckpt, model, optimizer)
        optimizer.param_groups[0]["weight_decay"] = o.weight_decay  # the command line's, not the checkpoint's
    best, start = (ckpt["val_loss"], ckpt["step"]) if ckpt is not None else (math.inf, 0)
    average = training.ParameterAverage(model.parameters(), round(o.max_steps * (1 - o.average_last))) \
        if o.average_last else None
    print(f"{setup.model_type}: {sum(p.numel() for p in model.parameters()):,} parameters; {len(setup.vocab)} "
          f"characters; {len(train_items):,} train / {len(val_items):,} val items")
    g = torch.Generator().manual_seed(seed + start)  # a resumed run draws fresh batches

    def get_batch():
        ix = torch.randint(0, len(Xtr), (o.batch_size,), generator=g)
        return Xtr[ix], Ytr[ix]

    def lr_of(step: int) -> float:  # a cosine down to final_lr_ratio over this run's steps (flat at ratio 1)
        return training.lr_at(step, o.learning_rate, o.learning_rate * o.final_lr_ratio,
                              progress=(step - start) / max(o.max_steps - 1, 1))

    def evaluate(step: int) -> None:
        nonlocal best
        evaluated, averaged = model, ""
        if average and average.count:  # evaluate (and save) the average, on a copy: training goes on
            evaluated = copy.deepcopy(model)
            average.apply(evaluated.parameters())
            averaged = f" (weights averaged over the last {average.count:,} steps)"
        train_loss, val_loss = training.split_loss(evaluated, Xtr, Ytr), training.split_loss(evaluated, Xva, Yva)
        if val_loss < best:
            best = val_loss
            training.save_checkpoint(path, evaluated, optimizer, step, format=FORMAT, type=setup.model_type,
                                     config=dataclasses.asdict(setup.config), vocab=list(setup.vocab.itos),
                                     train_loss=train_loss, val_loss=val_loss)
        tqdm.write(f"step {step}: train loss {train_loss:.4f}, val loss {val_loss:.4f}{averaged}; " +
                   (f"saved {path}" if best == val_loss else f"not saved ({path} has val loss {best:.4f})"))

    end = training.train(model, optimizer, get_batch, start + o.max_steps, step=start, lr_of=lr_of,
                         eval_every=o.eval_every, evaluate=evaluate, after_step=average.update if average else None,
                         hint=f"{path} still holds the best model so far; try a smaller --learning-rate (this run: "
                              f"{o.learning_rate:g})", progress={"desc": "training"})
    if end % o.eval_every:
        evaluate(end)


def print_samples(setup: Setup, args: argparse.Namespace, train_items: set[str], max_len: int) -> None:
    """``--num-samples`` items from the model, each labelled ``in train`` or ``new``."""
    words = sample_words(setup.model, setup.vocab, args.num_samples, generator=torch.Generator().manual_seed(args.seed),
                         max_len=max_len, temperature=args.temperature, prompt_length=1)
    print(f"{args.num_samples} samples ('in train': the word is in the training items; 'new': it is not)")
    for word in words:
        print(f"  {'in train' if word in train_items else 'new':8}  {word if word else '(empty)'}")


def run(args: argparse.Namespace) -> int:
    """Train and/or sample as ``args`` say; raises ``CLIError`` on bad input, before anything is written."""
    options, given = options_of(args)
    items = load_items(args.input, args.max_len)
    torch.set_num_threads(args.threads)
    setup = resolve_model(args, given, items)
    train_items, val_items, _ = split_words(items)
    if not args.sample_only:
        if not val_items:
            raise CLIError(f"{args.input} has {len(items)} items; at least {MIN_SPLIT_ITEMS} are needed to hold "
                           f"out one for validation")
        if options.average_last and any(name.endswith("running_mean") for name, _ in setup.model.named_buffers()):
            raise CLIError(f"--average-last: the {setup.model_type} model has BatchNorm layers, whose running "
                           "statistics would not match the averaged weights; use another (e.g. --type transformer)")
        cli.prepare_folder(args.work_dir, f"--work-dir {args.work_dir}")
        with cli.exclusive(setup.ckpt_path, "--work-dir"):
            train(setup, options, args.seed, train_items, val_items)
    print_samples(setup, args, set(train_items), max_len=2 * max(map(len, items)))
    return 0


def run_safely(args: argparse.Namespace) -> int:
    """``run``, with bad input and Ctrl-C as one line (`zh.cli.run_safely`); the exit status (0, 2, 130)."""
    return cli.run_safely("zh makemore", run, args, interrupted=lambda: describe_checkpoint(args.work_dir / "model.pt"))
