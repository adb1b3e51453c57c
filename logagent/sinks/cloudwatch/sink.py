"""The CloudWatch Logs sink: gather batches, plan valid PutLogEvents requests, send, acknowledge.

Flow: batches are gathered until ``batch.max_events`` / ``batch.max_bytes`` or
``batch.timeout_secs`` after the first one; then every line becomes an event (its parsed or
source time, in ms), events are grouped by rendered log group and stream, and
:func:`~logagent.sinks.cloudwatch.batching.plan` turns each group into requests within every API
limit (dropping, with a count, what the service would reject). At most ``max_in_flight``
requests run at once (one per stream at a time, in order, so lines of a stream keep their
order), each in a worker thread of the sink's own pool: boto3 blocks, the event loop never
does. A source batch is acknowledged once every request holding one of its lines has succeeded
(or its lines were dropped on purpose and counted).

Failures: throttling, unavailability, 5xx, timeouts and connection errors are retried with
capped, jittered backoff for as long as it takes (``sink_up`` is 0 meanwhile; the lines stay
unacknowledged, so the checkpoint does not move past them). Credential errors are retried the
same way with an error log. ``ResourceNotFoundException`` creates the group and stream
(``create_missing``) and resends. Any other rejection (``InvalidParameterException``...) is not
retried: the request is written to ``<data_dir>/deadletter/<sink>/`` and its events counted as
dropped. Events the service reports in ``rejectedLogEventsInfo`` are counted as dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from logagent.buffer import Inbox
from logagent.components import Sink, SinkContext, SinkUnavailable
from logagent.encode import encode_ndjson
from logagent.event import Batch
from logagent.metrics import SinkMetrics
from logagent.sinks.cloudwatch import limits
from logagent.sinks.cloudwatch.batching import Event, plan, rejected_counts, request_bytes
from logagent.sinks.cloudwatch.config import (
    CloudWatchSinkConfig,
    clean_group_name,
    clean_stream_name,
    render,
)
from logagent.sinks.retry import Backoff

log = logging.getLogger(__name__)

# Error codes by what the sink does about them (anything else is a permanent rejection).
RETRY_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestLimitExceeded",
        "InvalidSequenceTokenException",  # ignored by the service since 2023; harmless to resend
    }
)
AUTH_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "AccessDeniedException",
        "AccessDenied",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "SignatureDoesNotMatch",
    }
)
DELIVERED_CODES = frozenset({"DataAlreadyAcceptedException"})

RETRY = "retry"
AUTH = "auth"
MISSING = "missing"
DELIVERED = "delivered"
REJECT = "reject"


def classify_error(code: str, status: int | None) -> str:
    """What to do about an error response: RETRY, AUTH (retry, log), MISSING, DELIVERED, REJECT."""
    if code == "ResourceNotFoundException":
        return MISSING
    if code in DELIVERED_CODES:
        return DELIVERED
    if code in AUTH_CODES:
        return AUTH
    if code in RETRY_CODES or (status is not None and (status == 429 or status >= 500)):
        return RETRY
    return REJECT


def error_reason(code: str, status: int | None = None) -> str:
    """A low-cardinality metric label for an error code (never the code itself: codes are open)."""
    named = {
        "ThrottlingException": "throttled",
        "Throttling": "throttled",
        "ServiceUnavailableException": "unavailable",
        "ResourceNotFoundException": "resource_not_found",
        "InvalidParameterException": "invalid_parameter",
    }.get(code)
    if named is not None:
        return named
    kind = classify_error(code, status)
    return {AUTH: "auth", RETRY: "server_error"}.get(kind, "rejected")


def make_client(config: CloudWatchSinkConfig) -> Any:
    """A boto3 CloudWatch Logs client (standard credential chain; blocking: call in a thread).

    botocore's own retries are off: the sink retries, counts and backs off itself.
    """
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.session.Session(profile_name=config.profile)
    boto_config = BotoConfig(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=config.connect_timeout_secs,
        read_timeout=config.read_timeout_secs,
        max_pool_connections=config.max_in_flight + 2,
        # The planner already enforces every rule; per-event validation in Python is slow.
        parameter_validation=False,
        user_agent_extra="logagent",
    )
    return session.client(
        "logs", region_name=config.region, endpoint_url=config.endpoint_url, config=boto_config
    )


#: A put_log_events keyword that is not an API parameter: the request body, already encoded.
ENCODED_BODY = "LogagentEncodedBody"


def install_encoded_body(client: Any) -> None:
    """Let ``put_log_events`` take its body already encoded (``ENCODED_BODY=bytes``).

    botocore's JSON serializer walks every event in Python (about 7 us each, in a thread that
    holds the GIL); orjson writes the same JSON some 40 times faster. Two documented botocore
    events do the swap: ``provide-client-params`` moves the encoded body from the params into the
    request context, and ``before-call`` puts it in place of the serialized placeholder, before
    the request is built and signed.
    """
    events = client.meta.events
    events.register(
        "provide-client-params.cloudwatch-logs.PutLogEvents", _take_body, unique_id="logagent-take-body"
    )
    events.register("before-call.cloudwatch-logs.PutLogEvents", _put_body, unique_id="logagent-put-body")


_PLACEHOLDER_EVENTS = [{"timestamp": 0, "message": "-"}]


def _take_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    body = params.pop(ENCODED_BODY, None)
    if body is not None:
        context[ENCODED_BODY] = body


def _put_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    body = context.pop(ENCODED_BODY, None)
    if body is not None:
        params["body"] = body


class DaemonThreadPool(concurrent.futures.Executor):
    """A fixed set of daemon worker threads for blocking boto3 calls.

    Unlike ThreadPoolExecutor, whose workers are joined at interpreter exit, these never hold up
    the agent's shutdown: a request stuck on a silent endpoint (up to ``read_timeout_secs``) is
    abandoned; its batch was never acknowledged, so its lines are read and sent again.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None]
        self._queue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        self._shutdown = False
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        if self._shutdown:
            raise RuntimeError("cannot schedule new calls after shutdown")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((future, lambda: fn(*args, **kwargs)))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for t in self._threads:
                t.join()


