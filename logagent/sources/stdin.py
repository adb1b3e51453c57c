"""``type = "stdin"``: lines piped into the agent (``app | logagent run --config ...``).

A pipe, socket or terminal is read through the event loop (``connect_read_pipe``), so a stop
request never waits on a blocked read; a regular file or other descriptor given as stdin is read
in a worker thread. Each read becomes one batch of its complete lines, cut with the file
source's line splitter (same ``max_line_bytes`` truncation and UTF-8 flags). The source ends at
end of input (or on stop), shipping an unfinished last line flagged "unterminated"; when every source of
the agent has ended, the agent drains its sinks and exits 0.

There is no checkpoint: what was read cannot be read again, so lines still in flight when the
agent is killed are lost (a graceful stop delivers them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from logagent.components import Source
from logagent.config.model import SourceConfig
from logagent.event import Batch
from logagent.sources.file.reader import Chunk, TrackedFile

if TYPE_CHECKING:
    from logagent.components import SourceContext

READ_BYTES = 256 * 1024


class StdinSourceConfig(SourceConfig):
    """Read the agent's standard input until it closes."""

    type: Literal["stdin"] = "stdin"
    #: Longer lines are cut to this many bytes, flagged "truncated" and counted.
    max_line_bytes: int = Field(default=256 * 1024, ge=16)

    def build(self, name: str, ctx: SourceContext) -> Source:
        return StdinSource(name, self, ctx)


class StdinSource(Source):
    config: StdinSourceConfig

    def __init__(self, name: str, config: StdinSourceConfig, ctx: Any, fd: int | None = None) -> None:
        super().__init__(name, config, ctx)
        self.fd = sys.stdin.fileno() if fd is None else fd
        m = ctx.metrics
        self._m_lines = m.lines_read.labels(name)
        self._m_bytes = m.bytes_read.labels(name)
        # Delivery is still acknowledged (sinks expect it) but there is nothing to commit.
        self._order = ctx.ack_order(lambda _position: None)
        # The file source's line splitter, fed from memory: no descriptor, positions are counts.
        self._lines = TrackedFile("stdin", "", "-", -1, 0, 0, 0, self._order)

    async def run(self) -> None:
        fd = os.dup(self.fd)
        mode = os.fstat(fd).st_mode
        pollable = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)
        try:
            if pollable:
                await self._run_pipe(fd)
            else:
                await self._run_blocking(fd)
        finally:
            self.ctx.started.set()

    async def _run_pipe(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_BYTES, loop=loop)
        pipe = os.fdopen(fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        self.ctx.started.set()
        try:
            while not self.ctx.stopping.is_set():
                read = asyncio.ensure_future(reader.read(READ_BYTES))
                stop = asyncio.ensure_future(self.ctx.stopping.wait())
                await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if not read.done():
                    read.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await read
                    # Stopping: a line begun but not finished is still shipped, flagged.
                    await self._end()
                    break
                data = read.result()
                if not data:
                    await self._end()
                    return
                await self._feed(data)
        finally:
            transport.close()

    async def _run_blocking(self, fd: int) -> None:
        self.ctx.started.set()
        try:
            while not self.ctx.stopping.is_set():
                data = await asyncio.to_thread(os.read, fd, READ_BYTES)
                if not data:
                    break
                await self._feed(data)
            await self._end()
        finally:
            os.close(fd)

    async def _feed(self, data: bytes) -> None:
        self._lines.pos += len(data)
        await self._emit(self._lines._cut(data, self.config.max_line_bytes))

    async def _end(self) -> None:
        chunk = self._lines.flush_partial(self.config.max_line_bytes)
        if chunk is not None:
            await self._emit(chunk)

    async def _emit(self, chunk: Chunk) -> None:
        if chunk.nbytes:
            self._m_bytes.inc(chunk.nbytes)
        if not chunk.lines:
            return
        self._m_lines.inc(len(chunk.lines))
        flagged = self.ctx.metrics.lines_flagged
        for count, flag in ((chunk.truncated, "truncated"), (chunk.invalid, "invalid_utf8")):
            if count:
                flagged.labels(self.name, flag).inc(count)
        if chunk.unterminated:
            flagged.labels(self.name, "unterminated").inc(chunk.unterminated)
        batch = Batch(
            source=self.name,
            lines=chunk.lines,
            labels=self.config.labels,
            flags=chunk.flags,
            nbytes=chunk.nbytes,
        )
        batch.ack = self._order.new_ack(chunk.commit_offset, self.ctx.sink_count)
        await self.ctx.emit(batch)
