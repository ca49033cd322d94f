"""zh.models.gpt: shapes, causality, the two attention paths, training, generation with and without a KV cache."""

import math

import pytest
import torch
import torch.nn.functional as F

from zh.models.gpt import (
    GPT,
    Block,
    GPTConfig,
    KVCache,
    SelfAttention,
    attention,
    attention_maps,
    attention_weights,
    causal_mask,
    set_fast_attention,
)

TINY = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def tiny(dtype=torch.float32, seed=0, **changes):
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY, **changes})).to(dtype)


def test_shapes_and_loss():
    model = tiny()
    idx = torch.randint(0, 11, (3, 8))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 8, 11) and loss.dim() == 0
    assert model(idx)[1] is None
    # at initialisation the model is close to uniform over the vocabulary
    assert abs(loss.item() - torch.log(torch.tensor(11.0)).item()) < 0.3


def test_ignore_index_leaves_padding_out_of_the_loss():
    model = tiny()
    idx = torch.randint(0, 11, (2, 6))
    targets = torch.randint(0, 11, (2, 6))
    padded = targets.clone()
    padded[:, 4:] = -1
    logits, loss = model(idx, padded)
    expected = F.cross_entropy(logits[:, :4].reshape(-1, 11), targets[:, :4].reshape(-1))
    torch.testing.assert_close(loss, expected)


def test_weight_tying_and_parameter_count():
    model = tiny()
    assert model.lm_head.weight is model.embed.tok.weight
    c = GPTConfig(**TINY)
    per_block = 2 * 2 * c.n_embd + (c.n_embd * 3 * c.n_embd + 3 * c.n_embd) + (c.n_embd**2 + c.n_embd) \
        + (c.n_embd * 4 * c.n_embd + 4 * c.n_embd) + (4 * c.n_embd * c.n_embd + c.n_embd)
    expected = c.vocab_size * c.n_embd + c.block_size * c.n_embd + c.n_layer * per_block + 2 * c.n_embd
    assert model.num_params() == expected


def test_nanogpt_cpu_configuration_has_its_parameter_count():
    """nanoGPT reports 0.80M parameters for its CPU shakespeare-char configuration (without position embeddings)."""
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128))
    assert round((model.num_params() - 64 * 128) / 1e6, 2) == 0.80


@pytest.mark.parametrize("fast", [True, False])
def test_causality_a_future_token_never_changes_earlier_logits(fast):
    model = tiny(torch.float64)
    set_fast_attention(model, fast)
    idx = torch.randint(0, 11, (2, 8))
    base = model(idx)[0]
    for t in range(8):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1) % 11
        out = model(changed)[0]
        assert torch.equal(out[:, :t], base[:, :t]), f"changing position {t} moved an earlier logit"
        assert not torch.allclose(out[:, t], base[:, t]), f"position {t} does not read its own token"


def test_bidirectional_block_reads_the_future():
    torch.manual_seed(0)
    block = Block(GPTConfig(**TINY), causal=False).double()
    x = torch.randn(1, 5, 16, dtype=torch.float64)
    y = x.clone()
    y[0, 4] += torch.randn(16, dtype=torch.float64)
    assert not torch.allclose(block(x)[0, 0], block(y)[0, 0])


@pytest.mark.parametrize("causal", [True, False])
def test_written_out_attention_equals_sdpa(causal):
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 4, 7, 8, dtype=torch.float64).unbind(0)
    mask = causal_mask(7, 7) if causal else None
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(attention(q, k, v, mask), expected)
    additive = torch.zeros(7, 7, dtype=torch.float64).masked_fill(~causal_mask(7, 7), float("-inf"))
    torch.testing.assert_close(attention(q, k, v, additive), F.scaled_dot_product_attention(q, k, v, causal_mask(7, 7)))
    assert torch.allclose(attention_weights(q, k, mask).sum(-1), torch.ones(2, 4, 7, dtype=torch.float64))


@pytest.mark.parametrize("causal", [True, False])
def test_self_attention_fast_and_written_out_paths_agree(causal):
    torch.manual_seed(0)
    attn = SelfAttention(GPTConfig(**TINY), causal=causal).double()
    x = torch.randn(2, 8, 16, dtype=torch.float64, requires_grad=True)
    attn.fast = True
    fast = attn(x)
    (g_fast,) = torch.autograd.grad(fast.square().sum(), x)
    attn.fast = False
    slow = attn(x)
    (g_slow,) = torch.autograd.grad(slow.square().sum(), x)
    torch.testing.assert_close(fast, slow)
    torch.testing.assert_close(g_fast, g_slow)


def test_whole_model_fast_and_written_out_agree():
    model = tiny(torch.float64)
    idx = torch.randint(0, 11, (2, 8))
    fast = model(idx, idx)
    set_fast_attention(model, False)
    slow = model(idx, idx)
    torch.testing.assert_close(fast[0], slow[0])
    torch.testing.assert_close(fast[1], slow[1])


