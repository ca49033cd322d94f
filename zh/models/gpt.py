"""A character-level GPT: token and position embeddings, a stack of transformer blocks, a language-model head.

Page: [attention / GPT](../attention/gpt.md) walks through this file and trains it on tiny shakespeare.

Everything is built from ``torch.nn``. The attention is written out once (`attention`, the version
the pages derive) and also runs through ``torch.nn.functional.scaled_dot_product_attention``, the
fused kernel (``SelfAttention.fast``); the two give the same numbers. `Embeddings` and
`Block` are the pieces a bidirectional encoder (BERT) reuses with ``causal=False``.

Example:
    >>> config = GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16)
    >>> model = GPT(config)
    >>> idx = torch.zeros(3, 5, dtype=torch.long)
    >>> logits, loss = model(idx, idx)
    >>> tuple(logits.shape), loss.shape
    ((3, 5, 10), torch.Size([]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from zh.models.sampling import check_sampling, next_token_probs
from zh.nn import eval_mode


# --8<-- [start:config]
@dataclass
class GPTConfig:
    """The shape of a GPT; the defaults are nanoGPT's CPU configuration for tiny shakespeare."""

    vocab_size: int = field(default=65, metadata={
        "help": "Number of distinct token ids (65 characters in tiny shakespeare)."})
    block_size: int = field(default=64, metadata={
        "help": "Longest context the model reads; position embeddings exist for this many positions."})
    n_layer: int = field(default=4, metadata={"help": "Number of transformer blocks."})
    n_head: int = field(default=4, metadata={
        "help": "Attention heads per block; each works in n_embd // n_head dimensions."})
    n_embd: int = field(default=128, metadata={"help": "Width of the residual stream (the embedding size)."})
    dropout: float = field(default=0.0, metadata={
        "help": "Probability of zeroing an activation during training (0 turns dropout off)."})
    attn_dropout: float | None = field(default=None, metadata={
        "help": "Dropout on the attention weights alone (default: the same as dropout). On a CPU it is "
                "the costly one: a random number for every pair of positions."})
    bias: bool = field(default=True, metadata={"help": "Whether the Linear and LayerNorm layers have a bias."})
    # --8<-- [end:config]

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be a whole number >= 1, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): "
                f"each head gets n_embd // n_head dimensions"
            )
        for name in ("dropout", "attn_dropout"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValueError(f"{name} is a probability in [0, 1), got {value!r}")


# --8<-- [start:attention]
def attention_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``softmax(q kᵀ / √d_head + mask)``: how much each query position reads from each key position.

    Args:
        q: Queries ``(..., T_q, d_head)``.
        k: Keys ``(..., T_k, d_head)``.
        mask: ``(T_q, T_k)`` or broadcastable. Boolean: ``True`` where a query may look (as in
            ``scaled_dot_product_attention``); float: added to the scores (``-inf`` hides).

    Returns:
        ``(..., T_q, T_k)`` probabilities; each row sums to 1.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return F.softmax(scores, dim=-1)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scaled dot-product attention written out: ``softmax(q kᵀ / √d_head + mask) v``.

    Args:
        q: Queries ``(..., T_q, d_head)``.
        k: Keys ``(..., T_k, d_head)``.
        v: Values ``(..., T_k, d_v)``.
        mask: See `attention_weights`.

    Returns:
        ``(..., T_q, d_v)``: for each query, the weighted average of the values.

    Example:
        >>> q = k = v = torch.randn(2, 5, 8)
        >>> causal = torch.ones(5, 5, dtype=torch.bool).tril()
        >>> fast = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
        >>> torch.allclose(attention(q, k, v, causal), fast, atol=1e-6)
        True
    """
    return attention_weights(q, k, mask) @ v
    # --8<-- [end:attention]


def causal_mask(t_q: int, t_k: int, device=None) -> torch.Tensor:
    """The boolean ``(t_q, t_k)`` mask of queries that are the *last* ``t_q`` of ``t_k`` positions.

    Query ``i`` sits at position ``t_k - t_q + i`` and may read keys up to and including it. With
    ``t_q == t_k`` this is the lower triangle; with a KV cache (fewer new queries than keys) it is
    the bottom rows of it.
    """
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).tril(diagonal=t_k - t_q)


# --8<-- [start:kv_cache]
class KVCache:
    """Keys and values of the positions already read, kept so that new tokens attend to them without recomputing.

    One pre-allocated buffer ``(n_layer, 2, B, n_head, block_size, d_head)``; `GPT.forward` writes
    each layer's new keys and values at ``length`` and then advances ``length``.

    Args:
        config: The model's `GPTConfig`.
        batch_size: Number of sequences generated together.
        device: Where the buffer lives.
        dtype: The model's floating-point type.
    """

    def __init__(self, config: GPTConfig, batch_size: int, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32):
        head = config.n_embd // config.n_head
        self.buffer = torch.zeros(config.n_layer, 2, batch_size, config.n_head, config.block_size, head,
                                  device=device, dtype=dtype)
        self.length = 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new ``k, v`` ``(B, n_head, T_new, d_head)`` of ``layer``; return all its keys and values so far."""
        end = self.length + k.size(2)
        self.buffer[layer, 0, :, :, self.length:end] = k
        self.buffer[layer, 1, :, :, self.length:end] = v
        return self.buffer[layer, 0, :, :, :end], self.buffer[layer, 1, :, :, :end]
        # --8<-- [end:kv_cache]


# --8<-- [start:self_attention]
class SelfAttention(nn.Module):
    """Multi-head self-attention: every position makes a query, a key and a value in each head.

    Args:
        config: The model's `GPTConfig`.
        causal: ``True`` (GPT): a position reads only itself and earlier positions.
            ``False`` (BERT): every position reads every position.

    Attributes:
        fast: ``True`` runs ``F.scaled_dot_product_attention`` (one fused kernel); ``False`` runs
            the written-out `attention`. Same result.
    """

    def __init__(self, config: GPTConfig, causal: bool = True):
        super().__init__()
        self.n_head, self.causal = config.n_head, causal
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # all heads' q, k, v at once
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)  # mixes the heads' outputs
        self.attn_dropout = nn.Dropout(config.dropout if config.attn_dropout is None else config.attn_dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.fast = True

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """``(B, T, n_embd)`` → ``(B, T, n_embd)``; with ``kv_cache``, also attend to ``layer``'s cached positions."""
        B, T, C = x.shape
        # (B, T, 3C) -> three (B, n_head, T, d_head): the heads become a batch dimension
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        if kv_cache is not None:
            k, v = kv_cache.update(layer, k, v)
        T_k = k.size(2)
        mask = causal_mask(T, T_k, x.device) if self.causal and T > 1 else None  # one new query sees everything
        if self.fast:
            p = self.attn_dropout.p if self.training else 0.0  # the kernel drops the weights itself
            if T == T_k and mask is not None:  # the plain triangle: let the kernel skip the hidden half
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        else:  # (`attention_maps` reads the weights where they enter the dropout)
            y = self.attn_dropout(attention_weights(q, k, mask)) @ v
        y = y.transpose(1, 2).reshape(B, T, C)  # heads side by side again
        return self.resid_dropout(self.proj(y))
        # --8<-- [end:self_attention]


# --8<-- [start:block]
class FeedForward(nn.Module):
    """The position-wise feed-forward network: widen 4×, GELU, project back.

    Args:
        config: The model's `GPTConfig`.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n_embd)`` → ``(..., n_embd)``, each position on its own."""
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    """A pre-LayerNorm transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``.

    Attention is where positions communicate; the feed-forward network (``mlp``, nanoGPT's name)
    is where each position computes on what it
    gathered. The residual additions keep a direct path for gradients from the loss to every layer.

    Args:
        config: The model's `GPTConfig`.
        causal: Passed to `SelfAttention`.
    """

    def __init__(self, config: GPTConfig, causal: bool = True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = SelfAttention(config, causal)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = FeedForward(config)

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """``(B, T, n_embd)`` → ``(B, T, n_embd)``."""
        x = x + self.attn(self.ln_1(x), kv_cache, layer)
        return x + self.mlp(self.ln_2(x))
        # --8<-- [end:block]


# --8<-- [start:embeddings]
class Embeddings(nn.Module):
    """Token embedding plus learned position embedding, then dropout.

    Args:
        config: The model's `GPTConfig`.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos = nn.Embedding(config.block_size, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``(B, T)`` token ids at positions ``start .. start+T-1`` → ``(B, T, n_embd)``.

        Raises:
            TypeError: ``idx`` is not a tensor of integer ids.
            ValueError: ``idx`` is not 2-D, is longer than ``block_size``, or holds an id outside the vocabulary.
        """
        _check_token_ids(idx, start, self.config)
        pos = torch.arange(start, start + idx.size(1), device=idx.device)
        return self.dropout(self.tok(idx) + self.pos(pos))
        # --8<-- [end:embeddings]


def _check_token_ids(idx, start: int, config: GPTConfig) -> None:
    """Raise unless ``idx`` is ``(B, T)`` long ids of the vocabulary that fit positions ``start .. block_size - 1``."""
    if not isinstance(idx, torch.Tensor) or idx.dtype != torch.long:
        got = getattr(idx, "dtype", type(idx))
        raise TypeError(f"idx must be a torch.long tensor of token ids, got {got}")
    if idx.dim() != 2:
        raise ValueError(f"idx must be (batch, time), got shape {tuple(idx.shape)}")
    if start + idx.size(1) > config.block_size:
        raise ValueError(
            f"the model reads at most block_size={config.block_size} positions, got {start + idx.size(1)}; "
            f"crop the input to its last {config.block_size} tokens"
        )
    if not idx.is_cuda and idx.numel() and (idx.min() < 0 or idx.max() >= config.vocab_size):
        # (on a GPU this check would wait for the device each step; the embedding's own assert fires there)
        raise ValueError(f"token ids must be in [0, {config.vocab_size}), got {idx.min()}..{idx.max()}")


# --8<-- [start:gpt]
class GPT(nn.Module):
    """A decoder-only transformer language model in nanoGPT's shape.

    Args:
        config: Its `GPTConfig`.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.embed = Embeddings(config)
        self.blocks = nn.ModuleList(Block(config, causal=True) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.embed.tok.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):  # the layers that add into the residual stream
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layer))  # keep its variance ~constant in depth

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                kv_cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Next-token logits for every position, and the loss when ``targets`` are given.

        Args:
            idx: ``(B, T)`` token ids, ``T <= block_size``.
            targets: ``(B, T)`` the next token at each position; ``-1`` marks a position left out
                of the loss (padding).
            kv_cache: A `KVCache` holding the positions before ``idx``; ``idx`` continues them.

        Returns:
            ``(logits (B, T, vocab_size), loss)``: the loss is the mean cross-entropy over the
            positions whose target is not -1, or ``None`` without targets.
        """
        start = kv_cache.length if kv_cache is not None else 0
        x = self.embed(idx, start)
        for layer, block in enumerate(self.blocks):
            x = block(x, kv_cache, layer)
        if kv_cache is not None:
            kv_cache.length += idx.size(1)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        if targets.shape != idx.shape:
            raise ValueError(f"targets must have idx's shape {tuple(idx.shape)}, got {tuple(targets.shape)}")
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss
        # --8<-- [end:gpt]

    def num_params(self) -> int:
        """Number of parameters (the tied token/head matrix counted once)."""
        return sum(p.numel() for p in self.parameters())

    # --8<-- [start:generate]
    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 use_cache: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """Extend each row of ``idx`` by ``max_new_tokens`` tokens, each drawn from the model.

        The model is in eval mode meanwhile (no dropout), then back in its mode.
        At each step the model reads the last ``block_size`` tokens. With ``use_cache`` the keys and
        values of the tokens already read are kept in a `KVCache`, so each step feeds one token
        instead of the whole window. Once the text is longer than ``block_size`` the window slides:
        every token then sits one position earlier than when it was cached, so its cached keys and
        values are stale. The cache is then rebuilt from the cropped window, exactly what the model
        without the cache computes. The tokens are the same either way.

        Args:
            idx: ``(B, T)`` token ids to continue (at least one per row).
            max_new_tokens: How many tokens to append.
            temperature: Divides the logits: below 1 sharper, above 1 flatter.
            top_k: Sample only among the ``top_k`` most likely tokens (``1`` = greedy).
            use_cache: Whether to keep a `KVCache`.
            generator: The random source, for samples that repeat exactly.

        Returns:
            ``(B, T + max_new_tokens)`` token ids.
        """
        check_sampling(max_new_tokens, temperature)  # (top_k=1 is greedy decoding)
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if idx.dim() != 2 or idx.size(1) == 0:
            raise ValueError(f"idx must be (batch, time) with at least one token per row, got {tuple(idx.shape)}")
        block_size = self.config.block_size
        cache, fed = None, 0  # fed: how many tokens of idx the cache holds
        with eval_mode(self):
            for _ in range(max_new_tokens):
                if not use_cache:
                    logits, _ = self(idx[:, -block_size:])
                else:
                    if cache is None or idx.size(1) > block_size:  # first step, or the window slid
                        cache = KVCache(self.config, idx.size(0), idx.device, self.lm_head.weight.dtype)
                        fed = max(0, idx.size(1) - block_size)
                    logits, _ = self(idx[:, fed:], kv_cache=cache)
                    fed = idx.size(1)
                probs = next_token_probs(logits[:, -1, :], temperature, top_k)  # divided by the temperature
                idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)], dim=1)
        return idx
        # --8<-- [end:generate]


