"""Sampling words from any character model of this site, with a seeded ``torch.Generator``.

Page: [makemore / bigram](../makemore/bigram.md) introduces sampling; every model reuses this.

A model here is any ``nn.Module`` whose ``forward(idx)`` returns ``(logits, loss)`` for contexts
``idx`` of ``config.block_size`` character ids, as ``zh.models.bigram.Bigram`` and
``zh.models.mlp.MLP`` do.
"""

from __future__ import annotations

import math
from numbers import Integral

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.data import CharVocab
from zh.nn import eval_mode


def check_sampling(max_new_tokens: int, temperature: float) -> None:
    """Refuse a negative or fractional number of tokens, and a temperature that is not a finite number above 0.

    Raises:
        ValueError: naming the value.
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, Integral) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a whole number of at least 0, got {max_new_tokens!r}")
    if not (math.isfinite(temperature) and temperature > 0):  # NaN fails both
        raise ValueError(f"temperature must be a finite number above 0, got {temperature}")


def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """``(B, V)`` logits of the next token -> its probabilities, at ``temperature``, among the ``top_k`` likeliest.

    The largest logit is subtracted before dividing by the temperature (softmax does not change):
    then a tiny temperature makes the other logits ``-inf`` (probability 0) instead of overflowing
    to ``inf - inf = nan``. A temperature below the smallest normal number of the logits' dtype
    (which would round to 0 there) counts as that number: the result is greedy either way.
    """
    temperature = max(temperature, torch.finfo(logits.dtype).tiny)
    logits = (logits - logits.max(-1, keepdim=True).values) / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return F.softmax(logits, dim=-1)


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             generator: torch.Generator | None = None, stop: int | None = None) -> torch.Tensor:
    """Extend each row of ``idx`` by up to ``max_new_tokens`` characters drawn from the model, in eval mode.

    Args:
        model: A character model (see the module docstring); put in eval mode meanwhile (BatchNorm
            uses its running statistics, dropout is off), then back in its mode.
        idx: ``(B, T)`` character ids; only the last ``block_size`` are read at each step.
        max_new_tokens: How many characters to append.
        temperature: Divides the logits: below 1 sharper, above 1 flatter.
        generator: The random source, for samples that repeat exactly.
        stop: A token id that ends a sample: once every row has drawn it, generation stops early.

    Returns:
        ``(B, T + n)`` character ids: ``n = max_new_tokens``, or fewer when ``stop`` ended every row.

    Raises:
        ValueError: ``max_new_tokens`` is negative, or ``temperature`` is not a finite number above 0.
    """
    check_sampling(max_new_tokens, temperature)
    block_size = model.config.block_size
    ended = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    with eval_mode(model):
        for _ in range(max_new_tokens):
            logits, _ = model(idx[:, -block_size:])
            if logits.dim() == 3:  # sequence models give logits for every position; keep the last
                logits = logits[:, -1, :]
            new = torch.multinomial(next_token_probs(logits, temperature), 1, generator=generator)
            idx = torch.cat([idx, new], dim=1)
            if stop is not None:
                ended |= new[:, 0] == stop
                if ended.all():
                    break
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
    rows = generate(model, start, max_len + 1, temperature, generator, stop=0)[:, prompt_length:]
    words = []
    for row in rows.tolist():
        end = row.index(0) if 0 in row else max_len
        words.append(vocab.decode(row[:end]))
    return words
