"""Pluggable log parsers for logagent, importable on their own (nothing here imports ``logagent``).

A parser turns a batch of raw lines into one :class:`~parsers.base.Record` per line. A line it
cannot parse comes back as a record with ``error`` set: lines are never lost.
"""

from parsers.base import LEVELS, Parser, Record, normalise_level
from parsers.registry import ParserNotFound, available, get_parser

__all__ = ["LEVELS", "Parser", "ParserNotFound", "Record", "available", "get_parser", "normalise_level"]
