"""The command line and the run that train_gpt.py and train_bert.py share; the loop itself is `zh.train.train`.

Presets whose every number can be overridden, ``--quick``, ``--checkpoint`` / ``--resume``, random
windows of the text, and `run`: a model trained from fresh or from a checkpoint, its losses
estimated every ``--eval-every`` steps (and the checkpoint saved then), with an optional
wall-clock budget. Data parallelism is in data_parallel.py, the result tables in results.py.
"""

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
from zh.nn import eval_mode

#: the argparse type of every number of a preset (`zh.cli.Rule`)
RULES = {
    "n_layer": cli.POSITIVE, "n_head": cli.POSITIVE, "n_embd": cli.POSITIVE, "block_size": cli.POSITIVE,
    "batch_size": cli.POSITIVE, "max_steps": cli.POSITIVE, "warmup": cli.COUNT, "learning_rate": cli.NON_NEGATIVE,
    "min_lr": cli.NON_NEGATIVE, "beta2": cli.PROBABILITY, "weight_decay": cli.NON_NEGATIVE, "grad_clip": cli.ABOVE_ZERO,
    "dropout": cli.PROBABILITY, "attn_dropout": cli.PROBABILITY, "eval_every": cli.POSITIVE, "eval_iters": cli.POSITIVE,
    "mask_prob": cli.SHARE,
}
FORMAT, CHECKPOINT = "zh-lm-1", "a checkpoint of train_gpt.py or train_bert.py"
DIVERGED = "try a smaller --learning-rate or --grad-clip (a --checkpoint holds the state of the last evaluation)"


def main(prog: str, function: Callable, argv=None) -> int:
    """Run a script's ``function(argv)`` as a command: bad input is one line and exit status 2, Ctrl-C 130."""
    return cli.run_safely(prog, function, argv,
                          interrupted=lambda: "the checkpoint (if any) holds the last evaluation's state")


