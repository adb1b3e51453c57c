"""Ordered acknowledgements and the checkpoint store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from logagent.acks import AckOrder
from logagent.checkpoint import MAX_LAG_SECS, CheckpointError, CheckpointStore


def test_checkpoint_moves_only_over_contiguous_acknowledged_batches() -> None:
    commits: list[int] = []
    order = AckOrder(commits.append, 0)
    a, b, c = (order.new_ack(pos, sinks=1) for pos in (10, 20, 30))
    c.done()
    b.done()
    assert commits == [] and order.committed == 0
    a.done()
    assert commits == [30] and order.pending == 0


def test_every_sink_must_acknowledge() -> None:
    commits: list[int] = []
    order = AckOrder(commits.append)
    ack = order.new_ack(5, sinks=2)
    ack.done()
    assert commits == []
    ack.done()
    assert commits == [5]
    with pytest.raises(RuntimeError):
        ack.done()


def test_batch_without_sinks_commits_at_once() -> None:
    commits: list[int] = []
    order = AckOrder(commits.append)
    order.new_ack(7, sinks=0)
    assert commits == [7]


async def test_store_round_trip_and_atomic_file(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.set("file:a:1", {"offset": 42})
    await store.flush()
    data = orjson.loads((tmp_path / "checkpoints.json").read_bytes())
    assert data["version"] == 1
    assert data["entries"]["file:a:1"]["value"] == {"offset": 42}
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    again = CheckpointStore(tmp_path)
    again.load()
    assert again.get("file:a:1") == {"offset": 42}


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "checkpoints.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        CheckpointStore(tmp_path).load()
    (tmp_path / "checkpoints.json").write_text('{"version": 99, "entries": {}}')
    with pytest.raises(CheckpointError, match="version"):
        CheckpointStore(tmp_path).load()


async def test_writer_coalesces_and_stays_within_max_lag(tmp_path: Path) -> None:
    from logagent.metrics import AgentMetrics

    metrics = AgentMetrics()
    store = CheckpointStore(tmp_path, metrics)
    stop = asyncio.Event()
    task = asyncio.create_task(store.run(stop))
    path = tmp_path / "checkpoints.json"
    loop = asyncio.get_running_loop()
    for i in range(50):
        store.set("k", i)
    t0 = loop.time()
    while not (path.exists() and orjson.loads(path.read_bytes())["entries"]["k"]["value"] == 49):
        assert loop.time() - t0 < 5, "checkpoint never written"
        await asyncio.sleep(0.01)
    assert loop.time() - t0 < MAX_LAG_SECS + 2  # generous for a loaded machine
    stop.set()
    await task
    # 50 sets were coalesced into (almost) one write.
    writes = metrics.registry.get_sample_value("logagent_checkpoint_writes_total")
    assert writes is not None and 1 <= writes <= 2


def test_prune_forgets_stale_entries_and_touch_keeps_live_ones(tmp_path: Path) -> None:
    import time

    store = CheckpointStore(tmp_path)
    store.set("file:a:live", {"offset": 1})
    store.set("file:a:gone", {"offset": 2})
    store.set("file:a:started", True)
    week_ago = time.time() - 8 * 24 * 3600
    for key in ("file:a:live", "file:a:gone", "file:a:started"):
        store._entries[key]["updated"] = week_ago
    store.touch("file:a:live", 24 * 3600)
    assert store.prune(7 * 24 * 3600, prefix="file:a:", keep={"file:a:started"}) == 1
    assert store.get("file:a:gone") is None
    assert store.get("file:a:live") == {"offset": 1}
    assert store.get("file:a:started") is True
