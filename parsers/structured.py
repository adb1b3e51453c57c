"""Turn a decoded key/value object (JSON, logfmt) into a record: find the time, level and
message keys, apply renames, keep the rest as fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from parsers.base import Record, normalise_level
from parsers.timestamps import TimestampParser

TIME_KEYS: tuple[str, ...] = ("time", "timestamp", "ts", "@timestamp", "t", "datetime", "date", "@t")
LEVEL_KEYS: tuple[str, ...] = (
    "level",
    "lvl",
    "severity",
    "loglevel",
    "log_level",
    "levelname",
    "@l",
    "log.level",
)
MESSAGE_KEYS: tuple[str, ...] = ("message", "msg", "@m", "@mt", "text")

# Numeric levels: bunyan/pino (10..60), then syslog severities 0-7.
_NUMERIC_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}
_SYSLOG_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")


def level_of(value: Any) -> str | None:
    """A normalised level from a string or a numeric (bunyan/pino or syslog) level."""
    if isinstance(value, str):
        return normalise_level(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value in _NUMERIC_LEVELS:
            return _NUMERIC_LEVELS[value]
        if 0 <= value <= 7:
            return _SYSLOG_LEVELS[value]
    return None


class Extractor:
    """Configured key lookup: which keys hold time/level/message, how to rename the rest."""

    def __init__(
        self,
        time_keys: Sequence[str] = TIME_KEYS,
        level_keys: Sequence[str] = LEVEL_KEYS,
        message_keys: Sequence[str] = MESSAGE_KEYS,
        renames: Mapping[str, str] | None = None,
        time_format: str = "auto",
        tz: str | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.time_keys = tuple(time_keys)
        self.level_keys = tuple(level_keys)
        self.message_keys = tuple(message_keys)
        self.renames = dict(renames or {})
        self.ts = TimestampParser(time_format, tz, now)

    def record(self, obj: dict[str, Any], raw: str) -> Record:
        """The record of one decoded object; ``raw`` is the line (the message when none found)."""
        if self.renames:
            obj = {self.renames.get(k, k): v for k, v in obj.items()}
        ts = None
        for key in self.time_keys:
            if key in obj:
                ts = self.ts.parse(obj[key])
                if ts is not None:
                    del obj[key]
                    break
        level = None
        for key in self.level_keys:
            if key in obj:
                level = level_of(obj[key])
                if level is not None:
                    del obj[key]
                    break
        message = None
        for key in self.message_keys:
            value = obj.get(key)
            if isinstance(value, str):
                message = value
                del obj[key]
                break
        return Record(ts_ns=ts, level=level, message=message if message is not None else raw, fields=obj)
