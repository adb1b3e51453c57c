"""nginx access logs (``combined``/``main``, optional trailing ``$request_time`` and
``$upstream_response_time``, optional X-Forwarded-For prefix) and the nginx error log.

Access-log fields use nginx's variable names; the same regexes serve Apache's common and
combined formats. One ``re.match`` per line; times are parsed once per minute and cached per
second string (see ``AccessLogMatcher.match_many`` for the batch fast path). Where the optional
compiled module ``parsers._speedups`` is built, it reads the common combined lines of a batch
and hands every other line to the Python code here.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from parsers.base import LineParser, Record, normalise_level
from parsers.timestamps import NS, Zone, parse_clf

# remote_addr ident remote_user [time] "request" status bytes ["referer" "ua"] ["xff"] [rt [urt]] rest
_REQUEST = (
    r' \[([^\]]+)\] "(?:([A-Z][A-Z0-9_-]*) ([^ "]*)(?: ([^ "]+))?|([^"]*))" (\d{3}) (\d+|-)'
    r'(?: "([^"]*)" "([^"]*)")?'
    r'(?: "([^"]*)")?(?: (\d+(?:\.\d+)?|-)(?: (\d+(?:\.\d+)?(?:(?:, | : )\d+(?:\.\d+)?)*|-))?)?(.*)'
)
# Fast path: a plain address. Slow path: anything before "ident user [" (X-Forwarded-For lists,
# a quoted forwarded-for field, an IPv6 list...).
ACCESS_FAST = re.compile(r"(\S+) (\S+) (\S+)" + _REQUEST, re.DOTALL)
ACCESS_SLOW = re.compile(r"(.+?) (\S+) (\S+)" + _REQUEST, re.DOTALL)
# Hot path: the exact combined (+ request_time [+ upstream_response_time]) shape, few groups.
# Possessive quantifiers: each item is followed by a character it cannot contain, so giving back
# characters could never lead to a match (nor could skipping the optional tail: what it matched
# would then have to match \Z); saying so spares sre its backtracking bookkeeping (about 20 %
# of the match). The path is [^ "] spelled as the equivalent positive set, which sre tests with
# fewer steps per character (about 5 % of the match; equivalence is checked in the tests).
ACCESS_COMBINED = re.compile(
    r'(\S++) - (\S++) \[([^\]]++)\] "([A-Z]++) ([\x00-\x1f!#-\U0010ffff]*+) (HTTP/[\d.]++)" (\d{3}) (\d++) '
    r'"([^"]*+)" "([^"]*+)"(?: (\d++\.\d++)(?: (\d++\.\d++|-))?+)?+\Z'
)
# The same with ASCII digits ([0-9]: a range test; \d is a Unicode table lookup per digit, about
# 10 % of the match). It matches a subset of ACCESS_COMBINED's lines, with the same groups (a
# literal, never a digit, follows each run); a line it misses is tried with ACCESS_COMBINED.
ACCESS_COMBINED_ASCII = re.compile(
    r'(\S++) - (\S++) \[([^\]]++)\] "([A-Z]++) ([\x00-\x1f!#-\U0010ffff]*+) (HTTP/[0-9.]++)" '
    r'([0-9]{3}) ([0-9]++) "([^"]*+)" "([^"]*+)"(?: ([0-9]++\.[0-9]++)(?: ([0-9]++\.[0-9]++|-))?+)?+\Z'
)
# The compiled reader of the same lines (parsers/_speedups.c): optional, and switched off with
# LOGAGENT_NO_EXTENSIONS=1; every line it does not take is read by the Python code below.
_scan_combined: Callable[..., tuple[list[Any], int]] | None
try:
    if os.environ.get("LOGAGENT_NO_EXTENSIONS"):
        raise ImportError("LOGAGENT_NO_EXTENSIONS is set")
    from parsers._speedups import scan_combined as _scan_combined
except ImportError:  # not built (no C compiler at install time) or switched off
    _scan_combined = None

#: Whether the nginx/Apache access-log batch path runs compiled (see ``logagent parsers``).
ACCELERATED = _scan_combined is not None

_LEVELS_BY_CLASS = ("info", "warning", "error")  # status < 400, 4xx, 5xx
_COMBINED_KEYS = (
    "remote_addr",
    "remote_user",
    "method",
    "path",
    "protocol",
    "status",
    "body_bytes_sent",
    "http_referer",
    "http_user_agent",
    "request_time",
    "upstream_response_time",
)
_ADDR_SPLIT = re.compile(r'[\s,"]+')

_ERROR = re.compile(
    r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\] (?:(\d+)[#:](\d+):? ?)?(?:\*(\d+) )?(.*)",
    re.DOTALL,
)
_ERROR_CONTEXT = re.compile(r', (client|server|request|upstream|host|referrer|subrequest): ("[^"]*"|[^,]*)')


def status_level(status: int) -> str:
    """An access log's level from its status: 5xx error, 4xx warning, else info."""
    return "error" if status >= 500 else "warning" if status >= 400 else "info"