def test_attention_maps_are_causal_distributions():
    model = tiny()
    idx = torch.randint(0, 11, (2, 6))
    maps = attention_maps(model, idx)
    assert maps.shape == (2, 2, 2, 6, 6)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 2, 6))
    assert torch.all(maps.triu(diagonal=1) == 0)
    layers = [m for m in model.modules() if isinstance(m, SelfAttention)]
    assert all(m.fast and not m.attn_dropout._forward_hooks for m in layers)  # hooks removed, fused path back
    assert model.training  # put back as it was
    set_fast_attention(model, False)
    with torch.no_grad():  # the recorded maps are the weights the written-out path computes
        block = model.blocks[0]
        x = block.ln_1(model.embed(idx))
        q, k, _ = block.attn.qkv(x).view(2, 6, 3, 2, 8).permute(2, 0, 3, 1, 4)
        torch.testing.assert_close(maps[0], attention_weights(q, k, causal_mask(6, 6)))
    assert not layers[0].fast and attention_maps(model, idx).shape == maps.shape and not layers[0].fast


def test_loss_decreases_when_training():
    model = tiny()
    idx = torch.randint(0, 11, (4, 8))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        _, loss = model(idx[:, :-1], idx[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_dropout_is_off_in_eval_mode():
    model = tiny(dropout=0.5)
    idx = torch.randint(0, 11, (2, 8))
    model.eval()
    assert torch.equal(model(idx)[0], model(idx)[0])
    model.train()
    assert not torch.equal(model(idx)[0], model(idx)[0])


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(n_embd=15), "divisible by n_head"),
        (dict(n_layer=0), "n_layer must be a whole number >= 1"),
        (dict(block_size=2.5), "block_size must be a whole number"),
        (dict(dropout=1.0), "dropout is a probability"),
        (dict(attn_dropout=-0.1), "attn_dropout is a probability"),
    ],
)
def test_config_rejects_bad_shapes(changes, words):
    with pytest.raises(ValueError, match=words):
        GPTConfig(**{**TINY, **changes})


def test_clear_errors_for_bad_input():
    model = tiny()
    with pytest.raises(ValueError, match="at most block_size=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.long"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="batch, time"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 11\)"):
        model(torch.full((1, 4), 11))
    with pytest.raises(ValueError, match="targets must have idx's shape"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))
    for temperature in (0, -1.0, math.nan, math.inf):  # NaN passes a plain `<= 0` check
        with pytest.raises(ValueError, match="temperature must be a finite number above 0"):
            model.generate(torch.zeros(1, 1, dtype=torch.long), 3, temperature=temperature)
    with pytest.raises(ValueError, match="max_new_tokens must be a whole number of at least 0, got -3"):
        model.generate(torch.zeros(1, 1, dtype=torch.long), -3)  # once returned the prompt
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        model.generate(torch.zeros(1, 1, dtype=torch.long), 3, top_k=0)
    with pytest.raises(ValueError, match="at least one token"):
        model.generate(torch.zeros(1, 0, dtype=torch.long), 3)


def test_kv_cache_step_equals_full_forward():
    """Feeding a prefix and then one token at a time through the cache gives the full forward's logits."""
    model = tiny(torch.float64)
    model.eval()
    idx = torch.randint(0, 11, (2, 8))
    full = model(idx)[0]
    cache = KVCache(model.config, 2, dtype=torch.float64)
    pieces = [model(idx[:, :3], kv_cache=cache)[0]]  # a prefix of 3, then 2, then one by one
    pieces.append(model(idx[:, 3:5], kv_cache=cache)[0])
    pieces += [model(idx[:, t:t + 1], kv_cache=cache)[0] for t in range(5, 8)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full)
    with pytest.raises(ValueError, match="at most block_size"):
        model(idx[:, :1], kv_cache=cache)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("top_k", [1, 4, None])
@pytest.mark.parametrize("prompt_len", [1, 5, 8, 12])
def test_generate_same_tokens_with_and_without_cache(dtype, top_k, prompt_len):
    """Greedy (top_k=1) and sampled, far beyond block_size=8, and from prompts longer than it."""
    model = tiny(dtype)
    model.eval()
    prompt = torch.randint(0, 11, (3, prompt_len), generator=torch.Generator().manual_seed(1))
    runs = [
        model.generate(prompt, 30, temperature=0.9, top_k=top_k, use_cache=use_cache,
                       generator=torch.Generator().manual_seed(7))
        for use_cache in (True, False)
    ]
    assert runs[0].shape == (3, prompt_len + 30)
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0][:, :prompt_len], prompt)


def test_greedy_generation_picks_the_argmax():
    model = tiny(torch.float64)
    model.eval()
    out = model.generate(torch.zeros(1, 1, dtype=torch.long), 10, top_k=1)
    for t in range(1, 11):
        window = out[:, max(0, t - 8):t]
        assert out[0, t] == model(window)[0][0, -1].argmax()
