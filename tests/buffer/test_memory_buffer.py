"""MemoryBuffer: bounded by events and bytes; block waits, drop_newest counts and acknowledges."""

from __future__ import annotations

import asyncio

import pytest

from logagent.acks import AckOrder
from logagent.buffer import MemoryBuffer
from logagent.event import Batch
from logagent.metrics import AgentMetrics
from tests.buffer.helpers import sample


def batch(i: int, lines: int = 10, order: AckOrder | None = None) -> Batch:
    b = Batch(source="app", lines=[f"{i}:{j}" for j in range(lines)], nbytes=100)
    if order is not None:
        b.ack = order.new_ack(i, 1)
    return b


async def test_block_waits_for_room_in_events() -> None:
    m = AgentMetrics()
    buf = MemoryBuffer("s", m, max_events=20, max_bytes=1 << 20)
    await buf.put(batch(0))
    await buf.put(batch(1))
    blocked = asyncio.create_task(buf.put(batch(2)))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(blocked), 0.1)
    assert sample(m, "logagent_buffer_events", sink="s") == 20
    first = await buf.get()
    assert first is not None and first.lines[0] == "0:0"
    await asyncio.wait_for(blocked, 5)
    assert [b.lines[0] for b in (buf.get_nowait(), buf.get_nowait())] == ["1:0", "2:0"]


async def test_block_waits_for_room_in_bytes() -> None:
    buf = MemoryBuffer("s", AgentMetrics(), max_events=1000, max_bytes=150)
    await buf.put(batch(0))
    blocked = asyncio.create_task(buf.put(batch(1)))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(blocked), 0.1)
    await buf.get()
    await asyncio.wait_for(blocked, 5)


async def test_drop_newest_counts_and_acknowledges() -> None:
    m = AgentMetrics()
    commits: list[int] = []
    order = AckOrder(commits.append)
    buf = MemoryBuffer("s", m, max_events=20, when_full="drop_newest")
    for i in range(4):
        await buf.put(batch(i, order=order))
    assert sample(m, "logagent_events_dropped_total", component="sink:s", reason="buffer_full") == 20
    assert commits == []  # 0 and 1 still wait for the sink
    for _ in range(2):
        b = buf.get_nowait()
        assert b is not None and b.ack is not None
        b.ack.done()
    assert commits == [0, 3]  # 2 and 3 were done already


async def test_an_oversize_batch_passes_into_an_empty_buffer_and_close_drains() -> None:
    buf = MemoryBuffer("s", AgentMetrics(), max_events=5, max_bytes=10)
    await buf.put(batch(0, lines=50))
    await buf.close()
    got = await buf.get()
    assert got is not None and len(got) == 50
    assert await buf.get() is None