# "404" -> (404, "warning"): one dict hit per line instead of int() and comparisons.
_STATUS: dict[str, tuple[int, str]] = {str(n): (n, status_level(n)) for n in range(100, 1000)}

_new_record = object.__new__


_SECONDS = tuple(f"{s:02d}" for s in range(61))  # 60: a leap second, as parse_clf allows


class _TimeCache(dict[str, int]):
    """CLF time string -> ns, filled on a miss; a string that is no time raises KeyError.

    A busy log has a few lines per second, so a per-second cache alone misses every few lines;
    a miss on ``dd/Mon/yyyy:HH:MM:SS +zzzz`` therefore fills all 61 seconds of its minute.
    """

    def __init__(self) -> None:
        super().__init__()
        # "dd/Mon/yyyy:HH:MM" + " +zzzz" -> ns at second 0 of that minute: one parse per minute.
        self._minute_cache: dict[str, int] = {}

    def convert(self, tstr: str) -> int | None:
        """ns of a CLF time string, or None (what the line-by-line matcher calls; no caching here)."""
        if len(tstr) == 26 and tstr[17] == ":" and tstr[20] == " ":
            key = tstr[:17] + tstr[20:]
            base = self._minute_cache.get(key)
            if base is None:
                parsed = parse_clf(tstr[:18] + "00" + tstr[20:])
                if parsed is None:
                    return None
                if len(self._minute_cache) > 4096:
                    self._minute_cache.clear()
                self._minute_cache[key] = base = parsed
            sec = tstr[18:20]
            if not sec.isdigit() or sec > "60":
                return None
            return base + int(sec) * NS
        return parse_clf(tstr)

    def __missing__(self, tstr: str) -> int:
        ts = self.convert(tstr)
        if ts is None:
            raise KeyError(tstr)
        if len(self) > 4096:  # about an hour of a busy log; bounded memory per parser
            self.clear()
        sec = tstr[18:20]
        if len(tstr) == 26 and tstr[17] == ":" and tstr[20] == " " and sec in _SECONDS:
            # Exactly what convert() gives for each second: the minute's time plus the seconds.
            head = tstr[:18]
            tail = tstr[20:]
            base = ts - int(sec) * NS
            stamps = [head + s + tail for s in _SECONDS]
            self.update(zip(stamps, range(base, base + 61 * NS, NS), strict=True))
        else:
            self[tstr] = ts
        return ts


class _FloatCache(dict[str, float]):
    """``$request_time``-style number string -> float, filled on a miss (there are only a few
    thousand distinct values: a dict hit is cheaper than ``float()``)."""

    def __missing__(self, text: str) -> float:
        value = float(text)
        if len(self) > 4096:
            self.clear()
        self[text] = value
        return value


