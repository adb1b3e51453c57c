"""The unit of data flowing through the pipeline: a batch of lines from one origin.

Work is done per batch, not per line: a source emits a :class:`Batch` of raw lines read from one
file (or connection, or journal read), the pipeline parses the whole batch in one call, and sinks
encode a batch per call. Per-line state is kept in parallel lists only where it exists.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logagent.acks import BatchAck
    from parsers.base import Record

# Per-line flags (bit set); the names are what the sinks write in an event's "flags" list.
FLAG_TRUNCATED = 1  # longer than max_line_bytes: cut
FLAG_INVALID_UTF8 = 2  # bytes that were not UTF-8, replaced with U+FFFD
FLAG_UNTERMINATED = 4  # last line of a file that can no longer grow, without its newline
FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (FLAG_TRUNCATED, "truncated"),
    (FLAG_INVALID_UTF8, "invalid_utf8"),
    (FLAG_UNTERMINATED, "unterminated"),
)


def flag_names(flags: int) -> list[str]:
    """The names of the bits set in ``flags``."""
    return [name for bit, name in FLAG_NAMES if flags & bit]


@dataclass(slots=True)
class Batch:
    """Lines from one origin, in order.

    ``read_ts_ns`` is when they were read; it is every line's time unless ``records`` (parsed) or
    ``ts_ns`` (given by the source, e.g. Docker's ``time``) says otherwise. ``flags`` is None when no
    line carries a flag. ``fields``, when set, holds per-line extra fields from the source (e.g.
    journald's or syslog's), merged under the parsed fields.
    """

    source: str
    lines: list[str]
    read_ts_ns: int = field(default_factory=time.time_ns)
    path: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    flags: list[int] | None = None
    ts_ns: list[int | None] | None = None
    fields: list[dict[str, Any]] | None = None
    records: list[Record] | None = None
    nbytes: int = 0
    ack: BatchAck | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def line_ts_ns(self, i: int) -> int:
        """The event time of line ``i``: parsed, else source-given, else read time."""
        if self.records is not None:
            ts = self.records[i].ts_ns
            if ts is not None:
                return ts
        if self.ts_ns is not None:
            ts = self.ts_ns[i]
            if ts is not None:
                return ts
        return self.read_ts_ns
