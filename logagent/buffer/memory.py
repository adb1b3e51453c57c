"""The in-memory sink buffer, bounded by events and bytes.

``when_full = "block"`` makes ``put`` wait (backpressure to the sources: lines wait safely in
their files); ``"drop_newest"`` drops the incoming batch, counts it, and acknowledges it so the
source does not stall behind it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from logagent.event import Batch
    from logagent.metrics import AgentMetrics


class Inbox(Protocol):
    """What a sink reads from."""

    async def get(self) -> Batch | None:
        """The next batch, or None once closed and drained."""
        ...

    def get_nowait(self) -> Batch | None:
        """The next batch if one is waiting, else None."""
        ...

    def closed(self) -> bool: ...


class MemoryBuffer:
    """Bounded FIFO of batches."""

    def __init__(
        self,
        sink: str,
        metrics: AgentMetrics,
        max_events: int = 100_000,
        max_bytes: int = 64 * 1024 * 1024,
        when_full: str = "block",
    ) -> None:
        self.sink = sink
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.when_full = when_full
        self._items: deque[Batch] = deque()
        self._events = 0
        self._bytes = 0
        self._closed = False
        # Single event loop: plain Events suffice (set on every pop / push, re-checked by waiters).
        self._space = asyncio.Event()
        self._data = asyncio.Event()
        self._metrics = metrics
        self._g_events = metrics.buffer_events.labels(sink)
        self._g_bytes = metrics.buffer_bytes.labels(sink)

    def _fits(self, batch: Batch) -> bool:
        if not self._items:
            return True  # an oversize batch still passes alone: never deadlock
        return self._events + len(batch) <= self.max_events and self._bytes + batch.nbytes <= self.max_bytes

    async def put(self, batch: Batch) -> None:
        """Queue a batch; wait for room (block) or drop it (drop_newest)."""
        if self._closed:
            raise RuntimeError(f"buffer of sink {self.sink} is closed")
        if not self._fits(batch):
            if self.when_full == "drop_newest":
                self._metrics.events_dropped.labels(f"sink:{self.sink}", "buffer_full").inc(len(batch))
                if batch.ack is not None:
                    batch.ack.done()
                return
            while not self._fits(batch):
                self._space.clear()
                await self._space.wait()
        self._items.append(batch)
        self._events += len(batch)
        self._bytes += batch.nbytes
        self._g_events.set(self._events)
        self._g_bytes.set(self._bytes)
        self._data.set()

    def _pop(self) -> Batch:
        batch = self._items.popleft()
        self._events -= len(batch)
        self._bytes -= batch.nbytes
        self._g_events.set(self._events)
        self._g_bytes.set(self._bytes)
        self._space.set()
        return batch

    async def get(self) -> Batch | None:
        while not self._items and not self._closed:
            self._data.clear()
            await self._data.wait()
        return self._pop() if self._items else None

    def get_nowait(self) -> Batch | None:
        return self._pop() if self._items else None

    async def close(self) -> None:
        """No more puts; ``get`` returns None once the queue is drained."""
        self._closed = True
        self._data.set()

    async def abort(self) -> None:
        """The pipeline is torn down: nothing to stop (what is queued was never acknowledged)."""
        self._closed = True
        self._data.set()

    def closed(self) -> bool:
        return self._closed

    @property
    def events(self) -> int:
        return self._events

    def __len__(self) -> int:
        return len(self._items)