# Event(*fields) without the Python-level __new__ of a NamedTuple: C calls only.
_new_event = partial(tuple.__new__, Event)
_TAG = itemgetter(3)


class _Pending:
    """A source batch waiting for the requests that hold its lines."""

    __slots__ = ("batch", "remaining")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.remaining = 0

    def release(self) -> None:
        self.remaining -= 1
        if self.remaining == 0 and self.batch.ack is not None:
            self.batch.ack.done()


class CloudWatchSink(Sink):
    """Ships batches with PutLogEvents. ``client`` may be injected (tests hook its events)."""

    config: CloudWatchSinkConfig

    def __init__(
        self,
        name: str,
        config: CloudWatchSinkConfig,
        ctx: SinkContext,
        client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, config, ctx)
        self.client = client
        if client is not None:
            install_encoded_body(client)
        self._clock = clock
        self._host = config.host
        self._pool = DaemonThreadPool(config.max_in_flight + 1, f"cloudwatch-{name}")
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._ensure_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._stream_locks: dict[tuple[str, str], asyncio.Semaphore] = {}
        self._retention_pending: set[str] = set()
        self._deadletter_seq = 0
        self.deadletter_dir = ctx.data_dir / "deadletter" / name
        self._stats = SinkMetrics(ctx.metrics, name)

    # -- plumbing ------------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        """Run a blocking boto3 call in the sink's pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(**kwargs))

    async def _get_client(self) -> Any:
        if self.client is None:
            loop = asyncio.get_running_loop()
            client = await loop.run_in_executor(self._pool, make_client, self.config)
            install_encoded_body(client)
            self.client = client
        return self.client

    # -- health --------------------------------------------------------------------------------

    async def healthcheck(self) -> None:
        """Check credentials and endpoint with DescribeLogGroups; raise SinkUnavailable if broken."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = self.config.endpoint_url or f"region {self.config.region or '(default chain)'}"
        try:
            client = await self._get_client()
            static = self.config.log_group.split("{", 1)[0]
            kwargs: dict[str, Any] = {"limit": 1}
            if static:
                kwargs["logGroupNamePrefix"] = static
            resp = await self._call(client.describe_log_groups, **kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise SinkUnavailable(
                f"CloudWatch Logs at {where}: {err.get('Code', '?')}: {err.get('Message', exc)}"
            ) from None
        except BotoCoreError as exc:
            raise SinkUnavailable(f"CloudWatch Logs at {where}: {exc}") from None
        if "{" not in self.config.log_group and not self.config.create_missing:
            names = [g.get("logGroupName") for g in resp.get("logGroups", [])]
            if self.config.log_group not in names:
                raise SinkUnavailable(
                    f"log group {self.config.log_group!r} does not exist and create_missing is false"
                )

    # -- the loop ------------------------------------------------------------------------------

    async def run(self, inbox: Inbox) -> None:
        batch_cfg = self.config.batch
        overhead = limits.EVENT_OVERHEAD_BYTES
        await self._start_client()
        getter: asyncio.Task[Batch | None] | None = None
        pending: list[Batch] = []
        n_events = n_bytes = 0
        deadline = 0.0
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(inbox.get())
                timeout = None if not pending else max(0.0, deadline - time.monotonic())
                done, _ = await asyncio.wait({getter}, timeout=timeout)
                closed = False
                if done:
                    batch = getter.result()
                    getter = None
                    # Take what else is already waiting, up to the batch limits.
                    while batch is not None:
                        if not pending:
                            deadline = time.monotonic() + batch_cfg.timeout_secs
                        pending.append(batch)
                        n_events += len(batch)
                        n_bytes += batch.nbytes + overhead * len(batch)
                        if n_events >= batch_cfg.max_events or n_bytes >= batch_cfg.max_bytes:
                            break
                        batch = inbox.get_nowait()
                    else:
                        closed = inbox.closed()
                full = n_events >= batch_cfg.max_events or n_bytes >= batch_cfg.max_bytes
                if pending and (full or closed or time.monotonic() >= deadline):
                    await self._flush(pending)
                    pending = []
                    n_events = n_bytes = 0
                if closed and getter is None and inbox.closed():
                    # get() returned None: closed and drained. Wait for what is in flight.
                    if self._tasks:
                        await asyncio.gather(*list(self._tasks))
                    return
        finally:
            if getter is not None:
                getter.cancel()
            for task in list(self._tasks):
                task.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _start_client(self) -> None:
        backoff = Backoff(self.config.retry_initial_secs, self.config.retry_max_secs)
        while True:
            try:
                await self._get_client()
                return
            except Exception as exc:
                # No region, a bad profile: an operator error; keep the lines and say so.
                self._stats.up.set(0)
                self._stats.error("client")
                log.error("CloudWatch sink %s cannot create its AWS client: %s; retrying.", self.name, exc)
                await asyncio.sleep(backoff.next_delay())

    # -- planning ------------------------------------------------------------------------------

    def _events(self, batch: Batch, tag: int) -> list[Event]:
        """One event per line of ``batch``, tagged with ``tag`` (built at C speed when possible)."""
        if self.config.format == "json":
            messages = encode_ndjson(batch).decode("utf-8").split("\n")[:-1]
        else:
            messages = batch.lines
        if "".join(messages).isascii():
            sizes = list(map(len, messages))
        else:
            sizes = [len(m) if m.isascii() else len(m.encode("utf-8")) for m in messages]
        if batch.records is None and batch.ts_ns is None:
            stamps: Iterable[int] = repeat(batch.read_ts_ns // 1_000_000)
        else:
            stamps = [batch.line_ts_ns(i) // 1_000_000 for i in range(len(messages))]
        return list(map(_new_event, zip(stamps, messages, sizes, repeat(tag))))

    async def _flush(self, batches: list[Batch]) -> None:
        """Plan requests for ``batches`` and start sending them (waits only for a free slot)."""
        tracked = [_Pending(b) for b in batches]
        streams: dict[tuple[str, str], list[Event]] = {}
        for tag, batch in enumerate(batches):
            if not batch.lines:
                continue
            group = clean_group_name(
                render(self.config.log_group, batch.source, self._host, batch.path, batch.labels)
            )
            stream = clean_stream_name(
                render(self.config.log_stream, batch.source, self._host, batch.path, batch.labels)
            )
            streams.setdefault((group, stream), []).extend(self._events(batch, tag))
        now_ms = int(self._clock() * 1000)
        work: list[tuple[str, str, list[Event], list[_Pending]]] = []
        for (group, stream), events in streams.items():
            p = plan(
                events,
                now_ms,
                retention_days=self.config.retention_days,
                max_event_bytes=self.config.max_event_bytes,
                max_events=self.config.batch.max_events,
                max_bytes=self.config.batch.max_bytes,
            )
            for reason, n in p.dropped.items():
                self._stats.drop(reason, n)
                log.warning(
                    "CloudWatch sink %s dropped %d events bound for %s/%s: %s.",
                    self.name, n, group, stream, reason,
                )  # fmt: skip
            for req in p.requests:
                owners = [tracked[t] for t in set(map(_TAG, req))]
                for owner in owners:
                    owner.remaining += 1
                work.append((group, stream, req, owners))
        # Batches none of whose lines need sending (empty, or every line dropped and counted).
        for owner in tracked:
            if owner.remaining == 0:
                owner.remaining = 1
                owner.release()
        for group, stream, req, owners in work:
            await self._slots.acquire()
            task = asyncio.create_task(self._send_and_release(group, stream, req, owners))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- sending -------------------------------------------------------------------------------

    async def _send_and_release(
        self, group: str, stream: str, events: list[Event], owners: list[_Pending]
    ) -> None:
        # By default one request at a time per stream, in planning order (asyncio.Semaphore is
        # FIFO): the service accepts parallel puts, but lines sharing a millisecond across two
        # requests could then be stored out of order.
        lock = self._stream_locks.get((group, stream))
        if lock is None:
            lock = self._stream_locks[group, stream] = asyncio.Semaphore(self.config.max_in_flight_per_stream)
        try:
            async with lock:
                await self._send(group, stream, events)
        finally:
            self._slots.release()
        for owner in owners:
            owner.release()

    async def _send(self, group: str, stream: str, events: list[Event]) -> None:
        """Deliver one request: returns once it succeeded or was dead-lettered (counted)."""
        from botocore.exceptions import BotoCoreError, ClientError

        body = orjson.dumps(
            {
                "logGroupName": group,
                "logStreamName": stream,
                "logEvents": [{"timestamp": e[0], "message": e[1]} for e in events],
            }
        )
        backoff = Backoff(self.config.retry_initial_secs, self.config.retry_max_secs)
        client = self.client
        created = False
        while True:
            started = time.monotonic()
            try:
                resp = await self._call(
                    client.put_log_events,
                    logGroupName=group,
                    logStreamName=stream,
                    logEvents=_PLACEHOLDER_EVENTS,  # valid for botocore; replaced by ``body``
                    **{ENCODED_BODY: body},
                )
            except ClientError as exc:
                self._stats.seconds.observe(time.monotonic() - started)
                err = exc.response.get("Error", {})
                code = str(err.get("Code", ""))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                kind = classify_error(code, status)
                if kind == DELIVERED:
                    resp = {}
                elif kind == MISSING and self.config.create_missing and not created:
                    self._stats.error("resource_not_found")
                    try:
                        await self._ensure(group, stream)
                        created = True  # resend at once; a second miss backs off below
                        continue
                    except (ClientError, BotoCoreError) as create_exc:
                        await self._retry_wait(backoff, "create_failed", group, stream, create_exc)
                        continue
                elif kind == REJECT:
                    self._stats.error(error_reason(code, status))
                    await self._deadletter(group, stream, events, code, str(err.get("Message", "")))
                    return
                else:
                    if kind == MISSING:
                        created = False  # try creating again after the wait
                    await self._retry_wait(
                        backoff, error_reason(code, status), group, stream, exc, auth=kind == AUTH
                    )
                    continue
            except (BotoCoreError, OSError) as exc:
                self._stats.seconds.observe(time.monotonic() - started)
                from botocore.exceptions import NoCredentialsError

                auth = isinstance(exc, NoCredentialsError)
                await self._retry_wait(backoff, "auth" if auth else "connection", group, stream, exc, auth)
                continue
            except Exception as exc:
                # A bug or an unforeseen error must not lose lines: keep them and keep trying.
                log.exception(
                    "CloudWatch sink %s: unexpected error sending to %s/%s.", self.name, group, stream
                )
                await self._retry_wait(backoff, "unexpected", group, stream, exc)
                continue
            else:
                self._stats.seconds.observe(time.monotonic() - started)
            self._stats.up.set(1)
            self._delivered(group, stream, events, resp or {})
            return

    async def _retry_wait(
        self, backoff: Backoff, reason: str, group: str, stream: str, exc: Exception, auth: bool = False
    ) -> None:
        self._stats.up.set(0)
        self._stats.error(reason)
        self._stats.retries.inc()
        delay = backoff.next_delay()
        level = logging.ERROR if auth or backoff.attempt == 1 else logging.WARNING
        if auth or backoff.attempt == 1 or backoff.attempt % 10 == 0:
            log.log(
                level,
                "CloudWatch sink %s: PutLogEvents to %s/%s failed (%s: %s); retry %d in %.1fs.",
                self.name, group, stream, reason, exc, backoff.attempt, delay,
            )  # fmt: skip
        await asyncio.sleep(delay)

    def _delivered(self, group: str, stream: str, events: list[Event], resp: dict[str, Any]) -> None:
        n = len(events)
        drops = rejected_counts(resp.get("rejectedLogEventsInfo") or {}, n)
        if drops:
            for reason, count in drops.items():
                self._stats.drop(reason, count)
            log.warning(
                "CloudWatch sink %s: the service rejected events bound for %s/%s: %s.",
                self.name, group, stream, dict(drops),
            )  # fmt: skip
        accepted = n - sum(drops.values())
        self._stats.sent.inc(accepted)
        self._stats.bytes.inc(request_bytes(events) - limits.EVENT_OVERHEAD_BYTES * n)

    async def _ensure(self, group: str, stream: str) -> None:
        """Create the log group (with its retention) and stream if missing."""
        from botocore.exceptions import ClientError

        lock = self._ensure_locks.setdefault((group, stream), asyncio.Lock())
        async with lock:
            client = self.client
            try:
                await self._call(client.create_log_group, logGroupName=group)
                log.info("CloudWatch sink %s created log group %s.", self.name, group)
                if self.config.retention_days is not None:
                    self._retention_pending.add(group)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise
            if group in self._retention_pending:
                await self._call(
                    client.put_retention_policy,
                    logGroupName=group,
                    retentionInDays=self.config.retention_days,
                )
                self._retention_pending.discard(group)
            try:
                await self._call(client.create_log_stream, logGroupName=group, logStreamName=stream)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise

    async def _deadletter(
        self, group: str, stream: str, events: list[Event], code: str, message: str
    ) -> None:
        """Write a rejected request under ``deadletter/<sink>/`` and count its events as dropped."""
        self._deadletter_seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.deadletter_dir / f"{stamp}-{os.getpid()}-{self._deadletter_seq:06d}.json"
        record = {
            "sink": self.name,
            "error_code": code,
            "error_message": message,
            "logGroupName": group,
            "logStreamName": stream,
            "logEvents": [{"timestamp": e[0], "message": e[1]} for e in events],
        }
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, _write_file, path, record)
            where = str(path)
        except OSError as exc:
            where = f"nowhere ({exc})"
        self._stats.drop(error_reason(code), len(events))
        log.error(
            "CloudWatch sink %s: %s rejected %d events for %s/%s (%s); not retried, written to %s.",
            self.name, code, len(events), group, stream, message, where,
        )  # fmt: skip


def _write_file(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    os.replace(tmp, path)
