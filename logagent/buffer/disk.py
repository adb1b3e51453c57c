"""The disk sink buffer: batches kept in append-only segment files until the sink delivers them.

Layout, under ``<data_dir>/buffer/<sink>/``:

* ``<id>.seg`` — segment files, ids increasing and never reused. One record per batch::

      u32 length | u32 crc32(events + payload) | u32 events | payload (orjson, see encode_batch)

  A record is written whole, in a group with the records queued meanwhile, then the segment is
  ``fdatasync``-ed once for the whole group (group commit). Only then are the group's batches
  acknowledged to their sources (``batch.ack.done()``): from that moment the buffer owns them.
  A segment is sealed once it reaches ``max_segment_bytes`` and a new one is started.
* ``ack`` — the read position the sink has acknowledged up to: ``u64 segment | u64 offset | u32
  crc32``, rewritten in place after each commit (not fsynced: a stale or damaged ack file after a
  power loss only means some delivered batches are sent again, never that one is skipped).

Batches read back carry the buffer's own ack (one :class:`~logagent.acks.AckOrder` per buffer), so
a sink acknowledging a replayed batch moves this buffer's position, not a source's checkpoint. A
segment whose records are all acknowledged is deleted.

On open, segments are scanned from the acknowledged position: a record whose length or checksum
does not match (a torn write at the end of the last segment after a crash) ends that segment; it
is cut off and counted (``logagent_buffer_damaged_records``). Such a record was never fsynced, so
never acknowledged to its source: the source sends it again. Writing always starts a new segment.

Bounds: ``max_bytes`` bounds the unacknowledged bytes (records, framing included); disk use can
exceed it by the acknowledged head of one segment. ``when_full = "block"`` makes ``put`` wait;
``"drop_newest"`` drops the incoming batch, counts it and acknowledges it. Memory stays flat
whatever the backlog: records are read from disk one at a time, and at most ``stage_bytes`` of
records wait in memory for the next group write.

Once closed, the buffer hands out nothing more: what is on disk is delivered after the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import struct
import zlib
from collections.abc import Mapping
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from logagent.acks import AckOrder
from logagent.errors import LogagentError
from logagent.event import FLAG_INVALID_UTF8, Batch
from parsers.base import Record

if TYPE_CHECKING:
    from logagent.acks import BatchAck
    from logagent.metrics import AgentMetrics

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".seg"
ACK_FILE = "ack"
LOCK_FILE = "lock"
DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024
MIN_SEGMENT_BYTES = 4096
#: Records queued for the next group write (besides the group being written) beyond this make
#: ``put`` wait for the disk.
DEFAULT_STAGE_BYTES = 1024 * 1024
#: A length beyond this in a record header can only be damage.
MAX_RECORD_BYTES = 1 << 30

_HEADER = struct.Struct("<III")  # payload length, crc32, events
_EVENTS = struct.Struct("<I")
_ACK = struct.Struct("<QQI")  # segment id, offset, crc32 of the first 16 bytes
_ACK_BODY = struct.Struct("<QQ")
_ID_DIGITS = 20  # segment file names: the id, zero-padded so names sort like ids
_IOV_MAX = 1024  # os.writev's limit on buffers per call (Linux)

_rec_ts = attrgetter("ts_ns")
_rec_level = attrgetter("level")
_rec_message = attrgetter("message")
_rec_fields = attrgetter("fields")
_rec_error = attrgetter("error")


class DiskBufferError(LogagentError):
    """A disk buffer's directory cannot be used."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


_DUMPS_OPTIONS = orjson.OPT_NON_STR_KEYS


