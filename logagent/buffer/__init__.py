"""Sink buffers: bounded queues between the pipeline and each sink, in memory or on disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from logagent.buffer.disk import DiskBuffer
from logagent.buffer.memory import Inbox, MemoryBuffer

if TYPE_CHECKING:
    from logagent.config.model import BufferConfig
    from logagent.metrics import AgentMetrics

__all__ = ["DiskBuffer", "Inbox", "MemoryBuffer", "build_buffer"]


def build_buffer(
    sink: str, config: BufferConfig, metrics: AgentMetrics, data_dir: Path
) -> MemoryBuffer | DiskBuffer:
    """The buffer ``config`` describes for ``sink`` (a disk buffer lives in ``<data_dir>/buffer/<sink>``)."""
    if config.type == "disk":
        return DiskBuffer(
            sink,
            metrics,
            Path(data_dir) / "buffer" / sink,
            max_bytes=config.max_bytes,
            when_full=config.when_full,
            max_segment_bytes=config.max_segment_bytes,
        )
    return MemoryBuffer(sink, metrics, config.max_events, config.max_bytes, config.when_full)
