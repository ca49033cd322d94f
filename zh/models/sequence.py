"""The one model contract of the makemore command: a batch of sequences in, logits at every position out.

Page: [makemore / WaveNet](../makemore/wavenet.md#one-command-for-every-model) explains it.

Every model the command trains is called as ``model(idx, targets) -> (logits, loss)`` with

- ``idx``: ``(B, T)`` token ids; each row starts with the boundary token 0 and is padded with 0;
- ``logits``: ``(B, T, vocab_size)``, position ``t`` predicting ``idx[:, t + 1]`` from ``idx[:, :t + 1]``;
- ``targets``: ``(B, T)`` or ``None``; ``IGNORE`` (-1) marks positions with nothing to predict
  (after the end of an item), which the loss skips, as ``F.cross_entropy(..., ignore_index=-1)``;
- ``model.config.block_size``: the most tokens it reads; sampling feeds it the last ``block_size``.

Sequence models (a transformer) are written that way. The fixed-context models of makemore (bigram,
MLP, WaveNet: ``(B, block_size) -> (B, vocab_size)``) join through ``FixedContext``, which gives
each position its own context window, padded with boundary tokens before the start.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.data import CharVocab

#: Target id of the positions that have nothing to predict (after an item's end).
IGNORE = -1


def build_sequences(words: list[str], vocab: CharVocab) -> tuple[torch.Tensor, torch.Tensor]:
    """One row per word: inputs ``[0, w_1, ..., w_n, 0...]`` and targets ``[w_1, ..., w_n, 0, -1...]``.

    Example:
        >>> X, Y = build_sequences(["ab", "b"], CharVocab.from_words(["ab"]))
        >>> X.tolist(), Y.tolist()
        ([[0, 1, 2], [0, 2, 0]], [[1, 2, 0], [2, 0, -1]])
    """
    length = max(len(word) for word in words) + 1
    X = torch.zeros(len(words), length, dtype=torch.long)
    Y = torch.full((len(words), length), IGNORE, dtype=torch.long)
    for i, word in enumerate(words):
        ids = vocab.encode(word)
        X[i, 1 : len(ids) + 1] = torch.tensor(ids, dtype=torch.long)
        Y[i, : len(ids) + 1] = torch.tensor(ids + [0], dtype=torch.long)
    return X, Y


class FixedContext(nn.Module):
    """A fixed-context model ``(N, block_size) -> (N, V)`` seen through the sequence contract ``(B, T) -> (B, T, V)``.

    Position ``t`` of a row gets the context ``idx[:, t - block_size + 1 : t + 1]``, boundary
    tokens before the start: the windows ``zh.data.build_dataset`` makes. With targets, only the
    positions that have one are computed (so BatchNorm's statistics never see padding).

    Args:
        model: Any module with ``config.block_size`` whose ``forward(contexts, targets)``
            returns ``(logits, loss)`` for ``(N, block_size)`` contexts.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.config = model.config

    def contexts(self, idx: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` ids -> ``(B, T, block_size)``: the window each position reads."""
        block_size = self.config.block_size
        return F.pad(idx, (block_size - 1, 0)).unfold(1, block_size, 1)  # a view: strided, not contiguous

    def forward(self, idx: torch.Tensor,
                targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits (B, T, V), loss)``; the loss averages over the targets that are not ``IGNORE``."""
        windows = self.contexts(idx)
        if targets is None:
            # contiguous: a model may .view() its input (reshape gives a strided view for one row)
            logits, _ = self.model(windows.reshape(-1, self.config.block_size).contiguous())
            return logits.view(*idx.shape, -1), None
        keep = targets != IGNORE
        logits_kept, loss = self.model(windows[keep], targets[keep])
        logits = logits_kept.new_zeros(*idx.shape, logits_kept.shape[-1])
        logits[keep] = logits_kept
        return logits, loss
