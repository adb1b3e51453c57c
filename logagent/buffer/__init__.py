"""Sink buffers: bounded queues between the pipeline and each sink."""

from logagent.buffer.memory import Inbox, MemoryBuffer

__all__ = ["Inbox", "MemoryBuffer"]
