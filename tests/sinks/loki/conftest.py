"""Fixtures for the Loki sink tests: a fake Loki per test and a harness running a real sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from logagent.acks import AckOrder
from logagent.buffer import MemoryBuffer
from logagent.components import SinkContext
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from logagent.sinks.loki.config import LokiSinkConfig
from logagent.sinks.loki.sink import LokiSink
from tests.sinks.loki.receiver import LokiReceiver, start_receiver


@pytest.fixture
async def loki() -> AsyncIterator[LokiReceiver]:
    async with start_receiver() as rx:
        yield rx


async def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``cond`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def sink_config(url: str, **overrides: Any) -> LokiSinkConfig:
    """A Loki sink config with fast retries (tests must not wait for production backoffs)."""
    raw = {
        "type": "loki",
        "endpoint": url,
        "min_backoff_secs": 0.01,
        "max_backoff_secs": 0.05,
        "batch": {"timeout_secs": 0.05},
        **overrides,
    }
    return LokiSinkConfig.model_validate(raw)


class Harness:
    """A real LokiSink fed through a MemoryBuffer, with acks recorded per origin."""

    def __init__(self, config: LokiSinkConfig, data_dir: Path, name: str = "loki") -> None:
        self.metrics = AgentMetrics()
        self.sink = LokiSink(name, config, SinkContext(name, self.metrics, data_dir))
        self.buffer = MemoryBuffer(name, self.metrics)
        self.committed: list[int] = []
        self.order = AckOrder(self.committed.append)
        self.task: asyncio.Task[None] | None = None
        self.emitted = 0

    def start(self) -> Harness:
        self.task = asyncio.create_task(self.sink.run(self.buffer))
        return self

    async def feed(self, batch: Batch) -> Batch:
        self.emitted += 1
        batch.ack = self.order.new_ack(self.emitted, 1)
        await self.buffer.put(batch)
        return batch

    async def close(self, timeout: float = 20) -> None:
        await self.buffer.close()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)

    async def cancel(self) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass

    def all_acked(self) -> bool:
        return self.order.pending == 0 and self.order.committed == self.emitted

    def value(self, metric: str, **labels: str) -> float:
        v = self.metrics.registry.get_sample_value(metric, labels)
        return v or 0.0
