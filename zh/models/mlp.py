"""The MLP language model of Bengio et al. (2003): embed the last few characters, one tanh layer, softmax.

Page: [makemore / MLP](../makemore/mlp.md).

The whole model is five tensors: an embedding table ``C`` (one ``n_embd``-vector per character),
a hidden layer ``W1, b1`` that reads the ``block_size`` embeddings side by side, and an output
layer ``W2, b2`` that gives one logit per character of the vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class MLPConfig:
    """The shape of an ``MLP``; the defaults are the reference model of Karpathy's lecture (11,897 parameters).

    ``scaled_init=False`` draws every parameter from N(0, 1), as in the lecture. ``True`` starts the
    output layer near zero (a uniform first guess, loss ``log(vocab_size)``) and scales ``W1`` by
    ``(5/3) / sqrt(fan_in)`` so that tanh starts unsaturated.
    """

    vocab_size: int = field(default=27, metadata={"help": "Number of characters, the boundary token included."})
    block_size: int = field(default=3, metadata={"help": "How many previous characters the model reads."})
    n_embd: int = field(default=10, metadata={"help": "Size of each character's embedding vector."})
    n_hidden: int = field(default=200, metadata={"help": "Width of the tanh layer."})
    scaled_init: bool = field(default=False, metadata={
        "help": "Start from a uniform guess with unsaturated tanh units (default: every parameter N(0, 1))."})


class MLP(nn.Module):
    """Characters ``(B, block_size)`` -> logits of the next character ``(B, vocab_size)``.

    Example:
        >>> model = MLP(MLPConfig(), generator=torch.Generator().manual_seed(2147483647))
        >>> sum(p.numel() for p in model.parameters())
        11897
        >>> logits, loss = model(torch.zeros(4, 3, dtype=torch.long), torch.tensor([5, 13, 13, 1]))
        >>> logits.shape
        torch.Size([4, 27])
    """

    def __init__(self, config: MLPConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = c = config
        fan_in = c.block_size * c.n_embd

        def randn(*shape):
            return torch.randn(*shape, generator=generator)

        # Parameters are drawn in the lecture's order, so one seed gives the lecture's model.
        self.C = nn.Parameter(randn(c.vocab_size, c.n_embd))
        self.W1 = nn.Parameter(randn(fan_in, c.n_hidden) * ((5 / 3) / math.sqrt(fan_in) if c.scaled_init else 1.0))
        self.b1 = nn.Parameter(randn(c.n_hidden) * (0.01 if c.scaled_init else 1.0))
        self.W2 = nn.Parameter(randn(c.n_hidden, c.vocab_size) * (0.01 if c.scaled_init else 1.0))
        self.b2 = nn.Parameter(randn(c.vocab_size) * (0.0 if c.scaled_init else 1.0))

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for the character after each context, and their cross-entropy with ``targets``.

        Args:
            idx: Contexts, ``(B, block_size)`` character ids.
            targets: The characters that followed, ``(B,)``; optional.

        Returns:
            ``(logits, loss)``: logits ``(B, vocab_size)``; ``loss`` is ``None`` without targets.
        """
        emb = self.C[idx]  # (B, block_size, n_embd)
        h = torch.tanh(emb.view(emb.shape[0], -1) @ self.W1 + self.b1)  # concatenate, then one layer
        logits = h @ self.W2 + self.b2
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss
