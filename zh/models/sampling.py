"""Sampling words from any character model of this site, with a seeded ``torch.Generator``.

Page: [makemore / bigram](../makemore/bigram.md) introduces sampling; every model reuses this.

A model here is any ``nn.Module`` whose ``forward(idx)`` returns ``(logits, loss)`` for contexts
``idx`` of ``config.block_size`` character ids, as ``zh.models.bigram.Bigram`` and
``zh.models.mlp.MLP`` do.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.data import CharVocab


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Extend each row of ``idx`` by ``max_new_tokens`` characters drawn from the model.

    Args:
        model: A character model (see the module docstring).
        idx: ``(B, T)`` character ids; only the last ``block_size`` are read at each step.
        max_new_tokens: How many characters to append.
        temperature: Divides the logits: below 1 sharper, above 1 flatter.
        generator: The random source, for samples that repeat exactly.

    Returns:
        ``(B, T + max_new_tokens)`` character ids.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    block_size = model.config.block_size
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -block_size:])
        if logits.dim() == 3:  # sequence models give logits for every position; keep the last
            logits = logits[:, -1, :]
        probs = F.softmax(logits / temperature, dim=-1)
        idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)], dim=1)
    return idx


def sample_words(model: nn.Module, vocab: CharVocab, n: int, generator: torch.Generator | None = None,
                 max_len: int = 50, temperature: float = 1.0, prompt_length: int | None = None) -> list[str]:
    """``n`` words from the model: start from boundary tokens, stop at the first boundary token.

    Args:
        model: A character model (see the module docstring).
        vocab: The ``zh.data.CharVocab`` the model was trained with (id 0 = boundary).
        n: Number of words.
        generator: The random source.
        max_len: Longest word; a word that has not ended by then is cut there.
        temperature: See ``generate``.
        prompt_length: How many boundary tokens to start from: ``block_size`` by default (a
            fixed-context model needs a full window); 1 for the models of the sequence contract
            (`zh.models.sequence`), which start every item with one boundary token.
    """
    prompt_length = model.config.block_size if prompt_length is None else prompt_length
    start = torch.zeros(n, prompt_length, dtype=torch.long)
    rows = generate(model, start, max_len + 1, temperature, generator)[:, prompt_length:]
    words = []
    for row in rows.tolist():
        end = row.index(0) if 0 in row else max_len
        words.append(vocab.decode(row[:end]))
    return words
