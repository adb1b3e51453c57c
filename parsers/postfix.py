"""Postfix (``postfix/smtpd``, ``postfix/qmgr``...) messages, on a syslog header or bare.

Fields: ``process`` (smtpd, smtp, qmgr...), ``queue_id``, every ``key=value`` of the message
(``from``, ``to``, ``relay``, ``delay``, ``dsn``, ``status``...; ``<>`` stripped, delays as
numbers), ``response`` (the text in parentheses after ``status=``) and for rejects ``action``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.syslog import SyslogParser

_QUEUE = re.compile(
    r"([0-9A-F]{5,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]+|NOQUEUE): "
)
_KV = re.compile(r"(\w[\w-]*)=(<[^>]*>|[^,\s]+(?: \([^)]*\))?)")
_LEVEL_PREFIX = re.compile(r"(warning|error|fatal|panic|statistics): ")
_REJECT = re.compile(r"(reject|discard|hold|filter|redirect|milter-reject|reject_warning): (\S+)")
# A peer written as host[ip]:port or [ip]:port (smtpd "connect from", postscreen, smtp "lost connection").
_PEER = re.compile(r"(?:(?:from|to|for|with) ([\w.-]+)?|(?<=[A-Z] ))\[([0-9A-Fa-f:.]+)\](?::(\d+))?")
# postscreen/smtpd verdict words at the start: CONNECT, PASS OLD, DNSBL rank, HANGUP, NOQUEUE...
_EVENT = re.compile(
    r"([A-Z][A-Z-]+(?: [A-Z][A-Z-]+)*)\b|(connect|disconnect|lost connection|timeout) (?:from|after)"
)
_FLOATS = frozenset({"delay", "size_mb"})
_INTS = frozenset({"size", "nrcpt", "port"})
_LEVELS = {
    "warning": "warning",
    "error": "error",
    "fatal": "critical",
    "panic": "emergency",
    "statistics": "info",
}


def enrich(app: str | None, msg: str, fields: dict[str, Any]) -> str | None:
    """Fields of one postfix message; returns a level."""
    if app and "/" in app:
        fields["process"] = app.split("/", 1)[1]
    level = "info"
    body = msg
    lm = _LEVEL_PREFIX.match(body)
    if lm is not None:
        level = _LEVELS[lm.group(1)]
        body = body[lm.end() :]
    qm = _QUEUE.match(body)
    if qm is not None:
        if qm.group(1) != "NOQUEUE":
            fields["queue_id"] = qm.group(1)
        body = body[qm.end() :]
    rm = _REJECT.match(body)
    if rm is not None:
        fields["action"] = rm.group(1)
        fields["command"] = rm.group(2)
        level = "warning" if level == "info" else level
    for key, value in _KV.findall(body):
        if key in fields and key in ("process", "queue_id"):
            continue
        if value.startswith("<") and value.endswith(">"):
            value = value[1:-1]
        elif key == "status" and " (" in value:
            value, _, response = value.partition(" (")
            fields["response"] = response[:-1]
        if key in _FLOATS:
            try:
                fields[key] = float(value)
                continue
            except ValueError:
                pass
        if key in _INTS and value.isdigit():
            fields[key] = int(value)
            continue
        fields[key] = value
    if "client" not in fields:
        pm = _PEER.search(body)
        if pm is not None:
            if pm.group(1):
                fields["client_host"] = pm.group(1)
            fields["client_ip"] = pm.group(2)
            if pm.group(3):
                fields["client_port"] = int(pm.group(3))
    if "action" not in fields and "status" not in fields:
        em = _EVENT.match(body)
        if em is not None:
            fields["event"] = em.group(1) or em.group(2)
    if fields.get("status") in ("bounced", "deferred"):
        level = "warning" if level == "info" else level
    return level


class PostfixParser(LineParser):
    name = "postfix"
    description = "Postfix mail log: syslog header (optional), process, queue_id, key=value fields, status."
    expected = "postfix"

    def __init__(self, now: Callable[[], float] | None = None, tz: str | None = None) -> None:
        self.syslog = SyslogParser(now=now, tz=tz, enrich=enrich)

    def match(self, line: str) -> Record | None:
        rec = self.syslog.match(line)
        if rec is not None:
            return rec
        # A bare message (no syslog header), e.g. from journald's MESSAGE.
        fields: dict[str, Any] = {}
        level = enrich(None, line, fields)
        return Record(level=level, message=line, fields=fields)
