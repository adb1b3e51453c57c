"""The shared base of the container sources: a file source that decodes and rejoins per batch.

Container runtimes write one record per line (Docker: a JSON object; CRI: a text prefix) and cut
long output into pieces: Docker every 16 KiB (every piece but the last lacks the trailing
``\\n``), CRI at ``max_container_log_line_size`` (pieces tagged ``P``, the last one ``F``). A
subclass only decodes one line (:meth:`ContainerLogSource.decode_line`); this class rejoins the
pieces of each stream of each file, caps the joined size, and flushes a message that stays
incomplete (``flush_timeout_secs``, or the file can no longer grow).

Checkpoints: a batch commits the offset after the raw lines it consumed, except that it never
passes the first raw line of a message still held (waiting for its next piece). The pieces are
read again after a restart and the message is joined whole: nothing is lost or shipped twice.
The offset of a held piece is known exactly from the encoded lengths of the lines after it
(they are UTF-8 the reader decoded, so their lengths round-trip); when a flagged line makes that
uncertain, the batch commits no further than its own first byte.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from logagent.config.model import SourceConfig
from logagent.event import FLAG_TRUNCATED, FLAG_UNTERMINATED, Batch
from logagent.sources.file.config import FileSourceConfig
from logagent.sources.file.reader import Chunk, TrackedFile
from logagent.sources.file.source import FileSource

#: Lines a flag says were cut or never finished: their JSON/prefix cannot continue a message.
_ENDS_MESSAGE = FLAG_TRUNCATED | FLAG_UNTERMINATED

#: Per-line field dicts shared between lines (sinks copy them before merging, never mutate).
_STREAM_FIELDS: dict[str, dict[str, Any]] = {}
_RAW_FIELDS: dict[str, Any] = {"decode_error": "not a container log line"}


def stream_fields(stream: str) -> dict[str, Any]:
    """The shared ``{"stream": stream}`` dict for per-line fields."""
    fields = _STREAM_FIELDS.get(stream)
    if fields is None:
        fields = _STREAM_FIELDS[stream] = {"stream": stream} if stream else {}
    return fields


class ContainerSourceConfig(SourceConfig):
    """Options every container source shares (the file source's tailing options among them)."""

    #: Where a file never seen before starts, for files found at the source's first start.
    read_from: Literal["beginning", "end"] = "beginning"
    #: A joined message longer than this (UTF-8 bytes) is cut, flagged "truncated" and counted.
    max_message_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: A message whose next piece has not come for this long is shipped as it is.
    flush_timeout_secs: float = Field(default=5.0, gt=0)
    #: Raw log lines longer than this are cut (a runtime writes at most ~100 KiB per line).
    max_line_bytes: int = Field(default=256 * 1024, ge=1024)
    ignore_older_secs: float | None = Field(default=None, gt=0)
    poll_interval_secs: float | None = Field(default=None, gt=0)
    rescan_interval_secs: float = Field(default=10.0, gt=0)
    rotate_wait_secs: float = Field(default=5.0, ge=0)
    inotify: bool = True

    def file_config(self, include: list[str], exclude: list[str]) -> FileSourceConfig:
        """The file source's config for tailing ``include`` with these options."""
        return FileSourceConfig(
            include=include,
            exclude=exclude,
            labels=self.labels,
            read_from=self.read_from,
            max_line_bytes=self.max_line_bytes,
            ignore_older_secs=self.ignore_older_secs,
            poll_interval_secs=self.poll_interval_secs,
            rescan_interval_secs=self.rescan_interval_secs,
            rotate_wait_secs=self.rotate_wait_secs,
            inotify=self.inotify,
        )


class _Held:
    """The pieces of one stream's message so far."""

    __slots__ = ("first_index", "flags", "nbytes", "parts", "since", "start", "ts_ns")

    def __init__(self, ts_ns: int | None, first_index: int) -> None:
        self.parts: list[str] = []
        self.nbytes = 0
        self.flags = 0
        self.ts_ns = ts_ns
        #: File offset of the first piece's raw line (None until the batch that read it ends).
        self.start: int | None = None
        self.first_index = first_index
        self.since = time.monotonic()


class _FileState:
    __slots__ = ("held", "skipping")

    def __init__(self) -> None:
        self.held: dict[str, _Held] = {}
        #: Streams inside an over-long message whose head was shipped: drop pieces to its end.
        self.skipping: set[str] = set()


Decoded = tuple[str, str, bool, int | None]


class _Out:
    """The lines of the batch being built, with their per-line times, fields and flags."""

    __slots__ = ("any_flag", "fields", "flags", "lines", "ts")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ts: list[int | None] = []
        self.fields: list[dict[str, Any]] = []
        self.flags: list[int] = []
        self.any_flag = False

    def add(self, line: str, ts: int | None, fields: dict[str, Any], flags: int) -> None:
        self.lines.append(line)
        self.ts.append(ts)
        self.fields.append(fields)
        self.flags.append(flags)
        if flags:
            self.any_flag = True


class ContainerLogSource(FileSource):
    """A :class:`FileSource` whose lines are container log records, decoded and rejoined."""

    #: The parser label of the ``logagent_parse_errors`` counter for undecodable lines.
    format_name: ClassVar[str] = "container"

    def __init__(self, name: str, options: ContainerSourceConfig, file_config: FileSourceConfig, ctx: Any):
        super().__init__(name, file_config, ctx)
        self.options = options
        self._states: dict[TrackedFile, _FileState] = {}
        self._m_decode_errors = ctx.metrics.parse_errors.labels(name, self.format_name)
        self._m_truncated = ctx.metrics.lines_flagged.labels(name, "truncated")

    def decode_line(self, line: str) -> Decoded | None:
        """``(stream, text, complete, ts_ns)`` of one raw line, or None if it is not a record."""
        raise NotImplementedError

    def labels_for(self, tracked: TrackedFile) -> Mapping[str, str]:
        """The labels of every event read from ``tracked``."""
        return self.config.labels

    # -- decoding and rejoining ----------------------------------------------------------------

    def make_batch(self, tracked: TrackedFile, chunk: Chunk) -> Batch:
        state = self._states.get(tracked)
        if state is None:
            state = self._states[tracked] = _FileState()
        held_by_stream = state.held
        skipping = state.skipping
        lines = chunk.lines
        in_flags = chunk.flags
        out = _Out()
        # Bound methods and locals: this loop runs once per line.
        add_line, add_ts, add_fields, add_flag = (
            out.lines.append,
            out.ts.append,
            out.fields.append,
            out.flags.append,
        )
        fields_of = _STREAM_FIELDS.get
        decode = self.decode_line
        cap = self.options.max_message_bytes
        errors = 0
        for i, line in enumerate(lines):
            flags = in_flags[i] if in_flags is not None else 0
            decoded = decode(line)
            if decoded is None:
                # Not a record: passed on raw and counted; held messages wait on their stream.
                errors += 1
                add_line(line)
                add_ts(None)
                add_fields(_RAW_FIELDS)
                add_flag(flags)
                continue
            stream, text, complete, ts = decoded
            if complete and not held_by_stream and not skipping:
                # The common case: a whole message and nothing pending.
                add_line(text)
                add_ts(ts)
                add_fields(fields_of(stream) or stream_fields(stream))
                add_flag(flags)
                continue
            if flags & _ENDS_MESSAGE:
                complete = True
            if stream in skipping:
                if complete:
                    skipping.discard(stream)
                continue
            held = held_by_stream.get(stream)
            if held is None:
                if complete:
                    out.add(text, ts, stream_fields(stream), flags)
                    continue
                held = held_by_stream[stream] = _Held(ts, i)
            held.parts.append(text)
            held.nbytes += len(text.encode("utf-8"))
            held.flags |= flags
            held.since = time.monotonic()
            if held.nbytes > cap:
                head = "".join(held.parts).encode("utf-8")[:cap].decode("utf-8", "ignore")
                out.add(head, held.ts_ns, stream_fields(stream), held.flags | FLAG_TRUNCATED)
                self._m_truncated.inc()
                del held_by_stream[stream]
                if not complete:
                    skipping.add(stream)
            elif complete:
                out.add("".join(held.parts), held.ts_ns, stream_fields(stream), held.flags)
                del held_by_stream[stream]
        if in_flags is not None or errors:
            out.any_flag = any(out.flags)
        if errors:
            self._m_decode_errors.inc(errors)
        if held_by_stream:
            self._place_held(state, chunk)
            starts = [h.start for h in held_by_stream.values() if h.start is not None]
            chunk.commit_offset = min(chunk.commit_offset, *starts)
        return self._batch(tracked, out, chunk.nbytes)

    def _place_held(self, state: _FileState, chunk: Chunk) -> None:
        """Give the messages first held in this chunk the file offset of their first piece."""
        lines = chunk.lines
        for held in state.held.values():
            if held.start is not None:
                continue
            i = held.first_index
            tail_flags = chunk.flags[i:] if chunk.flags is not None else None
            if tail_flags and any(tail_flags):
                # A cut or re-encoded line after it: lengths are uncertain, stay at the chunk start.
                held.start = chunk.commit_offset - chunk.nbytes
            else:
                held.start = chunk.commit_offset - sum(len(s.encode("utf-8")) + 1 for s in lines[i:])

    def _batch(self, tracked: TrackedFile, out: _Out, nbytes: int) -> Batch:
        return Batch(
            source=self.name,
            lines=out.lines,
            path=tracked.path,
            labels=self.labels_for(tracked),
            flags=out.flags if out.any_flag else None,
            ts_ns=out.ts,
            fields=out.fields,
            nbytes=nbytes,
        )

    # -- flushing incomplete messages ----------------------------------------------------------

    async def flush_due_records(self) -> float | None:
        """Ship messages whose next piece is overdue; seconds until the next one is due."""
        next_due = await super().flush_due_records()
        now = time.monotonic()
        timeout = self.options.flush_timeout_secs
        for tracked, state in list(self._states.items()):
            if not state.held or tracked.retired:
                continue
            if not _drained(tracked):
                continue  # its next piece may be unread yet: the loop reads first
            due = [s for s, h in state.held.items() if now - h.since >= timeout]
            if due:
                await self._flush(tracked, state, due)
            for held in state.held.values():
                left = timeout - (now - held.since)
                next_due = left if next_due is None else min(next_due, left)
        return next_due

    async def retire_finished(self) -> None:
        now = time.monotonic()
        wait = self.config.rotate_wait_secs
        for tracked, state in list(self._states.items()):
            if not state.held:
                continue
            # A file that can no longer grow (rotated away or deleted, drained, quiet for
            # rotate_wait_secs, as the file source decides below): its messages are final.
            gone = tracked.gone_since
            if tracked.retired or (
                gone is not None and now - max(tracked.last_growth, gone) >= wait and _drained(tracked)
            ):
                await self._flush(tracked, state, list(state.held))
        await super().retire_finished()
        for tracked in [t for t in self._states if t.retired]:
            state = self._states[tracked]
            if state.held:
                await self._flush(tracked, state, list(state.held))
            del self._states[tracked]

    async def _flush(self, tracked: TrackedFile, state: _FileState, streams: list[str]) -> None:
        """Ship the held messages of ``streams`` as they are (their next piece never came)."""
        out = _Out()
        for stream in streams:
            held = state.held.pop(stream)
            out.add("".join(held.parts), held.ts_ns, stream_fields(stream), held.flags)
        commit = tracked.line_start
        for held in state.held.values():
            if held.start is not None:
                commit = min(commit, held.start)
        batch = self._batch(tracked, out, 0)
        batch.ack = tracked.order.new_ack(commit, self.ctx.sink_count)
        await self.ctx.emit(batch)


def _drained(tracked: TrackedFile) -> bool:
    """Everything written to the file so far has been read."""
    try:
        return os.fstat(tracked.fd).st_size <= tracked.pos
    except OSError:
        return True
