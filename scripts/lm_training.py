"""What the tiny-shakespeare training scripts (train_gpt.py, train_bert.py) share.

The command line (presets whose every number can be overridden, ``--quick``, ``--checkpoint`` /
``--resume``), random windows of the text, the learning-rate schedule, AdamW with decay on the
matrices only, the training loop with its progress bar and periodic evaluation, checkpoints
that a killed run can resume from, data parallelism under ``torchrun`` (`DataParallel`), and the
record of a finished run in ``docs/results/``.

Bad input is refused before any work, as ``zh makemore`` does it (`zh.cli`): every option is
checked, an existing ``--checkpoint`` is replaced only with ``--overwrite``, checkpoints are read
with ``weights_only=True``, and a run that diverges stops at once. `main` runs a script's
``main`` that way: one line and exit status 2 for bad input, 130 for Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

import results

from zh import cli
from zh.cli import CLIError
from zh.nn import eval_mode

#: How each number of the command line is checked (`zh.cli.RULES`); a script adds its own (``rules``).
RULES = {
    "n_layer": cli.POSITIVE, "n_head": cli.POSITIVE, "n_embd": cli.POSITIVE, "block_size": cli.POSITIVE,
    "batch_size": cli.POSITIVE, "max_iters": cli.POSITIVE, "warmup": cli.COUNT, "lr": cli.NON_NEGATIVE,
    "min_lr": cli.NON_NEGATIVE, "beta1": cli.PROBABILITY, "beta2": cli.PROBABILITY, "weight_decay": cli.NON_NEGATIVE,
    "grad_clip": cli.ABOVE_ZERO, "dropout": cli.PROBABILITY, "attn_dropout": cli.PROBABILITY,
    "eval_interval": cli.POSITIVE, "eval_iters": cli.POSITIVE, "seed": cli.COUNT, "threads": cli.POSITIVE,
    "time_budget": cli.ABOVE_ZERO, "stop_at": cli.POSITIVE,
}
#: What a checkpoint of these scripts is called in messages.
CHECKPOINT = "a checkpoint of train_gpt.py or train_bert.py"


def main(prog: str, function: Callable, argv=None) -> int:
    """Run a script's ``function(argv)`` as a command: bad input is one line and exit status 2, Ctrl-C 130."""
    return cli.run_safely(prog, function, argv,
                          interrupted=lambda: "the checkpoint (if any) holds the last evaluation's state")


