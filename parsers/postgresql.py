"""PostgreSQL server logs: the default stderr prefix (``%m [%p] user@db LEVEL:  message``, with
or without ``user@db``) and ``csvlog``.

Fields: ``pid``, ``user``, ``database``, ``severity`` (PostgreSQL's own word), ``duration_ms``
and ``statement`` for slow-query lines; csvlog adds every column (``sql_state_code``,
``session_id``, ``application_name``, ``query``...). Statements span lines: use a multiline
start on the timestamp (``^\\d{4}-\\d\\d-\\d\\d``) so that they are joined.
"""

from __future__ import annotations

import csv
import re
from typing import Any

from parsers.base import LineParser, Record
from parsers.timestamps import TZ_ABBREVIATIONS, Zone, parse_offset, parse_rfc3339

SEVERITY_LEVELS = {
    "DEBUG1": "debug",
    "DEBUG2": "debug",
    "DEBUG3": "debug",
    "DEBUG4": "debug",
    "DEBUG5": "debug",
    "INFO": "info",
    "NOTICE": "notice",
    "WARNING": "warning",
    "ERROR": "error",
    "LOG": "info",
    "FATAL": "critical",
    "PANIC": "alert",
    "STATEMENT": "info",
    "DETAIL": "info",
    "HINT": "info",
    "CONTEXT": "info",
    "LOCATION": "info",
    "QUERY": "info",
}
_TS = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: ([A-Za-z]{1,5}|[+-]\d\d(?::?\d\d)?))?"
_STDERR = re.compile(
    _TS + r" \[(\d+)\](?:[:-]\d+)? (?:(\S*)@(\S*) )?(?:\S+ )?([A-Z][A-Z0-9]+):  (.*)", re.DOTALL
)
_DURATION = re.compile(
    r"duration: (\d+(?:\.\d+)?) ms(?:  (?:statement|execute \S*|parse \S*|bind \S*): (.*))?", re.DOTALL
)
CSV_COLUMNS = (
    "log_time",
    "user",
    "database",
    "pid",
    "connection_from",
    "session_id",
    "session_line_num",
    "command_tag",
    "session_start_time",
    "virtual_transaction_id",
    "transaction_id",
    "severity",
    "sql_state_code",
    "message",
    "detail",
    "hint",
    "internal_query",
    "internal_query_pos",
    "context",
    "query",
    "query_pos",
    "location",
    "application_name",
    "backend_type",
    "leader_pid",
    "query_id",
)


def pg_time(text: str, zone_text: str | None, zone: Zone) -> int | None:
    if zone_text:
        off = parse_offset(zone_text)
        if off is None:
            off = TZ_ABBREVIATIONS.get(zone_text.upper())
            if off is None:
                return None
        return parse_rfc3339(
            text
            + (
                "Z"
                if off == 0
                else f"{'+' if off >= 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
            )
        )
    return parse_rfc3339(text, zone)


class PostgresqlParser(LineParser):
    name = "postgresql"
    description = (
        "PostgreSQL logs: default stderr prefix and csvlog; severity, pid, user, database, duration_ms."
    )
    expected = "PostgreSQL log"

    def __init__(self, tz: str | None = None) -> None:
        self.zone = Zone(tz)

    def match(self, line: str) -> Record | None:
        m = _STDERR.match(line)
        if m is not None:
            ts_text, zone_text, pid, user, db, sev, msg = m.groups()
            ts = pg_time(ts_text, zone_text, self.zone)
            if ts is None or sev not in SEVERITY_LEVELS:
                return None
            fields: dict[str, Any] = {"pid": int(pid), "severity": sev}
            if user:
                fields["user"] = user
            if db:
                fields["database"] = db
            d = _DURATION.match(msg)
            if d is not None:
                fields["duration_ms"] = float(d.group(1))
                if d.group(2):
                    fields["statement"] = d.group(2)
            return Record(ts_ns=ts, level=SEVERITY_LEVELS[sev], message=msg, fields=fields)
        if (line[:4].isdigit() and '",' in line) or ",," in line:
            return self._csv(line)
        return None

    def _csv(self, line: str) -> Record | None:
        try:
            rows = list(csv.reader([line]))
        except csv.Error:
            return None
        if len(rows) != 1 or len(rows[0]) < 23:
            return None
        row = rows[0]
        ts_date, _, rest = row[0].rpartition(" ") if row[0].count(" ") >= 2 else (row[0], "", "")
        ts = pg_time(ts_date, rest or None, self.zone)
        if ts is None:
            return None
        fields: dict[str, Any] = {}
        for name, value in zip(CSV_COLUMNS, row, strict=False):
            if value == "" or name in ("log_time", "message"):
                continue
            fields[name] = (
                int(value) if name in ("pid", "session_line_num", "leader_pid") and value.isdigit() else value
            )
        sev = fields.get("severity", "")
        if sev not in SEVERITY_LEVELS:
            return None
        return Record(ts_ns=ts, level=SEVERITY_LEVELS[sev], message=row[13], fields=fields)
