"""A strict fake Loki for tests: the documented push API, ``query_range``, ``/ready``, and faults.

Loki itself cannot run here, so this follows its documented behaviour closely
(``../shared/notes/protocols.md`` §1-2): protobuf bodies in snappy *block* format decoded by hand,
JSON bodies (plain, gzip or deflate) with string ns timestamps, label-string parsing and Loki's
label limits, line size, too-old / too-new, "entry too far behind" within a stream, exact-duplicate
dropping, partial accepts answered 400, 413 on size, 422 for no streams, 204 on success.

Faults are injected for the next N pushes: an HTTP status (429/500/503/260, optional Retry-After),
a delay (slow responses), or a dropped connection. Every push is recorded in ``requests``.

Use it with ``async with start_receiver() as rx`` in async tests, or ``ThreadedReceiver`` (its own
event loop in a thread) when the agent runs as a subprocess.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import re
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cramjam
import orjson
from aiohttp import web

NS = 1_000_000_000
MAX_LABELS = 15
MAX_NAME_BYTES = 1024
MAX_VALUE_BYTES = 2048
MAX_LINE_BYTES = 256 * 1024
MAX_AGE_NS = 7 * 86400 * NS
MAX_FUTURE_NS = 600 * NS
OUT_OF_ORDER_NS = 3600 * NS
MAX_BODY_BYTES = 100 * 1024 * 1024
MAX_MD_PAIRS = 128
MAX_MD_BYTES = 64 * 1024
QUERY_LIMIT_DEFAULT = 100
QUERY_LIMIT_MAX = 5000

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class BadRequest(Exception):
    """The whole body is malformed (400, nothing stored)."""


# -- protobuf, by hand ------------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise BadRequest("protobuf: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 64:
            raise BadRequest("protobuf: varint overflow")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of a message; length-delimited values are bytes."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise BadRequest("protobuf: field number 0")
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise BadRequest("protobuf: truncated length-delimited field")
            val = buf[pos : pos + n]
            pos += n
        elif wt == 1:
            val, pos = buf[pos : pos + 8], pos + 8
        elif wt == 5:
            val, pos = buf[pos : pos + 4], pos + 4
        else:
            raise BadRequest(f"protobuf: unsupported wire type {wt}")
        if pos > len(buf):
            raise BadRequest("protobuf: truncated fixed field")
        out.append((num, wt, val))
    return out


def _expect(wt: int, want: int, what: str) -> None:
    if wt != want:
        raise BadRequest(f"protobuf: {what} has wire type {wt}, expected {want}")


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"protobuf: {what} is not valid UTF-8") from None


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass
class PushEntry:
    ts_ns: int
    line: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class PushStream:
    labels: str
    entries: list[PushEntry]


def decode_protobuf(body: bytes) -> list[PushStream]:
    """Decode a (decompressed) ``PushRequest``."""
    streams = []
    for num, wt, val in _fields(body):
        if num != 1:
            continue
        _expect(wt, 2, "PushRequest.streams")
        labels: str | None = None
        entries = []
        for snum, swt, sval in _fields(val):
            if snum == 1:
                _expect(swt, 2, "StreamAdapter.labels")
                labels = _utf8(sval, "labels")
            elif snum == 2:
                _expect(swt, 2, "StreamAdapter.entries")
                entries.append(_decode_entry(sval))
            elif snum == 3:
                _expect(swt, 0, "StreamAdapter.hash")
                raise BadRequest("protobuf: StreamAdapter.hash must not be set by clients")
        streams.append(PushStream(labels or "", entries))
    return streams


def _decode_entry(buf: bytes) -> PushEntry:
    secs = nanos = 0
    line = ""
    md: dict[str, str] = {}
    for num, wt, val in _fields(buf):
        if num == 1:
            _expect(wt, 2, "EntryAdapter.timestamp")
            for tnum, twt, tval in _fields(val):
                if tnum == 1:
                    _expect(twt, 0, "Timestamp.seconds")
                    secs = _int64(tval)
                elif tnum == 2:
                    _expect(twt, 0, "Timestamp.nanos")
                    nanos = _int64(tval)
            if not 0 <= nanos < NS:
                raise BadRequest(f"protobuf: Timestamp.nanos {nanos} out of range")
        elif num == 2:
            _expect(wt, 2, "EntryAdapter.line")
            line = _utf8(val, "line")
        elif num == 3:
            _expect(wt, 2, "EntryAdapter.structuredMetadata")
            name = value = ""
            for pnum, pwt, pval in _fields(val):
                _expect(pwt, 2, "LabelPairAdapter field")
                if pnum == 1:
                    name = _utf8(pval, "metadata name")
                elif pnum == 2:
                    value = _utf8(pval, "metadata value")
            md[name] = value
        elif num == 4:
            raise BadRequest("protobuf: EntryAdapter.parsed must not be sent by clients")
    return PushEntry(secs * NS + nanos, line, md)


def decode_json(body: bytes) -> list[PushStream]:
    """Decode a JSON push body, as strictly as Loki's decoder."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("streams"), list):
        raise BadRequest('JSON: expected {"streams": [...]}')
    streams = []
    for s in doc["streams"]:
        if not isinstance(s, dict) or not isinstance(s.get("stream"), dict):
            raise BadRequest('JSON: each stream needs a "stream" object')
        lbls = s["stream"]
        if not all(isinstance(v, str) for v in lbls.values()):
            raise BadRequest("JSON: label values must be strings")
        labels = "{" + ", ".join(f"{k}={_go_quote(v)}" for k, v in lbls.items()) + "}"
        entries = []
        for v in s.get("values") or []:
            if not isinstance(v, list) or len(v) not in (2, 3):
                raise BadRequest("JSON: each value is [ts, line] or [ts, line, metadata]")
            ts, line = v[0], v[1]
            if not isinstance(ts, str) or not ts.isdigit():
                raise BadRequest(f"JSON: timestamp must be a string of ns digits, got {ts!r}")
            if not isinstance(line, str):
                raise BadRequest("JSON: line must be a string")
            md = v[2] if len(v) == 3 else {}
            if not isinstance(md, dict) or not all(isinstance(x, str) for x in md.values()):
                raise BadRequest("JSON: structured metadata must be a flat object of strings")
            entries.append(PushEntry(int(ts), line, md))
        streams.append(PushStream(labels, entries))
    return streams


