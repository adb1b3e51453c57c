"""Multiline records (stack traces, panics): consecutive lines joined into one event.

A record starts at a line matching ``start`` (a regex or a preset from :mod:`parsers.multiline`)
and takes every following line that does not. The last record of a read may still be growing,
so it is held back, and the checkpoint stays at its first byte: after a restart it is read again
whole, never split. A held record ships when the next record starts, when it reaches
``max_lines``, after ``timeout_ms`` without a new line, or when its file can no longer grow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from logagent.sources.file.reader import Chunk


@dataclass
class HeldRecord:
    lines: list[str] = field(default_factory=list)
    start_offset: int = 0  # the record's first byte: where the checkpoint stays while held
    end_offset: int = 0  # just after its last line: where a flush moves the checkpoint
    since: float = 0.0


class MultilineJoiner:
    """Joins the lines of one file into records; one joiner per tracked file."""

    def __init__(self, start: Any, max_lines: int, timeout_secs: float) -> None:
        self.start = start
        self.max_lines = max_lines
        self.timeout_secs = timeout_secs
        self.held = HeldRecord()

    def feed(self, chunk: Chunk) -> Chunk:
        """Records complete after ``chunk``; the open one is held."""
        held = self.held
        lines = held.lines + chunk.lines if held.lines else chunk.lines
        flags = None
        if chunk.flags is not None:
            flags = [0] * len(held.lines) + chunk.flags
        search = self.start.search
        max_lines = self.max_lines
        bounds = [0]
        count = 1
        for i in range(1, len(lines)):
            if count >= max_lines or search(lines[i]):
                bounds.append(i)
                count = 1
            else:
                count += 1
        last = bounds[-1]
        tail = lines[last:]
        # Hold the last record unless it is full or has a flagged line (whose byte length is not
        # that of its text, so the held offset could not be computed exactly).
        hold = len(tail) < max_lines and (flags is None or not any(flags[last:]))
        if hold:
            tail_bytes = sum(len(line.encode("utf-8")) + 1 for line in tail)
            self.held = HeldRecord(
                tail, chunk.commit_offset - tail_bytes, chunk.commit_offset, time.monotonic()
            )
            bounds_done = bounds[:-1]
            commit = self.held.start_offset
            end = last
        else:
            self.held = HeldRecord()
            bounds_done = bounds
            commit = chunk.commit_offset
            end = len(lines)
        records, rec_flags = _join(lines, flags, bounds_done, end)
        return Chunk(
            records,
            rec_flags,
            chunk.nbytes,
            commit,
            truncated=chunk.truncated,
            invalid=chunk.invalid,
            unterminated=chunk.unterminated,
        )

    def due(self, now: float) -> bool:
        return bool(self.held.lines) and now - self.held.since >= self.timeout_secs

    def flush(self) -> Chunk | None:
        """The held record as a chunk of its own (timeout, or the file can no longer grow)."""
        held = self.held
        if not held.lines:
            return None
        self.held = HeldRecord()
        return Chunk(["\n".join(held.lines)], None, 0, held.end_offset)


def _join(
    lines: list[str], flags: list[int] | None, bounds: list[int], end: int
) -> tuple[list[str], list[int] | None]:
    records: list[str] = []
    rec_flags: list[int] | None = [] if flags is not None else None
    for j, b in enumerate(bounds):
        e = bounds[j + 1] if j + 1 < len(bounds) else end
        records.append(lines[b] if e - b == 1 else "\n".join(lines[b:e]))
        if rec_flags is not None and flags is not None:
            f = 0
            for x in flags[b:e]:
                f |= x
            rec_flags.append(f)
    return records, rec_flags
