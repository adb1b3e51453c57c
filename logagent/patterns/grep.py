"""``logagent grep --patterns``: the selected lines grouped by template, with counts.

An aggregation with the interface of ``logagent.grep.analysis.CountBy`` (``add(record, line)``
once per selected line, ``render()`` at the end), so grep's event path runs it in place of a
``--count-by`` table. What is mined is the parsed message, else the raw line.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from logagent.patterns.miner import Miner

if TYPE_CHECKING:
    from parsers.base import Record


class PatternCounts:
    """Mines every selected line; renders the templates, most frequent first."""

    def __init__(self) -> None:
        self.miner = Miner()
        self.selected = 0

    def __bool__(self) -> bool:
        return True

    def add(self, rec: Record | None, line: bytes | str) -> None:
        self.selected += 1
        message = rec.message if rec is not None else None
        if message is None:
            message = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        self.miner.add_batch([message.rstrip("\r\n")])

    def render(self) -> bytes:
        rows = self.miner.top()
        width = max([len("COUNT")] + [len(str(c.count)) for c in rows])
        lines = [f"{'COUNT':>{width}}  {'ID':<12}  TEMPLATE"]
        lines += [f"{c.count:>{width}}  {c.id:<12}  {c.template}" for c in rows]
        return ("\n".join(lines) + "\n").encode()


def enable(args: argparse.Namespace) -> str | None:
    """Turn ``--patterns`` into grep's aggregation slot; an error message, or None when fine."""
    if args.count_by or args.histogram:
        return "--patterns cannot be combined with --count-by or --histogram"
    args.count_by = PatternCounts()
    if not args.parser and not args.source:
        args.parser = "raw"  # mine whole lines
    return None