def parse_args(prog: str, doc: str, presets: dict, quick: dict, default: str, argv=None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """``--preset``, an option for every number of a preset, and the rest; ``--quick`` replaces the preset's sizes
    by ``quick`` (and needs ``--out-dir``); ``extra(parser)`` adds a script's own options.

    Raises:
        CLIError: the device is not there, or ``--checkpoint`` would replace a file without ``--overwrite``.
    """
    parser = cli.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    add = parser.add_argument
    add("--preset", choices=sorted(presets), default=default)
    for name in presets[default]:  # every setting can be overridden
        if name not in ("time_budget", "bf16"):  # added below, with their help
            add(cli.option_name(name), type=RULES[name])
    add("--seed", type=cli.COUNT, default=1337)
    add("--threads", type=cli.POSITIVE, default=2, help="torch CPU threads per process")
    add("--device", default="cpu", help="cpu or cuda (under torchrun: cuda:<local rank>)")
    add("--bf16", action=argparse.BooleanOptionalAction, help="train under torch.autocast(bfloat16): the matrix "
        "products in bfloat16 (fast on CPUs with AMX and on GPUs), the weights, optimizer and evaluations in float32")
    add("--time-budget", type=cli.ABOVE_ZERO, help="seconds: the schedule runs on elapsed time, training stops when "
        "it is spent")
    add("--checkpoint", type=Path, help="file to save the training state to")
    add("--resume", action="store_true", help="continue from --checkpoint")
    add("--overwrite", action="store_true", help="start over, replacing the run in --checkpoint")
    add("--stop-at", type=cli.POSITIVE, help="leave after this step (saving the checkpoint), as if interrupted")
    add("--quick", action="store_true", help="a tiny model for a few steps, for the tests")
    add("--out-dir", type=Path, help="where to write results (default docs/results)")
    add("--no-results", action="store_true", help="write no results file (trials)")
    add("--name", help="name of the run in the results (default: the preset)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    for name, value in dict(presets[args.preset], **(quick if args.quick else {})).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.bf16 = bool(args.bf16)
    if args.quick and args.out_dir is None and not args.no_results:
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    for flag in ("resume", "overwrite", "stop_at"):
        if getattr(args, flag) not in (None, False) and args.checkpoint is None:
            parser.error(f"{cli.option_name(flag)} needs --checkpoint FILE")
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite contradict each other: continue the run, or start over")
    args.device = str(cli.check_device(args.device))
    if args.checkpoint is not None and (args.resume or args.checkpoint.exists()):
        if not (args.resume or args.overwrite):
            raise CLIError(f"{args.checkpoint} already exists; pass --resume to continue its run, --overwrite to "
                           f"start over, or choose another --checkpoint")
        load_checkpoint(args.checkpoint)  # --overwrite replaces a run of ours, never another file
    if args.checkpoint is not None:
        cli.prepare_folder(args.checkpoint.parent, f"--checkpoint {args.checkpoint}")
    args.name = args.name or args.preset + ("-quick" if args.quick else "")
    return args


def load_checkpoint(path: Path, config=None) -> dict:
    """A checkpoint of these scripts (`zh.train.load_checkpoint`); with ``config``, one of that model shape."""
    state = training.load_checkpoint(path, FORMAT, CHECKPOINT)
    differ = [f"{k}: checkpoint {state['config'].get(k)!r}, now {v!r}" for k, v in asdict(config or {}).items()
              if state["config"].get(k) != v] if config is not None else []
    if differ:
        raise CLIError(f"{path} holds a model of another configuration ({'; '.join(differ)}); resume with "
                       f"the same settings, or start a new run with another --checkpoint")
    return state


def build_config(config_class: type, fields: dict, splits: dict, length: int):
    """``config_class(**fields)`` for texts ``splits`` cut in windows of ``length``; `CLIError` if it cannot be."""
    try:
        config = config_class(**fields)
    except ValueError as exc:
        raise CLIError(f"the model cannot be built with these options: {exc}") from None
    for name, data in splits.items():
        if len(data) < length:
            raise CLIError(f"--block-size {fields['block_size']} needs windows of {length} characters; the {name} "
                           f"text has only {len(data):,}")
    return config


def random_windows(data: torch.Tensor, batch_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """``(batch_size, length)``: windows of ``data`` starting at random places."""
    start = torch.randint(len(data) - length + 1, (batch_size,), generator=generator)
    return data.unfold(0, length, 1)[start.to(data.device)]  # a view of the text: no copy


@torch.no_grad()
def estimate_loss(model: nn.Module, splits: dict, batch: Callable, metrics: Callable, eval_iters: int,
                  generator: torch.Generator) -> dict:
    """Means of ``metrics(model, *batch(data, generator))`` (a dict of floats) over ``eval_iters`` batches per split."""
    out = {}
    with eval_mode(model):
        for name, data in splits.items():
            rows = [metrics(model, *batch(data, generator)) for _ in range(eval_iters)]
            for key in rows[0]:
                out[f"{name}_{key}" if key != "loss" else name] = sum(r[key] for r in rows) / len(rows)
    return out


def run(kind: type[nn.Module], config, args, procs, splits: dict, batch: Callable, metrics: Callable,
        name: str) -> tuple[nn.Module, list, float, bool]:
    """Train a ``kind(config)``, fresh from ``args.seed`` or resumed from ``args.checkpoint``, with `zh.train.train`.

    Seeded, so every process of a data-parallel run (``procs``) starts from the same weights and
    draws the same global batches. The master process estimates the losses every ``eval_every``
    steps (`estimate_loss`) and saves the checkpoint then; ``--stop-at`` saves and leaves. With
    ``--time-budget`` the cosine follows the budget spent (or the steps, if further) and the run
    ends when it is spent; the time adds up over the sessions of a resumed run.

    Returns:
        ``(model, history, seconds, finished)``: one dict per evaluation, and the training time.
    """
    torch.manual_seed(args.seed)
    model = kind(config).to(args.device)
    optimizer = training.configure_optimizer(model, args.learning_rate, args.weight_decay, betas=(0.9, args.beta2))
    generators = {name: torch.Generator().manual_seed(args.seed + i) for i, name in enumerate(("batch", "eval"))}
    step, history, spent = 0, [], 0.0
    if args.resume:
        state = load_checkpoint(args.checkpoint, config)
        training.restore(args.checkpoint, state, model, optimizer)
        for k, g in generators.items():
            g.set_state(state["generators"][k])
        step, history, spent = state["step"], list(state["history"]), float(state["seconds"])
    procs.wrap(model)
    start, budget_spent, clock = time.perf_counter(), False, procs.clock() or float

    def elapsed() -> float:
        return time.perf_counter() - start + spent

    def save(at: int) -> None:
        if args.checkpoint is not None:
            training.save_checkpoint(args.checkpoint, model, optimizer, at, format=FORMAT, config=asdict(config),
                                     history=history, seconds=elapsed(),
                                     generators={k: g.get_state() for k, g in generators.items()},
                                     args={k: v for k, v in vars(args).items() if not isinstance(v, Path)})

    def evaluate(at: int) -> None:
        result = estimate_loss(model, splits, batch, metrics, args.eval_iters, generators["eval"])
        cli.check_loss(result["val"], at, DIVERGED)
        history.append({"step": at, **{k: round(v, 4) for k, v in result.items()}, "seconds": round(elapsed(), 1)})
        tqdm.write(f"step {at}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
        save(at)

    def lr_of(at: int) -> float | None:
        nonlocal budget_spent
        progress = None
        if args.time_budget is not None:
            progress = clock(elapsed()) / args.time_budget
            if progress >= 1:
                budget_spent = True
                return None
            progress = max(progress, (at - args.warmup) / max(1, args.max_steps - args.warmup))  # whichever ends first
        return training.lr_at(at, args.learning_rate, args.min_lr, args.warmup, args.max_steps, progress)

    def loss_of(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=torch.device(args.device).type, dtype=torch.bfloat16, enabled=args.bf16):
            return procs.loss_of(x, y)

    master_saves = procs.master and args.checkpoint is not None
    with cli.exclusive(args.checkpoint, "--checkpoint") if master_saves else contextlib.nullcontext():
        if procs.master and step % args.eval_every == 0 and (not history or history[-1]["step"] != step):
            evaluate(step)
        step = training.train(
            model, optimizer, lambda: batch(splits["train"], generators["batch"]), min(args.max_steps, args.stop_at or
            args.max_steps), step=step, lr_of=lr_of, loss_of=loss_of, grad_clip=args.grad_clip,
            eval_every=args.eval_every, evaluate=evaluate if procs.master else None, hint=DIVERGED,
            progress={"desc": f"{name} {model.num_params():,} params", "disable": not procs.master,
                      "total": None if args.time_budget else args.max_steps, "mininterval": 2.0})
        finished = step == args.max_steps or budget_spent
        if procs.master and finished and history[-1]["step"] != step:
            evaluate(step)
        elif procs.master and not finished:
            save(step)
    return model, history, elapsed(), finished
