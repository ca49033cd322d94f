"""The series' training loop: minibatch stochastic gradient descent on ``(X, Y)`` examples.

Page: [makemore / MLP](../makemore/mlp.md) derives it step by step.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """The model's mean cross-entropy loss over all of ``(X, Y)``, without gradients."""
    was_training = model.training
    model.eval()
    _, loss = model(X, Y)
    model.train(was_training)
    return loss.item()


def train_sgd(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, steps: int, batch_size: int = 32,
              lr: float | Callable[[int], float] = 0.1, generator: torch.Generator | None = None) -> list[float]:
    """Train ``model`` in place with plain SGD on random minibatches of ``(X, Y)``.

    Args:
        model: Any module whose ``forward(X, Y)`` returns ``(logits, loss)``.
        X: Contexts, ``(N, block_size)``.
        Y: Next characters, ``(N,)``.
        steps: Number of updates.
        batch_size: Examples per update, drawn uniformly with replacement.
        lr: The learning rate, or a function from the step number to the learning rate
            (the lecture: ``lambda i: 0.1 if i < 100_000 else 0.01``).
        generator: The random source of the minibatches.

    Returns:
        The minibatch loss of every step.
    """
    schedule = lr if callable(lr) else (lambda i: lr)
    params = list(model.parameters())
    losses = []
    for i in range(steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=generator)
        _, loss = model(X[ix], Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            step = schedule(i)
            for p in params:
                p -= step * p.grad
        losses.append(loss.item())
    return losses
