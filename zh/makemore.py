"""``python -m zh makemore``: train a character-level model on any one-item-per-line file, and sample it.

Page: [makemore / MLP](../makemore/mlp.md#the-makemore-command) shows it in use;
[makemore / WaveNet](../makemore/wavenet.md#one-command-for-every-model) explains the model contract.

    python -m zh makemore names.txt --type wavenet --max-steps 5000  # train, saving out/model.pt
    python -m zh makemore names.txt --resume --max-steps 5000        # continue from the checkpoint
    python -m zh makemore names.txt --sample-only --num-samples 20   # samples, labelled in train / new

Every model is one entry of ``MODELS``, and every model is trained, evaluated and sampled the
same way, through the sequence contract of ``zh.models.sequence``: rows of items in, logits at
every position out. The model's options (``--n-embd``...) are the fields of its config
dataclass, with the help text of each field's ``metadata``. A checkpoint is written only when the
validation loss beats the one it records, so a worse run never replaces a better model.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from zh import cli
from zh.cli import CLIError, option_name
from zh.data import MIN_SPLIT_ITEMS, CharVocab, items_of, read_utf8, split_words
from zh.models.activations import ParameterAverage
from zh.models.bigram import Bigram, BigramConfig
from zh.models.mlp import MLP, MLPConfig
from zh.models.sampling import sample_words
from zh.models.sequence import IGNORE, FixedContext, build_sequences
from zh.nn import eval_mode
from zh.models.gpt import GPT, GPTConfig
from zh.models.wavenet import WaveNet, WaveNetConfig


# --8<-- [start:registry]
@dataclass(frozen=True)
class ModelType:
    """One entry of the registry: how to build a model of this type from its config.

    Attributes:
        model: The model class; ``model(config)`` builds one.
        config: Its config dataclass; each field not in ``from_data`` becomes a command-line option.
        fixed_context: ``model`` maps ``(N, block_size)`` contexts to ``(N, V)`` logits and is
            wrapped in ``zh.models.sequence.FixedContext``; ``False``: it already follows the
            sequence contract ``(B, T) -> (B, T, V)`` (a transformer).
        defaults: Config values this command uses when the command line gives none, where they
            differ from the config's own (the GPT's defaults are sized for tiny shakespeare).
        from_data: Config fields set from the data: ``vocab_size``, and for a sequence model
            ``block_size`` (the longest item plus its start token).
    """

    model: type[nn.Module]
    config: type
    fixed_context: bool = True
    from_data: tuple[str, ...] = ("vocab_size",)
    defaults: dict = field(default_factory=dict)

    def make_config(self, data: dict, given: dict | None = None):
        """The config for ``data`` (values of ``from_data``), with ``given`` options over ``defaults``."""
        return self.config(**{name: data[name] for name in self.from_data}, **{**self.defaults, **(given or {})})

    def build(self, config) -> nn.Module:
        """A fresh model of this type that follows the sequence contract."""
        model = self.model(config)
        return FixedContext(model) if self.fixed_context else model


#: name -> ModelType. A new model is one more entry here (and its own file under zh/models/).
MODELS = {
    "bigram": ModelType(Bigram, BigramConfig),
    "mlp": ModelType(MLP, MLPConfig),
    "wavenet": ModelType(WaveNet, WaveNetConfig),
    "transformer": ModelType(GPT, GPTConfig, fixed_context=False, from_data=("vocab_size", "block_size"),
                             defaults={"n_layer": 4, "n_head": 4, "n_embd": 64}),  # makemore's transformer
}
# --8<-- [end:registry]

DEFAULT_TYPE = "mlp"
FORMAT = "zh-makemore-2"  # marks our checkpoints, so any other file is refused with a clear message
POSITIVE, NON_NEGATIVE = cli.POSITIVE, cli.NON_NEGATIVE


@dataclass
class TrainOptions:
    """The command's own options (the model's come from its config); each says how it is checked,
    and ``train`` marks those that only training uses (refused with ``--sample-only``)."""

    max_steps: int = field(default=10_000, metadata={"help": "optimisation steps to run", "check": POSITIVE,
                                                     "train": True})
    eval_every: int = field(default=500, metadata={"help": "steps between train/val evaluations", "check": POSITIVE,
                                                   "train": True})
    batch_size: int = field(default=32, metadata={"help": "items (e.g. names) per step", "check": POSITIVE,
                                                  "train": True})
    learning_rate: float = field(default=1e-2, metadata={"help": "AdamW learning rate", "check": NON_NEGATIVE,
                                                         "train": True})
    final_lr_ratio: float = field(default=1.0, metadata={
        "help": "learning rate at the last step, as a fraction of --learning-rate, reached by a cosine "
                "(1: constant)", "check": cli.FRACTION, "train": True})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay", "check": NON_NEGATIVE,
                                                        "train": True})
    average_last: float = field(default=0.0, metadata={
        "help": "average the weights over this last fraction of the steps (stochastic weight averaging; 0: "
                "off); evaluations and the checkpoint then use the average", "check": cli.FRACTION, "train": True})
    max_len: int = field(default=100, metadata={
        "help": "the longest item accepted, in characters: a longer line is refused (every row of a batch is "
                "as long as the longest item, so one very long line would slow every step)", "check": POSITIVE})
    num_samples: int = field(default=10, metadata={"help": "samples printed at the end", "check": POSITIVE})
    temperature: float = field(default=1.0, metadata={
        "help": "divides the logits when sampling: below 1 safer, above 1 wilder", "check": cli.ABOVE_ZERO})
    seed: int = field(default=3407, metadata={"help": "seed of the initial weights, batches and samples",
                                              "check": cli.COUNT})
    threads: int = field(default=1, metadata={
        "help": "torch CPU threads (these models are small: more threads add overhead)", "check": POSITIVE})


def read_items(path: str | os.PathLike, max_len: int | None = None) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped of surrounding whitespace (`zh.data.items_of`).

    A byte-order mark at the start of the file (which some editors write) is not part of the first item.

    Raises:
        CLIError: the file is missing, is a folder, is not UTF-8, has no items, or has an item longer
            than ``max_len`` characters (the message gives its line number).
    """
    path = cli.check_file(path, "input file")
    try:
        text = read_utf8(path)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    items = items_of(text)
    if not items:
        raise CLIError(f"{path} has no items: it is empty or blank; put one item (e.g. a name) per line")
    if max_len is not None and max(map(len, items)) > max_len:
        number, line = next((i, line) for i, line in enumerate(text.split("\n"), 1) if len(line.strip()) > max_len)
        raise CLIError(f"{path}, line {number}: an item of {len(line.strip()):,} characters, longer than --max-len "
                       f"{max_len}; shorten the line, or raise --max-len (every step then takes longer)")
    return items


