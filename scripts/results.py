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
from pathlib import Path

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
