"""Pluggable log parsers for logagent, importable on their own (nothing here imports ``logagent``).

A parser turns a batch of raw lines into one :class:`~parsers.base.Record` per line. A line it
cannot parse comes back as a record with ``error`` set: lines are never lost. Built-ins are
looked up by name in :mod:`parsers.registry` (imported on first use); third-party parsers come
from the ``logagent.parsers`` entry-point group. The field reference is docs/parsers.md.
"""

from parsers.base import LEVELS, LineParser, Parser, Record, normalise_level
from parsers.registry import ParserNotFound, available, get_parser

__all__ = [
    "LEVELS",
    "LineParser",
    "Parser",
    "ParserNotFound",
    "Record",
    "available",
    "get_parser",
    "normalise_level",
]
