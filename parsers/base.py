"""The parser interface: a batch of lines in, one record per line out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

#: Normalised severities, most verbose first (syslog's eight plus trace and debug).
LEVELS: tuple[str, ...] = (
    "trace",
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)

_LEVEL_ALIASES: dict[str, str] = {
    "trace": "trace",
    "debug": "debug",
    "dbg": "debug",
    "fine": "debug",
    "finer": "trace",
    "finest": "trace",
    "verbose": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "inf": "info",
    "notice": "notice",
    "warn": "warning",
    "warning": "warning",
    "wrn": "warning",
    "error": "error",
    "err": "error",
    "eror": "error",
    "severe": "error",
    "failure": "error",
    "fatal": "critical",
    "crit": "critical",
    "critical": "critical",
    "alert": "alert",
    "emerg": "emergency",
    "emergency": "emergency",
    "panic": "emergency",
}


def normalise_level(value: str | None) -> str | None:
    """Map a severity word (any case, common abbreviations) to one of :data:`LEVELS`, else None."""
    if not value:
        return None
    return _LEVEL_ALIASES.get(value.strip().lower())


@dataclass(slots=True, init=False)
class Record:
    """One parsed line.

    ``ts_ns`` is the event time in ns since the epoch, or None when the line carries none (the
    agent then uses the read time). ``error`` is None on success, else a short reason; a failed
    record keeps whatever was recognised and the agent still ships the raw line.
    """

    ts_ns: int | None
    level: str | None
    message: str | None
    fields: dict[str, Any]
    error: str | None

    # Written out rather than generated: dataclass's own __init__ (default_factory handling) costs
    # about three times as much, and parsers build one record per line.
    def __init__(
        self,
        ts_ns: int | None = None,
        level: str | None = None,
        message: str | None = None,
        fields: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        self.ts_ns = ts_ns
        self.level = level
        self.message = message
        self.fields = {} if fields is None else fields
        self.error = error


class Parser(ABC):
    """A named parser. Subclasses implement :meth:`parse_batch`; per-line helpers are optional."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: True when the parser's batch path runs compiled code (``logagent parsers`` shows it).
    compiled: ClassVar[bool] = False

    @abstractmethod
    def parse_batch(self, lines: list[str]) -> list[Record]:
        """Parse ``lines`` (no trailing newlines) into exactly ``len(lines)`` records, in order.

        Must never raise for any input string.
        """

    def parse_line(self, line: str) -> Record:
        """Parse one line (convenience wrapper over :meth:`parse_batch`)."""
        return self.parse_batch([line])[0]


class LineParser(Parser):
    """A parser whose work is one :meth:`match` per line.

    ``match`` returns a record, or None when the line is not in this parser's format (the batch
    then gets an error record naming :attr:`expected`). ``auto`` calls ``match`` directly to
    detect formats. A bug in ``match`` on an odd line costs that line its fields, not the batch.
    """

    #: What the format is called in the error of a line that does not match.
    expected: ClassVar[str] = ""

    @abstractmethod
    def match(self, line: str) -> Record | None:
        """The record for ``line``, or None when it is not in this format."""

    def parse_batch(self, lines: list[str]) -> list[Record]:
        return list(map(self.parse_line, lines))

    def parse_line(self, line: str) -> Record:
        """One line by :meth:`match`: its record, else a failed one (never raises)."""
        try:
            rec = self.match(line)
        except Exception as exc:  # never let one odd line break the batch
            rec = Record(message=line, error=f"parser error: {type(exc).__name__}")
        return rec if rec is not None else self.failed(line)

    def failed(self, line: str) -> Record:
        return Record(message=line, error=f"does not match the {self.expected or self.name} format")
