"""Encode batches as NDJSON events (the file and stdout sinks, ``logagent parse``, ``grep --json``).

One event is one JSON object: ``ts`` (RFC 3339, UTC, ns), ``source``, ``path`` (file sources),
``labels``, ``fields``, then ``level``/``message``/``parse_error``/``flags`` when known, and ``line``
(the raw line, no newline). A batch is encoded in one call: the parts shared by every line of a
raw batch are encoded once.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from logagent.event import Batch, flag_names

_last_sec = -1
_last_prefix = ""


def format_ts(ns: int) -> str:
    """RFC 3339 in UTC with nanoseconds: ``2024-05-01T12:00:00.123456789Z``."""
    global _last_sec, _last_prefix
    sec, frac = divmod(ns, 1_000_000_000)
    if sec != _last_sec:
        _last_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _last_sec = sec
    return f"{_last_prefix}.{frac:09d}Z"


def event_dicts(batch: Batch) -> list[dict[str, Any]]:
    """Each line of ``batch`` as an event dict (the slow, general path)."""
    out = []
    records = batch.records
    for i, line in enumerate(batch.lines):
        event: dict[str, Any] = {
            "ts": format_ts(batch.line_ts_ns(i)),
            "source": batch.source,
        }
        if batch.path is not None:
            event["path"] = batch.path
        event["labels"] = batch.labels
        fields: dict[str, Any] = dict(batch.fields[i]) if batch.fields is not None else {}
        if records is not None:
            rec = records[i]
            fields.update(rec.fields)
            if rec.level is not None:
                event["level"] = rec.level
            if rec.message is not None:
                event["message"] = rec.message
            if rec.error is not None:
                event["parse_error"] = rec.error
        event["fields"] = fields
        if batch.flags is not None and batch.flags[i]:
            event["flags"] = flag_names(batch.flags[i])
        event["line"] = line
        out.append(event)
    return out


def encode_ndjson(batch: Batch) -> bytes:
    """The batch as NDJSON, one event per line, each ending in ``\\n``."""
    if batch.records is None and batch.flags is None and batch.ts_ns is None and batch.fields is None:
        head = {"ts": format_ts(batch.read_ts_ns), "source": batch.source}
        if batch.path is not None:
            head["path"] = batch.path
        if not batch.lines:
            return b""
        prefix = orjson.dumps({**head, "labels": batch.labels, "fields": {}})[:-1] + b',"line":'
        # Encode every line in one call: the JSON array '["a","b"]' becomes the events by one
        # replace of the separators. Safe: inside an encoded string every '"' is escaped, so
        # '","' only ever occurs between elements.
        body = orjson.dumps(batch.lines)[1:-1]
        return prefix + body.replace(b'","', b'"}\n' + prefix + b'"') + b"}\n"
    return b"".join([orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in event_dicts(batch)])
