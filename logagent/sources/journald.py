"""``type = "journald"``: follow the systemd journal through ``journalctl --output=json``.

journalctl runs as an asyncio subprocess; its stdout is read in large chunks, split into lines and
decoded with one ``orjson`` call per chunk. Each batch's position is the ``__CURSOR`` of its last
entry; the cursor is stored in the checkpoint store (``journald:<source>``) only once the sinks
acknowledged the batch and every batch before it, and a restart resumes with ``--after-cursor``.

journalctl 252 cannot follow journal *files* (``--file``; "Failed to get journal fd"), only
directories and the system journal, so with ``files`` journalctl is re-run every
``poll_interval_secs`` (without ``--follow``), each run resuming after the last cursor read.

When journalctl is missing, cannot read the journal or exits, the source logs why, counts
``logagent_source_errors{reason}``, and starts it again after a growing delay; it never raises, so
the agent's other sources keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from logagent.components import Source
from logagent.config.model import SourceConfig
from logagent.event import FLAG_INVALID_UTF8, Batch

if TYPE_CHECKING:
    from logagent.components import SourceContext

log = logging.getLogger(__name__)

#: PRIORITY 0..7 -> level.
PRIORITY_LEVELS: dict[str, str] = {
    "0": "emergency",
    "1": "alert",
    "2": "critical",
    "3": "error",
    "4": "warning",
    "5": "notice",
    "6": "info",
    "7": "debug",
}
#: Journal fields copied into every event's fields, under these names.
FIELD_NAMES: dict[str, str] = {
    "_SYSTEMD_UNIT": "unit",
    "SYSLOG_IDENTIFIER": "identifier",
    "_HOSTNAME": "hostname",
    "_PID": "pid",
    "PRIORITY": "priority",
}
_PRIORITIES = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
_MATCH = re.compile(r"^(\+|[A-Z0-9_]+=.*)$", re.DOTALL)
#: stderr kept from a failed journalctl run for the error message.
STDERR_KEEP = 2000


def field_label_name(journal_field: str) -> str:
    """The event field / label name of a journal field: the known short name, else lowercased."""
    return FIELD_NAMES.get(journal_field) or journal_field.lstrip("_").lower()


class JournaldSourceConfig(SourceConfig):
    """Follow the systemd journal (or journal files) through journalctl."""

    type: Literal["journald"] = "journald"
    #: The journalctl binary.
    journalctl_path: str = "journalctl"
    #: Read the journal files in this directory (journalctl --directory) instead of the system journal.
    directory: Path | None = None
    #: Read these journal files (journalctl --file); they are polled, see poll_interval_secs.
    files: list[Path] = Field(default_factory=list)
    #: Only these units (journalctl --unit, OR-ed).
    units: list[str] = Field(default_factory=list)
    #: Only this priority or more urgent: 0..7 or emerg/alert/crit/err/warning/notice/info/debug,
    #: or a range "err..warning" (journalctl --priority).
    priority: str | None = None
    #: Only the current boot (journalctl --boot); otherwise all boots (--merge).
    current_boot_only: bool = False
    #: Raw journalctl matches: "FIELD=value" terms, and "+" for OR between groups.
    matches: list[str] = Field(default_factory=list)
    #: Where the first start (no stored cursor) begins: only new entries, or the whole journal.
    read_from: Literal["end", "beginning"] = "end"
    #: Journal fields whose values become labels (e.g. ["_SYSTEMD_UNIT"] -> label "unit").
    label_fields: list[str] = Field(default_factory=list)
    #: More journal fields copied into each event's fields (lowercased, leading "_" removed).
    extra_fields: list[str] = Field(default_factory=list)
    #: Read size from journalctl's stdout per call.
    read_chunk_bytes: int = Field(default=1024 * 1024, ge=4096)
    #: With `files`: how often journalctl is re-run for new entries.
    poll_interval_secs: float = Field(default=1.0, gt=0)
    #: First delay before starting journalctl again after a failure; doubles up to the max.
    retry_initial_secs: float = Field(default=1.0, gt=0)
    retry_max_secs: float = Field(default=60.0, gt=0)

    @field_validator("priority")
    @classmethod
    def _check_priority(cls, value: str | None) -> str | None:
        if value is None:
            return value
        for part in value.split(".."):
            if not (part.isdigit() and 0 <= int(part) <= 7) and part not in _PRIORITIES:
                raise ValueError(
                    f"expected 0..7, a name ({', '.join(sorted(_PRIORITIES))}) or a range, got {value!r}"
                )
        return value

    @field_validator("matches")
    @classmethod
    def _check_matches(cls, value: list[str]) -> list[str]:
        for m in value:
            if not _MATCH.match(m):
                raise ValueError(f'expected "FIELD=value" (upper-case field name) or "+", got {m!r}')
        return value

    @field_validator("label_fields", "extra_fields")
    @classmethod
    def _check_fields(cls, value: list[str]) -> list[str]:
        for f in value:
            if not re.fullmatch(r"[A-Za-z0-9_]+", f):
                raise ValueError(f"expected journal field names such as _SYSTEMD_UNIT, got {f!r}")
        return value

    @model_validator(mode="after")
    def _check_origin(self) -> JournaldSourceConfig:
        if self.directory is not None and self.files:
            raise ValueError("directory and files exclude each other")
        return self

    def build(self, name: str, ctx: SourceContext) -> Source:
        return JournaldSource(name, self, ctx)


class JournalctlFailed(Exception):
    """journalctl could not be started or exited; ``reason`` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


