"""JSON object per line (stub; the full parser library extends it)."""

from __future__ import annotations

import orjson

from parsers.base import Parser, Record, normalise_level


class JsonParser(Parser):
    name = "json"
    description = "One JSON object per line; `level`/`msg`/`message`/`time` keys recognised."

    def parse_batch(self, lines: list[str]) -> list[Record]:
        out: list[Record] = []
        for line in lines:
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                out.append(Record(message=line, error="invalid JSON"))
                continue
            if not isinstance(obj, dict):
                out.append(Record(message=line, error="JSON value is not an object"))
                continue
            level = obj.get("level")
            msg = obj.get("message", obj.get("msg"))
            out.append(
                Record(
                    level=normalise_level(level) if isinstance(level, str) else None,
                    message=msg if isinstance(msg, str) else None,
                    fields=obj,
                )
            )
        return out
