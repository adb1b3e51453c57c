"""CRI container logs (containerd, CRI-O; ``/var/log/pods``): ``<RFC 3339 ns> <stream> <P|F> <text>``.

``P`` marks a partial line (the runtime split a long line); it is kept as ``partial = true`` so
a multiline/merge step can join it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from parsers.base import LineParser, Record
from parsers.timestamps import parse_rfc3339

_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\S+) (stdout|stderr) ([FP])(?:[^ ]*)(?: (.*))?", re.DOTALL)


class CriParser(LineParser):
    name = "cri"
    description = "CRI (containerd/CRI-O) container log lines: time, stream, partial flag, message."
    expected = "CRI log"

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        self._ts_cache: dict[str, int | None] = {}

    def match(self, line: str) -> Record | None:
        m = _CRI.match(line)
        if m is None:
            return None
        ts = parse_rfc3339(m.group(1))
        if ts is None:
            return None
        fields: dict[str, object] = {"stream": m.group(2)}
        if m.group(3) == "P":
            fields["partial"] = True
        return Record(ts_ns=ts, message=m.group(4) or "", fields=fields)