def choose_boundary(items: list[str]) -> str:
    """``"."`` as the start/end token if the data never uses it, else a newline (never inside a line)."""
    return "." if not any("." in item for item in items) else "\n"


def _kind(f: dataclasses.Field) -> type:
    """The type an option of field ``f`` parses to (an optional field's ``X | None`` gives ``X``)."""
    if isinstance(f.type, type):
        return f.type
    return {"int": int, "float": float, "bool": bool}[f.type.removesuffix(" | None")]


def config_fields() -> dict[str, dataclasses.Field]:
    """Every settable config field of every registered model (the union, by name)."""
    fields = {}
    for entry in MODELS.values():
        for f in dataclasses.fields(entry.config):
            if f.name not in entry.from_data:
                fields.setdefault(f.name, f)
    return fields


def build_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``makemore`` command's options to ``parser`` (the ``zh makemore`` subcommand's)."""
    parser.add_argument("input", help="text file with one item (e.g. a name) per line, UTF-8")
    parser.add_argument("--type", choices=sorted(MODELS), default=None,
                        help=f"model to train (default {DEFAULT_TYPE}; with --resume/--sample-only, the checkpoint's)")
    parser.add_argument("--work-dir", default="out", help="folder of the checkpoint model.pt (default: out)")
    parser.add_argument("--resume", action="store_true", help="continue training the checkpoint in --work-dir")
    parser.add_argument("--sample-only", action="store_true", help="only print samples from the checkpoint")
    for f in dataclasses.fields(TrainOptions):  # None: not given (see check_options)
        parser.add_argument(option_name(f.name), type=_kind(f), default=None,
                            help=f"{f.metadata['help']} (default {f.default})")
    group = parser.add_argument_group("model options (the model's config; defaults are each model's own)")
    for name, f in config_fields().items():
        help_text = f.metadata.get("help", "")
        if _kind(f) is bool:
            group.add_argument(option_name(name), dest=name, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        else:
            group.add_argument(option_name(name), dest=name, type=_kind(f), default=None, help=help_text)
    return parser


# --- 1. argument checks ---------------------------------------------------------------------------

def check_options(args: argparse.Namespace) -> dict:
    """Refuse out-of-range numbers, options that contradict each other, and a ``--work-dir`` that cannot
    be written; fill in the defaults of the options not given. Returns the model options given."""
    ours = dataclasses.fields(TrainOptions)
    cli.check_options(vars(args), {f.name: f.metadata["check"] for f in ours})
    if args.sample_only:
        if args.resume:
            raise CLIError("--sample-only and --resume contradict each other: choose one")
        training = [option_name(f.name) for f in ours if f.metadata.get("train") and getattr(args, f.name) is not None]
        if training:
            raise CLIError(f"--sample-only trains nothing; drop {', '.join(training)}")
    for f in ours:
        if getattr(args, f.name) is None:
            setattr(args, f.name, f.default)
    given = {name: getattr(args, name) for name in config_fields() if getattr(args, name) is not None}
    cli.check_options(given, {name: POSITIVE if _kind(config_fields()[name]) is int else NON_NEGATIVE
                              for name in given if _kind(config_fields()[name]) is not bool})
    work_dir = Path(args.work_dir)
    if work_dir.exists() and not work_dir.is_dir():
        raise CLIError(f"--work-dir {work_dir} is a file, not a folder; choose a folder for the checkpoint")
    return given


# --- 2. model resolution and the checkpoint -------------------------------------------------------

def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by this command; anything else raises ``CLIError``."""
    ckpt = cli.load_file(path, "a zh makemore checkpoint")
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CLIError(f"{path} is not a zh makemore checkpoint (of this version of zh)")
    if not isinstance(ckpt.get("model"), str) or ckpt["model"] not in MODELS:
        raise CLIError(f"{path} holds a {ckpt.get('model')!r} model, which this version of zh does not know")
    kinds = {"config": dict, "vocab": list, "state_dict": dict, "optimizer": dict, "step": int,
             "train_loss": float, "val_loss": float}
    wrong = [key for key, kind in kinds.items() if not isinstance(ckpt.get(key), kind)]
    if wrong:  # our format, but cut down or edited: say so here, not with a KeyError later
        raise CLIError(f"{path} is damaged: its {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} missing "
                       f"or not what this command writes")
    return ckpt