async def _spawn(cmd: list[str], **kwargs: Any) -> asyncio.subprocess.Process:
    """Start journalctl with its output piped; failure to start is a :class:`JournalctlFailed`."""
    try:
        return await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            **kwargs,
        )
    except FileNotFoundError:
        raise JournalctlFailed("journalctl_missing", f"{cmd[0]} not found") from None
    except OSError as exc:
        raise JournalctlFailed("journalctl_failed", f"cannot run {cmd[0]}: {exc}") from None


def decode_message(value: Any) -> tuple[str, int]:
    """A MESSAGE value as text and a flag: strings as they are, byte arrays decoded."""
    if isinstance(value, str):
        return value, 0
    if value is None:
        return "", 0
    if isinstance(value, list):
        if all(isinstance(v, int) for v in value):
            raw = bytes(value)
            try:
                return raw.decode("utf-8"), 0
            except UnicodeDecodeError:
                return raw.decode("utf-8", "replace"), FLAG_INVALID_UTF8
        # A field with several values: one per line.
        parts = [decode_message(v) for v in value]
        return "\n".join(p[0] for p in parts), max((p[1] for p in parts), default=0)
    return str(value), 0


def field_text(value: Any) -> str | None:
    """A non-MESSAGE field value as text (byte arrays decoded with replacement)."""
    if value is None or isinstance(value, str):
        return value
    return decode_message(value)[0]


