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


def _to_bool(value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


#: type name -> converter (ValueError when the text is not of that type).
_CONVERTERS: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "bool": _to_bool, "str": str}


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
        # Worked out once, not per line: the conversions of groups the pattern has, and which of
        # the time/level/message keys it can fill at all.
        groups = self.regex.groupindex
        # In the pattern's order, so that failures are named in the order of the line.
        self._conversions = [
            (key, _CONVERTERS[kind], kind)
            for key, kind in sorted(self.types.items(), key=lambda item: groups.get(item[0], 0))
            if kind != "str" and key in groups  # "str" is what a group already is
        ]
        self._time_group = time_key if time_key in groups else None
        self._level_group = level_key if level_key in groups else None
        self._message_group = message_key if message_key in groups else None

    def _record(self, line: str, fields: dict[str, Any]) -> Record:
        """The record of a match; ``fields`` is its fresh ``groupdict()`` (changed in place)."""
        if None in fields.values():  # optional groups that did not take part
            fields = {key: value for key, value in fields.items() if value is not None}
        errors: list[str] | None = None
        for key, convert, kind in self._conversions:
            value = fields.get(key)
            if value is not None:
                try:
                    fields[key] = convert(value)
                except ValueError:
                    errors = errors or []
                    errors.append(f"field {key!r} is not {kind}")
        ts = None
        time_key = self._time_group
        if time_key is not None and time_key in fields:
            ts = self.ts.parse(fields[time_key])
            if ts is None:
                errors = errors or []
                errors.append(f"field {time_key!r} is not a timestamp in format {self.ts.fmt!r}")
            else:
                del fields[time_key]
        level = None
        level_key = self._level_group
        if level_key is not None and level_key in fields:
            level = level_of(fields[level_key])
            if level is not None:
                del fields[level_key]
        message = line
        message_key = self._message_group
        if message_key is not None and isinstance(fields.get(message_key), str):
            message = fields.pop(message_key)
        return Record(ts, level, message, fields, "; ".join(errors) if errors else None)

    def parse_batch(self, lines: list[str]) -> list[Record]:
        import time

        out: list[Record] = []
        match = self._match
        deadline = time.monotonic() + self.batch_timeout_s
        timeout = self.timeout_s
        over_budget = False
        record = self._record
        append = out.append
        monotonic = time.monotonic
        for line in lines:
            if over_budget:
                append(Record(message=line, error="regex batch time budget exceeded"))
                continue
            try:
                m = match(line, timeout=timeout)
            except TimeoutError:
                append(Record(message=line, error=f"regex timed out after {timeout * 1000:g} ms"))
                over_budget = monotonic() > deadline
                continue
            if m is None:
                append(Record(message=line, error="does not match the regex"))
            else:
                append(record(line, m.groupdict()))
            if monotonic() > deadline:
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
