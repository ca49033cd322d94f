"""``python -m zh`` (or ``zh``): the project's command line; each subcommand lives in its own module."""

import sys

from zh import makemore
from zh.cli import ArgumentParser

#: subcommand -> module with ``build_parser(parser)`` and ``run_safely(args)``
COMMANDS = {
    "makemore": makemore,
}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the chosen subcommand."""
    parser = ArgumentParser(prog="zh", description="Zero to Hero, executable.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.build_parser(sub.add_parser(name, help=module.__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    return COMMANDS[args.command].run_safely(args)


if __name__ == "__main__":
    sys.exit(main())
