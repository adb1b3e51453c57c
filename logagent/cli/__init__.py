"""The ``logagent`` command line: thin subcommands that parse arguments and call the package.

Each subcommand is a module here with ``HELP``, ``add_arguments(parser)`` and ``main(args) ->
int``; adding one is a module plus a line in :data:`COMMANDS`. Exit codes: 0 success, 1 "nothing
found" where a command has that notion, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from logagent import __version__

#: Subcommand name -> module.
COMMANDS: dict[str, str] = {
    "run": "logagent.cli.run",
    "check-config": "logagent.cli.check_config",
    "reload": "logagent.cli.reload",
    "grep": "logagent.cli.grep",
    "parse": "logagent.cli.parse",
    "patterns": "logagent.cli.patterns",
    "parsers": "logagent.cli.parsers_cmd",
    "test": "logagent.cli.test_cmd",
}


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing ``shutil`` (which pulls in bz2 and lzma):
    argparse builds a formatter for every ``add_argument``, so this is on every start-up path."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size().columns`` computes it."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``only`` imports just that subcommand's module (a fast start for `grep`)."""
    parser = argparse.ArgumentParser(
        prog="logagent",
        description="Log shipping and analysis agent.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"logagent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, formatter_class=_Formatter)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._main(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `logagent ... | head`: the reader left; not an error.
        return 0