def describe_checkpoint(path: Path) -> str:
    """What ``path`` holds, in one phrase: nothing, a model (type, step, losses), or a file that is not ours."""
    if not path.exists():
        return f"no checkpoint was written ({path} does not exist)"
    try:
        ckpt = load_checkpoint(path)
    except CLIError as exc:
        return str(exc)
    return (f"{path} holds the {ckpt['model']!r} model of step {ckpt['step']} "
            f"(train loss {ckpt['train_loss']:.4f}, val loss {ckpt['val_loss']:.4f})")


@dataclass
class Setup:
    """What the command works on once the arguments are resolved."""

    model_type: str
    config: object
    vocab: CharVocab
    model: nn.Module
    ckpt: dict | None
    ckpt_path: Path


def resolve_model(args: argparse.Namespace, given: dict, items: list[str]) -> Setup:
    """The model to train or sample: a fresh one of ``--type``, or the checkpoint's (``--resume``/``--sample-only``)."""
    ckpt_path = Path(args.work_dir) / "model.pt"
    ckpt = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
    if args.resume or args.sample_only:
        if ckpt is None:
            raise CLIError(f"no checkpoint at {ckpt_path}: train a model first (without --resume/--sample-only)")
        if args.type is not None and args.type != ckpt["model"]:
            raise CLIError(f"{ckpt_path} holds a {ckpt['model']!r} model, not {args.type!r}; "
                           f"drop --type or choose another --work-dir")
        if given:
            raise CLIError(f"the model's shape comes from {ckpt_path}; drop {', '.join(map(option_name, given))}")
        model_type, vocab = ckpt["model"], CharVocab(tuple(ckpt["vocab"]))
        unknown = sorted(set("".join(items)) - set(vocab.itos[1:]))
        if unknown:
            raise CLIError(f"{args.input} has characters the checkpoint's model never saw: {''.join(unknown)!r}; "
                           f"train a new model in another --work-dir")
    else:
        if ckpt is not None:
            raise CLIError(f"{ckpt_path} already holds a trained {ckpt['model']!r} model (val loss "
                           f"{ckpt['val_loss']:.4f}); pass --resume to continue it, or choose another --work-dir")
        model_type = args.type or DEFAULT_TYPE
        entry = MODELS[model_type]
        accepted = {f.name for f in dataclasses.fields(entry.config)} - set(entry.from_data)
        foreign = [name for name in given if name not in accepted]
        if foreign:
            raise CLIError(f"{', '.join(map(option_name, foreign))} does not apply to the {model_type!r} model")
        vocab = CharVocab.from_words(items, boundary=choose_boundary(items))
    torch.manual_seed(args.seed)
    if ckpt is not None:
        try:
            config = MODELS[model_type].config(**ckpt["config"])
            model = MODELS[model_type].build(config)
            model.load_state_dict(ckpt["state_dict"])
        except (TypeError, ValueError, RuntimeError, KeyError):  # a file of our format, but damaged
            raise CLIError(f"{ckpt_path} is damaged: its weights do not fit the {model_type!r} model it "
                           f"names") from None
    else:
        data = {"vocab_size": len(vocab), "block_size": max(map(len, items)) + 1}
        try:
            config = MODELS[model_type].make_config(data, given)
            model = MODELS[model_type].build(config)
        except ValueError as exc:  # the config's own checks, e.g. n_embd not divisible by n_head
            raise CLIError(f"the {model_type!r} model cannot be built with these options: {exc}") from None
    if not MODELS[model_type].fixed_context and max(map(len, items)) + 1 > config.block_size:
        raise CLIError(f"{args.input} has an item of {max(map(len, items))} characters; the model reads at most "
                       f"{config.block_size} tokens (the start token included)")
    return Setup(model_type, config, vocab, model, ckpt, ckpt_path)