class _Fields:
    """Builds a fields dict: the ``__dict__`` of an instance whose attributes are set one by one.

    CPython stores such attributes in a values array against keys shared by the class, and
    ``__dict__`` then wraps that array in a real ``dict`` (``type(d) is dict``, same order, same
    behaviour when changed later) without hashing or inserting a single key: 40 % cheaper than
    a dict display of the same items, which inserts key by key. Attributes never set (no
    request_time on this line) are simply not in the dict. The annotations are for type checkers
    only (no class attributes).
    """

    remote_addr: str
    remote_user: str
    method: str
    path: str
    protocol: str
    status: int
    body_bytes_sent: int
    http_referer: str
    http_user_agent: str
    request_time: float
    upstream_response_time: float


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC off for a batch: it would otherwise walk the young records every few hundred
    lines although none of them can be part of a cycle. Restores the state it found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class AccessLogMatcher:
    """The combined/common access-log matcher shared by nginx and Apache.

    ``compiled=False`` keeps to the pure-Python batch path even where the compiled one is built
    (the tests run both and compare them).
    """

    def __init__(self, compiled: bool = True) -> None:
        self._ts_cache = _TimeCache()
        self._time = self._ts_cache.convert
        self._floats = _FloatCache()
        self._scan = _scan_combined if compiled else None

    def match_many(self, lines: list[str], other: Callable[[str], Record]) -> list[Record]:
        """Records for a batch: the combined shape read by the compiled scanner where it is built,
        what it leaves (and everything, without it) by :meth:`match_many_python`."""
        scan = self._scan
        if scan is None:
            return self.match_many_python(lines, other)
        with _gc_paused():
            records, misses = scan(lines, Record, self._ts_cache, _LEVELS_BY_CLASS, _COMBINED_KEYS)
        if misses:
            python_path = self.match_many_python
            for i, rec in enumerate(records):
                if rec is None:
                    records[i] = python_path([lines[i]], other)[0]
        return records

    def match_many_python(self, lines: list[str], other: Callable[[str], Record]) -> list[Record]:
        """Records for a batch: the combined shape read inline, any other line by ``other``.

        Per line this is one regex match (``map`` over the batch, so the call is made from C;
        a line with non-ASCII digits gets a second try with the Unicode pattern), one
        ``groups()``, dict hits for the time, status and times, one ``int()``, the fields dict
        (see :class:`_Fields`) and the record. Anything unexpected (a time that
        is no time, status 099, a 5000-digit byte count) raises inside the line's ``try`` and
        the line is read the slow way by ``other``. The record is made by ``object.__new__`` and
        five slot stores: a third cheaper than calling ``Record()`` (a Python ``__init__``
        frame per line). The cyclic GC is paused for the batch (see :func:`_gc_paused`).
        """
        combined = ACCESS_COMBINED.match
        ts_cache = self._ts_cache
        floats = self._floats
        status_of = _STATUS
        new = _new_record
        record = Record
        out: list[Record] = []
        append = out.append
        with _gc_paused():
            for line, m in zip(lines, map(ACCESS_COMBINED_ASCII.match, lines), strict=True):
                if m is None:
                    m = combined(line)
                    if m is None:
                        append(other(line))
                        continue
                addr, user, tstr, method, path, proto, status, nbytes, ref, ua, rt, urt = m.groups()
                try:
                    rec = new(record)
                    rec.ts_ns = ts_cache[tstr]
                    st, rec.level = status_of[status]
                    rec.message = line
                    rec.error = None
                    # The fields dict is the __dict__ of a throwaway object whose attributes are set
                    # in a fixed order (see _Fields).
                    f = new(_Fields)
                    f.remote_addr = addr
                    f.remote_user = user
                    f.method = method
                    f.path = path
                    f.protocol = proto
                    f.status = st
                    f.body_bytes_sent = int(nbytes)
                    f.http_referer = ref
                    f.http_user_agent = ua
                    if rt is not None:
                        f.request_time = floats[rt]
                        if urt is not None and urt != "-":
                            f.upstream_response_time = floats[urt]
                    rec.fields = f.__dict__
                except Exception:  # an odd line the fast path trips over: read it the slow way
                    rec = other(line)
                append(rec)
        return out

    def match(self, line: str) -> Record | None:
        m = ACCESS_FAST.match(line)
        prefix = None
        if m is None:
            m = ACCESS_SLOW.match(line)
            if m is None:
                return None
            prefix = m.group(1)
        (
            addr,
            ident,
            user,
            tstr,
            method,
            path,
            proto,
            request,
            status,
            nbytes,
            ref,
            ua,
            xff,
            rt,
            urt,
            rest,
        ) = m.groups()
        ts = self._time(tstr)
        if ts is None:
            return None
        st = int(status)
        level = "info" if st < 400 else "warning" if st < 500 else "error"
        if method is not None and proto is not None and ref is not None and nbytes != "-" and prefix is None:
            # The common shape, built in one go (this is the hot path of the nginx benchmark).
            fields: dict[str, Any] = {
                "remote_addr": addr,
                "remote_user": user,
                "method": method,
                "path": path,
                "protocol": proto,
                "status": st,
                "body_bytes_sent": int(nbytes),
                "http_referer": ref,
                "http_user_agent": ua,
            }
            if rt is not None:
                if rt != "-":
                    fields["request_time"] = float(rt)
                if urt is not None and urt != "-":
                    fields["upstream_response_time"] = (
                        float(urt) if "," not in urt and ":" not in urt else urt
                    )
            if xff is None and ident == "-" and not rest:
                return Record(ts, level, line, fields)
            if xff is not None:
                fields["http_x_forwarded_for"] = xff
            if ident != "-":
                fields["ident"] = ident
            if rest and rest.strip():
                fields["extra"] = rest.strip()
            return Record(ts, level, line, fields)
        fields = {"remote_addr": addr, "remote_user": user}
        if prefix is not None:
            addrs = [a for a in _ADDR_SPLIT.split(prefix) if a]
            fields["remote_addr"] = addrs[-1]
            if len(addrs) > 1:
                fields["http_x_forwarded_for"] = ", ".join(addrs[:-1])
        if ident != "-":
            fields["ident"] = ident
        if method is not None:
            fields["method"] = method
            fields["path"] = path
            if proto is not None:
                fields["protocol"] = proto
        elif request:
            fields["request"] = request
        fields["status"] = st
        if nbytes != "-":
            fields["body_bytes_sent"] = int(nbytes)
        if ref is not None:
            fields["http_referer"] = ref
            fields["http_user_agent"] = ua
        if xff is not None:
            fields["http_x_forwarded_for"] = xff
        if rt is not None and rt != "-":
            fields["request_time"] = float(rt)
        if urt is not None and urt != "-":
            fields["upstream_response_time"] = float(urt) if "," not in urt and ":" not in urt else urt
        if rest:
            rest = rest.strip()
            if rest:
                fields["extra"] = rest
        return Record(ts, level, line, fields)


