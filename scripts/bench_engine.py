"""Benchmark: zh.engine against the PyPI package micrograd, side by side in one process.

The workload is micrograd's demo: full-batch training steps (learning rate 1) of ``MLP(2, [16, 16, 1])`` on 100
moons points (SVM hinge loss + 1e-4 L2, backward, SGD update), both models starting from the
same weights (micrograd's, copied into zh's). The same ``zh.nn.train`` loop drives both, so the
losses must agree; the script checks it. It also times a 1,000,000-node chain.

Python's cyclic garbage collector matters here (micrograd's closures make reference cycles), so
the step is timed twice: with the interpreter's default settings and with ``gc`` disabled.

Usage: ``python scripts/bench_engine.py`` (about two minutes) or ``--quick`` (seconds, for tests).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

from micrograd import nn as micrograd_nn
from micrograd.engine import Value as MicrogradValue
from results import write

from zh import cli
from zh.data import make_moons
from zh.engine import Value
from zh.nn import MLP, train


def models(seed: int = 1337):
    """micrograd's MLP(2, [16, 16, 1]) and a zh MLP holding the same initial weights."""
    random.seed(seed)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    ours = MLP(2, [16, 16, 1])
    for p, q in zip(theirs.parameters(), ours.parameters(), strict=True):
        q.data = p.data
    return theirs, ours


def time_training(X, y, steps: int, collect: bool):
    """Fastest step of each engine (seconds), and both loss histories.

    The two models train side by side, a micrograd step then a zh step, so that both see the
    same load on the machine; the fastest of ``steps`` steps is the least disturbed measurement.
    """
    best = {"micrograd": float("inf"), "zh": float("inf")}
    history = {"micrograd": [], "zh": []}
    pair = dict(zip(("micrograd", "zh"), models()))
    (gc.enable if collect else gc.disable)()
    try:
        for _ in range(steps):
            for name, model in pair.items():
                gc.collect()  # start each step with no garbage from the other engine
                start = time.process_time()
                ((loss, _),) = train(model, X, y, max_steps=1)
                best[name] = min(best[name], time.process_time() - start)
                history[name].append(loss)
    finally:
        gc.enable()
    return best, history


def time_chain(value_class, n: int):
    """Seconds to build ``n`` chained ReLUs and backpropagate, or the error that stopped it."""
    x = value_class(1.0)
    start = time.process_time()
    y = x
    for _ in range(n):
        y = y.relu()
    try:
        y.backward()
    except RecursionError as exc:
        return None, f"RecursionError ({exc})"
    assert x.grad == 1.0
    return time.process_time() - start, None


def main(argv=None, out_dir=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: 2 steps, 20 points, a 10,000-node chain")
    parser.add_argument("--out-dir", type=Path, default=out_dir, help="where to write bench_engine.{json,md}")
    args = parser.parse_args(argv)
    n_points, steps, chain = (20, 2, 10_000) if args.quick else (100, 20, 1_000_000)

    X, y = make_moons(n_points, noise=0.1, random_state=1)
    X, y = X.tolist(), (2 * y - 1).tolist()
    rows = {}
    for label, collect in (("default (gc on)", True), ("gc disabled", False)):
        seconds, history = time_training(X, y, steps, collect)
        rows[label] = seconds
        print(f"step, {label}: micrograd {seconds['micrograd'] * 1e3:.1f} ms, zh {seconds['zh'] * 1e3:.1f} ms, "
              f"zh is {seconds['micrograd'] / seconds['zh']:.1f}x faster")
    first_equal = history["zh"][0] == history["micrograd"][0]
    max_diff = max(abs(a - b) for a, b in zip(history["zh"], history["micrograd"]))
    print(f"losses: first step identical: {first_equal}; max |difference| over {steps} steps: {max_diff:.2e}")
    if not first_equal or max_diff > 1e-9:
        raise SystemExit("the losses of zh and micrograd disagree")

    gc.collect()
    zh_chain, _ = time_chain(Value, chain)
    _, micrograd_error = time_chain(MicrogradValue, chain)
    print(f"{chain:,}-node chain, forward + backward: zh {zh_chain:.2f} s; micrograd: {micrograd_error or 'ran'}")

    data = {
        "workload": f"MLP(2, [16, 16, 1]) full-batch step on {n_points} moons points, SVM loss + 1e-4 L2, "
        f"fastest of {steps} steps, CPU time",
        "step_seconds": rows,
        "speedup": {label: s["micrograd"] / s["zh"] for label, s in rows.items()},
        "losses": history,
        "first_loss_identical": first_equal,
        "max_loss_difference": max_diff,
        "chain": {"nodes": chain, "zh_seconds": zh_chain, "micrograd": micrograd_error or "ran"},
    }
    table = [
        f"| {data['workload']} | micrograd | zh | zh speed-up |",
        "|---|---:|---:|---:|",
        *(f"| one step, {label} | {s['micrograd'] * 1e3:.1f} ms | {s['zh'] * 1e3:.1f} ms "
          f"| **{s['micrograd'] / s['zh']:.1f}×** |" for label, s in rows.items()),
        f"| {chain:,}-node ReLU chain, forward + backward | fails: `RecursionError` | {zh_chain:.2f} s | |"
        if micrograd_error
        else f"| {chain:,}-node ReLU chain, forward + backward | ran | {zh_chain:.2f} s | |",
        "",
        f"Losses over the {steps} steps: first step {'bit-for-bit identical' if first_equal else 'different'}, "
        f"largest difference {max_diff:.1e}.",
    ]
    write("bench_engine", data, "\n".join(table), out_dir=args.out_dir)
    return data


if __name__ == "__main__":
    sys.exit(cli.run_safely("bench_engine.py", main))  # Ctrl-C: one line, exit status 130