def _go_quote(v: str) -> str:
    return orjson.dumps(v).decode()


# -- label strings ----------------------------------------------------------------------------

_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f"}


class _Lexer:
    """A small lexer for ``{a="b", c=~"d"}`` selectors and line-filter pipelines."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\n\r":
            self.i += 1

    def peek(self, tok: str) -> bool:
        self.ws()
        return self.s.startswith(tok, self.i)

    def take(self, tok: str) -> None:
        if not self.peek(tok):
            raise ValueError(f"expected {tok!r} at position {self.i} in {self.s!r}")
        self.i += len(tok)

    def done(self) -> bool:
        self.ws()
        return self.i >= len(self.s)

    def name(self) -> str:
        self.ws()
        m = _LABEL_NAME.match(self.s, self.i)
        if not m:
            raise ValueError(f"expected a label name at position {self.i} in {self.s!r}")
        self.i = m.end()
        return m.group(0)

    def string(self) -> str:
        self.ws()
        if self.i >= len(self.s):
            raise ValueError("expected a string")
        q = self.s[self.i]
        if q == "`":
            end = self.s.find("`", self.i + 1)
            if end < 0:
                raise ValueError("unterminated raw string")
            out = self.s[self.i + 1 : end]
            self.i = end + 1
            return out
        if q != '"':
            raise ValueError(f"expected a quoted string at position {self.i} in {self.s!r}")
        self.i += 1
        buf = []
        while True:
            if self.i >= len(self.s):
                raise ValueError("unterminated string")
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(buf)
            if c == "\n":
                raise ValueError("newline in string")
            if c == "\\":
                nxt = self.s[self.i + 1 : self.i + 2]
                if nxt in _ESC:
                    buf.append(_ESC[nxt])
                    self.i += 2
                elif nxt == "u":
                    buf.append(chr(int(self.s[self.i + 2 : self.i + 6], 16)))
                    self.i += 6
                else:
                    raise ValueError(f"unknown escape \\{nxt}")
                continue
            buf.append(c)
            self.i += 1

    def matchers(self) -> list[tuple[str, str, str]]:
        self.take("{")
        out = []
        if self.peek("}"):
            self.take("}")
            return out
        while True:
            name = self.name()
            self.ws()
            for op in ("=~", "!~", "!=", "="):
                if self.s.startswith(op, self.i):
                    self.i += len(op)
                    break
            else:
                raise ValueError(f"expected a match operator after {name!r}")
            out.append((name, op, self.string()))
            if self.peek(","):
                self.take(",")
                continue
            self.take("}")
            return out


def parse_labels(text: str) -> dict[str, str]:
    """Parse a push label string, ``{a="b", c="d"}``; raises ValueError like Loki's parser."""
    lx = _Lexer(text)
    pairs = lx.matchers()
    if not lx.done():
        raise ValueError(f"unexpected text after labels: {text[lx.i :]!r}")
    out: dict[str, str] = {}
    for name, op, value in pairs:
        if op != "=":
            raise ValueError(f"label {name!r}: only '=' is allowed in stream labels")
        if name in out:
            raise ValueError(f"duplicate label name {name!r}")
        out[name] = value
    return out


