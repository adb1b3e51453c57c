"""Aggregations over selected lines: ``--count-by FIELD`` (a table) and ``--histogram`` (a bar
chart of matches over time, drawn on the terminal)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from logagent.grep.fields import _MISSING, FieldError, lookup, parse_duration
from parsers.base import Record

#: Bucket widths ``--histogram`` (no width) picks from, smallest that keeps the chart short.
NICE_BUCKETS_SECS = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800)
#: ``--histogram`` without a width aims for at most this many bars.
AUTO_MAX_BARS = 40
#: Refuse charts longer than this (a too small width over a long range).
MAX_BARS = 5000
BAR_WIDTH = 50


class CountBy:
    """Counts selected lines per value of one field."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.counts: Counter[str] = Counter()
        self.selected = 0

    def add(self, rec: Record | None, line: bytes) -> None:
        self.selected += 1
        v: Any = _MISSING if rec is None else lookup(rec, self.field)
        if v is _MISSING or v is None:
            key = "(none)"
        elif isinstance(v, (dict, list)):
            import orjson

            key = orjson.dumps(v).decode()
        elif isinstance(v, bool):
            key = "true" if v else "false"
        else:
            key = str(v)
        self.counts[key] += 1

    def render(self) -> bytes:
        rows = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        width = max([len("COUNT")] + [len(str(c)) for _, c in rows])
        lines = [f"{'COUNT':>{width}}  {self.field}"]
        lines += [f"{c:>{width}}  {k}" for k, c in rows]
        return ("\n".join(lines) + "\n").encode()


class Histogram:
    """Matches per time bucket; lines without a time are counted apart."""

    def __init__(self, bucket: str | None) -> None:
        self.bucket_secs: float | None = None
        if bucket not in (None, "auto", ""):
            assert bucket is not None
            self.bucket_secs = parse_duration(bucket)
            if self.bucket_secs <= 0:
                raise FieldError(f"invalid --histogram width {bucket!r}")
        self.times: list[int] = []
        self.untimed = 0
        self.selected = 0

    def add(self, ts_ns: int | None) -> None:
        self.selected += 1
        if ts_ns is None:
            self.untimed += 1
        else:
            self.times.append(ts_ns)

    def _width(self, lo: int, hi: int) -> float:
        if self.bucket_secs is not None:
            return self.bucket_secs
        span = (hi - lo) / 1e9
        for w in NICE_BUCKETS_SECS:
            if span / w < AUTO_MAX_BARS:
                return float(w)
        return float(NICE_BUCKETS_SECS[-1])

    def render(self, color: bool = False) -> bytes:
        if not self.times:
            out = "no timestamped lines matched\n"
            if self.untimed:
                out += f"{self.untimed} matching lines had no time (use --parser)\n"
            return out.encode()
        lo, hi = min(self.times), max(self.times)
        width = self._width(lo, hi)
        wns = int(width * 1e9)
        first = lo // wns * wns
        nbars = (hi - first) // wns + 1
        if nbars > MAX_BARS:
            raise FieldError(f"--histogram would draw {nbars} bars; use a wider bucket")
        counts = [0] * nbars
        for t in self.times:
            counts[(t - first) // wns] += 1
        top = max(counts)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        lines = [f"bucket {_fmt_width(width)}, {len(self.times)} lines"]
        cw = len(str(top))
        for i, c in enumerate(counts):
            start = (first + i * wns) // 1_000_000_000
            bar = "█" * (0 if c == 0 else max(1, round(c * BAR_WIDTH / top)))
            if color and bar:
                bar = f"\33[32m{bar}\33[m"
            lines.append(f"{time.strftime(fmt, time.gmtime(start))}  {c:>{cw}}  {bar}".rstrip())
        if self.untimed:
            lines.append(f"({self.untimed} matching lines had no time)")
        return ("\n".join(lines) + "\n").encode()


def _fmt_width(secs: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{int(secs // size)}{unit}"
    return f"{secs:g}s"
