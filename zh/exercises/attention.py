"""Reference answers to the exercises of the attention pages (see ``zh.exercises``).

Each reference takes the slow, obvious route (a loop over positions, autograd, PyTorch's own
functions, counting what a module holds) rather than the formula a page's solution uses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zh.exercises import exercise
from zh.models.bert import mask_tokens
from zh.models.gpt import GPT, Block, GPTConfig, KVCache


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=torch.float64)


def _small_block(seed: int = 0) -> Block:
    torch.manual_seed(seed)  # nn.Linear draws from the global generator
    return Block(GPTConfig(vocab_size=11, block_size=6, n_layer=1, n_head=2, n_embd=8)).double()


# --- the averaging trick -------------------------------------------------------------------------


@exercise("attention/averaging", "running_mean", hint="row t is the mean of rows 0..t: x.cumsum(1) holds the sums",
          example=lambda: {"x": _randn(2, 5, 3)}, atol=1e-5)  # float32 sums of 8 terms
def running_mean(x):
    """The running mean of ``x`` (B, T, C) along T, by a loop over positions."""
    out = torch.empty(x.shape, dtype=torch.float64)
    for t in range(x.shape[1]):
        out[:, t] = x[:, : t + 1].double().mean(1)
    return out


@exercise("attention/averaging", "causal_weights", hint="row t: t + 1 equal weights that sum to 1, then zeros",
          example=lambda: {"T": 5})
def causal_weights(T):
    """The (T, T) averaging weights, entry by entry."""
    return torch.tensor([[1 / (t + 1) if s <= t else 0.0 for s in range(T)] for t in range(T)], dtype=torch.float64)


@exercise("attention/averaging", "window_average",
          hint="row t averages rows max(0, t - k + 1)..t: mask the scores more than k - 1 back, and the future",
          example=lambda: {"x": _randn(2, 6, 3), "k": 3}, atol=1e-5)  # float32 sums
def window_average(x, k):
    """The mean of the last ``k`` positions (fewer at the start), by a loop."""
    out = torch.empty(x.shape, dtype=torch.float64)
    for t in range(x.shape[1]):
        out[:, t] = x[:, max(0, t - k + 1) : t + 1].double().mean(1)
    return out


@exercise("attention/averaging", "decay_weights",
          hint="score(t, s) = -rate·(t - s) for s <= t and -inf after t, then a softmax along each row",
          example=lambda: {"T": 6, "rate": 0.5})
def decay_weights(T, rate):
    """Softmax weights of the scores -rate·(t - s) on the past, summed term by term."""
    w = torch.zeros(T, T, dtype=torch.float64)
    for t in range(T):
        total = sum(math.exp(-rate * (t - s)) for s in range(t + 1))
        for s in range(t + 1):
            w[t, s] = math.exp(-rate * (t - s)) / total
    return w


@exercise("attention/averaging", "dx", hint="xbow = W @ x with one (T, T) matrix W, so dL/dx = Wᵀ @ dL/dxbow",
          example=lambda: {"x": _randn(2, 5, 3), "r": _randn(2, 5, 3, seed=1)})
def dx(x, r):
    """The gradient of sum(running mean of x * r) with respect to ``x``, by autograd."""
    x = x.detach().double().requires_grad_()
    xbow = torch.stack([x[:, : t + 1].mean(1) for t in range(x.shape[1])], dim=1)
    (xbow * r.double()).sum().backward()
    return x.grad


# --- self-attention -------------------------------------------------------------------------------


@exercise("attention/self_attention", "causal_pairs", hint="row t of the mask lets position t read t + 1 positions",
          example=lambda: {"T": 8})
def causal_pairs(T):
    """The number of (query, key) pairs a causal mask over T positions allows, counted."""
    return sum(1 for t in range(T) for s in range(T) if s <= t)


@exercise("attention/self_attention", "unscaled_weights",
          hint="the same masked softmax, of q @ k.transpose(-2, -1) without the factor head_size**-0.5",
          example=lambda: {"q": _randn(2, 5, 4), "k": _randn(2, 5, 4, seed=1)},
          rtol=1e-4, atol=1e-5)  # the page's q and k are float32, and unscaled scores reach tens
def unscaled_weights(q, k):
    """Causal softmax weights of the unscaled scores q·k, row by row in float64."""
    q, k = q.detach().double(), k.detach().double()
    B, T, _ = q.shape
    w = torch.zeros(B, T, T, dtype=torch.float64)
    for b in range(B):
        for t in range(T):
            scores = [float(q[b, t] @ k[b, s]) for s in range(t + 1)]
            top = max(scores)
            e = [math.exp(s - top) for s in scores]
            w[b, t, : t + 1] = torch.tensor(e, dtype=torch.float64) / sum(e)
    return w


@exercise("attention/self_attention", "softmax_jacobian",
          hint="∂p_s/∂z_r = p_s([s = r] - p_r): the matrix diag(p) - p pᵀ",
          probes=lambda: [(_randn(5),), (10 * _randn(4, seed=1),), (0.1 * _randn(6, seed=2),)])
def softmax_jacobian(z):
    """The Jacobian of softmax at ``z``, by autograd."""
    return torch.autograd.functional.jacobian(lambda t: F.softmax(t, dim=-1), z.double())


@exercise("attention/self_attention", "multi_head",
          hint="head h uses columns h·d..(h+1)·d of q, k and v (d = width / n_head), scaled by 1/√d; "
               "concatenate the heads' outputs in order",
          probes=lambda: [(_randn(2, 6, 12), _randn(2, 6, 12, seed=1), _randn(2, 6, 12, seed=2), 3),
                          (_randn(1, 4, 8, seed=3), _randn(1, 4, 8, seed=4), _randn(1, 4, 8, seed=5), 2)])
def multi_head(q, k, v, n_head):
    """Causal attention in each of ``n_head`` column slices, by PyTorch's fused kernel, concatenated."""
    d = q.shape[-1] // n_head
    heads = [slice(h * d, (h + 1) * d) for h in range(n_head)]
    return torch.cat([F.scaled_dot_product_attention(q[..., s], k[..., s], v[..., s], is_causal=True)
                      for s in heads], dim=-1)


