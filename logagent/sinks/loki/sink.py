"""The Loki sink: batches -> streams -> push requests, retried until delivered, acked in order.

Flow: each source batch is split into per-stream :class:`Segment` s (labels from the static
labels, the batch's labels and ``label_fields``), checked against Loki's limits, and appended to
the open push. The open push is sent when it reaches ``batch.max_bytes`` or ``batch.timeout_secs``
after its first line; at most ``max_in_flight`` pushes are outstanding (waiting for a slot is the
backpressure that reaches the sources). A source batch may span several pushes: its ack is done
once every push holding its lines is settled (delivered, or rejected and dead-lettered).

Outcomes (``protocols.md`` §1): 2xx delivered; 260 (ingestion blocked, nothing stored), 429, 5xx,
connection errors, and 401/403/404 (credentials or URL wrong: an operator fixes it, the lines
must not be thrown away) are retried forever with capped, jittered backoff honouring
``Retry-After``; other 4xx are not retried: the body and the answer go to the dead-letter
directory and the lines are counted as dropped.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import itertools
import logging
import os
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import cramjam
import orjson

from logagent import __version__
from logagent.buffer import Inbox
from logagent.components import Sink, SinkContext, SinkUnavailable
from logagent.event import FLAG_TRUNCATED, Batch, flag_names
from logagent.metrics import SinkMetrics
from logagent.sinks.loki.config import LokiSinkConfig
from logagent.sinks.loki.encode import NS, Metadata, Segment, encode_json, encode_protobuf
from logagent.sinks.loki.labels import (
    MAX_LABELS,
    MAX_VALUE_BYTES,
    cut_utf8,
    format_labels,
    label_name_error,
    sanitize_label_name,
)
from logagent.sinks.retry import Backoff, Outcome, classify_http, parse_retry_after

log = logging.getLogger(__name__)

PUSH_PATH = "/loki/api/v1/push"
READY_PATH = "/ready"
#: Loki answers 260 when ingestion is blocked: a 2xx, but nothing was stored.
STATUS_INGESTION_BLOCKED = 260
#: Not a data problem: wrong credentials or URL. Retried so that fixing the config loses nothing.
_CONFIG_STATUSES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 407: "proxy_auth"}
#: Estimated protobuf bytes per entry besides its line (timestamp, tags, lengths).
_ENTRY_OVERHEAD = 20


class CredentialsError(Exception):
    """A password or token could not be read."""


@dataclass(slots=True)
class _Pending:
    """A source batch whose lines are in one or more pushes."""

    ack: Any
    parts: int = 0
    sealed: bool = False

    def part_done(self) -> None:
        self.parts -= 1
        if self.sealed and self.parts == 0 and self.ack is not None:
            self.ack.done()

    def seal(self) -> None:
        self.sealed = True
        if self.parts == 0 and self.ack is not None:
            self.ack.done()


@dataclass
class _Push:
    """An open (then sent) push request."""

    created: float = field(default_factory=time.monotonic)
    streams: dict[str, tuple[dict[str, str], list[Segment]]] = field(default_factory=dict)
    nbytes: int = 0
    entries: int = 0
    owners: list[_Pending] = field(default_factory=list)

    def add(self, key: str, labels: dict[str, str], seg: Segment, size: int, owner: _Pending) -> None:
        if not self.entries:
            self.created = time.monotonic()  # the timeout runs from the first line
        slot = self.streams.get(key)
        if slot is None:
            self.streams[key] = (labels, [seg])
        else:
            slot[1].append(seg)
        self.nbytes += size
        self.entries += len(seg.lines)
        if not self.owners or self.owners[-1] is not owner:
            owner.parts += 1
            self.owners.append(owner)


@dataclass(slots=True)
class _StreamState:
    newest_ns: int
    last_used: float


def _seg_size(seg: Segment) -> int:
    """Estimated encoded bytes of a segment (one C-level pass over the lines)."""
    return sum(map(len, seg.lines)) + _ENTRY_OVERHEAD * len(seg.lines)


def _field_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # bytes, sets, custom objects: never crash the sink over a field
        return str(value)


class LokiSink(Sink):
    config: LokiSinkConfig

    def __init__(self, name: str, config: LokiSinkConfig, ctx: SinkContext) -> None:
        super().__init__(name, config, ctx)
        self.push_url = config.endpoint + PUSH_PATH
        self.deadletter_dir = ctx.data_dir / "deadletter" / name
        self._stats = SinkMetrics(ctx.metrics, name)
        self._label_fields = config.field_map(config.label_fields)
        self._md_fields = config.field_map(config.structured_metadata)
        # label_fields that are the same for a whole batch.
        self._batch_label_fields = [(n, f) for n, f in self._label_fields if f in ("source", "path")]
        self._line_label_fields = [(n, f) for n, f in self._label_fields if f not in ("source", "path")]
        self._streams: dict[str, _StreamState] = {}
        self._next_raw_ts = 0
        self._open = _Push()
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._session: aiohttp.ClientSession | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._seq = 0
        self._warned_labels: set[str] = set()
        self.pushes_sent = 0

    # -- HTTP --------------------------------------------------------------------------------

    def _ssl(self) -> ssl.SSLContext | None:
        if not self.config.endpoint.startswith("https:"):
            return None
        cafile = str(self.config.ca_file) if self.config.ca_file else None
        ctx = ssl.create_default_context(cafile=cafile)
        if not self.config.tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _make_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.config.max_in_flight + 1, ssl=self._ssl() or False)
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.config.request_timeout_secs),
            trust_env=True,
            headers={"User-Agent": f"logagent/{__version__}"},
        )

    def _secret(self, path: Path | None, env: str | None, what: str) -> str | None:
        if path is not None:
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CredentialsError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
        if env is not None:
            value = os.environ.get(env)
            if not value:
                raise CredentialsError(f"environment variable {env} ({what}) is not set")
            return value
        return None

    def request_headers(self) -> dict[str, str]:
        """Tenant, auth and extra headers (secrets read now, so rotation is picked up)."""
        cfg = self.config
        headers = dict(cfg.headers)
        if cfg.tenant_id:
            headers["X-Scope-OrgID"] = cfg.tenant_id
        if cfg.username is not None:
            password = self._secret(cfg.password_file, cfg.password_env, "password") or ""
            token = base64.b64encode(f"{cfg.username}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        else:
            bearer = self._secret(cfg.bearer_token_file, cfg.bearer_token_env, "bearer token")
            if bearer is not None:
                headers["Authorization"] = f"Bearer {bearer}"
        return headers

    async def healthcheck(self) -> None:
        """GET ``/ready`` with the sink's credentials; raises :class:`SinkUnavailable` saying why."""
        url = self.config.endpoint + READY_PATH
        try:
            headers = self.request_headers()
        except CredentialsError as exc:
            raise SinkUnavailable(str(exc)) from None
        try:
            async with self._make_session() as session, session.get(url, headers=headers) as resp:
                text = (await resp.text(errors="replace"))[:200].strip()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SinkUnavailable(f"cannot reach {url}: {exc or type(exc).__name__}") from None
        if status in (401, 403, 407):
            raise SinkUnavailable(f"{url}: authentication failed (HTTP {status}): check the credentials")
        if status != 200:
            raise SinkUnavailable(f"{url}: not ready (HTTP {status}: {text})")

    # -- batch -> segments -------------------------------------------------------------------

    def _encode_lines(self, batch: Batch) -> tuple[list[bytes], list[int] | None]:
        try:
            lines = list(map(str.encode, batch.lines))
        except UnicodeEncodeError:  # lone surrogates
            lines = [line.encode("utf-8", "replace") for line in batch.lines]
        flags = batch.flags
        limit = self.config.max_line_bytes
        if lines and max(map(len, lines)) > limit:
            flags = list(flags) if flags is not None else [0] * len(lines)
            for i, line in enumerate(lines):
                if len(line) > limit:
                    lines[i] = line[:limit].decode("utf-8", "ignore").encode()
                    flags[i] |= FLAG_TRUNCATED
                    self._stats.error("line_truncated")
        return lines, flags

    def _base_labels(self, batch: Batch) -> dict[str, str]:
        labels = dict(self.config.labels)
        for name, fld in self._batch_label_fields:
            value = batch.source if fld == "source" else batch.path
            if value:
                labels[name] = cut_utf8(value, MAX_VALUE_BYTES)
        budget = MAX_LABELS - len(self._line_label_fields)
        for name, value in batch.labels.items():
            if label_name_error(name):
                name = sanitize_label_name(name)
            if name in labels or not value:
                continue
            if len(labels) >= budget:
                self._warn_labels(f"labels of source {batch.source} over Loki's limit of {MAX_LABELS}")
                break
            labels[name] = cut_utf8(value, MAX_VALUE_BYTES)
        return labels

    def _warn_labels(self, what: str) -> None:
        if what not in self._warned_labels:
            self._warned_labels.add(what)
            log.warning("Loki sink %s: %s; the extra labels are left out.", self.name, what)
            self._stats.error("labels_over_limit")

    def _raw_base(self, batch: Batch, n: int) -> int:
        """Distinct, increasing ns times for ``n`` lines without their own time."""
        base = max(batch.read_ts_ns, self._next_raw_ts)
        self._next_raw_ts = base + n
        return base

    def _line_value(self, batch: Batch, i: int, fld: str) -> str | None:
        rec = batch.records[i] if batch.records is not None else None
        if fld == "level":
            return rec.level if rec is not None else None
        if fld == "source":
            return batch.source
        if fld == "path":
            return batch.path
        if rec is not None and fld in rec.fields:
            return _field_value(rec.fields[fld])
        if batch.fields is not None:
            return _field_value(batch.fields[i].get(fld))
        return None

    def split_batch(self, batch: Batch) -> list[tuple[str, dict[str, str], Segment]]:
        """The batch's lines as per-stream segments (sorted by time), after every drop check."""
        n = len(batch.lines)
        lines, flags = self._encode_lines(batch)
        base_labels = self._base_labels(batch)
        per_line = (
            batch.records is not None
            or batch.ts_ns is not None
            or (flags is not None and self.config.flags_metadata and any(flags))
            or ((self._md_fields or self._line_label_fields) and batch.fields is not None)
            or bool(self._md_fields and any(f in ("source", "path") for _, f in self._md_fields))
        )
        now = time.time_ns()
        if not per_line:
            base = self._raw_base(batch, n)
            if base > now + int(self.config.max_future_secs * NS):
                base = now
            elif self.config.max_age_secs and base < now - int(self.config.max_age_secs * NS):
                # Only a replay from a disk buffer can be this old; Loki would reject it.
                self._stats.drop("too_old", n)
                return []
            if not base_labels:
                base_labels = {"source": batch.source}  # Loki needs at least one label
            key = format_labels(base_labels.items())
            return [(key, base_labels, Segment(lines, base))]
        return self._split_general(batch, lines, flags, base_labels, now)

    def _split_general(
        self,
        batch: Batch,
        lines: list[bytes],
        flags: list[int] | None,
        base_labels: dict[str, str],
        now: int,
    ) -> list[tuple[str, dict[str, str], Segment]]:
        cfg = self.config
        n = len(lines)
        base = self._raw_base(batch, n)
        records = batch.records
        ts_given = batch.ts_ns
        oldest = now - int(cfg.max_age_secs * NS) if cfg.max_age_secs else None
        newest = now + int(cfg.max_future_secs * NS)
        groups: dict[tuple[str | None, ...], tuple[list[int], list[bytes], list[Metadata]]] = {}
        too_old = clamped = 0
        for i in range(n):
            ts: int | None = records[i].ts_ns if records is not None else None
            if ts is None and ts_given is not None:
                ts = ts_given[i]
            if ts is None:
                ts = base + i
            elif oldest is not None and ts < oldest:
                too_old += 1
                continue
            elif ts > newest:
                ts = now
                clamped += 1
            key = tuple(self._line_value(batch, i, f) for _, f in self._line_label_fields)
            md: list[tuple[str, str]] = []
            for name, fld in self._md_fields:
                value = self._line_value(batch, i, fld)
                if value is not None:
                    md.append((name, value))
            if flags is not None and flags[i] and cfg.flags_metadata:
                md.append(("flags", ",".join(flag_names(flags[i]))))
            group = groups.get(key)
            if group is None:
                group = groups[key] = ([], [], [])
            group[0].append(ts)
            group[1].append(lines[i])
            group[2].append(tuple(md) if md else None)
        self._stats.drop("too_old", too_old)
        if clamped:
            self.ctx.metrics.sink_errors.labels(self.name, "future_ts_clamped").inc(clamped)
        out = []
        for values, (times, blines, mds) in groups.items():
            labels = dict(base_labels)
            for (name, _), value in zip(self._line_label_fields, values, strict=True):
                if value:
                    labels[name] = cut_utf8(value, MAX_VALUE_BYTES)
            if not labels:
                labels = {"source": batch.source}  # Loki needs at least one label
            order = sorted(range(len(times)), key=times.__getitem__)
            if order != list(range(len(times))):
                times = [times[j] for j in order]
                blines = [blines[j] for j in order]
                mds = [mds[j] for j in order]
            if len(set(zip(times, blines, strict=True))) < len(times):
                times = _separate_duplicates(times, blines)
                if any(a > b for a, b in itertools.pairwise(times)):
                    order = sorted(range(len(times)), key=times.__getitem__)
                    times = [times[j] for j in order]
                    blines = [blines[j] for j in order]
                    mds = [mds[j] for j in order]
            has_md = any(m is not None for m in mds)
            out.append(
                (format_labels(labels.items()), labels, Segment(blines, times, mds if has_md else None))
            )
        return out

    def _admit(
        self, parts: list[tuple[str, dict[str, str], Segment]]
    ) -> list[tuple[str, dict[str, str], Segment]]:
        """Apply the cardinality guard and the out-of-order window; count what is dropped."""
        cfg = self.config
        if len(parts) > cfg.max_streams_per_batch:
            extra = parts[cfg.max_streams_per_batch :]
            self._stats.drop("stream_limit_batch", sum(len(p[2].lines) for p in extra))
            parts = parts[: cfg.max_streams_per_batch]
        now = time.monotonic()
        window = int(cfg.out_of_order_window_secs * NS)
        out = []
        for key, labels, seg in parts:
            st = self._streams.get(key)
            if st is None:
                if len(self._streams) >= cfg.max_streams:
                    self._expire_streams(now)
                if len(self._streams) >= cfg.max_streams:
                    self._stats.drop("stream_limit", len(seg.lines))
                    if "stream_limit" not in self._warned_labels:
                        self._warned_labels.add("stream_limit")
                        log.error(
                            "Loki sink %s: more than %d streams (max_streams); lines of new streams are "
                            "dropped. Check label_fields for high-cardinality fields.",
                            self.name,
                            cfg.max_streams,
                        )
                    continue
                st = self._streams[key] = _StreamState(0, now)
            st.last_used = now
            if window and seg.first_ts < st.newest_ns - window:
                times = seg.times()
                cutoff = st.newest_ns - window
                keep = [j for j, t in enumerate(times) if t >= cutoff]
                self._stats.drop("too_far_behind", len(times) - len(keep))
                if not keep:
                    continue
                seg = Segment(
                    [seg.lines[j] for j in keep],
                    [times[j] for j in keep],
                    [seg.md[j] for j in keep] if seg.md is not None else None,
                )
            st.newest_ns = max(st.newest_ns, seg.last_ts)
            out.append((key, labels, seg))
        return out

    def _expire_streams(self, now: float) -> None:
        idle = now - self.config.stream_idle_secs
        for key in [k for k, st in self._streams.items() if st.last_used < idle]:
            del self._streams[key]

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, inbox: Inbox) -> None:
        self._session = self._make_session()
        self._stats.up.set(1)
        get_task: asyncio.Task[Batch | None] | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                while True:
                    if get_task is None:
                        get_task = asyncio.ensure_future(inbox.get())
                    timeout = None
                    if self._open.entries:
                        timeout = max(
                            0.0, self._open.created + self.config.batch.timeout_secs - time.monotonic()
                        )
                    done, _ = await asyncio.wait({get_task}, timeout=timeout)
                    if not done:
                        await self._flush()
                        continue
                    batch = get_task.result()
                    get_task = None
                    if batch is None:
                        break
                    await self._add(batch)
                    while (more := inbox.get_nowait()) is not None:
                        await self._add(more)
                await self._flush()
        finally:
            if get_task is not None and not get_task.done():
                get_task.cancel()
            await self._session.close()

    async def _add(self, batch: Batch) -> None:
        pending = _Pending(batch.ack)
        if batch.lines:
            parts = self._admit(self.split_batch(batch))
            max_bytes = self.config.batch.max_bytes
            seg: Segment | None  # None once the whole segment is in a push
            for key, labels, seg in parts:
                while seg is not None:
                    push = self._open
                    if key not in push.streams and len(push.streams) >= self.config.max_streams_per_batch:
                        await self._flush()
                        push = self._open
                    room = max_bytes - push.nbytes
                    total = _seg_size(seg)
                    if total <= room:
                        push.add(key, labels, seg, total, pending)
                        seg = None
                    else:
                        take = used = 0
                        for line in seg.lines:
                            size = len(line) + _ENTRY_OVERHEAD
                            if used + size > room:
                                break
                            used += size
                            take += 1
                        if take == 0 and push.entries == 0:
                            take, used = 1, len(seg.lines[0]) + _ENTRY_OVERHEAD  # oversize goes alone
                        if take:
                            head, rest = seg.split(take)
                            push.add(key, labels, head, used, pending)
                            seg = rest
                        await self._flush()
                    if push.nbytes >= max_bytes and push is self._open:
                        await self._flush()
        pending.seal()

    async def _flush(self) -> None:
        push = self._open
        if not push.entries:
            return
        self._open = _Push()
        await self._slots.acquire()
        assert self._tg is not None
        self._tg.create_task(self._deliver(push), name=f"loki-push:{self.name}")

    # -- delivery ----------------------------------------------------------------------------

    def encode(self, push: _Push) -> tuple[bytes, dict[str, str]]:
        """The request body and content headers of a push."""
        if self.config.encoding == "json":
            body = encode_json([(labels, segs) for labels, segs in push.streams.values()])
            headers = {"Content-Type": "application/json"}
            if self.config.json_gzip:
                body = gzip.compress(body, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
            return body, headers
        raw = encode_protobuf([(key, segs) for key, (_, segs) in push.streams.items()])
        return bytes(cramjam.snappy.compress_raw(raw)), {"Content-Type": "application/x-protobuf"}

    async def _deliver(self, push: _Push) -> None:
        try:
            body, content_headers = self.encode(push)
            backoff = Backoff(self.config.min_backoff_secs, self.config.max_backoff_secs)
            while True:
                outcome, status, reason, detail, retry_after = await self._attempt(body, content_headers)
                if outcome is Outcome.DELIVERED:
                    self._stats.up.set(1)
                    self._stats.sent.inc(push.entries)
                    self._stats.bytes.inc(len(body))
                    self.pushes_sent += 1
                    if backoff.attempt:
                        log.info("Loki sink %s: delivered after %d retries.", self.name, backoff.attempt)
                    break
                self._stats.error(reason)
                if outcome is Outcome.REJECTED:
                    log.error(
                        "Loki sink %s: push of %d lines rejected (%s); not retried, written to %s.",
                        self.name,
                        push.entries,
                        detail,
                        self.deadletter_dir,
                    )
                    self._stats.drop("rejected", push.entries)
                    await asyncio.to_thread(
                        self._write_deadletter, body, content_headers, status, detail, push
                    )
                    break
                self._stats.up.set(0)
                self._stats.retries.inc()
                delay = backoff.next_delay(retry_after)
                if backoff.attempt == 1 or backoff.attempt % 10 == 0:
                    level = logging.ERROR if reason in _CONFIG_STATUSES.values() else logging.WARNING
                    log.log(
                        level,
                        "Loki sink %s: push failed (%s); lines kept, retry %d in %.1fs.",
                        self.name,
                        detail,
                        backoff.attempt,
                        delay,
                    )
                await asyncio.sleep(delay)
        finally:
            self._slots.release()
        for owner in push.owners:
            owner.part_done()

    async def _attempt(
        self, body: bytes, content_headers: dict[str, str]
    ) -> tuple[Outcome, int | None, str, str, float | None]:
        """One POST: (outcome, status, reason label, human detail, Retry-After seconds)."""
        assert self._session is not None
        try:
            headers = {**self.request_headers(), **content_headers}
        except CredentialsError as exc:
            return Outcome.RETRY, None, "credentials_unavailable", str(exc), None
        start = time.monotonic()
        try:
            async with self._session.post(self.push_url, data=body, headers=headers) as resp:
                status = resp.status
                text = (await resp.text(errors="replace"))[:500].strip()
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._stats.seconds.observe(time.monotonic() - start)
            what = str(exc) or type(exc).__name__
            return Outcome.RETRY, None, "connection", f"cannot reach {self.push_url}: {what}", None
        self._stats.seconds.observe(time.monotonic() - start)
        if status == STATUS_INGESTION_BLOCKED:
            return (
                Outcome.RETRY,
                status,
                "ingestion_blocked",
                f"HTTP 260 ingestion blocked: {text}",
                retry_after,
            )
        if status in _CONFIG_STATUSES:
            reason = _CONFIG_STATUSES[status]
            return (
                Outcome.RETRY,
                status,
                reason,
                f"HTTP {status} {reason}: {text}; check credentials/URL",
                None,
            )
        outcome = classify_http(status)
        return outcome, status, f"http_{status}", f"HTTP {status}: {text}", retry_after

    def _write_deadletter(
        self, body: bytes, content_headers: dict[str, str], status: int | None, detail: str, push: _Push
    ) -> None:
        """Keep a rejected push: ``<stamp>.body`` (as sent) and ``<stamp>.json`` (why)."""
        cap = self.config.deadletter_max_bytes
        if cap == 0:
            return
        try:
            self.deadletter_dir.mkdir(parents=True, exist_ok=True)
            self._trim_deadletter(cap - len(body))
            self._seq += 1
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}-{self._seq:06d}"
            (self.deadletter_dir / f"{stamp}.body").write_bytes(body)
            meta = {
                "sink": self.name,
                "url": self.push_url,
                "status": status,
                "response": detail,
                "headers": content_headers,
                "entries": push.entries,
                "streams": list(push.streams),
                "time": time.time(),
            }
            (self.deadletter_dir / f"{stamp}.json").write_bytes(
                orjson.dumps(meta, option=orjson.OPT_INDENT_2)
            )
        except OSError as exc:
            self._stats.error("deadletter_failed")
            log.error(
                "Loki sink %s: cannot write dead letter under %s: %s.", self.name, self.deadletter_dir, exc
            )

    def _trim_deadletter(self, budget: int) -> None:
        files = sorted(self.deadletter_dir.iterdir(), key=lambda p: p.name)
        total = sum(p.stat().st_size for p in files)
        for p in files:
            if total <= budget:
                break
            total -= p.stat().st_size
            p.unlink()
            log.warning("Loki sink %s: dead-letter directory full; removed %s.", self.name, p.name)


def _separate_duplicates(times: list[int], lines: Iterable[bytes]) -> list[int]:
    """Move exact (time, line) duplicates 1 ns apart so Loki does not de-duplicate them away."""
    seen: set[tuple[int, bytes]] = set()
    out = []
    for t, line in zip(times, lines, strict=True):
        while (t, line) in seen:
            t += 1
        seen.add((t, line))
        out.append(t)
    return out