class JournaldSource(Source):
    config: JournaldSourceConfig

    def __init__(self, name: str, config: JournaldSourceConfig, ctx: SourceContext) -> None:
        super().__init__(name, config, ctx)
        self.key = f"journald:{name}"
        #: The cursor after the last emitted entry: where a restarted journalctl resumes.
        self.cursor: str | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.base_labels = dict(config.labels)
        copied = dict(FIELD_NAMES)
        for f in config.extra_fields:
            copied[f] = field_label_name(f)
        self._copied = list(copied.items())
        self._label_pairs = [(f, field_label_name(f)) for f in config.label_fields]
        m = ctx.metrics
        self._m_lines = m.lines_read.labels(name)
        self._m_bytes = m.bytes_read.labels(name)
        self._m_flag = m.lines_flagged.labels(name, "invalid_utf8")
        self._m_bad = m.parse_errors.labels(name, "journald")

    # -- the command line ------------------------------------------------------------------

    def command(self, follow: bool, last_only: bool = False) -> list[str]:
        """journalctl's argv: resume after the cursor, else from the start (or just the last entry)."""
        cfg = self.config
        cmd = [cfg.journalctl_path, "--output=json", "--all", "--no-pager", "--quiet"]
        if follow:
            cmd.append("--follow")
        if cfg.directory is not None:
            cmd.append(f"--directory={cfg.directory}")
        cmd.extend(f"--file={f}" for f in cfg.files)
        # journalctl 252 limits --follow to the current boot unless --merge is given.
        cmd.append("--boot" if cfg.current_boot_only else "--merge")
        cmd.extend(f"--unit={u}" for u in cfg.units)
        if cfg.priority is not None:
            cmd.append(f"--priority={cfg.priority}")
        if last_only:
            cmd.append("--lines=1")
        else:
            # --follow shows only the last 10 entries (even after --after-cursor!) unless --no-tail.
            cmd.append("--no-tail")
            if self.cursor is not None:
                cmd.append(f"--after-cursor={self.cursor}")
        cmd.extend(cfg.matches)
        return cmd

    # -- entries -> batches ----------------------------------------------------------------

    def decode_lines(self, lines: list[bytes]) -> list[Any]:
        """JSON objects for journalctl's output lines; one orjson call for the whole list."""
        try:
            return orjson.loads(b"[" + b",".join(lines) + b"]")
        except orjson.JSONDecodeError:
            out: list[Any] = []
            for line in lines:
                try:
                    out.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    out.append(line)  # shipped raw with an error below
            return out

    def make_batches(self, entries: list[Any]) -> list[tuple[Batch, str | None]]:
        """Batches of consecutive entries with equal label values, each with its last cursor."""
        from parsers.base import Record

        out: list[tuple[Batch, str | None]] = []
        with_records = self.config.parser is None
        cur_labels: dict[str, str] | None = None
        lines: list[str] = []
        ts: list[int | None] = []
        fields: list[dict[str, Any]] = []
        flags: list[int] = []
        records: list[Record] = []
        cursor: str | None = None
        nbytes = 0

        def flush() -> None:
            if not lines:
                return
            batch = Batch(
                source=self.name,
                lines=list(lines),
                labels=cur_labels if cur_labels is not None else self.base_labels,
                ts_ns=list(ts),
                fields=list(fields),
                flags=list(flags) if any(flags) else None,
                records=list(records) if with_records else None,
                nbytes=nbytes,
            )
            out.append((batch, cursor))
            for part in (lines, ts, fields, flags, records):
                part.clear()

        for entry in entries:
            if not isinstance(entry, dict):
                # Not JSON (never seen from journalctl): shipped raw, counted.
                text = entry.decode("utf-8", "replace") if isinstance(entry, bytes) else str(entry)
                self._m_bad.inc()
                labels = self.base_labels
                if cur_labels is not None and labels != cur_labels:
                    flush()
                    nbytes = 0
                cur_labels = labels
                lines.append(text)
                ts.append(None)
                fields.append({})
                flags.append(0)
                records.append(Record(error="journalctl output is not JSON"))
                nbytes += len(text)
                continue
            message, flag = decode_message(entry.get("MESSAGE"))
            if self._label_pairs:
                labels = dict(self.base_labels)
                for jf, name in self._label_pairs:
                    v = field_text(entry.get(jf))
                    if v is not None:
                        labels[name] = v
            else:
                labels = self.base_labels
            if cur_labels is not None and labels != cur_labels:
                flush()
                nbytes = 0
            cur_labels = labels
            stamp = entry.get("_SOURCE_REALTIME_TIMESTAMP") or entry.get("__REALTIME_TIMESTAMP")
            try:
                ts.append(int(stamp) * 1000 if stamp is not None else None)
            except (TypeError, ValueError):
                ts.append(None)
            f: dict[str, Any] = {}
            for jf, name in self._copied:
                v = entry.get(jf)
                if v is not None:
                    f[name] = field_text(v)
            fields.append(f)
            lines.append(message)
            flags.append(flag)
            if with_records:
                records.append(Record(level=PRIORITY_LEVELS.get(f.get("priority") or "")))
            nbytes += len(message)
            c = entry.get("__CURSOR")
            if isinstance(c, str):
                cursor = c
        flush()
        return out

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        cfg = self.config
        ctx = self.ctx
        self.cursor = ctx.checkpoints.get(self.key)
        order = ctx.ack_order(self._commit, self.cursor)
        delay = cfg.retry_initial_secs
        follow = not cfg.files
        need_start = self.cursor is None and cfg.read_from == "end"
        try:
            while not ctx.stopping.is_set():
                before = self.cursor
                try:
                    if need_start:
                        # read_from = "end" on a first start: begin after the journal's current last
                        # entry, stored at once, so entries written while the agent is down later
                        # are not skipped (and polling `files` has a position to resume from).
                        self.cursor = await self._last_cursor()
                        if self.cursor is not None:
                            ctx.checkpoints.set(self.key, self.cursor)
                        need_start = False
                    await self._run_journalctl(order, follow)
                except JournalctlFailed as exc:
                    if self.cursor != before:
                        delay = cfg.retry_initial_secs  # it did deliver entries before failing
                    ctx.metrics.source_errors.labels(self.name, exc.reason).inc()
                    log.error(
                        "Journald source %s: %s; starting journalctl again in %.0fs.", self.name, exc, delay
                    )
                    ctx.started.set()
                    await _sleep_unless(ctx.stopping, delay)
                    delay = min(delay * 2, cfg.retry_max_secs)
                    continue
                if self.cursor != before:
                    delay = cfg.retry_initial_secs
                if not follow:
                    await _sleep_unless(ctx.stopping, cfg.poll_interval_secs)
        finally:
            ctx.started.set()

    async def _last_cursor(self) -> str | None:
        """The cursor of the newest (matching) entry, or None when there is none."""
        proc = await _spawn(self.command(follow=False, last_only=True))
        try:
            out, err = await proc.communicate()
        finally:
            await self._terminate(proc)
        if proc.returncode != 0:
            text = err.decode("utf-8", "replace").strip()[-STDERR_KEEP:]
            raise JournalctlFailed(
                "journal_unreadable",
                f"journalctl exited with status {proc.returncode}: {text or 'no message'}",
            )
        lines = [ln for ln in out.split(b"\n") if ln.strip()]
        if not lines:
            return None
        try:
            cursor = orjson.loads(lines[-1]).get("__CURSOR")
        except (orjson.JSONDecodeError, AttributeError):
            return None
        return cursor if isinstance(cursor, str) else None

    def _commit(self, cursor: Any) -> None:
        if cursor is not None:
            self.ctx.checkpoints.set(self.key, cursor)

    async def _run_journalctl(self, order: Any, follow: bool) -> None:
        """Run journalctl once: until it exits (polling) or the source stops (following)."""
        ctx = self.ctx
        proc = await _spawn(self.command(follow), limit=self.config.read_chunk_bytes)
        self.proc = proc
        ctx.started.set()
        assert proc.stdout is not None and proc.stderr is not None
        stderr_task = asyncio.ensure_future(_tail(proc.stderr, STDERR_KEEP))
        stop_wait = asyncio.ensure_future(ctx.stopping.wait())
        rest = b""
        try:
            while True:
                read = asyncio.ensure_future(proc.stdout.read(self.config.read_chunk_bytes))
                await asyncio.wait({read, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    read.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await read
                    return  # stopping: unread output is read again after restart (cursor)
                chunk = read.result()
                if not chunk:
                    break
                data = rest + chunk if rest else chunk
                end = data.rfind(b"\n")
                if end < 0:
                    rest = data
                    continue
                rest = data[end + 1 :]
                lines = data[:end].split(b"\n")
                await self._emit_lines([ln for ln in lines if ln], order)
            if rest.strip():
                await self._emit_lines([rest], order)
            rc = await proc.wait()
            err = (await stderr_task).decode("utf-8", "replace").strip()
            if rc != 0:
                raise JournalctlFailed(
                    "journal_unreadable", f"journalctl exited with status {rc}: {err or 'no message'}"
                )
            if follow and not ctx.stopping.is_set():
                raise JournalctlFailed(
                    "journalctl_exited", f"journalctl stopped following: {err or 'no message'}"
                )
        finally:
            stop_wait.cancel()
            await self._terminate(proc)
            stderr_task.cancel()
            self.proc = None

    async def _emit_lines(self, lines: list[bytes], order: Any) -> None:
        if not lines:
            return
        entries = self.decode_lines(lines)
        self._m_bytes.inc(sum(map(len, lines)))  # journalctl's JSON, as read
        for batch, cursor in self.make_batches(entries):
            self._m_lines.inc(len(batch))
            if batch.flags is not None:
                self._m_flag.inc(sum(1 for f in batch.flags if f))
            if cursor is not None:
                self.cursor = cursor
            batch.ack = order.new_ack(cursor if cursor is not None else self.cursor, self.ctx.sink_count)
            await self.ctx.emit(batch)

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Read ``stream`` to its end, keeping its last ``keep`` bytes."""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-keep:]
    return kept


async def _sleep_unless(event: asyncio.Event, secs: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), secs)
