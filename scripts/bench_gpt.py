"""Speed of zh's GPT: training against the same model built from torch.nn; generation with and without a KV cache.

    flock /tmp/zh-timed.lock python scripts/bench_gpt.py      # a few minutes on 2 cores
    python scripts/bench_gpt.py --quick --out-dir /tmp/x      # tiny shapes, for the tests

1. Training tokens/s (forward, backward, AdamW step) of `zh.models.gpt.GPT` and of a reference
   GPT whose blocks are ``torch.nn.TransformerEncoderLayer(norm_first=True)`` with a causal mask:
   same shapes, same parameter count, same threads, in one process, timed in alternation.
2. New tokens/s of ``GPT.generate`` for 256 new tokens on the 6-layer, 6-head, 384-wide,
   block-256 shape (random weights), with and without the KV cache; the tokens are checked equal.

Each timing is the best of ``--repeats`` alternating rounds (the machine is shared: the best round
is the one least disturbed). Saves ``docs/results/bench_gpt.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import results
import torch
import torch.nn as nn
import torch.nn.functional as F

from zh import cli
from zh.models.gpt import GPT, GPTConfig

TRAIN_SHAPE = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)  # nanoGPT's CPU shape
TRAIN_BATCH = 12
GENERATE_SHAPE = dict(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384)
NEW_TOKENS = 256


class TorchNNGPT(nn.Module):
    """The same GPT from torch.nn's transformer layer: embeddings, pre-LN encoder layers + causal mask, tied head."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.tok = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos = nn.Embedding(config.block_size, config.n_embd)
        layer = nn.TransformerEncoderLayer(config.n_embd, config.n_head, 4 * config.n_embd, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.n_layer, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.tok.weight

    def forward(self, idx, targets):
        T = idx.size(1)
        x = self.tok(idx) + self.pos(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        x = self.blocks(x, mask=mask, is_causal=True)
        logits = self.lm_head(self.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


def train_steps(model: nn.Module, steps: int, batch: int, block: int, vocab: int) -> float:
    """Seconds for ``steps`` training steps on random tokens (after one untimed warm-up step)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    data = [torch.randint(0, vocab, (batch, block + 1), generator=g) for _ in range(steps + 1)]

    def step(xy):
        _, loss = model(xy[:, :-1], xy[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step(data[0])
    start = time.perf_counter()
    for xy in data[1:]:
        step(xy)
    return time.perf_counter() - start


def bench_training(config: GPTConfig, batch: int, steps: int, repeats: int) -> dict:
    torch.manual_seed(0)
    models = {"zh": GPT(config), "torch.nn": TorchNNGPT(config)}
    counts = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    assert counts["zh"] == counts["torch.nn"], counts
    best = {k: float("inf") for k in models}
    for _ in range(repeats):  # alternate, so that both see the same state of the machine
        for k, m in models.items():
            best[k] = min(best[k], train_steps(m, steps, batch, config.block_size, config.vocab_size))
    tokens = steps * batch * config.block_size
    return {
        "shape": {**vars(config), "batch_size": batch},
        "params": counts["zh"],
        "steps": steps,
        "tokens_per_s": {k: round(tokens / s) for k, s in best.items()},
        "ratio": round(best["torch.nn"] / best["zh"], 3),
    }


def bench_generation(config: GPTConfig, new_tokens: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = GPT(config).eval()
    prompt = torch.zeros(1, 1, dtype=torch.long)
    best, outputs = {True: float("inf"), False: float("inf")}, {}
    for _ in range(repeats):
        for use_cache in (True, False):
            start = time.perf_counter()
            outputs[use_cache] = model.generate(prompt, new_tokens, use_cache=use_cache,
                                                generator=torch.Generator().manual_seed(1))
            best[use_cache] = min(best[use_cache], time.perf_counter() - start)
    assert torch.equal(outputs[True], outputs[False]), "the KV cache changed the tokens"
    return {
        "shape": vars(config),
        "params": model.num_params(),
        "new_tokens": new_tokens,
        "tokens_per_s": {"with cache": round(new_tokens / best[True], 1),
                         "without cache": round(new_tokens / best[False], 1)},
        "speedup": round(best[False] / best[True], 2),
        "same_tokens": True,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=cli.POSITIVE, default=2)
    parser.add_argument("--repeats", type=cli.POSITIVE, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for the tests")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick and args.out_dir is None:
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    torch.set_num_threads(args.threads)
    load_start = [round(x, 2) for x in os.getloadavg()]
    if args.quick:
        train_config, gen_config = GPTConfig(65, 16, 2, 2, 32), GPTConfig(65, 32, 2, 2, 32)
        steps, new_tokens, repeats = 3, 40, 1
    else:
        train_config, gen_config = GPTConfig(**TRAIN_SHAPE), GPTConfig(**GENERATE_SHAPE)
        steps, new_tokens, repeats = 30, NEW_TOKENS, args.repeats
    training = bench_training(train_config, TRAIN_BATCH, steps, repeats)
    generation = bench_generation(gen_config, new_tokens, repeats)
    data = {"quick": args.quick, "threads": args.threads, "repeats": repeats, "training": training,
            "generation": generation, "loadavg_start": load_start,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    t, g = training, generation
    s, gs = t["shape"], g["shape"]
    table = "\n".join([
        f"| training, {s['n_layer']} layers / {s['n_head']} heads / {s['n_embd']} wide, block {s['block_size']}, "
        f"batch {s['batch_size']} ({t['params']:,} parameters) | tokens/s |",
        "|---|---:|",
        f"| zh `GPT` | {t['tokens_per_s']['zh']:,} |",
        f"| torch.nn `TransformerEncoderLayer(norm_first=True)` + causal mask | {t['tokens_per_s']['torch.nn']:,} |",
        f"| **zh ÷ torch.nn** | **{t['ratio']:.2f}×** |",
        "",
        f"| generating {g['new_tokens']} tokens, {gs['n_layer']} layers / {gs['n_head']} heads / {gs['n_embd']} wide, "
        f"block {gs['block_size']} ({g['params']:,} parameters) | new tokens/s |",
        "|---|---:|",
        f"| with the KV cache | {g['tokens_per_s']['with cache']:,} |",
        f"| without (the whole window each step) | {g['tokens_per_s']['without cache']:,} |",
        f"| **speed-up** (same tokens: {g['same_tokens']}) | **{g['speedup']:.1f}×** |",
        "",
        f"{args.threads} threads, best of {repeats} alternating rounds; load average (1 min) "
        f"{load_start[0]} at the start, {data['loadavg_end'][0]} at the end.",
    ])
    results.write("bench_gpt", data, table, out_dir=args.out_dir)
    return data


if __name__ == "__main__":
    sys.exit(cli.run_safely("bench_gpt.py", main))  # Ctrl-C: one line, exit status 130