class NginxErrorMatcher:
    """``YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid message, client: ..., server: ...``."""

    def __init__(self, tz: str | None = None) -> None:
        self.zone = Zone(tz)

    def match(self, line: str) -> Record | None:
        m = _ERROR.match(line)
        if m is None:
            return None
        y, mo, d, h, mi, s, lvl, pid, tid, cid, msg = m.groups()
        try:
            ts = self.zone.civil(int(y), int(mo), int(d), int(h), int(mi), int(s))
        except ValueError:
            return None
        fields: dict[str, Any] = {"pid": int(pid), "tid": int(tid)} if pid is not None else {}
        if cid is not None:
            fields["connection"] = int(cid)
        ctx = _ERROR_CONTEXT.search(msg)
        if ctx is not None:
            for key, value in _ERROR_CONTEXT.findall(msg, ctx.start()):
                fields[key] = value[1:-1] if value.startswith('"') else value
            msg = msg[: ctx.start()]
        return Record(ts_ns=ts, level=normalise_level(lvl), message=msg, fields=fields)


class NginxParser(LineParser):
    name = "nginx"
    description = (
        "nginx access log (combined/main, optional request_time/upstream_response_time) and error log."
    )
    compiled = ACCELERATED
    expected = "nginx access or error log"

    def __init__(
        self, tz: str | None = None, now: Callable[[], float] | None = None, compiled: bool = True
    ) -> None:
        self.access = AccessLogMatcher(compiled)
        self.error = NginxErrorMatcher(tz)

    def match(self, line: str) -> Record | None:
        rec = self.access.match(line)
        if rec is None:
            rec = self.error.match(line)
        return rec

    def parse_batch(self, lines: list[str]) -> list[Record]:
        # Not the common combined shape: match() line by line (the general access regexes, then
        # the error log).
        return self.access.match_many(lines, self.parse_line)
