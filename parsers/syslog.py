"""Syslog lines: RFC 5424 and RFC 3164 (BSD, as written to /var/log by rsyslog/syslog-ng),
detected per line; the ``<PRI>`` prefix is optional in 3164.

Year-less 3164 stamps are resolved against the parser's clock (see
:func:`parsers.timestamps.resolve_year`). Other parsers reuse :class:`SyslogParser` with an
``enrich`` hook that reads the program's own message (sshd, postfix, kernel netfilter...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.timestamps import MONTHS, YearlessResolver, Zone, frac_ns, parse_rfc3339

#: Syslog severities 0-7 as normalised levels.
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")
FACILITIES = (
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
)

# An "enricher" reads the message of one program: (app, message, fields) -> level or None. It may
# set fields["_ts_ns"] to a more precise event time.
Enricher = Callable[[str | None, str, dict[str, Any]], str | None]

_RFC5424 = re.compile(
    r"<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) "
    r"(-|(?:\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)(?: (.*))?",
    re.DOTALL,
)
_SD_ELEMENT = re.compile(r"\[([^\s\]=\"]+)((?:\s+[^\s=\]\"]+=\"(?:[^\"\\]|\\.)*\")*)\s*\]")
_SD_PARAM = re.compile(r"([^\s=\]\"]+)=\"((?:[^\"\\]|\\.)*)\"")
_SD_UNESCAPE = re.compile(r"\\([\"\\\]])")

# RFC 3164 with the classic stamp or an ISO one (rsyslog's high-precision template).
_RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?"
    r"(?:([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: (\d{4}))?"
    r"|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)) "
    r"(?:(\S+) )??"
    r"([^\s\[\]:]+(?:\([^\s)]*\))?)(?:\[(\w[^\]]*)\])?: ?(.*)",
    re.DOTALL,
)
# Same header without a program tag: "Mmm dd hh:mm:ss host free text".
_RFC3164_NOTAG = re.compile(
    r"(?:<(\d{1,3})>)?"
    r"(?:([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?: (\d{4}))?"
    r"|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)) "
    r"(\S+)(?: (.*))?",
    re.DOTALL,
)


def pri_fields(pri: int, fields: dict[str, Any]) -> str:
    """Set ``facility`` from a PRI value; return the severity as a level."""
    fac = pri >> 3
    fields["facility"] = FACILITIES[fac] if fac < len(FACILITIES) else str(fac)
    return SEVERITIES[pri & 7]


def parse_structured_data(sd: str) -> dict[str, dict[str, str]]:
    """``[id k="v"][id2 ...]`` -> {id: {k: v}} (escapes \\" \\\\ \\] undone)."""
    out: dict[str, dict[str, str]] = {}
    for m in _SD_ELEMENT.finditer(sd):
        params = out.setdefault(m.group(1), {})
        for p in _SD_PARAM.finditer(m.group(2)):
            params[p.group(1)] = _SD_UNESCAPE.sub(r"\1", p.group(2))
    return out


class SyslogParser(LineParser):
    name = "syslog"
    description = "Syslog: RFC 5424 and RFC 3164 (with or without <PRI>), detected per line."
    expected = "syslog (RFC 3164/5424)"

    def __init__(
        self,
        now: Callable[[], float] | None = None,
        tz: str | None = None,
        enrich: Enricher | None = None,
    ) -> None:
        self.zone = Zone(tz)
        self.resolver = YearlessResolver(now, self.zone)
        self.enrich = enrich
        self._ts_cache: dict[tuple[str, str, str], int] = {}

    def _classic_ts(
        self, mon: str, day: str, h: str, mi: str, s: str, frac: str | None, year: str | None
    ) -> int:
        if year is not None:
            ns = self.zone.civil(int(year), MONTHS[mon], int(day), int(h), int(mi), int(s))
        else:
            # One year resolution and zone lookup per (month, day, hour); minutes and seconds add.
            key = (mon, day, h)
            base = self._ts_cache.get(key)
            if base is None:
                base = self.resolver.ns(MONTHS[mon], int(day), int(h), 0, 0)
                if len(self._ts_cache) > 2048:
                    self._ts_cache.clear()
                self._ts_cache[key] = base
            mi_i = int(mi)
            s_i = int(s)
            if mi_i > 59 or s_i > 60:
                raise ValueError("minute or second out of range")
            ns = base + (mi_i * 60 + s_i) * 1_000_000_000
        return ns + frac_ns(frac) if frac else ns

    def match(self, line: str) -> Record | None:
        if line.startswith("<"):
            gt = line.find(">", 1, 6)
            # "<PRI>1 " is RFC 5424; anything else after <PRI> is tried as RFC 3164.
            if gt > 0 and line[gt + 1 : gt + 3] == "1 " and (m := _RFC5424.match(line)) is not None:
                return self._rfc5424(m)
        m = _RFC3164.match(line)
        tagged = m is not None
        if m is None:
            m = _RFC3164_NOTAG.match(line)
            if m is None:
                return None
        g = m.groups()
        fields: dict[str, Any] = {}
        level = None
        if g[0] is not None:
            level = pri_fields(int(g[0]), fields)
        ts: int | None
        try:
            if g[1] is not None:
                ts = self._classic_ts(g[1], g[2], g[3], g[4], g[5], g[6], g[7])
            else:
                ts = parse_rfc3339(g[8], self.zone)
        except (KeyError, ValueError):
            return None
        if tagged:
            host, app, pid, msg = g[9], g[10], g[11], g[12]
            if host is not None:
                fields["host"] = host
            fields["app"] = app
            if pid is not None:
                fields["pid"] = int(pid) if pid.isdigit() else pid
        else:
            fields["host"] = g[9]
            app = None
            msg = g[10] or ""
        if self.enrich is not None:
            lvl = self.enrich(app, msg, fields)
            if level is None:
                level = lvl
            # An enricher may know a more precise time (HAProxy's accept date, with ms).
            ts = fields.pop("_ts_ns", ts)
        return Record(ts_ns=ts, level=level, message=msg, fields=fields)

    def _rfc5424(self, m: re.Match[str]) -> Record | None:
        pri, _version, ts_s, host, app, procid, msgid, sd, msg = m.groups()
        fields: dict[str, Any] = {}
        level = pri_fields(int(pri), fields)
        ts = None
        if ts_s != "-":
            ts = parse_rfc3339(ts_s, self.zone)
            if ts is None:
                return None
        if host != "-":
            fields["host"] = host
        if app != "-":
            fields["app"] = app
        if procid != "-":
            fields["pid"] = int(procid) if procid.isdigit() else procid
        if msgid != "-":
            fields["msgid"] = msgid
        if sd != "-":
            fields["structured_data"] = parse_structured_data(sd)
        msg = msg or ""
        if msg.startswith("\ufeff"):
            msg = msg[1:]
        if self.enrich is not None:
            self.enrich(None if app == "-" else app, msg, fields)
        return Record(ts_ns=ts, level=level, message=msg, fields=fields)
