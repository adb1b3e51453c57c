"""logfmt lines (``level=info msg="started" took=12ms``), as written by Go's logfmt/slog/logrus.
Values stay strings (quoted ones unescaped); a bare key is ``true``."""

from __future__ import annotations

import re
from typing import Any

import orjson

from parsers.base import Parser, Record
from parsers.structured import Extractor

_PAIR = re.compile(r'([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')


def decode_logfmt(line: str) -> dict[str, Any] | None:
    """The pairs of a logfmt line, or None when it has no ``key=value`` pair."""
    obj: dict[str, Any] = {}
    pairs = 0
    for m in _PAIR.finditer(line):
        key, value = m.group(1), m.group(2)
        if value is None:
            obj[key] = True  # a bare key is a flag
            continue
        pairs += 1
        if value.startswith('"'):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        obj[key] = value
    return obj if pairs else None


class LogfmtParser(Parser):
    name = "logfmt"
    description = "logfmt key=value pairs (quoted values unescaped); time/level/msg keys recognised."

    def __init__(self, extractor: Extractor | None = None, **options: Any) -> None:
        self.extractor = extractor or Extractor(**options)

    def parse_batch(self, lines: list[str]) -> list[Record]:
        record = self.extractor.record
        out: list[Record] = []
        for line in lines:
            obj = decode_logfmt(line) if "=" in line else None
            if obj is None:
                out.append(Record(message=line, error="no key=value pair"))
            else:
                out.append(record(obj, line))
        return out
