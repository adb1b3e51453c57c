"""One tracked file: reads big chunks from an open descriptor and cuts them into lines.

Positions are byte offsets. ``pos`` is the next byte to read; ``line_start`` is the offset just
after the last complete line handed out: that is what a batch's acknowledgement commits, so a
partial last line is never checkpointed past and is completed exactly once after a restart.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from logagent.acks import AckOrder
from logagent.event import FLAG_INVALID_UTF8, FLAG_TRUNCATED, FLAG_UNTERMINATED


@dataclass(slots=True)
class Chunk:
    """Lines cut from one read, and the offset a delivery of them commits."""

    lines: list[str]
    flags: list[int] | None
    nbytes: int
    commit_offset: int
    truncated: int = 0
    invalid: int = 0
    unterminated: int = 0


@dataclass(eq=False)
class TrackedFile:
    """An open file being tailed."""

    key: str
    fp: str
    path: str
    fd: int
    dev: int
    ino: int
    pos: int
    order: AckOrder
    line_start: int = 0
    partial: bytearray = field(default_factory=bytearray)
    #: Inside an over-long line whose head was already shipped: drop bytes up to its newline.
    skipping: bool = False
    last_growth: float = field(default_factory=time.monotonic)
    #: When the file was last found at no matching path (rotated away or deleted), else None.
    gone_since: float | None = None
    deleted: bool = False
    retired: bool = False
    size: int = 0
    #: Joins multiline records when the source has ``multiline`` set.
    joiner: Any = None

    def __post_init__(self) -> None:
        self.line_start = self.pos

    def read_chunk(self, chunk_bytes: int, max_line_bytes: int) -> Chunk | None:
        """Read once; return the complete lines found (may be empty), or None at EOF."""
        data = os.pread(self.fd, chunk_bytes, self.pos)
        if not data:
            return None
        self.pos += len(data)
        self.last_growth = time.monotonic()
        return self._cut(data, max_line_bytes)

    def _cut(self, data: bytes, max_line_bytes: int) -> Chunk:
        if self.partial:
            self.partial += data
            buf = bytes(self.partial)
        else:
            buf = data
        nl = buf.rfind(b"\n")
        if nl < 0:
            # No line end yet: hold, unless the line already exceeds the limit.
            if len(buf) > max_line_bytes and not self.skipping:
                head = buf[:max_line_bytes]
                self.partial = bytearray()
                self.skipping = True
                # The head ships now; its commit stays before the line (re-read after a crash).
                return self._decode([head], [FLAG_TRUNCATED], len(head), self.line_start, truncated=1)
            if self.skipping:
                self.partial = bytearray()
            else:
                self.partial = bytearray(buf) if buf is data else self.partial
            return Chunk([], None, 0, self.line_start)
        complete = buf[:nl]
        rest = buf[nl + 1 :]
        self.partial = bytearray(rest)
        if not self.skipping:
            # Fast path (almost always): decode the whole chunk once and split the text. A line
            # of over max_line_bytes bytes has over max_line_bytes / 4 characters, so the cheap
            # length check on the text rules truncation out.
            try:
                text = complete.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                lines = text.split("\n")
                if max(map(len, lines)) <= max_line_bytes // 4:
                    self.line_start = self.pos - len(rest)
                    return Chunk(lines, None, len(complete) + 1, self.line_start)
        raw_lines = complete.split(b"\n")
        if self.skipping:
            raw_lines.pop(0)  # the tail of a line whose head was already shipped truncated
            self.skipping = False
        self.line_start = self.pos - len(rest)
        nbytes = len(complete) + 1
        if not raw_lines:
            return Chunk([], None, nbytes, self.line_start)
        flags: list[int] | None = None
        truncated = 0
        if max(map(len, raw_lines)) > max_line_bytes:
            flags = [0] * len(raw_lines)
            for i, line in enumerate(raw_lines):
                if len(line) > max_line_bytes:
                    raw_lines[i] = line[:max_line_bytes]
                    flags[i] = FLAG_TRUNCATED
                    truncated += 1
        return self._decode(raw_lines, flags, nbytes, self.line_start, truncated=truncated)

    def _decode(
        self, raw_lines: list[bytes], flags: list[int] | None, nbytes: int, commit: int, truncated: int = 0
    ) -> Chunk:
        try:
            # Fast path: one C call for the whole chunk.
            lines = b"\n".join(raw_lines).decode("utf-8").split("\n") if raw_lines else []
            invalid = 0
        except UnicodeDecodeError:
            lines = []
            invalid = 0
            if flags is None:
                flags = [0] * len(raw_lines)
            for i, raw in enumerate(raw_lines):
                try:
                    lines.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    # A cut can split a multi-byte character; only the cut line is affected.
                    lines.append(raw.decode("utf-8", "replace"))
                    flags[i] |= FLAG_INVALID_UTF8
                    invalid += 1
        return Chunk(lines, flags, nbytes, commit, truncated=truncated, invalid=invalid)

    def flush_partial(self, max_line_bytes: int) -> Chunk | None:
        """Ship the held partial line, flagged unterminated (only once the file cannot grow)."""
        if not self.partial or self.skipping:
            self.partial = bytearray()
            return None
        raw = bytes(self.partial[:max_line_bytes])
        flag = FLAG_UNTERMINATED | (FLAG_TRUNCATED if len(self.partial) > max_line_bytes else 0)
        self.partial = bytearray()
        self.line_start = self.pos
        chunk = self._decode([raw], [flag], len(raw), self.pos, truncated=1 if flag & FLAG_TRUNCATED else 0)
        chunk.unterminated = 1
        return chunk

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
