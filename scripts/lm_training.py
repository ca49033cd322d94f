"""What train_gpt.py and train_bert.py share: presets (`parse_args`), the run (`run`, by `zh.train.train`)."""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
from tqdm import tqdm

from zh import cli
from zh import train as training
from zh.cli import CLIError

#: the argparse type of a preset's number (`zh.cli.Rule`) where it is not POSITIVE (whole) or NON_NEGATIVE (other)
RULES = dict(warmup=cli.COUNT, beta2=cli.PROBABILITY, grad_clip=cli.ABOVE_ZERO, dropout=cli.PROBABILITY,
             attn_dropout=cli.PROBABILITY, mask_prob=cli.SHARE, time_budget=cli.ABOVE_ZERO)
FORMAT, CHECKPOINT = "zh-lm-1", "a checkpoint of train_gpt.py or train_bert.py"
DIVERGED = "try a smaller --learning-rate or --grad-clip (a --checkpoint holds the state of the last evaluation)"


def main(prog: str, function: Callable, argv=None) -> int:
    """Run a script's ``function(argv)`` as a command: bad input is one line and exit status 2, Ctrl-C 130."""
    return cli.run_safely(prog, function, argv, interrupted=lambda: "the checkpoint (if any) holds the last evaluation")


def parse_args(prog: str, doc: str, presets: dict, quick: dict, default: str, argv=None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """``--preset``, an option for each of its numbers (``--quick``: those of ``quick``, a tiny model for the tests),
    and ``extra(parser)``'s; `CLIError`: no such device, or ``--checkpoint`` would replace a file unasked."""
    parser = cli.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    add = parser.add_argument
    add("--preset", choices=sorted(presets), default=default)
    for name in [n for n in dict.fromkeys([*presets[default], "time_budget"]) if n != "bf16"]:  # (bf16: a flag)
        whole = type(presets[default].get(name)) is int
        add(cli.option_name(name), type=RULES.get(name, cli.POSITIVE if whole else cli.NON_NEGATIVE))
    add("--bf16", action=argparse.BooleanOptionalAction, help="matrix products in bfloat16 (torch.autocast)")
    add("--seed", type=cli.COUNT, default=1337)
    add("--threads", type=cli.POSITIVE, default=2, help="torch CPU threads per process")
    add("--device", default="cpu", help="cpu or cuda (under torchrun: cuda:<local rank>)")
    add("--checkpoint", type=Path, help="file to save the training state to, at every evaluation")
    for flag, help_text in (("--resume", "continue from --checkpoint"), ("--quick", "a tiny model, for the tests"),
                            ("--overwrite", "start over, replacing the run in --checkpoint"),
                            ("--no-results", "write no results file (trials)")):
        add(flag, action="store_true", help=help_text)
    add("--stop-at", type=cli.POSITIVE, help="leave after this step (saving the checkpoint), as if interrupted")
    add("--out-dir", type=Path, help="where to write results (default docs/results)")
    add("--name", help="name of the run in the results (default: the preset)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    for name, value in dict(presets[args.preset], **(quick if args.quick else {})).items():
        setattr(args, name, value if getattr(args, name) is None else getattr(args, name))
    args.bf16, args.name = bool(args.bf16), args.name or args.preset + ("-quick" if args.quick else "")
    if args.quick and args.out_dir is None and not args.no_results:
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    for flag in ("resume", "overwrite", "stop_at"):
        if getattr(args, flag) and args.checkpoint is None:
            parser.error(f"{cli.option_name(flag)} needs --checkpoint FILE")
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite contradict each other: continue the run, or start over")
    args.device = str(cli.check_device(args.device))
    args.resumed = None  # with --resume, the checkpoint's state (`run` continues it)
    if args.checkpoint is not None:
        if args.checkpoint.exists() and not (args.resume or args.overwrite):
            raise CLIError(f"{args.checkpoint} already exists; pass --resume to continue its run, --overwrite to "
                           f"start over, or choose another --checkpoint")
        if args.resume or args.checkpoint.exists():  # --overwrite replaces a run of ours, never another file
            state = training.load_checkpoint(args.checkpoint, FORMAT, CHECKPOINT)
            args.resumed = state if args.resume else None
        cli.prepare_folder(args.checkpoint.parent, f"--checkpoint {args.checkpoint}")
    return args


def run(kind: type[nn.Module], config_class: type, fields: dict, window: int, args, procs, splits: dict,
        batch: Callable, metrics: Callable) -> tuple[nn.Module, list, float, bool]:
    """Train ``kind(config_class(**fields))`` on windows of ``window`` characters of ``splits`` (`zh.train.train`),
    fresh from ``--seed`` (so every process of ``procs`` starts alike) or resumed; the master estimates the losses
    and saves every ``--eval-every`` steps. A ``--time-budget`` drives the cosine and ends the run (over resumed
    sessions too). Returns ``(model, history, seconds of training, finished)``."""
    try:
        config = config_class(**fields)
    except ValueError as exc:  # the config's own checks, e.g. n_embd not divisible by n_head
        raise CLIError(f"the model cannot be built with these options: {exc}") from None
    if short := [f"the {name} text has only {len(data):,}" for name, data in splits.items() if len(data) < window]:
        raise CLIError(f"--block-size {config.block_size} needs windows of {window} characters; {short[0]}")
    torch.manual_seed(args.seed)
    model = kind(config).to(args.device)
    optimizer = training.configure_optimizer(model, args.learning_rate, args.weight_decay, betas=(0.9, args.beta2))
    generators = {name: torch.Generator().manual_seed(args.seed + i) for i, name in enumerate(("batch", "eval"))}
    step, history, spent, budget_spent = 0, [], 0.0, False
    if args.resume:
        state = args.resumed  # read and checked by parse_args
        if differ := [f"{k}: checkpoint {state['config'].get(k)!r}, now {v!r}" for k, v in asdict(config).items()
                      if state["config"].get(k) != v]:
            raise CLIError(f"{args.checkpoint} holds a model of another configuration ({'; '.join(differ)}); resume "
                           f"with the same settings, or start a new run with another --checkpoint")
        training.restore(args.checkpoint, state, model, optimizer)
        for k, g in generators.items():
            g.set_state(state["generators"][k])
        step, history, spent = state["step"], list(state["history"]), float(state["seconds"])
    procs.wrap(model)
    start = time.perf_counter() - spent  # the training time adds up over the sessions of a resumed run

    def elapsed() -> float:
        return time.perf_counter() - start

    def save(at: int) -> None:
        if args.checkpoint is not None:
            training.save_checkpoint(args.checkpoint, model, optimizer, at, format=FORMAT, config=asdict(config),
                                     history=history, seconds=elapsed(), batch_size=args.batch_size,
                                     generators={k: g.get_state() for k, g in generators.items()})

    def evaluate(at: int) -> None:
        result = training.estimate_loss(model, splits, lambda data: batch(data, generators["eval"]), metrics,
                                        args.eval_iters)
        cli.check_loss(result["val"], at, DIVERGED)
        history.append({"step": at, **{k: round(v, 4) for k, v in result.items()}, "seconds": round(elapsed(), 1)})
        tqdm.write(f"step {at}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
        save(at)

    def lr_of(at: int) -> float | None:
        nonlocal budget_spent
        if args.time_budget is None:
            return training.lr_at(at, args.learning_rate, args.min_lr, args.warmup, args.max_steps)
        used = procs.rank0_seconds(elapsed()) / args.time_budget  # rank 0's clock, so that all processes stop together
        budget_spent, steps_done = used >= 1, (at - args.warmup) / max(1, args.max_steps - args.warmup)
        return None if budget_spent else training.lr_at(  # the cosine follows the budget or the steps, the further
            at, args.learning_rate, args.min_lr, args.warmup, args.max_steps, max(used, steps_done))

    master_saves = procs.master and args.checkpoint is not None
    with cli.exclusive(args.checkpoint, "--checkpoint") if master_saves else contextlib.nullcontext():
        if procs.master and step % args.eval_every == 0 and (not history or history[-1]["step"] != step):
            evaluate(step)
        step = training.train(
            model, optimizer, lambda: batch(splits["train"], generators["batch"]),
            min(args.max_steps, args.stop_at or args.max_steps), lr_of, step=step, loss_of=procs.loss_of,
            grad_clip=args.grad_clip, eval_every=args.eval_every, evaluate=evaluate if procs.master else None,
            hint=DIVERGED, progress={"desc": f"{kind.__name__} {model.num_params():,} params", "mininterval": 2.0,
                                     "disable": not procs.master,
                                     "total": None if args.time_budget else args.max_steps})
        finished = step == args.max_steps or budget_spent
        if procs.master and finished and history[-1]["step"] != step:
            evaluate(step)
        elif procs.master and not finished:
            save(step)
    return model, history, elapsed(), finished
