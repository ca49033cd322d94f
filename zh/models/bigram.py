"""The bigram language model: the next character depends only on the current one.

Pages: [makemore / bigram](../makemore/bigram.md) fits it by counting;
[makemore / neural bigram](../makemore/neural_bigram.md) fits the same table by gradient descent.

The model is one ``vocab_size x vocab_size`` table of logits: row ``i`` holds the log-counts of
what follows character ``i``. Counting gives the table in closed form
(``Bigram.from_counts``); gradient descent on the cross-entropy finds the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.data import CharVocab


def count_bigrams(words: list[str], vocab: CharVocab) -> torch.Tensor:
    """How often each character follows each other one, word boundaries included.

    Args:
        words: The training words.
        vocab: A ``zh.data.CharVocab``; its id 0 marks the start and the end of a word.

    Returns:
        ``N`` of shape ``(V, V)`` (``torch.int64``): ``N[i, j]`` counts character ``j`` right after ``i``.
    """
    first, second = [], []
    for word in words:
        ids = [0, *vocab.encode(word), 0]
        first += ids[:-1]
        second += ids[1:]
    V = len(vocab)
    # One bincount over the flat index a*V + b: incrementing N[a, b] one pair at a time is ~20x slower.
    pairs = torch.tensor(first, dtype=torch.int64) * V + torch.tensor(second, dtype=torch.int64)
    return torch.bincount(pairs, minlength=V * V).view(V, V)


@dataclass
class BigramConfig:
    """The shape of a ``Bigram``: it reads one character of context."""

    vocab_size: int = field(default=27, metadata={"help": "Number of characters, the boundary token included."})
    block_size: int = field(default=1, metadata={
        "help": "How many previous characters the model is given (a bigram reads only the last)."})


class Bigram(nn.Module):
    """A lookup table of next-character logits, PyTorch-shaped: ``forward(idx, targets) -> (logits, loss)``.

    Example:
        >>> model = Bigram(BigramConfig(vocab_size=5))
        >>> logits, loss = model(torch.tensor([[0], [3]]), torch.tensor([1, 2]))
        >>> logits.shape, round(loss.item(), 4)   # all-zero logits: uniform, loss log(5)
        (torch.Size([2, 5]), 1.6094)
    """

    def __init__(self, config: BigramConfig):
        super().__init__()
        self.config = config
        # Zeros: every next character equally likely until training says otherwise.
        self.logits = nn.Parameter(torch.zeros(config.vocab_size, config.vocab_size))

    @classmethod
    def from_counts(cls, counts: torch.Tensor, smoothing: float = 1.0) -> "Bigram":
        """The maximum-likelihood bigram of a count matrix: logits = log of the normalised rows.

        Args:
            counts: ``(V, V)`` bigram counts, e.g. from ``count_bigrams``.
            smoothing: Added to every count first ("add-one smoothing" by default), so that no
                bigram has probability zero and no word has infinite loss. ``0`` gives the
                unsmoothed model.
        """
        if smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {smoothing}")
        model = cls(BigramConfig(vocab_size=counts.shape[0]))
        smoothed = counts.double() + smoothing
        with torch.no_grad():
            model.logits.copy_((smoothed / smoothed.sum(1, keepdim=True)).log())
        return model

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of the character after the last one of each context, and their cross-entropy.

        Args:
            idx: Contexts ``(B, T)``; only ``idx[:, -1]`` is read.
            targets: The next characters ``(B,)``; optional.

        Returns:
            ``(logits, loss)``: logits ``(B, vocab_size)``; ``loss`` is ``None`` without targets.
        """
        logits = self.logits[idx[:, -1]]  # row lookup == one-hot(idx) @ self.logits
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss
