"""The training loop of Karpathy's makemore lectures: minibatch stochastic gradient descent on ``(X, Y)`` examples.

Page: [makemore / MLP](../makemore/mlp.md) derives it step by step. The pages keep this loop, written
out as they derive it (``p -= lr * grad``): the manual-backprop page feeds it gradients written by
hand, which no ``loss.backward()`` loop takes, and ``torch.optim.SGD`` rounds differently
(``p.add_(grad, alpha=-lr)``: 2e-6 apart after 200 steps, measured), which would change the numbers
the pages print. The commands train with AdamW through `zh.train.train`.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
from tqdm import tqdm


def autograd_grads(loss: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients of ``loss`` with respect to ``params``, by ``loss.backward()`` from zero."""
    for p in params:
        p.grad = None
    loss.backward()
    return [p.grad for p in params]


def sgd(
    params: list[torch.Tensor],
    grads_of: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, list[torch.Tensor]]],
    X: torch.Tensor,
    Y: torch.Tensor,
    max_steps: int,
    batch_size: int = 32,
    learning_rate: float | Callable[[int], float] = 0.1,
    decay_at: float | None = None,
    generator: torch.Generator | None = None,
    on_step: Callable[[float, list[torch.Tensor], list[torch.Tensor]], None] | None = None,
    progress: str | None = None,
) -> list[float]:
    """The lectures' loop: minibatch SGD, with the gradients computed by ``grads_of``.

    Every training run of the makemore pages goes through here, whether its gradients come from
    autograd (`train_sgd`) or are written by hand (`zh.models.backprop.train`).

    Args:
        params: The tensors to update in place.
        grads_of: ``grads_of(Xb, Yb) -> (loss, grads)``, one gradient per parameter, in order.
        X: Inputs, first dimension the examples.
        Y: Targets.
        max_steps: Number of updates.
        batch_size: Examples per update, drawn uniformly with replacement.
        learning_rate: The learning rate, or a function from the step number to the learning rate.
        decay_at: With a number ``learning_rate``: divide it by 10 after ``decay_at * max_steps`` steps (the
            lectures' step decay); ``None`` keeps it constant.
        generator: Draws the minibatches (the same generator state gives the same batches).
        on_step: Called as ``on_step(lr, params, grads)`` after each update, for diagnostics.
        progress: Show a tqdm progress bar (on stderr) with this description; ``None`` shows none.

    Returns:
        The minibatch loss of every step.
    """
    if max_steps < 1 or batch_size < 1:
        raise ValueError(f"max_steps and batch_size must be positive, got max_steps={max_steps}, "
                         f"batch_size={batch_size}")
    if callable(learning_rate):
        schedule = learning_rate
    elif decay_at is None:
        schedule = lambda i: learning_rate  # noqa: E731
    else:
        schedule = lambda i: learning_rate if i < decay_at * max_steps else learning_rate / 10  # noqa: E731
    losses = []
    for i in tqdm(range(max_steps), desc=progress, unit="step", mininterval=30, disable=progress is None):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        loss, grads = grads_of(X[ix], Y[ix])
        step_lr = schedule(i)
        with torch.no_grad():
            for p, grad in zip(params, grads):
                p -= step_lr * grad
            if on_step is not None:
                on_step(step_lr, params, grads)
        losses.append(loss.item())
    return losses


def train_sgd(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, max_steps: int, batch_size: int = 32,
              learning_rate: float | Callable[[int], float] = 0.1,
              generator: torch.Generator | None = None) -> list[float]:
    """Train ``model`` in place with plain SGD on random minibatches of ``(X, Y)`` (`sgd`, autograd gradients).

    Args:
        model: Any module whose ``forward(X, Y)`` returns ``(logits, loss)``.
        X: Contexts, ``(N, block_size)``.
        Y: Next characters, ``(N,)``.
        max_steps: Number of updates.
        batch_size: Examples per update, drawn uniformly with replacement.
        learning_rate: The learning rate, or a function from the step number to the learning rate
            (the lecture: ``lambda i: 0.1 if i < 100_000 else 0.01``).
        generator: The random source of the minibatches.

    Returns:
        The minibatch loss of every step.
    """
    params = list(model.parameters())

    def grads_of(Xb, Yb):
        _, loss = model(Xb, Yb)
        return loss, autograd_grads(loss, params)

    return sgd(params, grads_of, X, Y, max_steps, batch_size=batch_size, learning_rate=learning_rate,
               generator=generator)