# --- the transformer block ------------------------------------------------------------------------


@exercise("attention/transformer_block", "block_params",
          hint="each Linear has a weight and a bias, each LayerNorm a γ and a β; FeedForward is C → 4C → C",
          example=lambda: {"n_embd": 16})
def block_params(n_embd):
    """The number of parameters of a ``Block`` of width ``n_embd``, counted on one."""
    return sum(p.numel() for p in Block(GPTConfig(n_embd=n_embd, n_head=1)).parameters())


@exercise("attention/transformer_block", "gelu_tanh", hint="0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
          probes=lambda: [(torch.linspace(-6, 6, 121, dtype=torch.float64),), (_randn(3, 4),)])
def gelu_tanh(x):
    """PyTorch's GELU with the tanh approximation."""
    return F.gelu(x, approximate="tanh")


def _mlp_by_hand(mlp, h, nonlinearity):
    return nonlinearity(h @ mlp.fc.weight.T + mlp.fc.bias) @ mlp.proj.weight.T + mlp.proj.bias


@exercise("attention/transformer_block", "tanh_block",
          hint="the block with FeedForward's GELU replaced by tanh (copy the block first, so the page's one stays)",
          example=lambda: {"block": _small_block(), "x": _randn(2, 6, 8)}, atol=1e-5)  # float32 blocks
def tanh_block(block, x):
    """``block`` on ``x`` with tanh in place of the feed-forward network's GELU, that network written out."""
    with torch.no_grad():
        x = x + block.attn(block.ln_1(x))
        return x + _mlp_by_hand(block.mlp, block.ln_2(x), torch.tanh)


@exercise("attention/transformer_block", "post_norm",
          hint="the paper's order: x = ln_1(x + attn(x)), then x = ln_2(x + mlp(x))",
          example=lambda: {"block": _small_block(), "x": _randn(2, 6, 8)}, atol=1e-5)  # float32 blocks
def post_norm(block, x):
    """``block``'s sub-layers in post-norm order, the LayerNorms and the feed-forward network written out."""
    C = x.shape[-1]
    with torch.no_grad():
        h = F.layer_norm(x + block.attn(x), (C,), block.ln_1.weight, block.ln_1.bias, block.ln_1.eps)
        return F.layer_norm(h + _mlp_by_hand(block.mlp, h, F.gelu), (C,), block.ln_2.weight, block.ln_2.bias,
                            block.ln_2.eps)


@exercise("attention/transformer_block", "block_flops",
          hint="2 FLOPs per multiply-add; the four Linear layers give 24·B·T·C², the two attention products 4·B·T²·C",
          example=lambda: {"B": 2, "T": 4, "n_embd": 16})
def block_flops(B, T, n_embd):
    """FLOPs of a block's forward pass, counted by ``torch.utils.flop_counter``."""
    from torch.utils.flop_counter import FlopCounterMode

    block = Block(GPTConfig(block_size=T, n_embd=n_embd, n_head=1))
    block.attn.fast = False  # the written-out attention: matrix products that the counter sees
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        block(torch.zeros(B, T, n_embd))
    return counter.get_total_flops()


# --- the GPT --------------------------------------------------------------------------------------


