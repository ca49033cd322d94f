"""What every command line of zh shares: one-line errors, option checks, safe files, Ctrl-C.

`zh makemore` (`zh.makemore`) and the training scripts of ``scripts/`` use these, so that each of
them treats bad input the same way: every option is checked before any work starts, a problem
is one line and exit status 2 (as argparse's own errors), Ctrl-C is one line and status 130,
a file the user wrote is never replaced without being asked, two runs never write the same
checkpoint, and checkpoints are read without running any code that a file may hold.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import torch


class CLIError(Exception):
    """A problem with the user's input: reported as one line and exit status 2, no traceback."""


# --- option checks --------------------------------------------------------------------------------

class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line (no usage) and exit status 2, as the commands' own."""

    def error(self, message: str):
        """Print ``prog: error: message`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


class Rule:
    """An argparse ``type=`` that parses a number and refuses one outside its range, in argparse's words:
    ``argument --max-steps: must be a whole number of at least 1, got 0`` (exit status 2).

    Args:
        kind: ``int`` or ``float``.
        text: The range, as the message states it.
        test: Whether a value is in it (``x >= 0`` and friends are False for NaN, so NaN fails every rule).
    """

    def __init__(self, kind: type, text: str, test: Callable[[float], bool]):
        self.kind, self.text, self.test = kind, text, test
        self.__name__ = kind.__name__  # argparse names the type in its own messages

    def __call__(self, text: str) -> int | float:
        """``text`` as a number of this rule; ``argparse.ArgumentTypeError`` if it is not one."""
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {self.text}, got {text!r}") from None
        if not self.test(value):
            raise argparse.ArgumentTypeError(f"must be {self.text}, got {value}")
        return value


POSITIVE = Rule(int, "a whole number of at least 1", lambda v: v >= 1)
COUNT = Rule(int, "a whole number of at least 0", lambda v: v >= 0)
NON_NEGATIVE = Rule(float, "a finite number of at least 0", lambda v: math.isfinite(v) and v >= 0)
ABOVE_ZERO = Rule(float, "a finite number above 0", lambda v: math.isfinite(v) and v > 0)
FRACTION = Rule(float, "a number from 0 to 1", lambda v: 0 <= v <= 1)
SHARE = Rule(float, "a number above 0 and at most 1", lambda v: 0 < v <= 1)
PROBABILITY = Rule(float, "a number from 0 to below 1", lambda v: 0 <= v < 1)


def option(default: object, rule: Rule, help_text: str) -> dataclasses.Field:
    """A dataclass field that is a command-line option: its default, argparse type (a `Rule`) and help."""
    return dataclasses.field(default=default, metadata={"type": rule, "help": help_text})


def option_name(name: str) -> str:
    """The command-line spelling of an attribute name: ``max_steps`` -> ``--max-steps``."""
    return "--" + name.replace("_", "-")


def check_device(device: str) -> torch.device:
    """``device`` as a ``torch.device``, if this machine has it.

    Raises:
        CLIError: an unknown name, or a CUDA device that is not there.
    """
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise CLIError(f"--device {device!r} is not a device name; use cpu or cuda") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise CLIError(f"--device {device}: this machine has no CUDA GPU that torch can use; use --device cpu")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise CLIError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    elif parsed.type != "cpu":
        raise CLIError(f"--device {device}: only cpu and cuda are supported")
    return parsed


def prepare_folder(folder: Path, what: str) -> None:
    """Create ``folder`` and make sure a file can be written in it, before any work starts.

    Args:
        folder: Where the run will write.
        what: The option that names it, as the message starts (``"--work-dir out"``).

    Raises:
        CLIError: the folder cannot be created (a file is in the way, no permission...) or written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CLIError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None


# --- files ----------------------------------------------------------------------------------------

def check_file(path: Path, what: str) -> Path:
    """``path``, if it is an existing file.

    Raises:
        CLIError: it does not exist, or is a folder (the message calls it ``what``).
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{what} not found: {path}")
    if not path.is_file():
        raise CLIError(f"{what} {path} is not a file")
    return path


def save_atomic(path: Path, payload) -> None:
    """``torch.save(payload, path)``, through a temporary file: an interrupted save never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    torch.save(payload, partial)
    partial.replace(path)


def load_file(path: Path, what: str) -> object:
    """What ``torch.save`` wrote to ``path``, read with ``weights_only=True``: tensors, numbers, strings,
    lists and dicts only, never code.

    Args:
        path: The file.
        what: What it should be, for the message (``"a train_gpt.py checkpoint"``).

    Raises:
        CLIError: the file is missing, a folder, or cannot be read (empty, cut short, another
            kind of file, or one holding objects other than those).
    """
    path = check_file(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a truncated or foreign file fails in many ways; all mean the same to the user
        raise CLIError(f"{path} is not {what}: it could not be read (empty, cut short, or another kind of file)") \
            from None


@contextlib.contextmanager
def exclusive(path: Path, option: str) -> Iterator[None]:
    """Hold a lock on ``path`` for a block, so that a second run writing the same file is refused.

    The lock is ``flock`` on a hidden file next to ``path`` (``.model.pt.lock``); the system
    releases it when the process ends, however it ends.

    Raises:
        CLIError: another process holds it (the message gives its process id).
    """
    import fcntl  # Unix only; imported here so that the rest of this module works everywhere

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            raise CLIError(f"another run (process {pid}) is writing {path}; wait for it to end, "
                           f"or choose another {option}") from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def check_loss(loss: float, step: int, hint: str) -> None:
    """Stop a run whose loss is no longer a finite number, with what to try (``hint``).

    Raises:
        CLIError: ``loss`` is NaN or infinite.
    """
    if not math.isfinite(loss):
        raise CLIError(f"training diverged: the loss is {loss} at step {step}; {hint}")


# --- running --------------------------------------------------------------------------------------

def run_safely(prog: str, function: Callable, *args: object, interrupted: Callable[[], str] | None = None) -> int:
    """Call ``function(*args)``, with input errors and Ctrl-C reported as one line instead of a traceback.

    Args:
        prog: The command's name, which starts each message.
        function: The command.
        args: Its arguments.
        interrupted: After Ctrl-C, what the user should know (e.g. what the checkpoint holds).

    Returns:
        The exit status: 0 done, 2 bad input, 130 interrupted.
    """
    try:
        function(*args)
        return 0
    except CLIError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        after = f"; {interrupted()}" if interrupted is not None else ""
        print(f"{prog}: interrupted{after}", file=sys.stderr)
        return 130
