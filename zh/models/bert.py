"""A character-level BERT: the GPT's embeddings and blocks without the causal mask, trained to fill in blanks.

Page: [attention / GPT vs BERT](../attention/gpt_vs_bert.md) sets it beside the GPT.

The encoder is `zh.models.gpt.Embeddings` plus `zh.models.gpt.Block` with ``causal=False``: every
position reads every position. What changes from the GPT is the objective, masked language
modelling (`mask_tokens`): some characters of the input are hidden and the model predicts them
from both sides. The vocabulary is the text's characters plus one more id, ``[MASK]``.

Example:
    >>> config = BertConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    >>> model = BERT(config)                     # ids 0..9 are characters, 10 is [MASK]
    >>> idx = torch.randint(0, 10, (3, 8), generator=torch.Generator().manual_seed(0))
    >>> inputs, targets = mask_tokens(idx, mask_id=10, generator=torch.Generator().manual_seed(0))
    >>> logits, loss = model(inputs, targets)
    >>> tuple(logits.shape), int((targets != -1).sum())   # one chosen position per row (15% of 8, at least 1)
    ((3, 8, 11), 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.models.gpt import GPT, Block, Embeddings, GPTConfig
from zh.nn import eval_mode


@dataclass
class BertConfig(GPTConfig):
    """The shape of a BERT: `GPTConfig`'s fields and checks (the encoder is the GPT's embeddings and
    blocks), with ``[MASK]`` counted in the vocabulary."""

    vocab_size: int = field(default=66, metadata={
        "help": "Number of distinct token ids: the characters and [MASK] (65 + 1 in tiny shakespeare)."})


# --8<-- [start:mask_tokens]
def mask_tokens(idx: torch.Tensor, mask_id: int, mask_prob: float = 0.15,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking rule: choose ``mask_prob`` of each row's positions; of those, 80% become ``[MASK]``,
    10% a random character, 10% stay as they are.

    Each row gets ``max(1, round(mask_prob * T))`` chosen positions, drawn without replacement (as
    BERT does), so no row has nothing to learn from. The three fates are drawn independently for
    each chosen position.

    Args:
        idx: ``(B, T)`` character ids, all ``< mask_id``.
        mask_id: The id of ``[MASK]``; the characters are ``0 .. mask_id - 1``.
        mask_prob: Fraction of positions chosen (0.15 in BERT).
        generator: The random source.

    Returns:
        ``(inputs, targets)``: ``inputs`` is ``idx`` with the replacements; ``targets`` is ``idx``
        at the chosen positions and ``-1`` (left out of the loss) everywhere else.
    """
    if idx.dim() != 2:
        raise ValueError(f"idx must be (batch, time), got shape {tuple(idx.shape)}")
    if not 0 < mask_prob <= 1:
        raise ValueError(f"mask_prob is the fraction of positions to choose, in (0, 1]; got {mask_prob}")
    if idx.numel() and (idx.min() < 0 or idx.max() >= mask_id):
        raise ValueError(f"character ids must be in [0, {mask_id}) (the [MASK] id is {mask_id}), "
                         f"got {idx.min()}..{idx.max()}")
    B, T = idx.shape
    k = max(1, round(mask_prob * T))
    order = torch.rand(B, T, generator=generator).argsort(dim=1)  # a random order of each row's positions
    chosen = torch.zeros(B, T, dtype=torch.bool).scatter_(1, order[:, :k], True).to(idx.device)
    fate = torch.rand(B, T, generator=generator).to(idx.device)  # < 0.8: [MASK]; < 0.9: random; else kept
    random_chars = torch.randint(mask_id, (B, T), generator=generator).to(idx.device)
    inputs = torch.where(chosen & (fate < 0.8), mask_id, idx)
    inputs = torch.where(chosen & (fate >= 0.8) & (fate < 0.9), random_chars, inputs)
    targets = torch.where(chosen, idx, -1)
    return inputs, targets
    # --8<-- [end:mask_tokens]


