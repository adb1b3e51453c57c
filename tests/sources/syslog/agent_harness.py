"""Run the real agent in-process (config text -> Agent.run) and read what its file sink wrote."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from logagent.agent import Agent
from logagent.config import load_config_text
from tests.agentproc import read_events


class InProcessAgent:
    """``async with InProcessAgent(text, out_dir) as a:`` runs the agent until the block ends."""

    def __init__(self, config_text: str, out_dir: Path) -> None:
        self.config = load_config_text(config_text)
        self.out_dir = out_dir
        self.agent = Agent(self.config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> InProcessAgent:
        self.task = asyncio.create_task(self.agent.run(install_signals=False))
        ready = asyncio.ensure_future(self.agent.ready.wait())
        await asyncio.wait({ready, self.task}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()
        assert ready.done(), "agent not ready within 20 s"
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.agent.request_stop()
            await asyncio.wait_for(self.task, 30)
            self.task = None

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def source(self, name: str) -> Any:
        assert self.agent.topology is not None
        return self.agent.topology.sources[name]

    def metric(self, name: str, **labels: str) -> float:
        return self.agent.metrics.registry.get_sample_value(name, labels) or 0.0

    def events(self) -> list[dict]:
        return read_events(self.out_dir)

    async def wait_events(self, n: int, timeout: float = 20) -> list[dict]:
        """Poll the sink's output until it holds at least ``n`` events."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if len(events) >= n:
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} events, got {len(events)}: {events[-3:]}")
            await asyncio.sleep(0.05)

    async def wait_metric(self, name: str, minimum: float, timeout: float = 20, **labels: str) -> float:
        deadline = time.monotonic() + timeout
        while (value := self.metric(name, **labels)) < minimum:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}{labels} = {value}, expected >= {minimum}")
            await asyncio.sleep(0.05)
        return value


def file_sink_config(data_dir: Path, out_dir: Path) -> str:
    """The [agent] and file-sink part of a test config."""
    return f"""
[agent]
data_dir = "{data_dir}"
listen = ""
shutdown_timeout_secs = 10

[sinks.out]
type = "file"
path = "{out_dir}"
"""
