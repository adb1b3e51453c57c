"""DiskBuffer: order, durability before the source ack, replay, torn tails, bounds, segment cleanup."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from logagent.acks import AckOrder
from logagent.buffer.disk import ACK_FILE, SEGMENT_SUFFIX, DiskBuffer, DiskBufferError, encode_batch, frame
from logagent.event import FLAG_TRUNCATED, Batch
from logagent.metrics import AgentMetrics
from parsers.base import Record
from tests.buffer.helpers import sample, until


def make_batch(i: int, lines: int = 3, order: AckOrder | None = None) -> Batch:
    b = Batch(source="app", lines=[f"batch {i} line {j}" for j in range(lines)], path="/var/log/app.log")
    b.nbytes = sum(len(x) + 1 for x in b.lines)
    if order is not None:
        b.ack = order.new_ack(i, 1)
    return b


def segments(d: Path) -> list[Path]:
    return sorted(d.glob(f"*{SEGMENT_SUFFIX}"))


async def drain(buf: DiskBuffer, ack: bool = True) -> list[Batch]:
    """Every batch available now."""
    out = []
    while (b := buf.get_nowait()) is not None:
        out.append(b)
        if ack:
            b.ack.done()
    return out


def written_all(buf: DiskBuffer) -> bool:
    return buf.unwritten == 0


@pytest.fixture
def metrics() -> AgentMetrics:
    return AgentMetrics()


async def test_a_batch_round_trips_with_every_field(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    batch = Batch(
        source="app",
        lines=["héllo", '{"k": 1}', "x"],
        read_ts_ns=1_700_000_000_123_456_789,
        path="/var/log/app.log",
        labels={"env": "prod"},
        flags=[0, FLAG_TRUNCATED, 0],
        ts_ns=[None, 5, 6],
        fields=[{"unit": "a"}, {}, {"n": [1, 2]}],
        records=[
            Record(1, "info", "héllo", {"a": 1}, None),
            Record(None, None, None, {}, "not json"),
            Record(3, "error", "x", {"nested": {"b": True}}, None),
        ],
        nbytes=20,
    )
    buf = DiskBuffer("s", metrics, tmp_path)
    await buf.put(batch)
    await until(lambda: len(buf) == 1 and written_all(buf))
    got = await buf.get()
    assert got is not None
    for name in ("source", "lines", "read_ts_ns", "path", "flags", "ts_ns", "fields", "records", "nbytes"):
        assert getattr(got, name) == getattr(batch, name), name
    assert dict(got.labels) == batch.labels
    await buf.close()


async def test_source_is_acked_only_once_the_batch_is_on_disk(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    commits: list[int] = []
    order = AckOrder(commits.append)
    buf = DiskBuffer("s", metrics, tmp_path)
    await buf.put(make_batch(0, order=order))
    # put() returned before the group write: the source's checkpoint must not move yet.
    assert commits == []
    await until(lambda: commits == [0])
    seg = segments(tmp_path)[-1]
    assert seg.stat().st_size > 0
    # The sink's ack of the batch read back moves the buffer, never the source a second time.
    got = await buf.get()
    assert got is not None and got.ack is not None
    got.ack.done()
    assert commits == [0]
    assert sample(metrics, "logagent_buffer_events", sink="s") == 0
    await buf.close()


async def test_batches_come_back_in_order_across_segments(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path, max_bytes=1 << 20, max_segment_bytes=4096)
    got: list[Batch] = []

    async def reader() -> None:
        while (b := await buf.get()) is not None:
            got.append(b)
            b.ack.done()
            if len(got) == 300:
                return

    task = asyncio.create_task(reader())
    for i in range(300):
        await buf.put(make_batch(i, lines=5))
    await asyncio.wait_for(task, 30)
    assert [b.lines[0] for b in got] == [f"batch {i} line 0" for i in range(300)]
    await buf.close()


async def test_replay_after_reopen_starts_after_the_acknowledged_prefix(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path, max_segment_bytes=4096)
    for i in range(40):
        await buf.put(make_batch(i))
    await until(lambda: written_all(buf) and len(buf) == 40)
    first = await drain(buf, ack=False)
    assert len(first) == 40
    # Delivered out of order: 0..9 and 11..14. Only the contiguous prefix 0..9 counts.
    for b in first[:10] + first[11:15]:
        b.ack.done()
    await buf.close()

    metrics2 = AgentMetrics()
    again = DiskBuffer("s", metrics2, tmp_path, max_segment_bytes=4096)
    assert sample(metrics2, "logagent_buffer_events", sink="s") == 30 * 3
    replayed = await drain(again)
    assert [b.lines[0] for b in replayed] == [f"batch {i} line 0" for i in range(10, 40)]
    await again.close()
    # Everything acknowledged: a third open has nothing to replay and the old segments are gone.
    third = DiskBuffer("s", AgentMetrics(), tmp_path)
    assert third.get_nowait() is None
    assert len(segments(tmp_path)) == 1
    await third.close()


async def test_new_batches_after_a_replay_follow_the_replayed_ones(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path)
    for i in range(5):
        await buf.put(make_batch(i))
    await buf.close()
    again = DiskBuffer("s", AgentMetrics(), tmp_path)
    for i in range(5, 8):
        await again.put(make_batch(i))
    got = []
    while len(got) < 8:
        b = await asyncio.wait_for(again.get(), 10)
        assert b is not None
        got.append(b.lines[0])
        b.ack.done()
    assert got == [f"batch {i} line 0" for i in range(8)]
    await again.close()


@pytest.mark.parametrize("tail", ["half_record", "zeros", "bad_checksum", "header_only"])
async def test_a_torn_tail_is_skipped_counted_and_cut(tmp_path: Path, tail: str) -> None:
    buf = DiskBuffer("s", AgentMetrics(), tmp_path)
    for i in range(5):
        await buf.put(make_batch(i))
    await buf.close()
    seg = segments(tmp_path)[-1]
    good_size = seg.stat().st_size
    rec = frame(encode_batch(make_batch(99)), 3)
    garbage = {
        "half_record": rec[: len(rec) // 2],
        "zeros": b"\0" * 4096,  # what a crash leaves when the size grew but the data never landed
        "bad_checksum": rec[:-1] + bytes([rec[-1] ^ 0xFF]),
        "header_only": rec[:12],
    }[tail]
    with seg.open("ab") as f:
        f.write(garbage)

    m = AgentMetrics()
    again = DiskBuffer("s", m, tmp_path)
    assert sample(m, "logagent_buffer_damaged_records_total", sink="s") == 1
    assert seg.stat().st_size == good_size
    got = await drain(again)
    assert [b.lines[0] for b in got] == [f"batch {i} line 0" for i in range(5)]
    await again.close()
    m3 = AgentMetrics()
    third = DiskBuffer("s", m3, tmp_path)
    assert sample(m3, "logagent_buffer_damaged_records_total", sink="s") == 0
    await third.close()


async def test_when_full_block_makes_put_wait_until_the_sink_acks(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    size = len(frame(encode_batch(make_batch(0)), 3))
    buf = DiskBuffer("s", metrics, tmp_path, max_bytes=size * 4, when_full="block")
    commits: list[int] = []
    order = AckOrder(commits.append)
    for i in range(4):
        await buf.put(make_batch(i, order=order))
    blocked = asyncio.create_task(buf.put(make_batch(4, order=order)))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(blocked), 0.2)
    await until(lambda: commits and commits[-1] == 3)
    assert sample(metrics, "logagent_events_dropped_total", component="sink:s", reason="buffer_full") == 0
    # Reading alone frees nothing: only the sink's ack does.
    first = await buf.get()
    assert first is not None
    await asyncio.sleep(0)
    assert not blocked.done()
    first.ack.done()
    await asyncio.wait_for(blocked, 5)
    await until(lambda: commits[-1] == 4)
    assert [b.lines[0] for b in await drain(buf)] == [f"batch {i} line 0" for i in range(1, 5)]
    await buf.close()


async def test_when_full_drop_newest_counts_and_acks_the_dropped_batch(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    size = len(frame(encode_batch(make_batch(0)), 3))
    buf = DiskBuffer("s", metrics, tmp_path, max_bytes=size * 4, when_full="drop_newest")
    commits: list[int] = []
    order = AckOrder(commits.append)
    for i in range(6):
        await buf.put(make_batch(i, order=order))
    # The two dropped ones are acked at once; the checkpoint still waits for the first four.
    await until(lambda: commits and commits[-1] == 5)
    assert sample(metrics, "logagent_events_dropped_total", component="sink:s", reason="buffer_full") == 6
    assert [b.lines[0] for b in await drain(buf)] == [f"batch {i} line 0" for i in range(4)]
    await buf.close()


async def test_an_oversize_batch_passes_into_an_empty_buffer(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path, max_bytes=4096, when_full="drop_newest")
    big = make_batch(0, lines=1000)
    await buf.put(big)
    got = await asyncio.wait_for(buf.get(), 10)
    assert got is not None and len(got) == 1000
    await buf.close()


async def test_acknowledged_segments_are_deleted_and_gauges_return_to_zero(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path, max_bytes=1 << 20, max_segment_bytes=4096)
    for i in range(200):
        await buf.put(make_batch(i))
    await until(lambda: written_all(buf) and len(buf) == 200)
    assert len(segments(tmp_path)) > 5
    assert sample(metrics, "logagent_buffer_events", sink="s") == 600
    on_disk = sum(p.stat().st_size for p in segments(tmp_path))
    assert sample(metrics, "logagent_buffer_bytes", sink="s") == on_disk
    got = await drain(buf, ack=False)
    for b in got[:100]:
        b.ack.done()
    assert sample(metrics, "logagent_buffer_events", sink="s") == 300
    left = len(segments(tmp_path))
    for b in got[100:]:
        b.ack.done()
    assert len(segments(tmp_path)) < left
    # Only the segment being written may remain.
    assert len(segments(tmp_path)) <= 1
    assert sample(metrics, "logagent_buffer_events", sink="s") == 0
    assert sample(metrics, "logagent_buffer_bytes", sink="s") == 0
    await buf.close()


async def test_closing_writes_queued_batches_and_stops_handing_out(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    commits: list[int] = []
    order = AckOrder(commits.append)
    buf = DiskBuffer("s", metrics, tmp_path)
    waiting = asyncio.create_task(buf.get())
    await asyncio.sleep(0)
    for i in range(3):
        await buf.put(make_batch(i, order=order))
    await buf.close()
    assert commits[-1] == 2
    assert buf.get_nowait() is None
    # A sink waiting in get() is told the buffer is closed; what is on disk waits for the next start.
    assert await waiting is None
    with pytest.raises(RuntimeError):
        await buf.put(make_batch(9))
    again = DiskBuffer("s", AgentMetrics(), tmp_path)
    assert [b.lines[0] for b in await drain(again)] == [f"batch {i} line 0" for i in range(3)]
    await again.close()


async def test_an_unusable_directory_is_a_clear_error(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DiskBufferError, match=r"disk buffer of sink s: cannot use .*file/buf"):
        DiskBuffer("s", metrics, blocker / "buf")


async def test_a_damaged_ack_file_replays_from_the_oldest_segment(
    tmp_path: Path, metrics: AgentMetrics
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path)
    for i in range(4):
        await buf.put(make_batch(i))
    await until(lambda: written_all(buf) and len(buf) == 4)
    got = await drain(buf, ack=False)
    got[0].ack.done()
    await buf.close()
    ack = tmp_path / ACK_FILE
    data = bytearray(ack.read_bytes())
    data[0] ^= 0xFF
    ack.write_bytes(bytes(data))
    again = DiskBuffer("s", AgentMetrics(), tmp_path)
    # Duplicates (batch 0 again), never a loss.
    assert [b.lines[0] for b in await drain(again)] == [f"batch {i} line 0" for i in range(4)]
    await again.close()


async def test_a_second_buffer_on_the_same_directory_is_refused_until_the_first_closes(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    buf = DiskBuffer("s", metrics, tmp_path)
    with pytest.raises(DiskBufferError, match="in use by another buffer"):
        DiskBuffer("s", AgentMetrics(), tmp_path)
    await buf.close()
    again = DiskBuffer("s", AgentMetrics(), tmp_path)
    await again.abort()


async def test_abort_forgets_queued_batches_without_acknowledging_them(
    tmp_path: Path,
    metrics: AgentMetrics,
) -> None:
    commits: list[int] = []
    order = AckOrder(commits.append)
    buf = DiskBuffer("s", metrics, tmp_path)
    for i in range(3):
        await buf.put(make_batch(i, order=order))
    await buf.abort()
    await buf.abort()
    # Never written, never acknowledged: the source reads them again.
    assert commits == []
    again = DiskBuffer("s", AgentMetrics(), tmp_path)
    assert again.get_nowait() is None
    await again.close()


def test_a_failing_disk_write_is_retried_and_nothing_is_acked_until_it_succeeds(tmp_path: Path) -> None:
    # Real write failures (EFBIG via RLIMIT_FSIZE) need their own process: see fsize_writer.py.
    proc = subprocess.run(
        [sys.executable, "-m", "tests.buffer.fsize_writer", str(tmp_path)],
        capture_output=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr.decode()
    report = orjson.loads(proc.stdout)
    assert b"File too large; retrying" in proc.stderr
    assert report["errors"] >= 1
    # Batches 5.. were not acknowledged while their write failed...
    assert report["acked_while_failing"] == [0, 1, 2, 3, 4]
    # ...and once the disk took them, all were, and read back intact and in order (the partial
    # record left by the failed write was cut off, not read).
    assert report["commits"] == list(range(20))
    assert report["read"] == [f"batch {i} line 0 {'x' * 100}" for i in range(20)]