@exercise("attention/gpt", "init_loss", hint="equal logits: each of the vocab_size characters gets 1/vocab_size",
          example=lambda: {"vocab_size": 65})
def init_loss(vocab_size):
    """The cross-entropy of equal logits over ``vocab_size`` classes, by PyTorch."""
    return F.cross_entropy(torch.zeros(1, vocab_size, dtype=torch.float64), torch.tensor([0])).item()


@exercise("attention/gpt", "gpt_params",
          hint="V·C (embedding and head are one matrix) + block_size·C + n_layer blocks + the final LayerNorm's 2C",
          example=lambda: {"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_embd": 16})
def gpt_params(vocab_size, block_size, n_layer, n_embd):
    """The number of parameters of a GPT of this shape, counted on one."""
    return GPT(GPTConfig(vocab_size, block_size, n_layer, 1, n_embd)).num_params()


@exercise("attention/gpt", "kv_cache_bytes",
          hint="a key and a value (2) per layer, sequence, position of the context and channel; float32: 4 bytes each",
          example=lambda: {"n_layer": 2, "batch_size": 3, "block_size": 8, "n_embd": 16})
def kv_cache_bytes(n_layer, batch_size, block_size, n_embd):
    """The bytes of a ``KVCache`` of this shape in float32, from its buffer."""
    cache = KVCache(GPTConfig(block_size=block_size, n_layer=n_layer, n_head=1, n_embd=n_embd), batch_size)
    return cache.buffer.numel() * cache.buffer.element_size()


@exercise("attention/gpt", "sampling_probs",
          hint="divide the logits by the temperature, keep the top_k largest (None: all), softmax over those",
          probes=lambda: [(_randn(10), 1.0, None), (_randn(10, seed=1), 0.5, 3), (3 * _randn(7, seed=2), 2.0, 1),
                          (_randn(65, seed=3), 0.8, 20)])
def sampling_probs(logits, temperature, top_k):
    """The distribution ``GPT.generate`` draws from, for one row of logits, element by element."""
    values = [float(v) for v in logits]
    keep = sorted(range(len(values)), key=lambda i: -values[i])[: top_k or len(values)]
    top = max(values)
    e = {i: math.exp((values[i] - top) / temperature) for i in keep}
    return torch.tensor([e.get(i, 0.0) / sum(e.values()) for i in range(len(values))], dtype=torch.float64)


# --- GPT vs BERT ----------------------------------------------------------------------------------


@exercise("attention/gpt_vs_bert", "scored_positions",
          hint="the GPT has a target at every position of its window, BERT at the chosen 15 % (rounded)",
          example=lambda: {"T": 32})
def scored_positions(T):
    """Targets per window of T: the GPT's shifted window, and ``mask_tokens``'s chosen positions."""
    window = torch.arange(T + 1) % 7  # a window of T inputs and the T next characters
    gpt_targets = window[1:]
    _, bert_targets = mask_tokens(window[None, :T], 7, generator=_gen(0))
    return {"gpt": len(gpt_targets), "bert": int((bert_targets != -1).sum())}


@exercise("attention/gpt_vs_bert", "unchanged_fraction",
          hint="10 % are kept on purpose, and a random replacement can draw the very character it replaces",
          example=lambda: {"vocab_size": 65}, rtol=0.0, atol=0.01)  # a simulation: 0.01 is about 8 standard errors
def unchanged_fraction(vocab_size):
    """The share of chosen positions whose input is the original character, simulated."""
    ids = torch.randint(vocab_size, (4000, 100), generator=_gen(0))
    inputs, targets = mask_tokens(ids, vocab_size, generator=_gen(1))
    chosen = targets != -1
    return (inputs[chosen] == ids[chosen]).double().mean().item()


@exercise("attention/gpt_vs_bert", "padded_masks",
          hint="a key that is padding is never read; the GPT's mask also needs key <= query",
          example=lambda: {"T": 6, "pad": 2})
def padded_masks(T, pad):
    """The GPT's and BERT's masks with the last ``pad`` keys padding, entry by entry (1 = may read)."""
    real = [s < T - pad for s in range(T)]
    return {"gpt": torch.tensor([[int(real[s] and s <= t) for s in range(T)] for t in range(T)]),
            "bert": torch.tensor([[int(real[s]) for s in range(T)] for _ in range(T)])}


@exercise("attention/gpt_vs_bert", "prefix_lm_mask",
          hint="every position reads the whole prefix; after the prefix, the causal rule",
          probes=lambda: [(6, 2), (5, 0), (4, 4), (7, 3)])
def prefix_lm_mask(T, prefix):
    """The prefix-LM mask, entry by entry (1 = may read)."""
    return torch.tensor([[int(s <= t or (s < prefix and t < prefix)) for s in range(T)] for t in range(T)])
