"""The small interfaces every source and sink implements, and what the pipeline hands them.

A source's ``run(ctx)`` reads until ``ctx.stopping`` is set, emitting batches with ``await
ctx.emit(batch)`` (which blocks while sinks are behind: that is backpressure) and attaching an
ack from an :class:`~logagent.acks.AckOrder` so its checkpoint moves only after delivery.

A sink's ``run(inbox)`` takes batches until the inbox is closed and drained, and calls
``batch.ack.done()`` for each batch once it is delivered (or dropped with a counted reason).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logagent.acks import AckOrder
from logagent.checkpoint import CheckpointStore
from logagent.metrics import AgentMetrics

if TYPE_CHECKING:
    from logagent.buffer import Inbox
    from logagent.event import Batch


@dataclass
class SourceContext:
    """What the pipeline gives a source."""

    name: str
    checkpoints: CheckpointStore
    metrics: AgentMetrics
    data_dir: Path
    emit: Callable[[Batch], Awaitable[None]]
    #: How many sinks take this source's lines (each must ack a batch before it counts).
    sink_count: int
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set by the source once it is started (files discovered, socket bound, ...).
    started: asyncio.Event = field(default_factory=asyncio.Event)

    def ack_order(self, on_commit: Callable[[Any], None], committed: Any = None) -> AckOrder:
        """A new ordered finalizer for one origin of this source."""
        return AckOrder(on_commit, committed)


@dataclass
class SinkContext:
    """What the pipeline gives a sink."""

    name: str
    metrics: AgentMetrics
    data_dir: Path


class Source(ABC):
    """A producer of batches."""

    def __init__(self, name: str, config: Any, ctx: SourceContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx

    @abstractmethod
    async def run(self) -> None:
        """Read and emit until ``ctx.stopping`` is set; return after the last emit."""


class Sink(ABC):
    """A consumer of batches that acknowledges what it delivered."""

    def __init__(self, name: str, config: Any, ctx: SinkContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx

    @abstractmethod
    async def run(self, inbox: Inbox) -> None:
        """Deliver batches from ``inbox`` until it is closed and empty, then flush and return."""

    async def healthcheck(self) -> None:  # noqa: B027 (optional hook)
        """Raise :class:`SinkUnavailable` if the endpoint or credentials do not work."""


class SinkUnavailable(Exception):
    """A sink's healthcheck failed; the message says why."""