# --8<-- [start:bert]
class MLMHead(nn.Module):
    """BERT's prediction head: a Linear + GELU + LayerNorm transform, then scores for every id.

    The output matrix is the token embedding's (weight tying, as in the GPT), with its own bias.

    Args:
        config: The model's `BertConfig`.
        embedding: The token embedding whose weight the output shares.
    """

    def __init__(self, config: BertConfig, embedding: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.ln = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.embedding = embedding
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n_embd)`` → ``(..., vocab_size)`` logits."""
        return F.linear(self.ln(self.gelu(self.dense(x))), self.embedding.weight, self.bias)


class BERT(nn.Module):
    """A bidirectional transformer encoder with a masked-language-model head.

    Args:
        config: Its `BertConfig`.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embed = Embeddings(config)
        self.blocks = nn.ModuleList(Block(config, causal=False) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.head = MLMHead(config, self.embed.tok)
        self.apply(GPT._init_weights)  # the GPT's initialisation: normal(0, 0.02) weights, zero biases

    def forward(self, idx: torch.Tensor,
                targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores for the character at every position, and the loss on the chosen positions.

        Args:
            idx: ``(B, T)`` ids, some of them ``[MASK]`` or replaced (see `mask_tokens`).
            targets: ``(B, T)`` the original character at the chosen positions, ``-1`` elsewhere.

        Returns:
            ``(logits (B, T, vocab_size), loss)``: the mean cross-entropy over the positions whose
            target is not ``-1``, or ``None`` without targets.
        """
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        if targets.shape != idx.shape:
            raise ValueError(f"targets must have idx's shape {tuple(idx.shape)}, got {tuple(targets.shape)}")
        if not (targets != -1).any():
            raise ValueError("targets choose no position (all -1): there is nothing to compute a loss on")
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss
        # --8<-- [end:bert]

    def num_params(self) -> int:
        """Number of parameters (the tied embedding/output matrix counted once)."""
        return sum(p.numel() for p in self.parameters())


def _char_logits(model: BERT, idx: torch.Tensor, mask_id: int) -> torch.Tensor:
    """The model's logits with ``[MASK]`` excluded: it is never the answer. In eval mode (no dropout)."""
    with eval_mode(model):
        logits = model(idx)[0]
    logits[..., mask_id] = float("-inf")
    return logits


@torch.no_grad()
def fill_masks(model: BERT, idx: torch.Tensor, mask_id: int) -> torch.Tensor:
    """Replace every ``[MASK]`` of ``idx`` ``(B, T)`` by the model's most likely character, all at once."""
    guess = _char_logits(model, idx, mask_id).argmax(-1)
    return torch.where(idx == mask_id, guess, idx)


@torch.no_grad()
def masked_char_scores(model: BERT, data: torch.Tensor, mask_id: int, groups: int = 7, batch_size: int = 64,
                       generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask every character of ``data`` once and score the model's guess for it.

    ``data`` is cut into consecutive windows of ``block_size``. Each window's positions are dealt
    at random into ``groups`` groups (7 groups: about 14% of a window, BERT's 15%); each group in
    turn is replaced by ``[MASK]`` and predicted from the rest of the window, both sides.

    Args:
        model: A `BERT`.
        data: 1-D character ids; the last ``len(data) % block_size`` are left out.
        mask_id: The ``[MASK]`` id.
        groups: Into how many masked passes each window is split.
        batch_size: Windows per forward pass.
        generator: The random source of the groups.

    Returns:
        ``(loss, correct)``, one entry per scored character: the cross-entropy of the true
        character, and whether it is the model's most likely character.
    """
    T = model.config.block_size
    n = len(data) // T
    if n == 0:
        raise ValueError(f"data has {len(data)} characters, fewer than one window of block_size={T}")
    x = data[: n * T].view(n, T)
    group = torch.rand(n, T, generator=generator).argsort(1).argsort(1).to(x.device) % groups  # rank % groups
    loss = torch.empty(n, T, device=x.device)
    correct = torch.empty(n, T, dtype=torch.bool, device=x.device)
    with eval_mode(model):
        for g in range(groups):
            for i in range(0, n, batch_size):
                xb, hide = x[i:i + batch_size], group[i:i + batch_size] == g
                logp = F.log_softmax(_char_logits(model, xb.masked_fill(hide, mask_id), mask_id), dim=-1)
                loss[i:i + batch_size][hide] = -logp.gather(-1, xb[..., None])[..., 0][hide]
                correct[i:i + batch_size][hide] = (logp.argmax(-1) == xb)[hide]
    return loss.view(-1), correct.view(-1)


# --8<-- [start:iterative_unmask]
@torch.no_grad()
def iterative_unmask(model: BERT, idx: torch.Tensor, mask_id: int, per_step: int = 1, temperature: float = 1.0,
                     generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Generate with BERT: repeatedly fill in the ``per_step`` masked positions it is surest of.

    Each step samples a character for every ``[MASK]`` and keeps the ones at the positions with the
    highest probability of their most likely character; the rest stay masked for the next step.

    Args:
        model: A trained `BERT`.
        idx: ``(1, T)`` ids with some ``[MASK]``.
        mask_id: The ``[MASK]`` id.
        per_step: Positions revealed per step.
        temperature: Divides the logits before sampling.
        generator: The random source.

    Returns:
        The sequence after every step, the first being ``idx`` itself and the last without ``[MASK]``.
    """
    if idx.dim() != 2 or idx.size(0) != 1:
        raise ValueError(f"idx must be one row (1, T), got shape {tuple(idx.shape)}")
    if per_step < 1:
        raise ValueError(f"per_step must be at least 1, got {per_step}")
    steps = [idx]
    while (idx == mask_id).any():
        probs = F.softmax(_char_logits(model, idx, mask_id)[0] / temperature, dim=-1)  # (T, vocab)
        sample = torch.multinomial(probs, 1, generator=generator)[:, 0]
        sureness = probs.max(-1).values.masked_fill(idx[0] != mask_id, -1.0)
        reveal = sureness.topk(min(per_step, int((idx == mask_id).sum()))).indices
        idx = idx.clone()
        idx[0, reveal] = sample[reveal]
        steps.append(idx)
    return steps
    # --8<-- [end:iterative_unmask]