# --- 3. the training loop -------------------------------------------------------------------------

@torch.no_grad()
def mean_loss(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, rows: int = 512) -> float:
    """The mean loss per predicted character over all of ``(X, Y)``, in eval mode, ``rows`` rows at a time."""
    total, count = 0.0, 0
    with eval_mode(model):
        for i in range(0, len(X), rows):
            n = (Y[i : i + rows] != IGNORE).sum().item()
            total += model(X[i : i + rows], Y[i : i + rows])[1].item() * n
            count += n
    return total / count


def train(setup: Setup, args: argparse.Namespace, train_items: list[str], val_items: list[str]) -> None:
    """AdamW on minibatches of items; evaluate every ``--eval-every`` steps, save when val improves."""
    model, ckpt, ckpt_path = setup.model, setup.ckpt, setup.ckpt_path
    Xtr, Ytr = build_sequences(train_items, setup.vocab)
    Xva, Yva = build_sequences(val_items, setup.vocab)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    if args.resume:
        optimizer.load_state_dict(ckpt["optimizer"])
        for group in optimizer.param_groups:  # the command line, not the checkpoint, sets these
            group.update(lr=args.learning_rate, weight_decay=args.weight_decay)
    best = ckpt["val_loss"] if ckpt is not None else math.inf
    start = ckpt["step"] if args.resume else 0
    average = None
    if args.average_last:
        if any(name.endswith("running_mean") for name, _ in model.named_buffers()):
            raise CLIError(f"--average-last: the {setup.model_type} model has BatchNorm layers, whose running "
                           "statistics would not match the averaged weights; use it with a model without "
                           "BatchNorm (e.g. --type transformer)")
        average = ParameterAverage(list(model.parameters()), start=round(args.max_steps * (1 - args.average_last)))
    params = sum(p.numel() for p in model.parameters())
    print(f"{setup.model_type}: {params:,} parameters; {len(setup.vocab)} characters; "
          f"{len(train_items):,} train / {len(val_items):,} val items")
    g = torch.Generator().manual_seed(args.seed + start)  # a resumed run draws fresh batches
    model.train()
    # closed however the loop ends, so that an error or Ctrl-C is printed on a line of its own
    with tqdm(range(start, start + args.max_steps), desc="training", unit="step", file=sys.stderr) as bar:
        for step in bar:
            # cosine from --learning-rate down to final_lr_ratio of it over this run's steps (flat when the ratio is 1)
            progress = (step - start) / max(args.max_steps - 1, 1)
            cosine = 0.5 * (1 + math.cos(math.pi * progress))
            for group in optimizer.param_groups:
                group["lr"] = args.learning_rate * (args.final_lr_ratio + (1 - args.final_lr_ratio) * cosine)
            ix = torch.randint(0, len(Xtr), (args.batch_size,), generator=g)
            _, loss = model(Xtr[ix], Ytr[ix])
            cli.check_loss(loss.item(), step + 1, f"{ckpt_path} still holds the best model so far; try a smaller "
                                                  f"--learning-rate (this run: {args.learning_rate:g})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if average is not None:
                average(optimizer.param_groups[0]["lr"], [], [])
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            done = step + 1
            if done % args.eval_every and done != start + args.max_steps:
                continue
            evaluated, averaged = model, ""
            if average is not None and average.count:  # evaluate (and save) the average, on a copy: training goes on
                evaluated = copy.deepcopy(model)
                average.apply(evaluated.parameters())
                averaged = f" (weights averaged over the last {average.count:,} steps)"
            train_loss, val_loss = mean_loss(evaluated, Xtr, Ytr), mean_loss(evaluated, Xva, Yva)
            message = f"step {done}: train loss {train_loss:.4f}, val loss {val_loss:.4f}{averaged}"
            if val_loss < best:
                best = val_loss
                cli.save_atomic(ckpt_path, {
                    "format": FORMAT, "model": setup.model_type, "config": dataclasses.asdict(setup.config),
                    "vocab": list(setup.vocab.itos), "state_dict": evaluated.state_dict(),
                    "optimizer": optimizer.state_dict(), "step": done,
                    "train_loss": train_loss, "val_loss": val_loss,
                })
                message += f"; saved {ckpt_path}"
            else:
                message += f"; not saved ({ckpt_path} has val loss {best:.4f})"
            tqdm.write(message)


def print_samples(setup: Setup, args: argparse.Namespace, train_items: set[str], max_len: int) -> None:
    """``--num-samples`` items from the model, each labelled ``in train`` or ``new``."""
    g = torch.Generator().manual_seed(args.seed)
    words = sample_words(setup.model, setup.vocab, args.num_samples, generator=g, max_len=max_len,
                         temperature=args.temperature, prompt_length=1)
    print(f"{args.num_samples} samples ('in train': the word is in the training items; 'new': it is not)")
    for word in words:
        print(f"  {'in train' if word in train_items else 'new':8}  {word if word else '(empty)'}")


def run(args: argparse.Namespace) -> int:
    """Train and/or sample as ``args`` say; raises ``CLIError`` on bad input, before anything is written."""
    given = check_options(args)
    items = read_items(args.input, args.max_len)
    torch.set_num_threads(args.threads)
    setup = resolve_model(args, given, items)
    train_items, val_items, _ = split_words(items)
    if not args.sample_only:
        if not val_items:
            raise CLIError(f"{args.input} has {len(items)} items; at least {MIN_SPLIT_ITEMS} are needed to hold "
                           f"out one for validation")
        cli.prepare_folder(setup.ckpt_path.parent, f"--work-dir {args.work_dir}")
        with cli.exclusive(setup.ckpt_path, "--work-dir"):
            train(setup, args, train_items, val_items)
    print_samples(setup, args, set(train_items), max_len=2 * max(map(len, items)))
    return 0


def run_safely(args: argparse.Namespace) -> int:
    """``run``, with input errors and Ctrl-C reported as one line instead of a traceback (`zh.cli.run_safely`).

    Returns the exit status: 0 done, 2 bad input, 130 interrupted.
    """
    return cli.run_safely("zh makemore", run, args,
                          interrupted=lambda: describe_checkpoint(Path(args.work_dir) / "model.pt"))