# -- the server -------------------------------------------------------------------------------


@dataclass
class Fault:
    """What the next push gets instead of (or before) normal handling."""

    status: int | None = None
    retry_after: str | None = None
    delay_secs: float = 0.0
    drop: bool = False


@dataclass
class Stored:
    labels: dict[str, str]
    entries: list[PushEntry] = field(default_factory=list)
    seen: set[tuple[int, str]] = field(default_factory=set)
    newest_ns: int = 0


@dataclass
class PushRecord:
    """One push as received: headers, decoded streams (if it decoded), and the answer."""

    headers: dict[str, str]
    body_bytes: int
    streams: list[PushStream]
    status: int
    error: str = ""
    at: float = field(default_factory=time.monotonic)


class LokiReceiver:
    """The fake Loki. All public methods are safe to call from another thread."""

    def __init__(
        self,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_streams: int = 5000,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        multi_tenant: bool = False,
        now_ns: Callable[[], int] = time.time_ns,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_body_bytes = max_body_bytes
        self.max_streams = max_streams
        self.bearer_token = bearer_token
        self.basic_auth = basic_auth
        self.multi_tenant = multi_tenant
        self.now_ns = now_ns
        self.ssl_context = ssl_context
        self.host = "127.0.0.1"
        self.port = 0
        self.requests: list[PushRecord] = []
        self._streams: dict[tuple[str, tuple[tuple[str, str], ...]], Stored] = {}
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None

    # -- control ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Apply ``fault`` to the next ``count`` pushes."""
        with self._lock:
            self._faults.extend([fault] * count)

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.inject(Fault(status=status, retry_after=retry_after), count)

    def faults_left(self) -> int:
        with self._lock:
            return len(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._streams.clear()
            self.requests.clear()
            self._faults.clear()

    async def start(self) -> None:
        """Listen (on the same port again after :meth:`stop`)."""
        app = web.Application(client_max_size=self.max_body_bytes + 1)
        app.router.add_post("/loki/api/v1/push", self._push)
        app.router.add_get("/loki/api/v1/query_range", self._query_range)
        app.router.add_get("/ready", self._ready)
        app.router.add_get("/loki/api/v1/status/buildinfo", self._buildinfo)
        # Raw bodies: decoding Content-Encoding is part of what is under test.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, reuse_address=True, ssl_context=self.ssl_context
        )
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection (data is kept)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def seed(self, labels: dict[str, str], entries: list[tuple[int, str]], tenant: str = "fake") -> list[str]:
        """Store entries directly (validated like a push), e.g. to set up a query test; the errors."""
        text = "{" + ", ".join(f"{k}={_go_quote(v)}" for k, v in labels.items()) + "}"
        return self._store(tenant, [PushStream(text, [PushEntry(ts, line) for ts, line in entries])])

    # -- inspection --------------------------------------------------------------------------

    def streams(self) -> dict[tuple[tuple[str, str], ...], list[PushEntry]]:
        """Stored entries by sorted label pairs (all tenants), in arrival order."""
        with self._lock:
            out: dict[tuple[tuple[str, str], ...], list[PushEntry]] = {}
            for (_, key), st in self._streams.items():
                out.setdefault(key, []).extend(st.entries)
            return out

    def lines(self) -> list[str]:
        """Every stored line, streams in key order, entries in time order (as a query returns them)."""
        out = []
        for _, entries in sorted(self.streams().items()):
            out.extend(e.line for e in sorted(entries, key=lambda e: e.ts_ns))
        return out

    def entry_count(self) -> int:
        with self._lock:
            return sum(len(s.entries) for s in self._streams.values())

    # -- handlers ----------------------------------------------------------------------------

    def _auth_error(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if self.bearer_token is not None and auth != f"Bearer {self.bearer_token}":
            return web.Response(status=401, text="unauthorized: bad or missing bearer token\n")
        if self.basic_auth is not None:
            want = "Basic " + base64.b64encode(":".join(self.basic_auth).encode()).decode()
            if auth != want:
                return web.Response(status=401, text="unauthorized: bad or missing basic auth\n")
        if self.multi_tenant and not request.headers.get("X-Scope-OrgID"):
            return web.Response(status=401, text="no org id\n")
        return None

    def _tenant(self, request: web.Request) -> str:
        return request.headers.get("X-Scope-OrgID", "fake") if self.multi_tenant else "fake"

    async def _ready(self, request: web.Request) -> web.Response:
        return self._auth_error(request) or web.Response(text="ready\n")

    async def _buildinfo(self, request: web.Request) -> web.Response:
        return self._auth_error(request) or web.json_response({"version": "3.0.0-fake"})

    async def _push(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._record(PushRecord(dict(request.headers), request.content_length or 0, [], 413, "too large"))
            return web.Response(status=413, text=f"request body larger than {self.max_body_bytes} bytes\n")
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        headers = dict(request.headers)
        if fault is not None:
            if fault.delay_secs:
                await asyncio.sleep(fault.delay_secs)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                self._record(PushRecord(headers, len(body), [], 0, "dropped connection"))
                return web.Response(status=500)
            if fault.status is not None:
                resp = web.Response(status=fault.status, text=f"injected {fault.status}\n")
                if fault.retry_after is not None:
                    resp.headers["Retry-After"] = fault.retry_after
                self._record(PushRecord(headers, len(body), [], fault.status, "injected"))
                return resp
        denied = self._auth_error(request)
        if denied is not None:
            self._record(PushRecord(headers, len(body), [], denied.status, denied.text or ""))
            return denied
        return self._handle_push(request, headers, body)

    def _record(self, rec: PushRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    def _handle_push(self, request: web.Request, headers: dict[str, str], body: bytes) -> web.Response:
        def answer(status: int, error: str = "", streams: list[PushStream] | None = None) -> web.Response:
            self._record(PushRecord(headers, len(body), streams or [], status, error))
            if status == 204:
                return web.Response(status=204)
            return web.Response(status=status, text=error + "\n")

        if len(body) > self.max_body_bytes:
            return answer(413, f"request body too large: {len(body)} > {self.max_body_bytes}")
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        cenc = request.headers.get("Content-Encoding", "").strip().lower()
        try:
            if ctype == "application/json":
                if cenc == "gzip":
                    body = gzip.decompress(body)
                elif cenc == "deflate":
                    body = zlib.decompress(body)
                elif cenc:
                    raise BadRequest(f"Content-Encoding {cenc!r} not supported")
                streams = decode_json(body)
            else:
                if cenc not in ("", "snappy"):
                    raise BadRequest(f"Content-Encoding {cenc!r} not supported for protobuf")
                try:
                    raw = bytes(cramjam.snappy.decompress_raw(body))
                except Exception as exc:
                    raise BadRequest(f"snappy (block format) decode failed: {exc}") from None
                if len(raw) > self.max_body_bytes:
                    return answer(413, "decompressed body too large")
                streams = decode_protobuf(raw)
        except (BadRequest, OSError, zlib.error) as exc:
            return answer(400, str(exc))
        if not streams:
            return answer(422, "no streams in push request")
        errors = self._store(self._tenant(request), streams)
        if errors == ["__stream_limit__"]:
            return answer(429, "maximum active stream limit exceeded", streams)
        if errors:
            return answer(400, "\n".join(errors[:10]), streams)
        return answer(204, "", streams)

    def _store(self, tenant: str, streams: list[PushStream]) -> list[str]:
        """Validate and store; returns the errors (valid entries are stored regardless)."""
        errors: list[str] = []
        now = self.now_ns()
        with self._lock:
            for ps in streams:
                try:
                    labels = parse_labels(ps.labels)
                except ValueError as exc:
                    errors.append(f"error parsing labels {ps.labels!r}: {exc}")
                    continue
                err = _label_error(labels)
                if err:
                    errors.append(f"stream {ps.labels}: {err}")
                    continue
                key = (tenant, tuple(sorted(labels.items())))
                st = self._streams.get(key)
                if st is None:
                    if sum(1 for k in self._streams if k[0] == tenant) >= self.max_streams:
                        return ["__stream_limit__"]
                    st = self._streams[key] = Stored(labels)
                for e in ps.entries:
                    line_len = len(e.line.encode())
                    if line_len > self.max_line_bytes:
                        errors.append(
                            f"stream {ps.labels}: max entry size '{self.max_line_bytes}' bytes exceeded "
                            f"(line of {line_len} bytes)"
                        )
                        continue
                    if e.ts_ns < now - MAX_AGE_NS:
                        errors.append(f"stream {ps.labels}: entry has timestamp too old: {e.ts_ns}")
                        continue
                    if e.ts_ns > now + MAX_FUTURE_NS:
                        errors.append(f"stream {ps.labels}: entry has timestamp too new: {e.ts_ns}")
                        continue
                    md_bytes = sum(len(k) + len(v) for k, v in e.metadata.items())
                    if len(e.metadata) > MAX_MD_PAIRS or md_bytes > MAX_MD_BYTES:
                        errors.append(f"stream {ps.labels}: structured metadata over the limit")
                        continue
                    if (e.ts_ns, e.line) in st.seen:
                        continue  # exact duplicate: silently dropped, as Loki's ingester does
                    if e.ts_ns < st.newest_ns - OUT_OF_ORDER_NS:
                        errors.append(
                            f"stream {ps.labels}: entry too far behind, entry timestamp is {e.ts_ns}, "
                            f"oldest acceptable timestamp is {st.newest_ns - OUT_OF_ORDER_NS}"
                        )
                        continue
                    st.seen.add((e.ts_ns, e.line))
                    st.entries.append(e)
                    st.newest_ns = max(st.newest_ns, e.ts_ns)
        return errors

    async def _query_range(self, request: web.Request) -> web.Response:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        q = request.query
        try:
            matchers, filters = parse_query(q.get("query", ""))
            now = self.now_ns()
            end = parse_time(q["end"]) if "end" in q else now
            if "start" in q:
                start = parse_time(q["start"])
            elif "since" in q:
                start = end - parse_duration(q["since"])
            else:
                start = end - 3600 * NS
            limit = int(q.get("limit", QUERY_LIMIT_DEFAULT))
            if limit <= 0:
                raise ValueError("limit must be a positive number")
            limit = min(limit, QUERY_LIMIT_MAX)
            direction = q.get("direction", "backward").lower()
            if direction not in ("backward", "forward"):
                raise ValueError(f"invalid direction {direction!r}")
        except (ValueError, KeyError) as exc:
            return web.Response(status=400, text=f"parse error: {exc}\n")
        tenant = self._tenant(request)
        hits: list[tuple[int, int, dict[str, str], PushEntry]] = []
        with self._lock:
            seq = 0
            for (t, _), st in self._streams.items():
                if t != tenant or not all(_match(st.labels.get(n, ""), op, v) for n, op, v in matchers):
                    continue
                for e in st.entries:
                    if start <= e.ts_ns < end and all(f(e.line) for f in filters):
                        hits.append((e.ts_ns, seq, st.labels, e))
                        seq += 1
        hits.sort(key=lambda h: (h[0], h[1]), reverse=direction == "backward")
        hits = hits[:limit]
        result: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for ts, _, labels, e in hits:
            # Loki 3 returns structured metadata as labels of the result stream.
            merged = {**labels, **e.metadata}
            key = tuple(sorted(merged.items()))
            item = result.setdefault(key, {"stream": merged, "values": []})
            item["values"].append([str(ts), e.line])
        return web.json_response(
            {
                "status": "success",
                "data": {"resultType": "streams", "result": list(result.values()), "stats": {}},
            },
            dumps=lambda o: orjson.dumps(o).decode(),
        )


def _label_error(labels: dict[str, str]) -> str | None:
    if not labels:
        return "at least one label pair is required per stream"
    if len(labels) > MAX_LABELS:
        return f"entry for stream has {len(labels)} label names; limit {MAX_LABELS}"
    for name, value in labels.items():
        if len(name.encode()) > MAX_NAME_BYTES:
            return f"label name too long: {name[:40]!r}"
        if len(value.encode()) > MAX_VALUE_BYTES:
            return f"label value too long: {value[:40]!r}"
        if not value:
            return f"label {name!r} has an empty value"
    return None


def _match(value: str, op: str, want: str) -> bool:
    if op == "=":
        return value == want
    if op == "!=":
        return value != want
    hit = re.fullmatch(want, value) is not None
    return hit if op == "=~" else not hit


def parse_query(query: str) -> tuple[list[tuple[str, str, str]], list[Callable[[str], bool]]]:
    """A LogQL log query: a stream selector and ``|=``, ``!=``, ``|~``, ``!~`` line filters."""
    lx = _Lexer(query)
    matchers = lx.matchers()
    if not any((op == "=" and v) or (op == "=~" and re.fullmatch(v, "") is None) for _, op, v in matchers):
        raise ValueError(
            "queries require at least one regexp or equality matcher that does not have an "
            "empty-compatible value"
        )
    for _, op, v in matchers:
        if op in ("=~", "!~"):
            re.compile(v)
    filters: list[Callable[[str], bool]] = []
    while not lx.done():
        for op in ("|=", "!=", "|~", "!~"):
            if lx.peek(op):
                lx.take(op)
                break
        else:
            raise ValueError(f"unexpected text at position {lx.i}: {query[lx.i :]!r}")
        needle = lx.string()
        if op == "|=":
            filters.append(lambda line, n=needle: n in line)
        elif op == "!=":
            filters.append(lambda line, n=needle: n not in line)
        else:
            rx = re.compile(needle)
            if op == "|~":
                filters.append(lambda line, r=rx: r.search(line) is not None)
            else:
                filters.append(lambda line, r=rx: r.search(line) is None)
    return matchers, filters


def parse_time(value: str) -> int:
    """Loki's time parameter: float seconds (with '.'), integer (≤ 10 digits: s, else ns), or RFC3339."""
    if "." in value:
        with contextlib.suppress(ValueError):
            secs = float(value)
            whole = int(secs)
            return whole * NS + round((secs - whole) * 1000) * 1_000_000
    try:
        n = int(value)
    except ValueError:
        return _rfc3339_ns(value)
    return n * NS if len(value) <= 10 else n


def _rfc3339_ns(value: str) -> int:
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", value)
    if not m:
        raise ValueError(f"cannot parse {value!r} as a timestamp")
    base = datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = int((m.group(2) or "0").ljust(9, "0"))
    return int(base.timestamp()) * NS + frac


def parse_duration(value: str) -> int:
    """A Prometheus duration (``1h30m``, ``5m``, ``30s``, ``100ms``) in ns."""
    units = {"ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS, "d": 86400 * NS, "w": 7 * 86400 * NS}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"invalid duration {value!r}")
    return sum(int(n) * units[u] for n, u in parts)


@contextlib.asynccontextmanager
async def start_receiver(**kwargs: Any) -> AsyncIterator[LokiReceiver]:
    """A listening receiver for the duration of the block (in the running loop)."""
    rx = LokiReceiver(**kwargs)
    await rx.start()
    try:
        yield rx
    finally:
        await rx.stop()


class ThreadedReceiver:
    """A receiver on its own event loop in a daemon thread (for subprocess agents)."""

    def __init__(self, **kwargs: Any) -> None:
        self.rx = LokiReceiver(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-loki")
        self._thread.start()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    @property
    def url(self) -> str:
        return self.rx.url

    def start(self) -> ThreadedReceiver:
        self._call(self.rx.start())
        return self

    def stop(self) -> None:
        self._call(self.rx.stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> ThreadedReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
