"""Time WaveNet's two forms on the whole validation set: one convolution pass vs the tree once per position.

Page: docs/makemore/wavenet.md shows the table this writes (docs/results/bench_wavenet.md).

    flock /tmp/zh-timed.lock python scripts/bench_wavenet.py          # best of 20, one thread
    python scripts/bench_wavenet.py --quick --out-dir /tmp/b           # 100 names, for the tests

Times are the process's CPU time on one thread (best of the repeats, the forms taking turns).

Each validation name is one row ``[0, w_1, ..., w_n]`` padded to the longest; the outputs wanted
are the logits at every position of every row. Both forms compute exactly those outputs (checked
to agree); neither computes gradients. The model is the lecture's final one (76,579 parameters),
in eval mode, with random weights: speed does not depend on their values.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import results
import torch
import torch.nn.functional as F

from zh import cli
from zh.data import CharVocab, load_names, split_words
from zh.models.sequence import IGNORE, build_sequences
from zh.models.wavenet import WaveNet, WaveNetConfig

#: the two ways WaveNet.convolve computes a convolution
VIAS = {"conv1d": "`F.conv1d`", "matmul": "the Linear on shifted copies"}


def best_times(forms: dict, repeats: int) -> dict:
    """For each of ``forms`` (name -> function), the least CPU time (seconds) of ``repeats`` calls.

    The forms take turns, so that a busy spell of the machine hits them alike, and the clock is the
    process's CPU time: on a shared machine, the time spent waiting for a core is not counted.
    """
    for fn in forms.values():
        fn()  # warm-up
    best = dict.fromkeys(forms, float("inf"))
    for _ in range(repeats):
        for name, fn in forms.items():
            t0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t0)
    return best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 names, 2 repeats, for the tests")
    parser.add_argument("--out-dir", type=Path, default=None, help="where to write (default docs/results)")
    args = parser.parse_args(argv)
    if args.quick and args.out_dir is None:
        parser.error("--quick needs --out-dir: its numbers must not replace the full run's in docs/results")
    torch.set_num_threads(1)
    words = load_names()
    vocab = CharVocab.from_words(words)
    val = split_words(words)[1][: 100 if args.quick else None]
    repeats = 2 if args.quick else 20
    X, Y = build_sequences(val, vocab)
    model = WaveNet(WaveNetConfig(vocab_size=len(vocab)), generator=torch.Generator().manual_seed(42)).eval()
    block = model.config.block_size
    padded = F.pad(X, (block - 1, 0))

    def tree():  # the tree once per position: T calls, each on that position's window of every row
        return torch.stack([model(padded[:, t : t + block])[0] for t in range(X.shape[1])], dim=1)

    load_start = os.getloadavg()[0]
    with torch.no_grad():
        reference = tree()
        agree = max((model.convolve(X, via) - reference).abs().max().item() for via in VIAS)
        forms = {"tree": tree, **{via: (lambda via=via: model.convolve(X, via)) for via in VIAS}}
        seconds = best_times(forms, repeats)
    load_end = os.getloadavg()[0]
    positions, chars = X.numel(), int((Y != IGNORE).sum())
    data = {
        "names": len(val), "positions": positions, "predicted_characters": chars, "repeats": repeats,
        "seconds": seconds, "speedup": {via: seconds["tree"] / seconds[via] for via in VIAS},
        "max_abs_difference": agree,
        "loadavg": [round(load_start, 2), round(load_end, 2)],
    }
    table = (
        f"| {len(val):,} validation names as {X.shape[0]:,} rows × {X.shape[1]} positions "
        f"({positions:,} outputs) | CPU time (best of {repeats}) |\n"
        "|---|---:|\n"
        f"| tree, once per position ({X.shape[1]} calls) | {seconds['tree'] * 1e3:.1f} ms |\n"
        + "".join(f"| dilated convolutions, one pass, {VIAS[via]} | {seconds[via] * 1e3:.1f} ms "
                  f"(**{data['speedup'][via]:.2f}×** faster) |\n" for via in VIAS)
        + f"\nLargest difference between the forms' logits: {agree:.1e}. "
        f"Load average {load_start:.2f} at the start, {load_end:.2f} at the end (2 cores)."
    )
    print(table)
    results.write("bench_wavenet", data, table, out_dir=args.out_dir)
    return data


if __name__ == "__main__":
    sys.exit(cli.run_safely("bench_wavenet.py", main))  # Ctrl-C: one line, exit status 130
