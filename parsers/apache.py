"""Apache httpd: access logs (common and combined; fields named as nginx's variables) and the
error log (2.2 ``[date] [level] msg`` and 2.4 ``[date] [module:level] [pid N:tid M] [client A]``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record, normalise_level
from parsers.nginx import ACCELERATED, AccessLogMatcher
from parsers.timestamps import StrptimeFormat, Zone

_ERROR = re.compile(
    r"(?:\[(?:\w{3} )?(\w{3} \d\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] )?\[(?:([\w-]*):)?(\w+)\] "
    r"(?:\[pid (\d+)(?::tid (\d+))?\] )?(?:\[client ([^\]]+)\] )?(.*)",
    re.DOTALL,
)


class ApacheErrorMatcher:
    def __init__(self, tz: str | None = None, now: Callable[[], float] | None = None) -> None:
        zone = Zone(tz)
        self._ts = StrptimeFormat("%b %d %H:%M:%S.%f %Y", zone, now)
        self._ts_whole = StrptimeFormat("%b %d %H:%M:%S %Y", zone, now)

    def match(self, line: str) -> Record | None:
        m = _ERROR.match(line)
        if m is None:
            return None
        tstr, module, lvl, pid, tid, client, msg = m.groups()
        ts = None
        if tstr is not None:
            # A line without its date (as some tools quote it) still parses; ts is then unset.
            ts = (self._ts if "." in tstr else self._ts_whole).parse(tstr)
            if ts is None:
                return None
        fields: dict[str, Any] = {}
        if module:
            fields["module"] = module
        if pid:
            fields["pid"] = int(pid)
        if tid:
            fields["tid"] = int(tid)
        if client:
            fields["client"] = client
        return Record(ts_ns=ts, level=normalise_level(lvl), message=msg, fields=fields)


class ApacheParser(LineParser):
    name = "apache"
    description = "Apache httpd access log (common, combined) and error log (2.2 and 2.4 layouts)."
    expected = "Apache access or error log"

    compiled = ACCELERATED

    def __init__(
        self, tz: str | None = None, now: Callable[[], float] | None = None, compiled: bool = True
    ) -> None:
        self.access = AccessLogMatcher(compiled)
        self.error = ApacheErrorMatcher(tz, now)

    def match(self, line: str) -> Record | None:
        if line.startswith("["):
            return self.error.match(line)
        return self.access.match(line)

    def parse_batch(self, lines: list[str]) -> list[Record]:
        # Combined lines through nginx's batch path (compiled where built; the same records as
        # match() gives them); every other line, error-log lines included, through match().
        return self.access.match_many(lines, self.parse_line)
