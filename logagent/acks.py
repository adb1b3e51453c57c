"""Acknowledgements: a checkpoint moves only over a contiguous run of delivered batches.

Every batch carries a :class:`BatchAck` expecting one ``done()`` per sink that takes it. When the
last sink is done, the batch's :class:`AckOrder` (one per origin: a file, a journal, a connection)
learns it; the order moves its committed position over the longest prefix of finished batches
and calls ``on_commit(position)``. A batch finished out of order waits for the ones before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AckOrder:
    """Ordered finalizer for one origin: commits positions in emission order."""

    __slots__ = ("_done", "_next_commit", "_next_seq", "_on_commit", "_positions", "committed")

    def __init__(self, on_commit: Callable[[Any], None], committed: Any = None) -> None:
        self._on_commit = on_commit
        self._next_seq = 0
        self._next_commit = 0
        self._positions: dict[int, Any] = {}
        self._done: set[int] = set()
        self.committed = committed

    def new_ack(self, position: Any, sinks: int) -> BatchAck:
        """An ack for the next batch, whose delivery moves the checkpoint to ``position``."""
        seq = self._next_seq
        self._next_seq += 1
        self._positions[seq] = position
        ack = BatchAck(self, seq, sinks)
        if sinks == 0:
            self._finish(seq)
        return ack

    @property
    def pending(self) -> int:
        """Batches emitted but not yet committed."""
        return self._next_seq - self._next_commit

    def _finish(self, seq: int) -> None:
        self._done.add(seq)
        advanced = False
        while self._next_commit in self._done:
            self._done.discard(self._next_commit)
            self.committed = self._positions.pop(self._next_commit)
            self._next_commit += 1
            advanced = True
        if advanced:
            self._on_commit(self.committed)


class BatchAck:
    """Counts down the sinks that still have to deliver one batch."""

    __slots__ = ("_order", "_remaining", "_seq")

    def __init__(self, order: AckOrder, seq: int, sinks: int) -> None:
        self._order = order
        self._seq = seq
        self._remaining = sinks

    def done(self) -> None:
        """One sink delivered (or deliberately dropped, with a counted reason) the batch."""
        self._remaining -= 1
        if self._remaining == 0:
            self._order._finish(self._seq)
        elif self._remaining < 0:
            raise RuntimeError("batch acknowledged more times than it has sinks")