def encode_batch(batch: Batch) -> bytes:
    """A batch as a compact JSON object; the parsed records are stored column-wise.

    The ack is not stored (a replayed batch gets the buffer's own). Field values round-trip as
    JSON (a tuple comes back as a list).
    """
    doc: dict[str, Any] = {"s": batch.source, "L": batch.lines, "r": batch.read_ts_ns, "n": batch.nbytes}
    if batch.path is not None:
        doc["p"] = batch.path
    if batch.labels:
        doc["b"] = batch.labels
    if batch.flags is not None:
        doc["f"] = batch.flags
    if batch.ts_ns is not None:
        doc["t"] = batch.ts_ns
    if batch.fields is not None:
        doc["F"] = batch.fields
    recs = batch.records
    if recs is not None:
        doc["R"] = [
            list(map(_rec_ts, recs)),
            list(map(_rec_level, recs)),
            list(map(_rec_message, recs)),
            list(map(_rec_fields, recs)),
            list(map(_rec_error, recs)),
        ]
    try:
        return orjson.dumps(doc, default=_json_default, option=_DUMPS_OPTIONS)
    except orjson.JSONEncodeError:
        # Rare: a string with a lone surrogate, an integer beyond 64 bits. Store a repaired copy
        # rather than lose the batch; repaired lines are flagged invalid_utf8.
        return orjson.dumps(_repair(doc, batch), default=_json_default, option=_DUMPS_OPTIONS)


