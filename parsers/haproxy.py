"""HAProxy logs (HTTP, TCP and "Connect from" lines), on a syslog header or bare.

Fields: ``remote_addr``/``remote_port`` (client), ``frontend``, ``backend``, ``server``, the
timers as integers (``time_request``, ``time_queue``, ``time_connect``, ``time_response``,
``time_total`` for HTTP; ``time_queue``, ``time_connect``, ``time_total`` for TCP), ``status``,
``body_bytes_sent`` (bytes read), ``termination_state``, connection counts, and the request as
``method``/``path``/``protocol``. ``ts`` is HAProxy's accept date (ms precision).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.syslog import SyslogParser
from parsers.timestamps import parse_clf

_HEAD = re.compile(
    r"(\S+):(\d+|-) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)?)\] (\S+) ([^\s/]+)/(\S+) (.*)", re.DOTALL
)
_HTTP_TAIL = re.compile(
    r"(?:(\S+) )?(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/\+?(-?\d+) (-?\d+) (?:(-?\d+) )?\+?(\d+) "
    r"(\S+) (\S+) (\S{4}) "
    r"(\d+)/(\d+)/(\d+)/(\d+)/\+?(\d+) (\d+)/(\d+)(?: \{([^}]*)\})?(?: \{([^}]*)\})? \"([^\"]*)\"?",
)
_TCP_TAIL = re.compile(
    r"(-?\d+)/(-?\d+)/\+?(-?\d+) \+?(\d+) (\S{2}) (\d+)/(\d+)/(\d+)/(\d+)/\+?(\d+) (\d+)/(\d+)"
)
_CONNECT = re.compile(r"Connect from (\S+):(\d+) to (\S+):(\d+) \((\S+)/(\S+)\)")


def haproxy_fields(msg: str, fields: dict[str, Any]) -> str | None:
    """Read one HAProxy message into ``fields``; returns a level (None: not a HAProxy log line)."""
    m = _HEAD.match(msg)
    if m is None:
        c = _CONNECT.match(msg)
        if c is None:
            return None
        fields.update(
            remote_addr=c.group(1),
            remote_port=int(c.group(2)),
            frontend_addr=c.group(3),
            frontend_port=int(c.group(4)),
            frontend=c.group(5),
            mode=c.group(6),
        )
        return "info"
    addr, port, accept, frontend, backend, server, rest = m.groups()
    fields["remote_addr"] = addr
    if port != "-":
        fields["remote_port"] = int(port)
    ts = parse_clf(accept)
    if ts is not None:
        fields["_ts_ns"] = ts  # the syslog parser takes it as the time
    fields["frontend"] = frontend
    fields["backend"] = backend
    fields["server"] = server
    h = _HTTP_TAIL.match(rest)
    if h is not None:
        g = h.groups()
        if g[0] is not None:
            fields["http_host"] = g[0]
        for name, v in zip(
            ("time_request", "time_queue", "time_connect", "time_response", "time_total"), g[1:6], strict=True
        ):
            fields[name] = int(v)
        status = int(g[6])
        fields["status"] = status
        if g[7] is not None:
            fields["backend_status"] = int(g[7])
        fields["body_bytes_sent"] = int(g[8])
        fields["termination_state"] = g[11]
        for name, v in zip(
            ("actconn", "feconn", "beconn", "srv_conn", "retries", "srv_queue", "backend_queue"),
            g[12:19],
            strict=True,
        ):
            fields[name] = int(v)
        if g[19]:
            fields["captured_request_headers"] = g[19]
        if g[20]:
            fields["captured_response_headers"] = g[20]
        parts = g[21].split(" ")
        if len(parts) >= 2:
            fields["method"], fields["path"] = parts[0], parts[1]
            if len(parts) >= 3:
                fields["protocol"] = parts[2]
        elif g[21]:
            fields["request"] = g[21]
        return "error" if status >= 500 or status < 0 else "warning" if status >= 400 else "info"
    t = _TCP_TAIL.match(rest)
    if t is not None:
        g = t.groups()
        for name, v in zip(("time_queue", "time_connect", "time_total"), g[0:3], strict=True):
            fields[name] = int(v)
        fields["body_bytes_sent"] = int(g[3])
        fields["termination_state"] = g[4]
        for name, v in zip(
            ("actconn", "feconn", "beconn", "srv_conn", "retries", "srv_queue", "backend_queue"),
            g[5:12],
            strict=True,
        ):
            fields[name] = int(v)
        return "warning" if g[4][0] not in "-" else "info"
    fields["extra"] = rest
    return "info"


class HaproxyParser(LineParser):
    name = "haproxy"
    description = (
        "HAProxy HTTP/TCP logs (syslog header optional): client, frontend, backend/server, timers, status."
    )
    expected = "HAProxy log"

    def __init__(self, now: Callable[[], float] | None = None, tz: str | None = None) -> None:
        self.syslog = SyslogParser(now=now, tz=tz)

    def match(self, line: str) -> Record | None:
        rec = self.syslog.match(line)
        if rec is None:
            rec = Record(message=line)
        fields = rec.fields
        level = haproxy_fields(rec.message or "", fields)
        if level is None:
            return None if "app" not in fields else rec
        accept = fields.pop("_ts_ns", None)
        if accept is not None:
            rec.ts_ns = accept
        if rec.level is None:
            rec.level = level
        return rec
