"""The stdout sink: NDJSON events on standard output (for piping and containers)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Literal

from logagent.buffer import Inbox
from logagent.components import Sink, SinkContext
from logagent.config.model import SinkConfig
from logagent.encode import encode_ndjson


class StdoutSinkConfig(SinkConfig):
    """``type = "stdout"``."""

    type: Literal["stdout"] = "stdout"

    def build(self, name: str, ctx: SinkContext) -> Sink:
        return StdoutSink(name, self, ctx)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (a blocking descriptor: this waits for a slow reader)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class StdoutSink(Sink):
    async def run(self, inbox: Inbox) -> None:
        sent = self.ctx.metrics.events_sent.labels(self.name)
        fd = sys.stdout.fileno()
        while (batch := await inbox.get()) is not None:
            # Written from a worker thread: a reader that stops reading (a full pipe, a paused
            # terminal) holds up this sink and, through the bounded queues, the reading, but
            # never the event loop (health checks, metrics and the other sinks go on).
            await asyncio.to_thread(write_all, fd, encode_ndjson(batch))
            sent.inc(len(batch))
            if batch.ack is not None:
                batch.ack.done()
