"""Parsers assembled from configuration: a regex with named groups, and a chain of parsers.

(JSON and logfmt parsers with renames and chosen keys are :class:`parsers.json.JsonParser` and
:class:`parsers.logfmt.LogfmtParser` given an :class:`parsers.structured.Extractor`.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import regex

from parsers.base import Parser, Record
from parsers.structured import level_of
from parsers.timestamps import TimestampParser

#: Field conversions a regex parser offers.
FIELD_TYPES = ("int", "float", "bool", "str")
_TRUE = frozenset({"true", "yes", "on", "1", "t", "y"})
_FALSE = frozenset({"false", "no", "off", "0", "f", "n", ""})


def _convert(kind: str, value: str) -> Any:
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return value


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile with the ``regex`` module (it supports a match timeout). Raises ValueError."""
    try:
        compiled = regex.compile(pattern, regex.DOTALL)
    except regex.error as exc:
        raise ValueError(f"invalid regex: {exc}") from None
    if not compiled.groupindex:
        raise ValueError("the regex has no named group (?P<name>...)")
    return compiled


class RegexParser(Parser):
    """Named groups become fields; ``types`` converts them; ``time_key``/``level_key``/
    ``message_key`` pick the groups that hold the time, level and message.

    Each line gets at most ``timeout_ms`` of matching (the ``regex`` module's timeout), and a
    batch at most ``batch_timeout_ms``: a pattern with catastrophic backtracking costs the lines
    it times out on (they come back with an error), never the agent.
    """

    name = "regex"
    description = "Config-defined: a regex with named groups."

    def __init__(
        self,
        pattern: str,
        *,
        name: str = "regex",
        types: Mapping[str, str] | None = None,
        time_key: str | None = None,
        time_format: str = "auto",
        timezone: str | None = None,
        level_key: str | None = "level",
        message_key: str | None = "message",
        timeout_ms: float = 100.0,
        batch_timeout_ms: float = 2000.0,
        search: bool = False,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.name = name  # type: ignore[misc]  # an instance name for config-defined parsers
        self.regex = compile_pattern(pattern)
        self.types = dict(types or {})
        for key, kind in self.types.items():
            if kind not in FIELD_TYPES:
                raise ValueError(f"type of {key!r} must be one of {', '.join(FIELD_TYPES)}")
        self.time_key = time_key
        self.ts = TimestampParser(time_format, timezone, now)
        self.level_key = level_key
        self.message_key = message_key
        self.timeout_s = timeout_ms / 1000
        self.batch_timeout_s = batch_timeout_ms / 1000
        self._match = self.regex.search if search else self.regex.match

    def _record(self, line: str, groups: dict[str, Any]) -> Record:
        fields: dict[str, Any] = {}
        errors = []
        for key, value in groups.items():
            if value is None:
                continue
            kind = self.types.get(key)
            if kind is not None:
                try:
                    value = _convert(kind, value)
                except ValueError:
                    errors.append(f"field {key!r} is not {kind}")
            fields[key] = value
        ts = None
        if self.time_key is not None and self.time_key in fields:
            ts = self.ts.parse(fields[self.time_key])
            if ts is None:
                errors.append(f"field {self.time_key!r} is not a timestamp in format {self.ts.fmt!r}")
            else:
                del fields[self.time_key]
        level = None
        if self.level_key is not None and self.level_key in fields:
            level = level_of(fields[self.level_key])
            if level is not None:
                del fields[self.level_key]
        message = line
        if self.message_key is not None and isinstance(fields.get(self.message_key), str):
            message = fields.pop(self.message_key)
        return Record(ts_ns=ts, level=level, message=message, fields=fields, error="; ".join(errors) or None)

    def parse_batch(self, lines: list[str]) -> list[Record]:
        import time

        out: list[Record] = []
        match = self._match
        deadline = time.monotonic() + self.batch_timeout_s
        timeout = self.timeout_s
        over_budget = False
        for line in lines:
            if over_budget:
                out.append(Record(message=line, error="regex batch time budget exceeded"))
                continue
            try:
                m = match(line, timeout=timeout)
            except TimeoutError:
                out.append(Record(message=line, error=f"regex timed out after {timeout * 1000:g} ms"))
                over_budget = time.monotonic() > deadline
                continue
            if m is None:
                out.append(Record(message=line, error="does not match the regex"))
            else:
                out.append(self._record(line, m.groupdict()))
            if time.monotonic() > deadline:
                over_budget = True
        return out


class ChainParser(Parser):
    """Parsers applied in turn: each later parser reads the previous one's message (e.g.
    ``docker`` then ``json`` on the container's own line). Fields accumulate (later ones win);
    a later time or level replaces an earlier one.

    When a later stage fails, the record keeps what the earlier stages found and carries the
    failure as its error, unless ``allow_partial`` (then the failure is only noted in the
    ``chain_error`` field: handy for containers that mix JSON and plain lines).
    """

    name = "chain"
    description = "Config-defined: parsers applied in turn on the message."

    def __init__(self, stages: Sequence[Parser], *, name: str = "chain", allow_partial: bool = False) -> None:
        if not stages:
            raise ValueError("a chain needs at least one parser")
        self.name = name  # type: ignore[misc]
        self.stages = list(stages)
        self.allow_partial = allow_partial

    def parse_batch(self, lines: list[str]) -> list[Record]:
        records = self.stages[0].parse_batch(lines)
        for stage in self.stages[1:]:
            todo = [i for i, r in enumerate(records) if r.error is None]
            if not todo:
                break
            inner = stage.parse_batch([records[i].message or "" for i in todo])
            for i, sub in zip(todo, inner, strict=True):
                rec = records[i]
                if sub.error is not None:
                    if self.allow_partial:
                        rec.fields["chain_error"] = f"{stage.name}: {sub.error}"
                    else:
                        rec.error = f"{stage.name}: {sub.error}"
                    continue
                rec.fields.update(sub.fields)
                if sub.ts_ns is not None:
                    rec.ts_ns = sub.ts_ns
                if sub.level is not None:
                    rec.level = sub.level
                rec.message = sub.message
        return records