def parse_args(doc: str, presets: dict, quick: dict, default: str, argv=None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None,
               rules: dict[str, str] | None = None) -> argparse.Namespace:
    """The shared command line: ``--preset``, an option for every number of a preset, and the rest.

    ``--quick`` replaces the preset's sizes by ``quick`` (a few steps of a tiny model, for the
    tests) and then needs ``--out-dir``, so its numbers never replace a full run's. ``extra``
    adds a script's own options to the parser, ``rules`` how their numbers are checked.

    Raises:
        CLIError: a number breaks its rule (`RULES`), options contradict each other, the device is
            not there, or ``--checkpoint`` would replace a file without ``--overwrite``.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(presets), default=default)
    for name, value in presets[default].items():  # every setting can be overridden
        if name not in ("time_budget", "bf16"):  # added below, with their help
            parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=None)
    parser.add_argument("--beta1", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads per process")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (under torchrun: cuda:<local rank>)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                        help="train under torch.autocast(bfloat16): the matrix products in bfloat16 (fast on CPUs "
                             "with AMX and on GPUs), the weights, optimizer and evaluations in --dtype")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds: the schedule runs on elapsed time, training stops when it is spent")
    parser.add_argument("--checkpoint", type=Path, default=None, help="file to save the training state to")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="start over, replacing the run in --checkpoint")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="leave after this step (saving the checkpoint), as if interrupted; resume later")
    parser.add_argument("--quick", action="store_true", help="a tiny model for a few steps, for the tests")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write results (default docs/results)")
    parser.add_argument("--no-results", action="store_true", help="write no results file (trials)")
    parser.add_argument("--name", default=None, help="name of the run in the results (default: the preset)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    settings = dict(presets[args.preset], **(quick if args.quick else {}))
    for name, value in settings.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.bf16 = bool(args.bf16)  # a preset without the setting trains in --dtype
    if args.quick and args.out_dir is None and not args.no_results:
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    for flag in ("resume", "overwrite", "stop_at"):
        if getattr(args, flag) not in (None, False) and args.checkpoint is None:
            parser.error(f"{cli.option_name(flag)} needs --checkpoint FILE")
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite contradict each other: continue the run, or start over")
    cli.check_options(vars(args), {**RULES, **(rules or {})})
    args.device = str(cli.check_device(args.device))
    if args.checkpoint is not None:
        check_checkpoint_path(args)
    args.name = args.name or args.preset + ("-quick" if args.quick else "")
    return args


def check_checkpoint_path(args) -> None:
    """``--resume`` needs a checkpoint there; a new run needs none there, or ``--overwrite`` and one of ours."""
    path = args.checkpoint
    if args.resume:
        load_checkpoint(path)
        return
    if path.exists():
        if not args.overwrite:
            raise CLIError(f"{path} already exists; pass --resume to continue its run, --overwrite to start "
                           f"over, or choose another --checkpoint")
        load_checkpoint(path)  # --overwrite replaces a run of ours, never another file
    cli.prepare_folder(path.parent, f"--checkpoint {path}")


def build_config(config_class: type, fields: dict, splits: dict, length: int):
    """``config_class(**fields)``, with its own checks as command-line errors, for texts ``splits`` that hold
    windows of ``length`` characters (a text shorter than one window is refused).

    Raises:
        CLIError: the config refuses the values (e.g. ``n_embd`` not divisible by ``n_head``), or a text
            is shorter than a window.
    """
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


def lr_at(step: int, args, progress: float | None = None) -> float:
    """Linear warm-up to ``lr`` over ``warmup`` steps, then a cosine from ``lr`` down to ``min_lr`` at ``max_iters``.

    ``progress`` (0 to 1), when given, replaces the fraction of steps done after the warm-up: a
    run with a wall-clock budget passes the fraction of its time used.
    """
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    if progress is None:
        progress = (step - args.warmup) / max(1, args.max_iters - args.warmup)
    return args.min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (args.lr - args.min_lr)


def make_optimizer(model: nn.Module, args) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices only (embeddings and Linear weights), not on biases and LayerNorms."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # fused: one kernel updates every parameter (on CPU ~10% of a small model's step, measured by hand)
    return torch.optim.AdamW(groups, lr=args.lr, betas=(args.beta1, args.beta2), fused=True)


def start_run(kind: type[nn.Module], config, args) -> tuple[nn.Module, torch.optim.AdamW, dict, int, list, float]:
    """The model, its optimizer and random sources: fresh from ``args.seed``, or resumed from ``args.checkpoint``.

    Seeded, so every process of a data-parallel run starts from the same weights and draws the
    same global batches (each keeps its own slice, see `DataParallel`).

    Returns:
        ``(model, optimizer, generators, step, history, seconds)``; ``step``, ``history`` and
        ``seconds`` (of training so far) are 0, ``[]`` and 0.0 for a fresh run.
    """
    torch.manual_seed(args.seed)
    model = kind(config).to(device=args.device, dtype=getattr(torch, args.dtype))
    optimizer = make_optimizer(model, args)
    generators = {"batch": torch.Generator().manual_seed(args.seed),
                  "eval": torch.Generator().manual_seed(args.seed + 1)}
    step, history, seconds = 0, [], 0.0
    if args.resume:
        state = load_checkpoint(args.checkpoint, config)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            for k, g in generators.items():
                g.set_state(state["generators"][k])
            set_rng_state(state["rng"], args.device)
            step, history, seconds = int(state["step"]), list(state["history"]), float(state["seconds"])
        except (KeyError, ValueError, RuntimeError, TypeError):
            raise CLIError(f"{args.checkpoint} cannot be resumed: it lacks part of a run's state or does not fit "
                           f"this model (damaged, or written by an older version of the script?)") from None
    return model, optimizer, generators, step, history, seconds


def rng_state(device: str) -> dict:
    """torch's global random state (dropout draws from it), and the GPU's when training on one."""
    state = {"cpu": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: str) -> None:
    """Restore what `rng_state` saved, so that a resumed run draws the dropout masks the uninterrupted one would."""
    torch.set_rng_state(state["cpu"])
    if torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def save_checkpoint(path: Path, model: nn.Module, optimizer, step: int, history: list, generators: dict,
                    args, seconds: float = 0.0, **extra) -> None:
    """Model, optimizer, step, history, training ``seconds`` and random state (generators and torch's,
    `rng_state`) in one file, written atomically; only tensors, numbers, strings, lists and dicts, so
    ``weights_only=True`` reads it."""
    state = {
        "config": asdict(model.config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "history": history,
        "seconds": seconds,
        "generators": {k: g.get_state() for k, g in generators.items()},
        "rng": rng_state(args.device),
        "args": {k: v for k, v in vars(args).items() if not isinstance(v, Path)},
        **extra,
    }
    cli.save_atomic(path, state)  # a run killed while saving never leaves a half-written checkpoint


def load_checkpoint(path: Path, config=None) -> dict:
    """The saved training state; with ``config``, refuses a checkpoint of another model shape, saying what differs.

    Raises:
        CLIError: the file is missing, unreadable, not a checkpoint of these scripts, or (with
            ``config``) of another shape.
    """
    state = cli.load_file(path, CHECKPOINT)
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict) or "model" not in state:
        raise CLIError(f"{path} is not {CHECKPOINT}")
    if config is not None:
        saved = state["config"]
        differ = [f"{k}: checkpoint {saved.get(k)!r}, now {v!r}" for k, v in asdict(config).items()
                  if saved.get(k) != v]
        if differ:
            raise CLIError(f"{path} holds a model of another configuration ({'; '.join(differ)}); resume with "
                           f"the same settings, or start a new run with another --checkpoint")
    return state


DIVERGED = ("try a smaller --lr or --grad-clip, or --dtype float64 (a --checkpoint holds the state of the last "
            "evaluation before it)")


def loadavg() -> list[float]:
    """The machine's load averages over 1, 5 and 15 minutes (how busy it was during a timed run)."""
    return [round(x, 2) for x in os.getloadavg()]


