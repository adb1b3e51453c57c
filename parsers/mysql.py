"""MySQL/MariaDB: the error log (8.0 ``ts thread [Level] [MY-code] [Subsystem] msg``, 5.7
``ts thread [Level] msg``, 5.5 ``yymmdd hh:mm:ss [Level] msg``) and the slow query log.

A slow-log entry spans lines (``# Time``, ``# User@Host``, ``# Query_time``, ``SET timestamp``,
the statement); joined by a multiline start of ``^# (Time|User@Host):`` it is one record with
``user``, ``client_host``, ``client_ip``, ``query_time`` (s), ``lock_time``, ``rows_sent``,
``rows_examined`` and ``query``. Read line by line, each header line still parses (its fields only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.timestamps import StrptimeFormat, Zone, parse_rfc3339, parse_unix

_LEVELS = {
    "note": "notice",
    "system": "info",
    "warning": "warning",
    "error": "error",
    "info": "info",
    "debug": "debug",
}
_ERR8 = re.compile(
    r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?) +(\d+) \[(\w+)\]"
    r"(?: \[(MY-\d+)\])?(?: \[(\w+)\])? ?(.*)",
    re.DOTALL,
)
_ERR55 = re.compile(r"(\d{6} {1,2}\d{1,2}:\d\d:\d\d) (?:(\d+) )?\[(\w+)\] (.*)", re.DOTALL)
_SLOW_TIME = re.compile(r"# Time: (\S+(?: \S+)?)")
_SLOW_USER = re.compile(r"# User@Host: (\S*)\[[^\]]*\] @ (\S*) ?\[([^\]]*)\](?:\s+Id:\s+(\d+))?")
_SLOW_STATS = re.compile(
    r"# Query_time: (\d+(?:\.\d+)?)\s+Lock_time: (\d+(?:\.\d+)?)\s+Rows_sent: (\d+)\s+Rows_examined: (\d+)"
)
_SLOW_SET_TS = re.compile(r"SET timestamp=(\d+);")


class MysqlErrorMatcher:
    """The error log alone (``auto`` uses this: the slow log needs multiline joining)."""

    name = "mysql_error"

    def __init__(self, tz: str | None = None, now: Callable[[], float] | None = None) -> None:
        self.zone = Zone(tz)
        self._ts55 = StrptimeFormat("%y%m%d %H:%M:%S", self.zone, now)

    def match(self, line: str) -> Record | None:
        m = _ERR8.match(line)
        if m is not None:
            ts_text, thread, lvl, code, subsystem, msg = m.groups()
            level = _LEVELS.get(lvl.lower())
            if level is None:
                return None
            ts = parse_rfc3339(ts_text, self.zone)
            if ts is None:
                return None
            fields: dict[str, Any] = {"thread": int(thread), "severity": lvl}
            if code:
                fields["error_code"] = code
            if subsystem:
                fields["subsystem"] = subsystem
            return Record(ts_ns=ts, level=level, message=msg, fields=fields)
        m = _ERR55.match(line)
        if m is not None:
            level = _LEVELS.get(m.group(3).lower())
            ts = self._ts55.parse(m.group(1))
            if level is None or ts is None:
                return None
            fields = {"severity": m.group(3)}
            if m.group(2):
                fields["thread"] = int(m.group(2))
            return Record(ts_ns=ts, level=level, message=m.group(4), fields=fields)
        return None


def slow_record(text: str) -> Record | None:
    """A slow-log entry (one or more of its lines)."""
    fields: dict[str, Any] = {}
    ts = None
    matched = False
    query_lines = []
    for ln in text.split("\n"):
        if ln.startswith("# Time:"):
            m = _SLOW_TIME.match(ln)
            if m:
                ts = parse_rfc3339(m.group(1)) or StrptimeFormat("%y%m%d %H:%M:%S").parse(m.group(1))
                matched = True
        elif ln.startswith("# User@Host:"):
            m = _SLOW_USER.match(ln)
            if m:
                fields["user"] = m.group(1)
                if m.group(2):
                    fields["client_host"] = m.group(2)
                if m.group(3):
                    fields["client_ip"] = m.group(3)
                if m.group(4):
                    fields["connection_id"] = int(m.group(4))
                matched = True
        elif ln.startswith("# Query_time:"):
            m = _SLOW_STATS.match(ln)
            if m:
                fields["query_time"] = float(m.group(1))
                fields["lock_time"] = float(m.group(2))
                fields["rows_sent"] = int(m.group(3))
                fields["rows_examined"] = int(m.group(4))
                matched = True
        elif ln.startswith("SET timestamp="):
            m = _SLOW_SET_TS.match(ln)
            if m:
                ts = ts or parse_unix(m.group(1))
                matched = True
        elif ln.startswith("# "):
            matched = True
        elif matched and ln.strip():
            query_lines.append(ln)
    if not matched:
        return None
    if query_lines:
        fields["query"] = "\n".join(query_lines)
    return Record(
        ts_ns=ts,
        level="warning" if "query_time" in fields else None,
        message=fields.get("query", text),
        fields=fields,
    )


class MysqlSlowMatcher:
    """A slow-log entry joined into one record (``auto`` uses this)."""

    name = "mysql_slow"

    def match(self, line: str) -> Record | None:
        if not line.startswith(("# Time:", "# User@Host:")):
            return None
        return slow_record(line)


class MysqlParser(LineParser):
    name = "mysql"
    description = (
        "MySQL/MariaDB error log (5.5-8.0) and slow query log (query_time, rows_examined, query...)."
    )
    expected = "MySQL error or slow log"

    def __init__(self, tz: str | None = None, now: Callable[[], float] | None = None) -> None:
        self.error = MysqlErrorMatcher(tz, now)

    def match(self, line: str) -> Record | None:
        if line.startswith(("#", "SET timestamp=")):
            return slow_record(line)
        return self.error.match(line)
