"""Data parallelism for the training scripts under ``torchrun``: one process's rank, and DDP's wiring."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from zh import cli
from zh.cli import CLIError


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
        self.ddp_model, self.bf16, self.device_type = None, args.bf16, torch.device(args.device).type

    def wrap(self, model: nn.Module) -> None:
        """Train ``model`` through DDP from now on (after its weights are loaded: DDP copies rank 0's)."""
        self.ddp_model = DDP(model) if self.distributed else model

    def loss_of(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """This process's slice of the global batch, through the wrapped model: its loss (under bfloat16 autocast
        with ``--bf16``: the matrix products in bfloat16, fast on CPUs with AMX and on GPUs)."""
        with torch.autocast(device_type=self.device_type, dtype=torch.bfloat16, enabled=self.bf16):
            return self.ddp_model(x[self.local], y[self.local])[1]  # under DDP, backward() also averages the gradients

    def rank0_seconds(self, seconds: float) -> float:
        """``seconds`` as rank 0 measured them: under a time budget, every process then takes the same steps."""
        if not self.distributed:
            return seconds
        elapsed = torch.tensor([seconds], dtype=torch.float64)
        dist.broadcast(elapsed, 0)
        return elapsed.item()

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
                state = torch.load(checkpoint, weights_only=True)  # (written by this run a moment ago)
                cli.save_atomic(checkpoint, {**state, "replica_max_difference": replica_diff})
        dist.barrier()  # the checkpoint is complete before any process goes on
        dist.destroy_process_group()