class DataParallel:
    """One process of a run, alone or one of ``torchrun``'s: its rank, how many there are, and DDP's wiring.

    Under ``torchrun`` (which sets ``RANK``) this joins the process group (gloo on CPU, NCCL on
    GPU, one GPU per process). Every process draws the same global batch of ``args.batch_size``
    and keeps its own slice (`loss_of`); DDP averages the gradients during ``backward()``, so
    every process takes the same step. Alone, it is rank 0 of 1 and changes nothing.
    """

    def __init__(self, args):
        self.distributed = "RANK" in os.environ  # set by torchrun
        if self.distributed:
            dist.init_process_group("nccl" if args.device.startswith("cuda") else "gloo")
            if args.device.startswith("cuda"):
                args.device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
                torch.cuda.set_device(args.device)
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        if args.batch_size % self.world:
            raise CLIError(f"--batch-size {args.batch_size} must be divisible by the number of processes "
                             f"({self.world})")
        self.master = self.rank == 0  # the process that logs, evaluates and saves
        self.local = slice(self.rank * args.batch_size // self.world, (self.rank + 1) * args.batch_size // self.world)
        self.ddp_model = None

    def wrap(self, model: nn.Module) -> None:
        """Train ``model`` through DDP from now on (after its weights are loaded: DDP copies rank 0's)."""
        self.ddp_model = DDP(model) if self.distributed else model

    def loss_of(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """This process's slice of the global batch, through the wrapped model: its loss."""
        return self.ddp_model(x[self.local], y[self.local])[1]  # under DDP, backward() also averages the gradients

    def clock(self) -> Callable | None:
        """For `train`'s ``shared_clock``: rank 0's clock decides, so every process takes the same steps."""
        if not self.distributed:
            return None

        def rank0_seconds(seconds: float) -> float:
            elapsed = torch.tensor([seconds], dtype=torch.float64)
            dist.broadcast(elapsed, 0)
            return elapsed.item()
        return rank0_seconds

    def max_replica_difference(self, model: nn.Module) -> float:
        """The largest absolute difference between any process's parameters and rank 0's (0.0 alone)."""
        if not self.distributed:
            return 0.0
        flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        reference = flat.clone()
        dist.broadcast(reference, 0)
        diff = (flat - reference).abs().max().reshape(1)
        dist.all_reduce(diff, op=dist.ReduceOp.MAX)
        return diff.item()

    def finish(self, model: nn.Module, checkpoint: Path | None) -> None:
        """Check DDP's promise (every process holds the same model), note it in the checkpoint, leave the group."""
        if not self.distributed:
            return
        replica_diff = self.max_replica_difference(model)
        if self.master:
            print(f"{self.world} processes; largest difference between their parameters: {replica_diff}")
            if checkpoint is not None:
                state = load_checkpoint(checkpoint)
                cli.save_atomic(checkpoint, {**state, "replica_max_difference": replica_diff})
        dist.barrier()  # the checkpoint is complete before any process goes on
        dist.destroy_process_group()


@torch.no_grad()
def estimate(model: nn.Module, splits: dict, batch: Callable, metrics: Callable, eval_iters: int,
             generator: torch.Generator) -> dict:
    """Means of ``metrics(model, *batch(data, generator))`` (a dict of floats) over ``eval_iters`` batches per split."""
    out = {}
    with eval_mode(model):
        for name, data in splits.items():
            rows = [metrics(model, *batch(data, generator)) for _ in range(eval_iters)]
            for key in rows[0]:
                out[f"{name}_{key}" if key != "loss" else name] = sum(r[key] for r in rows) / len(rows)
    return out


def train(model: nn.Module, optimizer, args, train_data: torch.Tensor, splits: dict, batch: Callable,
          metrics: Callable, generators: dict, step: int = 0, history: list | None = None,
          loss_of: Callable | None = None, master: bool = True, desc: str = "",
          shared_clock: Callable | None = None, seconds: float = 0.0) -> tuple[list, float, bool]:
    """Run AdamW steps up to ``args.max_iters``, evaluating (and checkpointing) every ``args.eval_interval`` steps.

    With ``args.time_budget`` (seconds) the cosine schedule follows the fraction of the budget
    spent (or of ``max_iters``, if further), and training stops when it is spent (or at
    ``max_iters``); the time counts evaluations too, and adds up over the sessions of a resumed run.
    ``args.stop_at`` leaves after that step, as if interrupted: the checkpoint is saved without
    an evaluation, so that the resumed run is the uninterrupted one, bit for bit. A loss that is
    not a finite number stops the run at once (`zh.cli.check_loss`), before it reaches a checkpoint.
    With ``args.checkpoint`` the master process holds its lock (`zh.cli.exclusive`) while it trains.

    Args:
        model: The model; ``model(x, y)`` returns ``(logits, loss)``.
        optimizer: From `make_optimizer`; its learning rate follows `lr_at`.
        args: The parsed command line (see `parse_args`).
        train_data: The text steps are drawn from.
        splits: ``{"train": ..., "val": ...}`` texts to evaluate on.
        batch: ``batch(data, generator) -> (x, y)``.
        metrics: ``metrics(model, x, y) -> {"loss": ..., ...}`` for one evaluation batch.
        generators: ``{"batch": ..., "eval": ...}`` random sources (saved in checkpoints).
        step: The step to start from (after a resume).
        history: The evaluations so far (after a resume).
        loss_of: ``loss_of(x, y)``: the training loss (default ``model(x, y)[1]``; a DDP wrapper goes here).
        master: Whether this process logs, evaluates and saves.
        desc: The progress bar's label.
        shared_clock: ``shared_clock(seconds) -> seconds``: makes every process of a data-parallel
            run use rank 0's clock, so that all take the same number of steps.
        seconds: The training time of the run this one resumes.

    Returns:
        ``(history, seconds, finished)``: one dict per evaluation, the training time of the whole
        run, and ``False`` if ``args.stop_at`` left before the end.
    """
    lock = cli.exclusive(args.checkpoint, "--checkpoint") if master and args.checkpoint else contextlib.nullcontext()
    with lock, tqdm(total=None if args.time_budget else args.max_iters, initial=step, disable=not master, desc=desc,
                    mininterval=2.0) as bar:  # closed however training ends: an error is printed on a line of its own
        return _train(model, optimizer, args, train_data, splits, batch, metrics, generators, step,
                      [] if history is None else history, loss_of or (lambda x, y: model(x, y)[1]), master, bar,
                      shared_clock, seconds)


def _train(model, optimizer, args, train_data, splits, batch, metrics, generators, step, history, loss_of, master,
           bar, shared_clock, spent_before) -> tuple[list, float, bool]:
    start = time.perf_counter()

    def elapsed() -> float:
        return time.perf_counter() - start + spent_before

    def save(at: int) -> None:
        if args.checkpoint is not None:
            save_checkpoint(args.checkpoint, model, optimizer, at, history, generators, args, seconds=elapsed())

    def evaluate_and_save(at: int) -> None:
        result = estimate(model, splits, batch, metrics, args.eval_iters, generators["eval"])
        cli.check_loss(result["val"], at, DIVERGED)
        history.append({"step": at, **{k: round(v, 4) for k, v in result.items()}, "seconds": round(elapsed(), 1)})
        bar.write(f"step {at}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
        save(at)

    progress = None
    autocast_device = torch.device(args.device).type
    last = min(args.max_iters, args.stop_at or args.max_iters)  # (--stop-at is at least 1)
    while step < last:
        if master and step % args.eval_interval == 0 and (not history or history[-1]["step"] != step):
            evaluate_and_save(step)
        if args.time_budget is not None:
            progress = (shared_clock or float)(elapsed()) / args.time_budget
            if progress >= 1:
                break
            # whichever of the budget and max_iters ends first
            progress = max(progress, (step - args.warmup) / max(1, args.max_iters - args.warmup))
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args, progress)
        x, y = batch(train_data, generators["batch"])
        with torch.autocast(device_type=autocast_device, dtype=torch.bfloat16, enabled=args.bf16):
            loss = loss_of(x, y)
        # reading the loss waits for the step (on a GPU); it is what tells a diverging run at once
        cli.check_loss(loss.item(), step + 1, DIVERGED)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        step += 1
        if master and step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        bar.update()
    finished = step == args.max_iters or progress is not None and progress >= 1
    if master and finished and (not history or history[-1]["step"] != step):
        evaluate_and_save(step)
    elif master and not finished:
        save(step)
    return history, elapsed(), finished


def record_run(script: str, args, model: nn.Module, history: list, settings: dict, measured: dict,
               columns: list[tuple[str, str, Callable[[dict], str]]]) -> dict:
    """Add this run to ``docs/results/<script>.json`` under ``args.name`` and rewrite ``<script>.md``.

    The runs of other presets are kept. ``measured`` holds the script's own figures (timings,
    whole-split losses...); ``columns`` are the table's columns between the steps and the load
    average, each ``(header, alignment, how a run fills it)``.
    """
    out_dir = Path(args.out_dir or results.RESULTS)
    path = out_dir / f"{script}.json"
    runs = json.loads(path.read_text())["runs"] if path.is_file() else {}
    runs[args.name] = {
        "preset": args.preset, "quick": args.quick, "config": asdict(model.config), "params": model.num_params(),
        "settings": settings, "threads": args.threads, "device": args.device,
        "steps": history[-1]["step"], "train": history[-1]["train"], "val": history[-1]["val"],
        **measured, "loadavg_end": loadavg(), "environment": results.environment(), "history": history,
    }
    write_runs(script, runs, columns, out_dir)
    return runs[args.name]


def write_runs(script: str, runs: dict, columns: list[tuple[str, str, Callable[[dict], str]]],
               out_dir: Path | None = None) -> None:
    """Write ``runs`` (name -> record of `record_run`) to ``<script>.json`` and their table to ``<script>.md``."""
    headers = ["run", "parameters", "layers/heads/width", "context", "batch", "steps",
               *(header for header, _, _ in columns), "load average (1 min) start → end", "measured"]
    aligns = ["---", "---:", "---", "---:", "---:", "---:", *(align for _, align, _ in columns), "---", "---"]
    rows = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    for name, r in runs.items():
        c = r["config"]
        cells = [name, f"{r['params']:,}", f"{c['n_layer']}/{c['n_head']}/{c['n_embd']}", str(c["block_size"]),
                 str(r["settings"]["batch_size"]), f"{r['steps']:,}", *(fill(r) for _, _, fill in columns),
                 f"{r['loadavg_start'][0]} → {r['loadavg_end'][0]}", r["environment"]["date"]]
        rows.append("| " + " | ".join(cells) + " |")
    results.write(script, {"runs": runs}, "\n".join(rows), out_dir=out_dir)
