"""Docker's json-file log driver: ``{"log": "text\\n", "stream": "stdout", "time": "..."}``.

The message is ``log`` without its newline; a ``log`` that does not end in a newline is a partial
line (Docker splits lines longer than 16 KiB) and is flagged ``partial``. To parse the inner text
as well, chain a parser after this one (``type = "chain"``, ``parsers = ["docker", "json"]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from parsers.base import Parser, Record
from parsers.timestamps import parse_rfc3339


class DockerParser(Parser):
    name = "docker"
    description = "Docker json-file lines: log (message), stream, time; partial lines flagged."

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        pass

    def from_object(self, obj: dict[str, Any], line: str) -> Record:
        log = obj.pop("log", None)
        if not isinstance(log, str):
            return Record(message=line, fields=obj, error="docker line without a string 'log'")
        fields: dict[str, Any] = {}
        stream = obj.pop("stream", None)
        if stream is not None:
            fields["stream"] = stream
        ts = None
        t = obj.pop("time", None)
        if isinstance(t, str):
            ts = parse_rfc3339(t)
        if log.endswith("\n"):
            log = log[:-1]
            if log.endswith("\r"):
                log = log[:-1]
        else:
            fields["partial"] = True
        attrs = obj.pop("attrs", None)
        if isinstance(attrs, dict):
            fields["attrs"] = attrs
        fields.update(obj)
        return Record(ts_ns=ts, message=log, fields=fields)

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
            out.append(self.from_object(obj, line))
        return out
