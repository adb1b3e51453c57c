"""The ``logagent`` command line: thin subcommands that parse arguments and call the package.

Each subcommand is a module here with ``HELP``, ``add_arguments(parser)`` and ``main(args) ->
int``; adding one is a module plus a line in :data:`COMMANDS`. Exit codes: 0 success, 1 "nothing
found" where a command has that notion, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import importlib
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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``only`` imports just that subcommand's module (a fast start for `grep`)."""
    parser = argparse.ArgumentParser(
        prog="logagent",
        description="Log shipping and analysis agent.",
    )
    parser.add_argument("--version", action="version", version=f"logagent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
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
