"""Training, once for every model of zh (nanoGPT's train.py is the model): optimizer, schedule, loop, checkpoints.

`zh makemore` and ``scripts/train_{gpt,bert}.py`` train through `train`; the lectures' loop is `zh.models.training`.
Page: [makemore / WaveNet](../makemore/wavenet.md#two-steps-after-training) (`ParameterAverage`, `calibrate_batchnorm`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from zh import cli
from zh.cli import CLIError
from zh.models.sequence import IGNORE
from zh.nn import eval_mode
from zh.nn.layers import BatchNorm1d


def configure_optimizer(model: nn.Module, learning_rate: float, weight_decay: float,
                        betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices (embeddings, Linear weights) only, not on biases and norms' scales."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    # fused: one kernel updates every parameter (on CPU ~10% of a small GPT's step, measured by hand)
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, fused=True)


def lr_at(step: int, learning_rate: float, min_lr: float | None = None, warmup: int = 0, max_steps: int = 1,
          progress: float | None = None) -> float:
    """Linear warm-up to ``learning_rate`` over ``warmup`` steps, then a cosine down to ``min_lr`` at ``max_steps``
    (``min_lr=None``: constant); ``progress`` (0 to 1), if given, replaces the fraction of the decay done."""
    if step < warmup:
        return learning_rate * (step + 1) / warmup
    if min_lr is None:
        return learning_rate
    if progress is None:
        progress = (step - warmup) / max(1, max_steps - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (learning_rate - min_lr)


def train(model: nn.Module, optimizer: torch.optim.Optimizer, get_batch: Callable[[], tuple], max_steps: int,
          lr_of: Callable[[int], float | None], *, step: int = 0, loss_of: Callable | None = None,
          grad_clip: float | None = None, eval_every: int = 0, evaluate: Callable[[int], None] | None = None,
          after_step: Callable[[], None] | None = None, hint: str = "try a smaller learning rate",
          progress: dict | None = None) -> int:
    """Take optimizer steps from ``step`` up to ``max_steps``; returns the step reached. A step: the learning rate
    ``lr_of(step)`` (``None`` ends the run: a time budget spent), a batch ``get_batch()``, its loss ``loss_of(x, y)``
    (default ``model(x, y)[1]``; a DDP wrapper goes here; not finite: `CLIError` with ``hint``), the update
    (gradients clipped to ``grad_clip``), ``after_step()``, and ``evaluate(step)`` every ``eval_every`` steps (the
    caller evaluates the end, and the start if it wants). ``progress``: tqdm's options for the bar."""
    loss_of = loss_of or (lambda x, y: model(x, y)[1])
    model.train()
    # on stderr, closed however the loop ends, so that an error or Ctrl-C is printed on a line of its own
    with tqdm(**{"total": max_steps, "initial": step, "unit": "step", **(progress or {})}) as bar:
        while step < max_steps:
            if (lr := lr_of(step)) is None:
                break
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = loss_of(*get_batch())
            cli.check_loss(loss.item(), step + 1, hint)  # (waits for the step on a GPU: a diverging run stops now)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            step += 1
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            bar.update()
            if after_step is not None:
                after_step()
            if evaluate is not None and eval_every and step % eval_every == 0:
                evaluate(step)
    return step


@torch.no_grad()
def split_loss(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, rows: int = 512) -> float:
    """The mean cross-entropy per target (`IGNORE` not scored) over all of ``(X, Y)``, in eval mode, ``rows`` rows
    at a time; ``model(X)`` returns the logits, or a tuple that starts with them."""
    total, count = 0.0, 0
    with eval_mode(model):
        for i in range(0, len(X), rows):
            logits, y = model(X[i:i + rows]), Y[i:i + rows]
            logits = logits[0] if isinstance(logits, tuple) else logits
            total += F.cross_entropy(logits.flatten(0, -2), y.flatten(), ignore_index=IGNORE, reduction="sum").item()
            count += (y != IGNORE).sum().item()
    return total / count


@torch.no_grad()
def estimate_loss(model: nn.Module, splits: dict, get_batch: Callable, metrics: Callable, eval_iters: int) -> dict:
    """nanoGPT's estimate: means of ``metrics(model, *get_batch(data))`` (a dict) over ``eval_iters`` random batches
    of each split, in eval mode; split ``s`` reports its ``"loss"`` as ``s``, another key as ``s_key``."""
    with eval_mode(model):
        rows = {s: [metrics(model, *get_batch(data)) for _ in range(eval_iters)] for s, data in splits.items()}
    return {s if key == "loss" else f"{s}_{key}": sum(r[key] for r in rows[s]) / eval_iters
            for s in rows for key in rows[s][0]}


