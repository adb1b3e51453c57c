"""RabbitMQ logs: 3.9+ (``2023-01-03 07:20:19.811276+00:00 [info] <0.229.0> message``) and the
older ``=INFO REPORT==== 3-Jan-2023::07:20:19 ===`` header (its message follows on the next lines:
join them with a multiline start of ``^=\\w+ REPORT``).
"""

from __future__ import annotations

import re
from typing import Any

from parsers.base import LineParser, Record, normalise_level
from parsers.timestamps import StrptimeFormat, parse_rfc3339

_NEW = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?) \[(\w+)\] <([\d.]+)> ?(.*)", re.DOTALL
)
_OLD = re.compile(r"=(\w+) REPORT==== (\d{1,2}-\w{3}-\d{4}::\d\d:\d\d:\d\d(?:\.\d+)?) ===\n?(.*)", re.DOTALL)


class RabbitmqParser(LineParser):
    name = "rabbitmq"
    description = "RabbitMQ logs (3.9+ and the older =LEVEL REPORT==== layout): level, Erlang pid, message."
    expected = "RabbitMQ log"

    def __init__(self) -> None:
        self._old_ts = StrptimeFormat("%d-%b-%Y::%H:%M:%S.%f")
        self._old_ts_whole = StrptimeFormat("%d-%b-%Y::%H:%M:%S")

    def match(self, line: str) -> Record | None:
        m = _NEW.match(line)
        if m is not None:
            ts = parse_rfc3339(m.group(1))
            if ts is None:
                return None
            fields: dict[str, Any] = {"erlang_pid": m.group(3)}
            return Record(ts_ns=ts, level=normalise_level(m.group(2)), message=m.group(4), fields=fields)
        m = _OLD.match(line)
        if m is not None:
            t = m.group(2)
            ts = (self._old_ts if "." in t else self._old_ts_whole).parse(t)
            if ts is None:
                return None
            lvl = m.group(1).lower()
            return Record(
                ts_ns=ts,
                level=normalise_level("warning" if lvl.startswith("warn") else lvl),
                message=m.group(3),
                fields={},
            )
        return None
