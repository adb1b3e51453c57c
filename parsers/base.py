"""The parser interface: a batch of lines in, one record per line out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class Record:
    """One parsed line.

    ``ts_ns`` is the event time in ns since the epoch, or None when the line carries none (the
    agent then uses the read time). ``error`` is None on success, else a short reason; a failed
    record keeps whatever was recognised and the agent still ships the raw line.
    """

    ts_ns: int | None = None
    level: str | None = None
    message: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Parser(ABC):
    """A named parser. Subclasses implement :meth:`parse_batch`; per-line helpers are optional."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abstractmethod
    def parse_batch(self, lines: list[str]) -> list[Record]:
        """Parse ``lines`` (no trailing newlines) into exactly ``len(lines)`` records, in order.

        Must never raise for any input string.
        """

    def parse_line(self, line: str) -> Record:
        """Parse one line (convenience wrapper over :meth:`parse_batch`)."""
        return self.parse_batch([line])[0]
