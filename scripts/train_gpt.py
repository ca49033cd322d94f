"""Train the character-level GPT of zh.models.gpt on tiny shakespeare.

    python scripts/train_gpt.py --preset nanogpt-cpu        # nanoGPT's CPU configuration (~2 min on 2 cores)
    python scripts/train_gpt.py --preset best               # the best model found for 15 min on 2 cores
    python scripts/train_gpt.py --quick --out-dir /tmp/x    # a few steps, for the tests
    torchrun --standalone --nproc_per_node=2 scripts/train_gpt.py ...   # the same, data-parallel (DDP)

The split is the first 90% of the characters for training, the last 10% for validation. Every
``--eval-interval`` steps the train and validation losses are estimated on ``--eval-iters`` random
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
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402

from zh.data import load_shakespeare
from zh.models.gpt import GPT, GPTConfig
from zh.models.training import eval_mode

TRAIN_CHARS, VAL_CHARS = 1_003_854, 111_540  # the 90/10 split of tiny shakespeare's 1,115,394 characters

# nanoGPT's CPU recipe for shakespeare-char, and the best one measured here for 15 min on 2 cores
PRESETS = {
    "nanogpt-cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_iters=2000,
                        lr=1e-3, min_lr=1e-4, warmup=100, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
                        dropout=0.0, eval_interval=250, eval_iters=20),
    "best": dict(n_layer=4, n_head=4, n_embd=128, block_size=128, batch_size=16, max_iters=6000,
                 lr=1e-3, min_lr=1e-4, warmup=100, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
                 dropout=0.0, eval_interval=500, eval_iters=20),
}
QUICK = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, max_iters=20, warmup=5,
             eval_interval=10, eval_iters=2)
MODEL_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "dropout")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="nanogpt-cpu")
    for name, value in PRESETS["nanogpt-cpu"].items():  # every setting can be overridden
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=None)
    parser.add_argument("--beta1", type=float, default=0.9)
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds: the schedule runs on elapsed time, training stops when it is spent")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads per process")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (under torchrun: cuda:<local rank>)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--checkpoint", type=Path, default=None, help="file to save the training state to")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--stop-at", type=int, default=None,
                        help="leave after this step (saving the checkpoint), as if interrupted; resume later")
    parser.add_argument("--sample-chars", type=int, default=500, help="length of the sample written at the end")
    parser.add_argument("--quick", action="store_true", help="a tiny model for a few steps, for the tests")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write results (default docs/results)")
    parser.add_argument("--no-results", action="store_true", help="write no results file (trials)")
    parser.add_argument("--name", default=None, help="name of the run in the results (default: the preset)")
    args = parser.parse_args(argv)
    settings = dict(PRESETS[args.preset], **(QUICK if args.quick else {}))
    for name, value in settings.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.quick and args.out_dir is None and not args.no_results:
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    if args.resume and args.checkpoint is None:
        parser.error("--resume needs --checkpoint FILE to resume from")
    args.name = args.name or args.preset + ("-quick" if args.quick else "")
    return args


def shakespeare_splits(device="cpu") -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """The character vocabulary and the train and validation text as id tensors (90/10 split)."""
    text = load_shakespeare()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long, device=device)
    n = int(0.9 * len(data))
    train, val = data[:n], data[n:]
    assert (len(train), len(val)) == (TRAIN_CHARS, VAL_CHARS), f"unexpected split {len(train)} / {len(val)}"
    return chars, train, val


def get_batch(data: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator):
    """``batch_size`` random windows of ``block_size + 1`` characters: inputs and next-character targets."""
    start = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    windows = data.unfold(0, block_size + 1, 1)[start.to(data.device)]  # a view: no copy of the text
    return windows[:, :-1], windows[:, 1:]


def lr_at(step: int, args, progress: float | None = None) -> float:
    """Linear warm-up to ``lr`` over ``warmup`` steps, then a cosine from ``lr`` down to ``min_lr``.

    The cosine ends at ``max_iters``, or, when ``progress`` (the fraction of a time budget spent) is
    given, when the budget is spent.
    """
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    if progress is None:
        progress = (step - args.warmup) / max(1, args.max_iters - args.warmup)
    progress = min(1.0, progress)
    return args.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (args.lr - args.min_lr)


def make_optimizer(model: GPT, args) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices only (embeddings and Linear weights), not on biases and LayerNorms."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=args.lr, betas=(args.beta1, args.beta2))


@torch.no_grad()
def estimate_loss(model: GPT, splits: dict, args, generator: torch.Generator) -> dict:
    """Mean loss on ``eval_iters`` random batches of each split."""
    out = {}
    with eval_mode(model):
        for name, data in splits.items():
            losses = [model(*get_batch(data, args.batch_size, args.block_size, generator))[1]
                      for _ in range(args.eval_iters)]
            out[name] = torch.stack(losses).mean().item()
    return out


@torch.no_grad()
def full_loss(model: GPT, data: torch.Tensor, block_size: int, batch_size: int = 64) -> float:
    """Mean loss over all of ``data`` cut into consecutive windows of ``block_size`` (every character predicted once)."""
    n = (len(data) - 1) // block_size
    x = data[: n * block_size].view(n, block_size)
    y = data[1: n * block_size + 1].view(n, block_size)
    total = 0.0
    with eval_mode(model):
        for i in range(0, n, batch_size):
            total += model(x[i:i + batch_size], y[i:i + batch_size])[1].item() * len(x[i:i + batch_size])
    return total / n


def save_checkpoint(path: Path, model: GPT, optimizer, step: int, history: list, generators: dict, args) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "config": asdict(model.config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "history": history,
        "generators": {k: g.get_state() for k, g in generators.items()},
        "args": {k: v for k, v in vars(args).items() if not isinstance(v, Path)},
    }
    tmp = path.with_suffix(path.suffix + ".part")
    torch.save(state, tmp)
    tmp.replace(path)  # a run killed while saving never leaves a half-written checkpoint


def load_checkpoint(path: Path, config: GPTConfig) -> dict:
    """The saved training state; refuses a checkpoint of another model shape, saying what differs."""
    if not path.is_file():
        raise SystemExit(f"--resume: there is no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    saved = state["config"]
    differ = [f"{k}: checkpoint {saved.get(k)!r}, now {v!r}" for k, v in asdict(config).items() if saved.get(k) != v]
    if differ:
        raise SystemExit(f"--resume: {path} holds a model of another configuration ({'; '.join(differ)}). "
                         "Resume with the same settings, or start a new run with another --checkpoint.")
    return state


def max_replica_difference(model: GPT) -> float:
    """The largest absolute difference between any process's parameters and rank 0's."""
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    reference = flat.clone()
    dist.broadcast(reference, 0)
    diff = (flat - reference).abs().max().reshape(1)
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return diff.item()


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    wall_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    distributed = "RANK" in os.environ  # set by torchrun
    if distributed:
        backend = "nccl" if args.device.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if args.device.startswith("cuda"):
            args.device = f"cuda:{int(os.environ['LOCAL_RANK'])}"
            torch.cuda.set_device(args.device)
    else:
        rank, world = 0, 1
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must be divisible by the number of processes ({world})")
    master = rank == 0
    dtype = getattr(torch, args.dtype)
    load_start = loadavg()

    chars, train, val = shakespeare_splits(args.device)
    config = GPTConfig(vocab_size=len(chars), **{k: getattr(args, k) for k in MODEL_FIELDS})
    torch.manual_seed(args.seed)  # the same initial weights in every process
    model = GPT(config).to(device=args.device, dtype=dtype)
    optimizer = make_optimizer(model, args)
    # every process draws the same global batch and keeps its own slice of it
    generators = {"batch": torch.Generator().manual_seed(args.seed), "eval": torch.Generator().manual_seed(args.seed + 1)}
    step, history = 0, []
    if args.resume:
        state = load_checkpoint(args.checkpoint, config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        for k, g in generators.items():
            g.set_state(state["generators"][k])
    ddp_model = DDP(model) if distributed else model
    local = slice(rank * args.batch_size // world, (rank + 1) * args.batch_size // world)
    splits = {"train": train, "val": val}

    def evaluate_and_save(at: int) -> None:
        losses = estimate_loss(model, splits, args, generators["eval"])
        history.append({"step": at, **{k: round(v, 4) for k, v in losses.items()},
                        "seconds": round(time.perf_counter() - train_start + spent_before, 1)})
        bar.write(f"step {at}: train {losses['train']:.4f}, val {losses['val']:.4f}")
        if args.checkpoint is not None:
            save_checkpoint(args.checkpoint, model, optimizer, at, history, generators, args)

    bar = tqdm(total=args.max_iters, initial=step, disable=not master, desc=f"GPT {model.num_params():,} params",
               mininterval=2.0)
    train_start = time.perf_counter()
    spent_before = history[-1]["seconds"] if history else 0.0  # training time of the run this one resumes
    progress = None
    while step < min(args.max_iters, args.stop_at or args.max_iters):
        if master and step % args.eval_interval == 0 and (not history or history[-1]["step"] != step):
            evaluate_and_save(step)
        if args.time_budget is not None:
            # rank 0's clock decides, so that every process takes the same number of steps
            elapsed = torch.tensor([time.perf_counter() - train_start + spent_before], dtype=torch.float64)
            if distributed:
                dist.broadcast(elapsed, 0)
            progress = elapsed.item() / args.time_budget
            if progress >= 1:
                break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args, progress)
        x, y = get_batch(train, args.batch_size, args.block_size, generators["batch"])
        _, loss = ddp_model(x[local], y[local])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DDP this also averages the gradients over the processes
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        step += 1
        if master and step % 50 == 0:  # reading the loss waits for the step; do it rarely
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        bar.update()
    if master and (not history or history[-1]["step"] != step):
        evaluate_and_save(step)
    bar.close()
    train_seconds = time.perf_counter() - train_start + spent_before
    if distributed:
        replica_diff = max_replica_difference(model)  # DDP's promise: every process holds the same model
        if master:
            bar.write(f"{world} processes; largest difference between their parameters: {replica_diff}")
            if args.checkpoint is not None:
                state = torch.load(args.checkpoint, weights_only=False)
                torch.save({**state, "replica_max_difference": replica_diff}, args.checkpoint)

    out = None
    if master and not args.no_results:
        val_full = full_loss(model, val, config.block_size)
        prompt = torch.tensor([[chars.index("\n")]], device=args.device)
        ids = model.generate(prompt, args.sample_chars, generator=torch.Generator(args.device).manual_seed(42))
        sample = "".join(chars[i] for i in ids[0].tolist())
        out = record(args, model, history, train_seconds, time.perf_counter() - wall_start, val_full, sample,
                     world, load_start)
    if distributed:
        dist.destroy_process_group()
    return out


def record(args, model: GPT, history, train_seconds, wall_seconds, val_full, sample, world, load_start) -> dict:
    """Add this run to ``train_gpt.json`` (the runs of other presets are kept) and rewrite the table."""
    out_dir = Path(args.out_dir or results.RESULTS)
    path = out_dir / "train_gpt.json"
    runs = json.loads(path.read_text())["runs"] if path.is_file() else {}
    runs[args.name] = {
        "preset": args.preset,
        "quick": args.quick,
        "config": asdict(model.config),
        "params": model.num_params(),
        "settings": {k: getattr(args, k) for k in PRESETS["nanogpt-cpu"] if k not in MODEL_FIELDS},
        "processes": world,
        "threads": args.threads,
        "device": args.device,
        "steps": history[-1]["step"],
        "train": history[-1]["train"],
        "val": history[-1]["val"],
        "val_full": round(val_full, 4),
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "environment": results.environment(),
        "history": history,
        "sample": sample,
    }
    rows = [
        "| run | parameters | layers/heads/width | context | batch | steps | train | val | val (whole split) "
        "| training time | load average (1 min) start → end |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in runs.items():
        c = r["config"]
        rows.append(
            f"| {name} | {r['params']:,} | {c['n_layer']}/{c['n_head']}/{c['n_embd']} | {c['block_size']} "
            f"| {r['settings']['batch_size']} | {r['steps']:,} | {r['train']:.4f} | {r['val']:.4f} | {r['val_full']:.4f} "
            f"| {r['train_seconds']:.0f} s | {r['loadavg_start'][0]} → {r['loadavg_end'][0]} |"
        )
    results.write("train_gpt", {"runs": runs}, "\n".join(rows), out_dir=out_dir)
    return runs[args.name]


if __name__ == "__main__":
    main()
