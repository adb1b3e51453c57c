"""Field filters for parsed lines: ``--where EXPR`` and the ``--since``/``--until`` time range.

``--where`` takes ``FIELD OP VALUE`` with ``OP`` one of ``= == != > >= < <= =~ !~``. Numbers
compare as numbers when both sides are numeric; ``level`` compares by severity
(``level>=warning``); ``=~``/``!~`` search a regex. ``FIELD`` is ``level``, ``message``, a parsed
field, or a dotted path into nested fields (``http.status``). A missing field satisfies only
``!=`` and ``!~``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import regex

from parsers.base import LEVELS, Record, normalise_level

_WHERE = re.compile(r"^\s*([A-Za-z_@][\w.@\-]*)\s*(=~|!~|>=|<=|!=|==|=|>|<)\s*(.*?)\s*$", re.S)
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$")
_UNIT_SECS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MISSING = object()


class FieldError(ValueError):
    """A bad ``--where``/``--since``/``--until`` argument."""


def parse_duration(text: str) -> float:
    """``15m`` -> 900.0 seconds (units ms, s, m, h, d, w)."""
    m = _RELATIVE.match(text.strip())
    if not m:
        raise FieldError(f"invalid duration {text!r} (expected e.g. 30s, 15m, 2h, 3d)")
    return float(m.group(1)) * _UNIT_SECS[m.group(2)]


def parse_time(text: str, now_ns: int | None = None) -> int:
    """An RFC 3339 time (UTC when no offset is given) or a relative one (``15m`` ago), in ns."""
    text = text.strip()
    if _RELATIVE.match(text):
        now = time.time_ns() if now_ns is None else now_ns
        return now - int(parse_duration(text) * 1e9)
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise FieldError(f"invalid time {text!r} (expected RFC 3339 or relative: 15m, 2h, 3d)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # Keep sub-microsecond digits that datetime drops.
    frac_ns = 0
    m = re.search(r"[T ]\d\d:\d\d:\d\d\.(\d+)", text)
    if m:
        frac_ns = int(m.group(1)[:9].ljust(9, "0"))
    whole = int(dt.replace(microsecond=0).timestamp())
    return whole * 1_000_000_000 + frac_ns


def lookup(rec: Record, name: str) -> Any:
    """A field's value in a parsed record, or ``_MISSING``."""
    if name == "level":
        if rec.level is not None:
            return rec.level
    elif name in ("message", "msg") and rec.message is not None and name not in rec.fields:
        return rec.message
    fields = rec.fields
    if name in fields:
        return fields[name]
    if "." in name:
        cur: Any = fields
        for part in name.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                return _MISSING
        return cur
    return _MISSING


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: str
    test: Callable[[Any], bool]

    def __call__(self, rec: Record) -> bool:
        v = lookup(rec, self.field)
        if v is _MISSING:
            return self.op in ("!=", "!~")
        return self.test(v)


def parse_where(expr: str) -> Condition:
    """Compile one ``--where`` expression."""
    m = _WHERE.match(expr)
    if not m:
        raise FieldError(
            f"invalid --where {expr!r} (expected FIELD OP VALUE, OP one of = != > >= < <= =~ !~)"
        )
    name, op, value = m.groups()
    if value[:1] in ("<", ">", "="):
        raise FieldError(f"ambiguous --where {expr!r}: quote a value that starts with {value[0]!r}")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            rx = regex.compile(value)
        except regex.error as exc:
            raise FieldError(f"invalid regex in --where {expr!r}: {exc}") from None
        if op == "=~":
            return Condition(name, op, value, lambda v: rx.search(_text(v)) is not None)
        return Condition(name, op, value, lambda v: rx.search(_text(v)) is None)
    if name == "level":
        return Condition(name, op, value, _level_test(op, value, expr))
    num = _number(value)
    cmp = _COMPARE[op]

    def test(v: Any) -> bool:
        if num is not None:
            n = _number(v)
            if n is not None:
                return cmp(n, num)
        return cmp(_text(v), value)

    return Condition(name, op, value, test)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _level_test(op: str, value: str, expr: str) -> Callable[[Any], bool]:
    want = normalise_level(value)
    if want is None:
        raise FieldError(f"unknown level in --where {expr!r}; known: {', '.join(LEVELS)}")
    rank = LEVELS.index(want)
    cmp = _COMPARE[op]

    def test(v: Any) -> bool:
        got = normalise_level(_text(v))
        if got is None:
            return op == "!="
        return cmp(LEVELS.index(got), rank)

    return test


class RecordFilter:
    """All ``--where`` conditions (ANDed) and the time range; ``None`` bounds are open."""

    def __init__(self, where: list[str], since: str | None, until: str | None, now_ns: int | None = None):
        self.conditions = [parse_where(w) for w in where]
        now = time.time_ns() if now_ns is None else now_ns
        self.since_ns = parse_time(since, now) if since else None
        self.until_ns = parse_time(until, now) if until else None
        self.timed = self.since_ns is not None or self.until_ns is not None

    def accepts(self, rec: Record, ts_ns: int | None) -> bool:
        """``ts_ns`` is the line's time (parsed, or given by a remote store). Lines without a
        time never pass a time range."""
        if self.timed:
            if ts_ns is None:
                return False
            if self.since_ns is not None and ts_ns < self.since_ns:
                return False
            if self.until_ns is not None and ts_ns >= self.until_ns:
                return False
        for c in self.conditions:
            if not c(rec):
                return False
        return True