def set_fast_attention(model: nn.Module, fast: bool) -> None:
    """Switch every `SelfAttention` in ``model`` to the fused kernel (``fast=True``) or the written-out `attention`."""
    for module in model.modules():
        if isinstance(module, SelfAttention):
            module.fast = fast


@torch.no_grad()
def attention_maps(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """The attention probabilities of every layer and head of ``model`` on ``idx``.

    The model runs once, in eval mode and on the written-out path, where each `SelfAttention`
    passes its weights through its attention dropout: a forward hook there records them.

    Args:
        model: A `GPT` (or any model built from `SelfAttention`), called as ``model(idx)``.
        idx: ``(B, T)`` token ids.

    Returns:
        ``(n_layer, B, n_head, T, T)``: row ``i`` of a map is how much position ``i`` reads from
        each position.
    """
    layers = [m for m in model.modules() if isinstance(m, SelfAttention)]
    was_fast = [m.fast for m in layers]
    maps = []  # in the order the layers run
    hooks = [m.attn_dropout.register_forward_hook(lambda _, inputs, __: maps.append(inputs[0])) for m in layers]
    try:
        set_fast_attention(model, False)
        with eval_mode(model):
            model(idx)
    finally:
        for m, fast, hook in zip(layers, was_fast, hooks):
            m.fast = fast
            hook.remove()
    return torch.stack(maps)
