"""Run one file source in-process against a collecting pipeline end (real files, real inotify)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from logagent.checkpoint import CheckpointStore
from logagent.components import SourceContext
from logagent.config import load_config_text
from logagent.event import Batch, flag_names
from logagent.metrics import AgentMetrics


class Collected:
    """What reached the end of the pipeline, with an awaitable line count."""

    def __init__(self, auto_ack: bool = True) -> None:
        self.batches: list[Batch] = []
        self.auto_ack = auto_ack
        self._changed = asyncio.Condition()

    async def emit(self, batch: Batch) -> None:
        self.batches.append(batch)
        if self.auto_ack and batch.ack is not None:
            batch.ack.done()
        async with self._changed:
            self._changed.notify_all()

    @property
    def lines(self) -> list[str]:
        return [line for b in self.batches for line in b.lines]

    def flagged(self) -> list[tuple[str, list[str]]]:
        out = []
        for b in self.batches:
            for i, line in enumerate(b.lines):
                if b.flags and b.flags[i]:
                    out.append((line, flag_names(b.flags[i])))
        return out

    async def wait_lines(self, n: int, timeout: float = 20) -> list[str]:
        async def cond() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.lines) >= n)

        try:
            await asyncio.wait_for(cond(), timeout)
        except TimeoutError:
            raise AssertionError(f"expected {n} lines, got {len(self.lines)}: {self.lines[-5:]}") from None
        return self.lines


def source_config(include: list[str], **options: Any) -> Any:
    """A validated FileSourceConfig (through the real loader)."""
    import tomllib  # noqa: F401  (the text below is TOML)

    opts = "".join(f"{k} = {_toml(v)}\n" for k, v in options.items())
    text = f'[sources.t]\ntype = "file"\ninclude = {_toml(include)}\n{opts}'
    return load_config_text(text).sources["t"]


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + "}"
    return str(v)


class RunningSource:
    """A FileSource running in a task, with its checkpoint store and collected output."""

    def __init__(self, data_dir: Path, config: Any, auto_ack: bool = True) -> None:
        self.metrics = AgentMetrics()
        self.store = CheckpointStore(data_dir, self.metrics)
        self.store.load()
        self.out = Collected(auto_ack)
        self.ctx = SourceContext(
            name="t",
            checkpoints=self.store,
            metrics=self.metrics,
            data_dir=data_dir,
            emit=self.out.emit,
            sink_count=1,
        )
        self.source = config.build("t", self.ctx)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RunningSource:
        self._task = asyncio.create_task(self.source.run())
        await asyncio.wait_for(self.ctx.started.wait(), 10)
        return self

    async def stop(self) -> None:
        self.ctx.stopping.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
            self._task = None
        await self.store.flush()

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self.ctx.stopping.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
            self._task = None
        await self.store.flush()

    def metric(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, {"source": "t", **labels})
        return value or 0.0
