"""The stdout sink: NDJSON events on standard output (for piping and containers)."""

from __future__ import annotations

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


class StdoutSink(Sink):
    async def run(self, inbox: Inbox) -> None:
        sent = self.ctx.metrics.events_sent.labels(self.name)
        fd = sys.stdout.fileno()
        while (batch := await inbox.get()) is not None:
            view = memoryview(encode_ndjson(batch))
            while view:
                view = view[os.write(fd, view) :]
            sent.inc(len(batch))
            if batch.ack is not None:
                batch.ack.done()
