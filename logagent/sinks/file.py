"""The local file sink: NDJSON events appended to ``<path>/events.ndjson``, rotated by size.

A batch is acknowledged once written to the file (with ``fsync = true``, once it is on disk). On
start, a torn last line left by a crash is cut off: its batch was never acknowledged, so the
source sends it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from logagent.buffer import Inbox
from logagent.components import Sink, SinkContext
from logagent.config.model import SinkConfig
from logagent.encode import encode_ndjson

log = logging.getLogger(__name__)

CURRENT = "events.ndjson"


class FileSinkConfig(SinkConfig):
    """``type = "file"``."""

    type: Literal["file"] = "file"
    #: Directory of the output files; default ``<data_dir>/out/<sink name>``.
    path: Path | None = None
    #: Rotate the current file when it would grow past this size.
    max_file_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    #: Rotated files kept (events.ndjson.1 is the newest); older ones are deleted.
    max_files: int = Field(default=5, ge=0)
    #: fsync after each batch before acknowledging it (survives power loss, costs throughput).
    fsync: bool = False

    def build(self, name: str, ctx: SinkContext) -> Sink:
        return FileSink(name, self, ctx)


def recover_torn_tail(path: Path) -> int:
    """Cut a partial last line (no trailing newline) off ``path``; returns the bytes removed."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0
        pos = size
        block = 65536
        while pos > 0:
            start = max(0, pos - block)
            chunk = os.pread(fd, pos - start, start)
            if pos == size and chunk.endswith(b"\n"):
                return 0
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                os.ftruncate(fd, keep)
                return size - keep
            pos = start
        os.ftruncate(fd, 0)
        return size
    finally:
        os.close(fd)


class FileSink(Sink):
    config: FileSinkConfig

    def __init__(self, name: str, config: FileSinkConfig, ctx: SinkContext) -> None:
        super().__init__(name, config, ctx)
        self.dir = config.path or (ctx.data_dir / "out" / name)
        self.current = self.dir / CURRENT
        self._fd = -1
        self._size = 0

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        removed = recover_torn_tail(self.current)
        if removed:
            log.warning("File sink %s: cut a torn last line (%d bytes) left by a crash.", self.name, removed)
        self._fd = os.open(self.current, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._size = os.fstat(self._fd).st_size

    def _rotate(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        keep = self.config.max_files
        if keep == 0:
            os.unlink(self.current)
        else:
            for i in range(keep, 0, -1):
                src = self.dir / (CURRENT if i == 1 else f"{CURRENT}.{i - 1}")
                dst = self.dir / f"{CURRENT}.{i}"
                if src.exists():
                    os.replace(src, dst)
        self._fd = os.open(self.current, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._size = 0

    def _write(self, data: bytes) -> None:
        if self._size and self._size + len(data) > self.config.max_file_bytes:
            self._rotate()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._size += len(data)
        if self.config.fsync:
            os.fdatasync(self._fd)

    async def run(self, inbox: Inbox) -> None:
        metrics = self.ctx.metrics
        sent = metrics.events_sent.labels(self.name)
        sent_bytes = metrics.bytes_sent.labels(self.name)
        up = metrics.sink_up.labels(self.name)
        self._open()
        up.set(1)
        try:
            while (batch := await inbox.get()) is not None:
                data = encode_ndjson(batch)
                # Retry a failing disk (full, EIO) instead of dropping: the batch stays unacked.
                while True:
                    try:
                        self._write(data)
                        break
                    except OSError as exc:
                        up.set(0)
                        metrics.sink_errors.labels(self.name, "write_failed").inc()
                        log.error("File sink %s cannot write %s: %s; retrying.", self.name, self.current, exc)
                        await asyncio.sleep(1.0)
                up.set(1)
                sent.inc(len(batch))
                sent_bytes.inc(len(data))
                if batch.ack is not None:
                    batch.ack.done()
        finally:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
