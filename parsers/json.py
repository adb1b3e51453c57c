"""One JSON object per line (NDJSON): time, level and message keys recognised, the rest kept as
fields (nested values stay nested)."""

from __future__ import annotations

from typing import Any

import orjson

from parsers.base import Parser, Record
from parsers.structured import Extractor


class JsonParser(Parser):
    name = "json"
    description = "One JSON object per line; time/level/message keys (time, level, msg, ...) recognised."

    def __init__(self, extractor: Extractor | None = None, **options: Any) -> None:
        self.extractor = extractor or Extractor(**options)

    def parse_batch(self, lines: list[str]) -> list[Record]:
        loads = orjson.loads
        record = self.extractor.record
        out: list[Record] = []
        for line in lines:
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                out.append(Record(message=line, error="invalid JSON"))
                continue
            if not isinstance(obj, dict):
                out.append(Record(message=line, error="JSON value is not an object"))
                continue
            out.append(record(obj, line))
        return out
