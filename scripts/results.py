"""Where and how the scripts save what they measure.

Each script writes ``docs/results/<name>.json`` (all numbers, plus the environment they were
measured in) and ``docs/results/<name>.md`` (a table for the pages to include with
``--8<-- "docs/results/<name>.md"``). Pages show these files; they never restate a figure by hand.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
        return sha + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment(device: str | None = None) -> dict:
    """Where and when a measurement ran: date (UTC), processor, cores, versions, commit."""
    import numpy
    import torch

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": device or f"{_cpu_model()} ({os.cpu_count()} cores)",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "commit": _commit(),
    }


def write(name: str, data: dict, table: str, device: str | None = None, out_dir: Path | None = None) -> Path:
    """Save ``data`` as JSON and ``table`` (Markdown) with a provenance line; returns the JSON path."""
    out_dir = Path(out_dir or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = environment(device)
    (out_dir / f"{name}.json").write_text(json.dumps({"environment": env, **data}, indent=2) + "\n")
    footer = (
        f"\n\n<small>Measured by `scripts/{name}.py` on {env['device']}, {env['date']}, "
        f"Python {env['python']}, torch {env['torch']}, commit {env['commit']}.</small>\n"
    )
    (out_dir / f"{name}.md").write_text(table.rstrip() + footer)
    return out_dir / f"{name}.json"


def record_run(script: str, args, model, history: list, settings: dict, measured: dict,
               columns: list[tuple[str, str, Callable[[dict], str]]]) -> dict:
    """Add this run to ``docs/results/<script>.json`` under ``args.name`` and rewrite ``<script>.md``.

    The runs of other presets are kept. ``measured`` holds the script's own figures (timings,
    whole-split losses...); ``columns`` are the table's columns between the steps and the load
    average, each ``(header, alignment, how a run fills it)``.
    """
    out_dir = Path(args.out_dir or RESULTS)
    path = out_dir / f"{script}.json"
    runs = json.loads(path.read_text())["runs"] if path.is_file() else {}
    runs[args.name] = {
        "preset": args.preset, "quick": args.quick, "config": asdict(model.config), "params": model.num_params(),
        "settings": settings, "threads": args.threads, "device": args.device,
        "steps": history[-1]["step"], "train": history[-1]["train"], "val": history[-1]["val"],
        **measured, "loadavg_end": [round(x, 2) for x in os.getloadavg()], "environment": environment(),
        "history": history,
    }
    write_runs(script, runs, columns, out_dir)
    return runs[args.name]


def write_runs(script: str, runs: dict, columns: list[tuple[str, str, Callable[[dict], str]]],
               out_dir: Path | None = None) -> None:
    """Write ``runs`` (name -> record of `record_run`) to ``<script>.json`` and their table to ``<script>.md``."""
    headers = ["run", "parameters", "layers/heads/width", "context", "batch", "steps",
               *(header for header, _, _ in columns), "load average (1 min) start → end", "measured"]
    aligns = ["---", "---:", "---", "---:", "---:", "---:", *(align for _, align, _ in columns), "---", "---"]
    rows = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    for name, r in runs.items():
        c = r["config"]
        cells = [name, f"{r['params']:,}", f"{c['n_layer']}/{c['n_head']}/{c['n_embd']}", str(c["block_size"]),
                 str(r["settings"]["batch_size"]), f"{r['steps']:,}", *(fill(r) for _, _, fill in columns),
                 f"{r['loadavg_start'][0]} → {r['loadavg_end'][0]}", r["environment"]["date"]]
        rows.append("| " + " | ".join(cells) + " |")
    write(script, {"runs": runs}, "\n".join(rows), out_dir=out_dir)