_INT64 = (-(2**63), 2**64 - 1)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(obj: Any) -> Any:
    if isinstance(obj, str):
        return _SURROGATE.sub("\ufffd", obj)
    if isinstance(obj, bool) or obj is None or isinstance(obj, float):
        return obj
    if isinstance(obj, int):
        return obj if _INT64[0] <= obj <= _INT64[1] else str(obj)
    if isinstance(obj, Mapping):
        return {(_scrub(k) if isinstance(k, str) else k): _scrub(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_scrub(v) for v in obj]
    return obj


def _repair(doc: dict[str, Any], batch: Batch) -> dict[str, Any]:
    fixed = _scrub(doc)
    flags = list(batch.flags) if batch.flags is not None else [0] * len(batch.lines)
    for i, (old, new) in enumerate(zip(batch.lines, fixed["L"], strict=True)):
        if old != new:
            flags[i] |= FLAG_INVALID_UTF8
    if any(flags):
        fixed["f"] = flags
    return fixed


def decode_batch(payload: bytes) -> Batch:
    """The inverse of :func:`encode_batch` (without an ack)."""
    doc = orjson.loads(payload)
    cols = doc.get("R")
    return Batch(
        source=doc["s"],
        lines=doc["L"],
        read_ts_ns=doc["r"],
        path=doc.get("p"),
        labels=doc.get("b") or {},
        flags=doc.get("f"),
        ts_ns=doc.get("t"),
        fields=doc.get("F"),
        records=list(map(Record, *cols)) if cols is not None else None,
        nbytes=doc["n"],
    )


def _decode_or_none(payload: bytes) -> Batch | None:
    try:
        return decode_batch(payload)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def frame(payload: bytes, events: int) -> bytes:
    """One record: header + payload."""
    ev = _EVENTS.pack(events)
    return _HEADER.pack(len(payload), zlib.crc32(payload, zlib.crc32(ev)), events) + payload


def read_record(fd: int, offset: int, end: int) -> tuple[bytes, int] | None:
    """The payload and event count of the record at ``offset`` if it is whole and intact, else None."""
    if offset + _HEADER.size > end:
        return None
    header = os.pread(fd, _HEADER.size, offset)
    if len(header) < _HEADER.size:
        return None
    length, crc, events = _HEADER.unpack(header)
    if length > MAX_RECORD_BYTES or offset + _HEADER.size + length > end:
        return None
    payload = os.pread(fd, length, offset + _HEADER.size)
    if len(payload) != length or zlib.crc32(payload, zlib.crc32(_EVENTS.pack(events))) != crc:
        return None
    return payload, events


def scan_segment(fd: int, start: int) -> tuple[int, int, int]:
    """Walk the intact records from ``start``: (end of the last intact one, records, events)."""
    size = os.fstat(fd).st_size
    pos, records, events = start, 0, 0
    while (rec := read_record(fd, pos, size)) is not None:
        pos += _HEADER.size + len(rec[0])
        records += 1
        events += rec[1]
    return pos, records, events


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Segment:
    __slots__ = ("end", "id", "sealed")

    def __init__(self, seg_id: int, end: int, sealed: bool) -> None:
        self.id = seg_id
        self.end = end  # end of the durable, intact records: the reader never reads past it
        self.sealed = sealed


class DiskBuffer:
    """A sink's buffer on disk (same interface as :class:`~logagent.buffer.memory.MemoryBuffer`)."""

    def __init__(
        self,
        sink: str,
        metrics: AgentMetrics,
        directory: Path,
        max_bytes: int = 64 * 1024 * 1024,
        when_full: str = "block",
        max_segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        stage_bytes: int = DEFAULT_STAGE_BYTES,
    ) -> None:
        self.sink = sink
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.when_full = when_full
        # A quarter of max_bytes at most, so deleting whole segments frees space in time.
        self.segment_bytes = max(MIN_SEGMENT_BYTES, min(max_segment_bytes, max_bytes // 4))
        self.stage_bytes = max(MIN_SEGMENT_BYTES, min(stage_bytes, self.segment_bytes))
        self._metrics = metrics
        self._g_events = metrics.buffer_events.labels(sink)
        self._g_bytes = metrics.buffer_bytes.labels(sink)
        self._damaged = metrics.buffer_damaged_records.labels(sink)
        self._segs: dict[int, _Segment] = {}  # live segments, ids increasing
        # Written (staged included) and committed totals; unacknowledged = written - committed.
        self._w_events = self._w_bytes = self._w_records = 0
        self._c_events = self._c_bytes = 0
        # Reader: position and totals read so far.
        self._rseg = 0
        self._roff = 0
        self._r_events = self._r_bytes = self._r_records = 0
        self._rfd = -1
        self._rfd_seg = -1
        # Writer.
        self._wseg = 0
        self._wfd = -1
        self._wsize = 0
        self._staged: list[tuple[bytes, BatchAck | None]] = []
        self._staged_size = 0
        self._unwritten = 0  # batches queued or being written, not yet on disk
        self._flusher: asyncio.Task[None] | None = None
        self._io: asyncio.Future[None] | None = None
        self._lock_fd = -1
        self._ack_fd = -1
        self._closed = False
        self._space = asyncio.Event()
        self._stage_space = asyncio.Event()
        self._data = asyncio.Event()
        self._flush_wanted = asyncio.Event()
        try:
            self._open()
        except OSError as exc:
            self._release()
            raise DiskBufferError(
                f"disk buffer of sink {sink}: cannot use {self.dir}: {exc.strerror or exc}"
            ) from None

    # -- opening and replay -------------------------------------------------------------------

    def _read_ack(self) -> tuple[int, int] | None:
        try:
            data = (self.dir / ACK_FILE).read_bytes()
        except FileNotFoundError:
            return None
        if len(data) < _ACK.size:
            return None
        seg, off, crc = _ACK.unpack_from(data)
        if zlib.crc32(data[: _ACK_BODY.size]) != crc:
            log.warning("Disk buffer %s: ack file damaged; replaying from the oldest segment.", self.sink)
            return None
        return seg, off

    def _write_ack(self, seg: int, off: int) -> None:
        body = _ACK_BODY.pack(seg, off)
        data = body + struct.pack("<I", zlib.crc32(body))
        if self._ack_fd >= 0:
            os.pwrite(self._ack_fd, data, 0)
            return
        # Closed (a sink acking its last batches): no fd kept open.
        fd = os.open(self.dir / ACK_FILE, os.O_WRONLY | os.O_CREAT, 0o640)
        try:
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)

    def _seg_path(self, seg_id: int) -> Path:
        return self.dir / f"{seg_id:0{_ID_DIGITS}d}{SEGMENT_SUFFIX}"

    def _lock(self) -> None:
        """One buffer per directory, across processes and within one (a reload closes the old first)."""
        self._lock_fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise DiskBufferError(
                f"disk buffer of sink {self.sink}: {self.dir} is in use by another buffer "
                "(another agent with the same data_dir?)"
            ) from None

    def _open(self) -> None:
        # Lines can be sensitive: the buffer is no more readable than the logs' usual 0640.
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        self._lock()
        acked = self._read_ack()
        ids = sorted(
            int(p.name[:_ID_DIGITS])
            for p in self.dir.iterdir()
            if p.name.endswith(SEGMENT_SUFFIX)
            and len(p.name) == _ID_DIGITS + len(SEGMENT_SUFFIX)
            and p.name[:_ID_DIGITS].isdigit()
        )
        first: tuple[int, int] | None = None
        for seg_id in ids:
            path = self._seg_path(seg_id)
            start = 0
            if acked is not None:
                if seg_id < acked[0]:
                    path.unlink()  # delivered before the last stop
                    continue
                if seg_id == acked[0]:
                    start = acked[1]
            fd = os.open(path, os.O_RDWR)
            try:
                size = os.fstat(fd).st_size
                start = min(start, size)
                end, records, events = scan_segment(fd, start)
                if end < size:
                    self._damaged.inc()
                    log.warning(
                        "Disk buffer %s: damaged record at the end of %s (%d bytes, a write cut by a "
                        "crash); skipped. It was never acknowledged, so its source sends it again.",
                        self.sink,
                        path.name,
                        size - end,
                    )
                    os.ftruncate(fd, end)
                    os.fsync(fd)
            finally:
                os.close(fd)
            if records == 0:
                path.unlink()  # nothing left to deliver in it
                continue
            self._segs[seg_id] = _Segment(seg_id, end, sealed=True)
            self._w_records += records
            self._w_events += events
            self._w_bytes += end - start
            if first is None:
                first = (seg_id, start)
        next_id = max([*ids, acked[0] if acked else 0]) + 1
        self._ack_fd = os.open(self.dir / ACK_FILE, os.O_WRONLY | os.O_CREAT, 0o640)
        self._wfd = self._create_segment(next_id)
        self._wseg = next_id
        self._segs[next_id] = _Segment(next_id, 0, sealed=False)
        self._rseg, self._roff = first if first is not None else (next_id, 0)
        self._order = AckOrder(self._on_commit, (self._rseg, self._roff, 0, 0))
        if self._w_records:
            log.info(
                "Disk buffer %s: %d events (%d bytes) to replay from %s.",
                self.sink,
                self._w_events,
                self._w_bytes,
                self.dir,
            )
        self._update_gauges()

    def _create_segment(self, seg_id: int) -> int:
        # Ids only grow: a file already there is an empty one left by a failed attempt (O_TRUNC).
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        fd = os.open(self._seg_path(seg_id), flags, 0o640)
        try:
            # The new name must be durable before any record in it is acknowledged to a source.
            _fsync_dir(self.dir)
        except OSError:
            os.close(fd)
            raise
        return fd

    # -- writing ------------------------------------------------------------------------------

    def _full(self, size: int) -> bool:
        unacked = self._w_bytes - self._c_bytes
        # An oversize batch still passes into an empty buffer: never deadlock.
        return unacked > 0 and unacked + size > self.max_bytes

    async def put(self, batch: Batch) -> None:
        """Queue a batch for the next group write; its source is acked once it is on disk."""
        if self._closed:
            raise RuntimeError(f"buffer of sink {self.sink} is closed")
        record = frame(encode_batch(batch), len(batch))
        size = len(record)
        if self._full(size):
            if self.when_full == "drop_newest":
                self._metrics.events_dropped.labels(f"sink:{self.sink}", "buffer_full").inc(len(batch))
                if batch.ack is not None:
                    batch.ack.done()
                return
            while self._full(size):
                self._space.clear()
                await self._space.wait()
        self._staged.append((record, batch.ack))
        self._staged_size += size
        self._unwritten += 1
        self._w_events += len(batch)
        self._w_bytes += size
        self._w_records += 1
        self._update_gauges()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name=f"disk-buffer:{self.sink}")
            self._flusher.add_done_callback(self._flusher_done)
        self._flush_wanted.set()
        # Backpressure from the disk itself: fsync slower than the sources.
        while self._staged_size > self.stage_bytes and not self._flusher.done():
            self._stage_space.clear()
            await self._stage_space.wait()

    def _flusher_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # A bug, not a disk error (those are retried): say so loudly; nothing more is acked.
            log.error(
                "Disk buffer %s: writer stopped; its sources wait.", self.sink, exc_info=task.exception()
            )

    def _write_group(self, records: list[bytes]) -> None:
        """Append the records and fdatasync once (in a worker thread)."""
        for i in range(0, len(records), _IOV_MAX):
            chunk = records[i : i + _IOV_MAX]
            written = os.writev(self._wfd, chunk)
            want = sum(map(len, chunk))
            if written < want:  # rare: a short write; the copy is made only then
                view = memoryview(b"".join(chunk))[written:]
                while view:
                    view = view[os.write(self._wfd, view) :]
        os.fdatasync(self._wfd)

    async def _flush_loop(self) -> None:
        delay = 0.5
        while True:
            while not self._staged:
                if self._closed:
                    return
                self._flush_wanted.clear()
                await self._flush_wanted.wait()
            group = self._staged
            self._staged = []
            records = [rec for rec, _ in group]
            size = sum(map(len, records))
            # The sources may queue the next group while this one is written.
            self._staged_size -= size
            self._stage_space.set()
            while True:
                try:
                    if self._wfd < 0:
                        await self._roll()
                    # Shielded: a cancelled flusher must not leave a write running unseen (abort waits).
                    self._io = asyncio.ensure_future(asyncio.to_thread(self._write_group, records))
                    await asyncio.shield(self._io)
                    delay = 0.5
                    break
                except OSError as exc:
                    self._metrics.sink_errors.labels(self.sink, "buffer_write_failed").inc()
                    log.error(
                        "Disk buffer %s cannot write to %s: %s; retrying (its sources wait).",
                        self.sink,
                        self.dir,
                        exc,
                    )
                    self._discard_partial_write()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self._wsize += size
            self._segs[self._wseg].end = self._wsize
            self._unwritten -= len(group)
            for _, ack in group:
                if ack is not None:
                    ack.done()
            self._data.set()
            if self._wsize >= self.segment_bytes:
                try:
                    await self._roll()
                except OSError as exc:
                    # The next group retries the roll (or writes on, see _discard_partial_write).
                    log.error("Disk buffer %s cannot start a new segment: %s.", self.sink, exc)

    def _discard_partial_write(self) -> None:
        """After a failed write: cut the segment back to its last durable record, or seal it there."""
        if self._wfd < 0:
            return
        try:
            os.ftruncate(self._wfd, self._wsize)
        except OSError:
            # Cannot cut the garbage off: seal the segment at its durable end (the reader never
            # goes past it) and write on in a new segment.
            self._segs[self._wseg].sealed = True
            with contextlib.suppress(OSError):
                os.close(self._wfd)
            self._wfd = -1

    async def _roll(self) -> None:
        """Seal the write segment and start the next one."""
        new_id = self._wseg + 1
        fd = await asyncio.to_thread(self._create_segment, new_id)
        if self._wfd >= 0:
            os.close(self._wfd)  # every record in it was fdatasync-ed
        self._segs[self._wseg].sealed = True
        self._wseg, self._wfd, self._wsize = new_id, fd, 0
        self._segs[new_id] = _Segment(new_id, 0, sealed=False)
        self._collect()
        self._data.set()

    # -- reading and acknowledging ------------------------------------------------------------

    def _reader_fd(self, seg_id: int) -> int:
        if self._rfd_seg != seg_id:
            self._close_reader()
            self._rfd = os.open(self._seg_path(seg_id), os.O_RDONLY)
            self._rfd_seg = seg_id
        return self._rfd

    def _close_reader(self) -> None:
        if self._rfd >= 0:
            os.close(self._rfd)
        self._rfd, self._rfd_seg = -1, -1

    def _next_segment(self, after: int) -> int | None:
        return next((s for s in self._segs if s > after), None)

    def _read_next(self) -> Batch | None:
        while True:
            seg = self._segs.get(self._rseg)
            if seg is None or (seg.sealed and self._roff >= seg.end):
                nxt = self._next_segment(self._rseg)
                if nxt is None:
                    return None
                self._rseg, self._roff = nxt, 0
                continue
            if self._roff >= seg.end:
                return None  # caught up with the writer
            rec = read_record(self._reader_fd(seg.id), self._roff, seg.end)
            batch = _decode_or_none(rec[0]) if rec is not None else None
            if rec is None or batch is None:
                self._skip_damaged(seg)
                continue
            payload, events = rec
            size = _HEADER.size + len(payload)
            self._roff += size
            self._r_events += events
            self._r_bytes += size
            self._r_records += 1
            batch.ack = self._order.new_ack((seg.id, self._roff, self._r_events, self._r_bytes), 1)
            return batch

    def _skip_damaged(self, seg: _Segment) -> None:
        """Durable data that no longer reads back (disk damage): skip to the segment's end, counted."""
        self._damaged.inc()
        log.error(
            "Disk buffer %s: damaged record in segment %d at offset %d; skipping %d bytes: those "
            "events are lost.",
            self.sink,
            seg.id,
            self._roff,
            seg.end - self._roff,
        )
        self._r_bytes += seg.end - self._roff
        self._roff = seg.end
        # Let the acknowledged position move over the skipped bytes like over a delivered batch.
        self._order.new_ack((seg.id, self._roff, self._r_events, self._r_bytes), 1).done()

    def _on_commit(self, position: tuple[int, int, int, int]) -> None:
        seg_id, off, events, nbytes = position
        self._c_events, self._c_bytes = events, nbytes
        try:
            self._write_ack(seg_id, off)
        except OSError as exc:
            # Only costs duplicates after a restart.
            log.warning("Disk buffer %s cannot write its ack file: %s.", self.sink, exc)
        self._collect()
        self._update_gauges()
        self._space.set()

    def _collect(self) -> None:
        """Delete the segments whose records are all acknowledged."""
        seg_id, off = self._order.committed[0], self._order.committed[1]
        for sid in list(self._segs):
            seg = self._segs[sid]
            if not seg.sealed or sid > seg_id or (sid == seg_id and off < seg.end):
                break
            if self._rfd_seg == sid:
                self._close_reader()
            try:
                self._seg_path(sid).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("Disk buffer %s cannot delete %s: %s.", self.sink, self._seg_path(sid), exc)
                break
            del self._segs[sid]

    async def get(self) -> Batch | None:
        """The next batch from disk, or None once closed."""
        while not self._closed:
            batch = self._read_next()
            if batch is not None:
                return batch
            self._data.clear()
            await self._data.wait()
        return None

    def get_nowait(self) -> Batch | None:
        return None if self._closed else self._read_next()

    async def close(self) -> None:
        """No more puts or gets; queued batches are written (and acked to their sources) first."""
        if self._closed:
            return
        self._closed = True
        self._data.set()
        self._flush_wanted.set()
        if self._flusher is not None:
            await self._flusher
        self._release()

    async def abort(self) -> None:
        """Stop writing now: the pipeline is torn down (idempotent).

        Queued batches are forgotten unacknowledged, so their sources send them again; a write in
        progress is waited for, so nothing touches the files once this returns.
        """
        self._closed = True
        self._data.set()
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        if self._io is not None:
            if not self._io.done():
                await asyncio.wait({self._io})
            if not self._io.cancelled():
                self._io.exception()  # retrieved: a failed write here was never acknowledged
        self._staged.clear()
        self._staged_size = 0
        self._release()

    def _release(self) -> None:
        if self._wfd >= 0:
            os.close(self._wfd)
            self._wfd = -1
        self._close_reader()
        if self._ack_fd >= 0:
            os.close(self._ack_fd)
            self._ack_fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def closed(self) -> bool:
        return self._closed

    # -- state --------------------------------------------------------------------------------

    def _update_gauges(self) -> None:
        self._g_events.set(self._w_events - self._c_events)
        self._g_bytes.set(self._w_bytes - self._c_bytes)

    @property
    def events(self) -> int:
        """Events not yet acknowledged by the sink."""
        return self._w_events - self._c_events

    @property
    def unacked_bytes(self) -> int:
        return self._w_bytes - self._c_bytes

    @property
    def unwritten(self) -> int:
        """Batches accepted by ``put`` but not yet on disk (their sources are not acked yet)."""
        return self._unwritten

    def segment_ids(self) -> list[int]:
        return list(self._segs)

    def __len__(self) -> int:
        """Batches not yet handed to the sink."""
        return self._w_records - self._r_records
