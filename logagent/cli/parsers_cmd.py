"""``logagent parsers``: list the parsers this agent can use (built-in, plugin, config)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logagent.cli.common import load_or_report

HELP = "list available parsers (built-in, plugin and config-defined) with their descriptions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", type=Path, help="also list the [parsers.NAME] entries of this config"
    )


def main(args: argparse.Namespace) -> int:
    from parsers.registry import DuplicateParser, entries, get_parser_class

    rows: list[tuple[str, str, str]] = []
    try:
        for entry in entries():
            compiled = False
            try:
                cls = get_parser_class(entry.name)
                desc = getattr(cls, "description", "") or ""
                compiled = getattr(cls, "compiled", False) is True
            except Exception as exc:  # a broken plugin is listed, not fatal
                desc = f"(cannot load: {type(exc).__name__}: {exc})"
            origin = "built-in" if entry.origin == "builtin" else f"plugin ({entry.owner})"
            if compiled:  # its batch path runs compiled code (parsers._speedups)
                origin += ", compiled"
            rows.append((entry.name, origin, desc))
    except DuplicateParser as exc:
        print(f"logagent: {exc}", file=sys.stderr)
        return 2
    if args.config is not None:
        config = load_or_report(args.config)
        if config is None:
            return 2
        for name, named in (config.sections.get("parsers") or {}).items():
            rows = [r for r in rows if r[0] != name]
            rows.append((name, "config", getattr(named, "description", "")))
    rows.sort()
    width = max(len(r[0]) for r in rows)
    owidth = max(len(r[1]) for r in rows)
    for name, origin, desc in rows:
        print(f"{name:{width}}  {origin:{owidth}}  {desc}")
    return 0