#: What every checkpoint holds (its program adds more), with the type each is checked against on reading.
CHECKPOINT_FIELDS = {"format": str, "config": dict, "model": dict, "optimizer": dict, "step": int, "rng": dict}


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, step: int, **extra) -> None:
    """Weights, optimizer state, ``step``, torch's random state and ``extra`` (``format``, ``config``...) written
    atomically (`zh.cli.save_atomic`): tensors, numbers, strings, lists and dicts, so ``weights_only=True`` reads it."""
    gpu = {"cuda": torch.cuda.get_rng_state()} if torch.cuda.is_initialized() else {}  # dropout on a GPU draws there
    cli.save_atomic(path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                           "rng": {"cpu": torch.get_rng_state(), **gpu}, **extra})


def load_checkpoint(path: Path, format: str, what: str) -> dict:
    """A checkpoint of ``format`` (`save_checkpoint`); `CLIError` if it is missing, unreadable, of another format (the
    message calls it ``what``) or damaged (a field of `CHECKPOINT_FIELDS` missing or of the wrong type)."""
    state = cli.load_file(path, what)
    if not isinstance(state, dict) or state.get("format") != format:
        raise CLIError(f"{path} is not {what} (of this version of zh)")
    wrong = [key for key, kind in CHECKPOINT_FIELDS.items() if not isinstance(state.get(key), kind)]
    if wrong:  # our format, but cut down or edited: say so here, not with a KeyError later
        raise CLIError(f"{path} is damaged: its {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} missing "
                       f"or not what zh writes")
    return state


def restore(path: Path, state: dict, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Put a checkpoint's weights back, and with ``optimizer`` its state and the random state; `CLIError` if unfit."""
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"]["cpu"])
            if "cuda" in state["rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state(state["rng"]["cuda"])
    except (KeyError, ValueError, RuntimeError, TypeError):
        raise CLIError(f"{path} is damaged: its weights or optimizer state do not fit the model it names") from None


# --8<-- [start:parameter_average]
class ParameterAverage:
    """The mean of the parameters over the training steps after ``start``: stochastic weight averaging.

    Izmailov et al. (2018), *Averaging Weights Leads to Wider Optima and Better Generalization*:
    at a constant learning rate SGD's iterates keep moving around a region of low loss, and their
    average lies nearer its middle than any one of them. Call `update` after each step, skipping
    the first ``start`` (e.g. those before the learning rate is lowered); `apply` puts the average
    into ``params``. BatchNorm's running statistics were measured for the last iterates, not for
    their average: recompute them with `calibrate_batchnorm` before evaluating.
    """

    def __init__(self, params: list[torch.Tensor], start: int):
        self.params, self.start = list(params), start
        self.steps = self.count = 0
        self.mean = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        """After each step: fold the new parameters into the running mean."""
        self.steps += 1
        if self.steps > self.start:
            self.count += 1
            for mean, p in zip(self.mean, self.params):
                mean.add_((p - mean) / self.count)  # incremental mean: no sum that grows with the steps

    @torch.no_grad()
    def apply(self, params: list[torch.Tensor] | None = None) -> None:
        """Overwrite the parameters with their average (in place); or ``params``, those of a copy of the model."""
        if self.count == 0:
            raise ValueError(f"no step after step {self.start} was averaged (ran {self.steps} steps)")
        for mean, p in zip(self.mean, self.params if params is None else list(params), strict=True):
            p.copy_(mean)
# --8<-- [end:parameter_average]


# --8<-- [start:calibrate_batchnorm]
@torch.no_grad()
def calibrate_batchnorm(model, X: torch.Tensor) -> None:
    """Set every ``BatchNorm1d``'s running statistics to those of its input over all of ``X`` (in place).

    During training the running buffers follow the last ten or so batches (momentum 0.1): a noisy
    estimate of each channel's mean and variance. One pass over the whole training split ``X``, as
    the part-3 lecture does by hand, gives what they estimate. It goes layer by layer in eval mode,
    so each BatchNorm sees its input as at test time, normalised by the calibrated layers before it,
    and it stores the unbiased variance, the buffers' convention. ``model``: a `zh.nn.layers.Sequential`.
    """
    with eval_mode(model):
        x = X
        for layer in model.layers:
            if isinstance(layer, BatchNorm1d):
                mean, var, m = layer.batch_statistics(x)
                layer.set_running(mean, var if layer.unbiased else var * m / (m - 1))
            x = layer(x)
# --8<-- [end:calibrate_batchnorm]
